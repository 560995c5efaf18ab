"""End-to-end client speed: a feeder process blasts frames, ``kisfeed.connect()`` consumes them.

The feeder (a second process, so each side has a core) speaks just enough of the KIS protocol:
it acks subscribe messages and then sends ``H0ZFCNT0`` frames of ``--batch`` records. Each
record carries its send time (ns) as one extra trailing field, which kisfeed keeps raw on the
record (``record.extra``, reference 2.5), so the consumer measures send → consumer latency.

Phases: (1) throughput, as fast as possible, over ``--records`` records (default 5 million),
with the consumer's RSS sampled after warm-up and at the end; (2) latency at a paced 10,000
records/s. Run: ``python benchmarks/client.py`` (``--records 500000`` for a short run).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

FUTURES = (
    "A11612^093015^64300^5^-300^-0.46^64500^64800^64100^3^12345^7950000000^64299.50^250.00^0.00^"
    "64300.00^64800.00^500.00^23456^-120^090000^5^-200^091500^5^-500^090300^2^200^0.51^105.00^0.50^"
    "3^249.50^64400^64300^12^30^1500^1600^100^6000^6300^1234^2345^85.12^70700^57900^N"
)


# --- feeder (runs in its own process) -------------------------------------------------------------


async def feed_clients(port: int, records: int, batch: int, rate: float) -> None:
    from websockets.asyncio.server import serve

    async def handler(ws) -> None:
        message = json.loads(await ws.recv())
        tr_id, tr_key = message["body"]["input"]["tr_id"], message["body"]["input"]["tr_key"]
        await ws.send(
            json.dumps(
                {
                    "header": {"tr_id": tr_id, "tr_key": tr_key, "encrypt": "N"},
                    "body": {
                        "rt_cd": "0",
                        "msg_cd": "OPSP0000",
                        "msg1": "SUBSCRIBE SUCCESS",
                        "output": {"iv": "0123456789abcdef", "key": "abcdefghijklmnopabcdefghijklmnop"},
                    },
                }
            )
        )
        head = f"0|H0ZFCNT0|{batch:03d}|"
        start, sent = time.perf_counter(), 0
        while sent < records:
            stamp = str(time.time_ns())
            await ws.send(head + "^".join(f"{FUTURES}^{stamp}" for _ in range(batch)))
            sent += batch
            if rate:  # pace: never ahead of the schedule
                ahead = start + sent / rate - time.perf_counter()
                if ahead > 0:
                    await asyncio.sleep(ahead)
        await ws.wait_closed()

    async with serve(handler, "127.0.0.1", port, ping_interval=None, max_size=None, compression=None):
        print("ready", flush=True)
        await asyncio.Future()


# --- consumer ---------------------------------------------------------------------------------------


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


async def consume(port: int, records: int, measure_latency: bool) -> dict[str, float]:
    import kisfeed

    def approval(request: httpx.Request) -> httpx.Response:  # the design's test seam
        return httpx.Response(200, json={"approval_key": "00000000-0000-0000-0000-000000000000"})

    latencies: list[int] = []
    rss_start = rss_end = 0.0
    with tempfile.TemporaryDirectory() as cache:
        async with kisfeed.connect(
            "bench-key",
            "bench-secret",
            ws_url=f"ws://127.0.0.1:{port}",
            rest_url="http://approval.invalid",
            transport=httpx.MockTransport(approval),
            cache_dir=Path(cache),
        ) as feed:
            await feed.subscribe("H0ZFCNT0", "A11612")
            count, started = 0, 0.0
            async for record in feed:
                count += 1
                if count == 100_000:  # warm-up done: caches filled, queues at steady state
                    started, counted_from, rss_start = time.perf_counter(), count, rss_mb()
                if measure_latency:
                    latencies.append(time.time_ns() - int(record.extra[0]))
                if count >= records:
                    break
            elapsed = time.perf_counter() - started
            rss_end = rss_mb()
    result = {"records/s": (count - counted_from) / elapsed, "rss_start": rss_start, "rss_end": rss_end}
    if latencies:
        latencies.sort()
        result["p50_ms"] = latencies[len(latencies) // 2] / 1e6
        result["p99_ms"] = latencies[int(len(latencies) * 0.99)] / 1e6
        result["mean_ms"] = statistics.fmean(latencies) / 1e6
    return result


def run_phase(records: int, batch: int, rate: float, latency: bool) -> dict[str, float]:
    port = 29000 + os.getpid() % 1000
    feeder = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--feeder",
            str(port),
            "--records",
            str(records),
            "--batch",
            str(batch),
            "--rate",
            str(rate),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert feeder.stdout is not None and feeder.stdout.readline().strip() == "ready"
        return asyncio.run(consume(port, records, latency))
    finally:
        feeder.terminate()
        feeder.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=5_000_000)
    parser.add_argument("--batch", type=int, default=10, help="records per frame in the throughput phase")
    parser.add_argument("--rate", type=float, default=0.0, help=argparse.SUPPRESS)
    parser.add_argument("--feeder", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.feeder:
        asyncio.run(feed_clients(args.feeder, args.records, args.batch, args.rate))
        return
    throughput = run_phase(args.records, args.batch, 0.0, latency=False)
    paced = run_phase(min(args.records, 300_000), 1, 10_000.0, latency=True)
    print(f"{'measure':<44}{'value':>14}")
    print(
        f"{'records/s end to end (' + str(args.batch) + '-record frames)':<44}{throughput['records/s']:>14,.0f}"
    )
    print(f"{'RSS after warm-up (MB)':<44}{throughput['rss_start']:>14.1f}")
    print(
        f"{'RSS at the end of ' + format(args.records, ',') + ' records (MB)':<44}{throughput['rss_end']:>14.1f}"
    )
    print(f"{'RSS growth (MB)':<44}{throughput['rss_end'] - throughput['rss_start']:>14.1f}")
    print(f"{'latency p50 at 10,000 records/s (ms)':<44}{paced['p50_ms']:>14.3f}")
    print(f"{'latency p99 at 10,000 records/s (ms)':<44}{paced['p99_ms']:>14.3f}")
    print(f"{'records/s sustained in the paced run':<44}{paced['records/s']:>14,.0f}")


if __name__ == "__main__":
    main()
