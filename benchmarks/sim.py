"""Simulator throughput: records/s it sustains to one client, as fast as possible.

The simulator runs in its own process (``speed=inf``, ``always_open``, no ground truth) and one
plain WebSocket client in this process subscribes to 41 instruments (one session's worth,
reference 3.1: the 41 busiest series of the calibrated market) and counts records from each
frame's ``NNN`` without decoding, so the client costs as little as possible and the simulator
is what is measured. Two sources: the live market model (each trade drawn, priced and formatted
as it is sent), and a replay of the same codes' frames made ahead (``SimConfig.replay``, what
``kisfeed sim --replay JOURNAL`` serves), which is the way to load-test a client. Each setting
runs ``--rounds`` times, best kept; the market model alone (no sockets) is timed too.

Run: ``python benchmarks/sim.py`` (``--records 50000`` for a short run). Prints a table; no timing
is asserted anywhere.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import subprocess
import sys
import time
import urllib.request
from datetime import datetime

from kisfeed.schema import KST

KEY, SECRET = "bench-app-key", "bench-app-secret"
SUBSCRIPTIONS = 41
START = datetime(2026, 11, 20, 9, 0, tzinfo=KST)  # one universe and one market for every run


async def serve(batch_window: float, replay: int) -> None:
    from kisfeed.sim import SimConfig, Simulator

    frames = recorded(replay) if replay else None
    config = SimConfig(app_keys={KEY: SECRET}, always_open=True, speed=math.inf, ground_truth=False,
                       seed=7, start=START, batch_window=batch_window, port=0, rest_port=0,
                       replay=(lambda: frames) if frames else None)  # fmt: skip
    async with Simulator(config) as sim:
        print(sim.ws_url, sim.rest_url, flush=True)
        await asyncio.Event().wait()


def recorded(records: int) -> list[tuple[int, str]]:
    """The market's frames for the chosen codes, made ahead (what a recording run would hold)."""
    from kisfeed.protocol import encode_frame
    from kisfeed.sim import Market, build_universe

    market = Market(build_universe(START), seed=7, start=START, always_open=True)
    market.watched.update(code for _, code in chosen_codes())
    frames, count = [], 0
    while count < records:
        event = market.next_event()
        if event.records:
            frames.append((int(event.time * 1e9), encode_frame(event.tr_id, [[t] for t in event.records])))
            count += len(event.records)
    return frames


def chosen_codes() -> list[tuple[str, str]]:
    """The 41 busiest series (one session's registrations) of the market at ``START``."""
    from kisfeed.sim import SimConfig, Simulator

    busiest = Simulator(SimConfig(always_open=True, seed=7, start=START)).busiest()
    return [(i.tr_id, i.code) for i in busiest[:SUBSCRIPTIONS]]


async def consume(ws_url: str, rest_url: str, records: int) -> tuple[float, int, int]:
    """(seconds, records, frames) for ``records`` records after the first one arrives."""
    import websockets

    body = json.dumps({"grant_type": "client_credentials", "appkey": KEY, "secretkey": SECRET}).encode()
    request = urllib.request.Request(
        rest_url + "/oauth2/Approval", data=body, headers={"Content-Type": "application/json"}
    )
    key = json.loads(urllib.request.urlopen(request, timeout=10).read())["approval_key"]  # noqa: ASYNC210 - once, before the clock starts
    async with websockets.connect(ws_url, ping_interval=None, max_size=None, compression=None) as ws:
        for tr_id, code in chosen_codes():
            await ws.send(json.dumps({
                "header": {"approval_key": key, "custtype": "P", "tr_type": "1", "content-type": "utf-8"},
                "body": {"input": {"tr_id": tr_id, "tr_key": code}},
            }))  # fmt: skip
        count = frames = 0
        started = 0.0
        while count < records:
            message = await ws.recv()
            if message[0] == "0":
                if not started:
                    started = time.perf_counter()
                count += int(message[11:14])
                frames += 1
            elif '"PINGPONG"' in message[:40]:
                await ws.send(message)
        return time.perf_counter() - started, count, frames


def through_socket(batch_window: float, records: int, replay: bool = False) -> tuple[float, float]:
    """(records/s, records per frame) of one run against a simulator in another process."""
    command = [
        sys.executable,
        __file__,
        "--serve",
        str(batch_window),
        "--replay",
        str(records + 1000 if replay else 0),
    ]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        ws_url, rest_url = server.stdout.readline().split()
        seconds, count, frames = asyncio.run(consume(ws_url, rest_url, records))
        return count / seconds, count / frames
    finally:
        server.terminate()
        server.wait(10)


def market_alone(records: int) -> float:
    """Records/s of the market model itself, every code watched, no sockets."""
    from kisfeed.sim import Market, build_universe

    universe = build_universe(START)
    market = Market(universe, seed=7, start=START, always_open=True)
    market.watched.update(i.code for i in universe)
    count = 0
    began = time.perf_counter()
    while count < records:
        count += len(market.next_event().records)
    return count / (time.perf_counter() - began)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=300_000, help="records per run")
    parser.add_argument("--rounds", type=int, default=3, help="runs per setting, best kept")
    parser.add_argument("--serve", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--replay", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:
        asyncio.run(serve(args.serve, args.replay))
        return
    rows = [
        ("market model alone, every code watched", f"{market_alone(args.records):,.0f} rec/s", "no sockets")
    ]
    for window in (0.0, 0.01, 0.1):
        best = max((through_socket(window, args.records) for _ in range(args.rounds)), key=lambda r: r[0])
        rows.append((f"market to one client, 41 codes, batch window {window:g} s", f"{best[0]:,.0f} rec/s",
                     f"{best[1]:.2f} records/frame"))  # fmt: skip
    for window in (0.0, 0.1):
        best = max(
            (through_socket(window, args.records, replay=True) for _ in range(args.rounds)),
            key=lambda r: r[0],
        )
        rows.append((f"replay (--replay) to one client, batch window {window:g} s", f"{best[0]:,.0f} rec/s",
                     f"{best[1]:.2f} records/frame; frames made ahead"))  # fmt: skip
    width = max(len(name) for name, _, _ in rows)
    print(
        f"kisfeed simulator benchmark · {os.cpu_count()} CPUs · {args.records:,} records per run, best of {args.rounds}"
    )
    print(f"{'measure':<{width}}  {'value':>16}  notes")
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:>16}  {note}")


if __name__ == "__main__":
    main()
