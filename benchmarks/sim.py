"""Simulator throughput: records/s it sustains to one client, as fast as possible.

The simulator runs in its own process (``speed=inf``, ``always_open``, no ground truth) and one
plain WebSocket client in this process subscribes to 41 instruments (one session's worth,
reference 3.1: the 41 busiest series of the calibrated market) and counts records from each
frame's ``NNN`` without decoding, so the client costs as little as possible and the simulator
is what is measured. Two sources: the live market model (each trade drawn, priced and formatted
as it is sent), and a replay of the same codes' frames made ahead (``SimConfig.replay``, what
``kisfeed sim --replay JOURNAL`` serves), which is the way to load-test a client. Each setting
runs ``--rounds`` times, best kept; the market model alone (no sockets) is timed too. Books and
expected prices (issue 15): the market alone with the 41 busiest series watched on all three of
their TRs, and one client holding 41 registrations of 14 series on their three TRs, both with
the records of each kind.

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


def chosen_codes(all_trs: bool = False) -> list[tuple[str, str]]:
    """The 41 busiest series (one session's registrations) of the market at ``START``, or with
    ``all_trs`` 41 registrations of the busiest series on their three TRs each."""
    from kisfeed.sim import SimConfig, Simulator

    # the stock series (the KOSPI200 products trade beside them in the served market: issue 16)
    busiest = Simulator(SimConfig(always_open=True, seed=7, start=START, index_products=False)).busiest()
    if all_trs:
        return [(tr_id, i.code) for i in busiest for tr_id in i.tr_ids][:SUBSCRIPTIONS]
    return [(i.tr_id, i.code) for i in busiest[:SUBSCRIPTIONS]]


async def consume(
    ws_url: str, rest_url: str, records: int, all_trs: bool = False, kinds: dict[str, int] | None = None
) -> tuple[float, int, int]:
    """(seconds, records, frames) for ``records`` records after the first one arrives;
    ``kinds`` counts them by TR."""
    import websockets

    body = json.dumps({"grant_type": "client_credentials", "appkey": KEY, "secretkey": SECRET}).encode()
    request = urllib.request.Request(
        rest_url + "/oauth2/Approval", data=body, headers={"Content-Type": "application/json"}
    )
    key = json.loads(urllib.request.urlopen(request, timeout=10).read())["approval_key"]  # noqa: ASYNC210 - once, before the clock starts
    async with websockets.connect(ws_url, ping_interval=None, max_size=None, compression=None) as ws:
        for tr_id, code in chosen_codes(all_trs):
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
                if kinds is not None:
                    kinds[message[2:10]] = kinds.get(message[2:10], 0) + int(message[11:14])
            elif '"PINGPONG"' in message[:40]:
                await ws.send(message)
        return time.perf_counter() - started, count, frames


def through_socket(
    batch_window: float, records: int, replay: bool = False, kinds: dict[str, int] | None = None
) -> tuple[float, float]:
    """(records/s, records per frame) of one run against a simulator in another process; with
    ``kinds``, 41 registrations on all three TRs of the busiest series, counted by TR there."""
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
        seconds, count, frames = asyncio.run(consume(ws_url, rest_url, records, kinds is not None, kinds))
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


def market_all_trs(records: int) -> tuple[float, dict[str, int]]:
    """Records/s of the market model with the 41 busiest series watched on their three TRs, and
    the records of each TR."""
    from kisfeed.sim import Market, build_universe

    universe = build_universe(START)
    market = Market(universe, seed=7, start=START, always_open=True)
    for _, code in chosen_codes():
        instrument = next(i for i in universe if i.code == code)
        for tr_id in instrument.tr_ids:
            market.watch(tr_id, code)
    kinds: dict[str, int] = {}
    count = 0
    began = time.perf_counter()
    while count < records:
        event = market.next_event()
        if event.records:
            count += len(event.records)
            kinds[event.tr_id] = kinds.get(event.tr_id, 0) + len(event.records)
    return count / (time.perf_counter() - began), kinds


def by_tr(kinds: dict[str, int]) -> str:
    return ", ".join(f"{tr_id} {n:,}" for tr_id, n in sorted(kinds.items()))


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
    rate, kinds = market_all_trs(args.records)
    rows.append(("market model alone, 41 busiest on all 3 TRs", f"{rate:,.0f} rec/s", by_tr(kinds)))
    best, best_kinds = (0.0, 0.0), {}
    for _ in range(args.rounds):
        kinds = {}
        result = through_socket(0.0, args.records, kinds=kinds)
        if result[0] > best[0]:
            best, best_kinds = result, kinds
    rows.append(
        ("market to one client, 41 registrations on 3 TRs", f"{best[0]:,.0f} rec/s", by_tr(best_kinds))
    )
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
