"""Client CPU per record: a bare ``websockets`` loop, the bare loop + ``kisfeed.decode``, and
``kisfeed.connect``, on the same server and the same frames, in one run; for trade records
(``H0ZFCNT0``, 49 fields) and order-book records (``H0ZFASP0``, 68 fields) alike.

One feeder process serves every round. It speaks just enough of the KIS protocol: it acks the
subscribe message (OPSP0000), then writes all the round's frames of one TR to the socket at
once, pre-framed, so the consumer is never starved: what is measured is the consumer's work per
record, not how often it wakes up. The URL path names the round's frames:
``/<tr>/<mix>/<records>``.

Two mixes: ``realistic``, a fixed cycle of mostly 1-record frames with some of 2 and 3 (about
1.2 records per frame, as a live feed of a few codes sends), and ``10``, all 10-record frames.
For each, the consumer (this process) runs, in interleaved rounds, each way of receiving:

* ``bare``            a ``websockets`` client loop that only receives the frames
* ``bare+decode``     the same loop calling ``kisfeed.decode(text)`` per frame
* ``connect``         ``kisfeed.connect(...)``, consumed with ``async for``
* ``connect batch``   the same, consumed with ``next_batch`` (the batch consumer's way)

and prints the best-of-rounds CPU time (``time.process_time``, from the subscribe to the last
record) per record, and each one's ratio to ``bare+decode``. The target of issue 13 is
``connect`` ≤ 1.2× ``bare+decode`` with the realistic mix.

Run: ``python benchmarks/client.py`` (``--records``, ``--rounds`` to change its length;
``--tr H0ZFCNT0`` or ``--tr H0ZFASP0`` for one TR only).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from itertools import cycle
from pathlib import Path

import httpx

FUTURES = (
    "A11612^{time}^64300^5^-300^-0.46^64500^64800^64100^3^12345^7950000000^64299.50^250.00^0.00^"
    "64300.00^64800.00^500.00^23456^-120^090000^5^-200^091500^5^-500^090300^2^200^0.51^105.00^0.50^"
    "3^249.50^64400^64300^12^30^1500^1600^100^6000^6300^1234^2345^85.12^70700^57900^N"
)


def book_template() -> str:
    """An H0ZFASP0 record (68 fields, in its layout's order, reference 4.5) with ``{time}`` to
    fill: ten ask levels rising and ten bid levels falling by one tick from the trade's quotes,
    the totals the sums of the published levels, as the simulator writes them."""
    from kisfeed.schema import FUTURES_BOOK

    values = {"code": "A11612", "time": "{time}"}
    for n in range(1, 11):
        values |= {f"ask{n}": str(64300 + 100 * n), f"bid{n}": str(64400 - 100 * n)}
        values |= {f"ask{n}_qty": str(10 + n), f"bid{n}_qty": str(20 + n)}
        values |= {f"ask{n}_count": str(n), f"bid{n}_count": str(n + 1)}
    values |= {"total_ask_qty": str(sum(10 + n for n in range(1, 11))), "total_ask_count": "55"}
    values |= {"total_bid_qty": str(sum(20 + n for n in range(1, 11))), "total_bid_count": "65"}
    values |= {"total_ask_qty_change": "-3", "total_bid_qty_change": "12"}
    return "^".join(values[f.name] for f in FUTURES_BOOK.fields)


#: The TRs measured, and a record of each (``{time}`` filled per record).
TEMPLATES = {"H0ZFCNT0": lambda: FUTURES, "H0ZFASP0": book_template}

#: Records per frame, one frame after another, repeated: 17 frames of 1, 2 of 2, 1 of 3 (1.2 a frame).
MIXES = {"realistic": (1,) * 8 + (2,) + (1,) * 8 + (3,) + (1,) + (2,), "10": (10,)}


def frame_sizes(mix: str, records: int) -> list[int]:
    """Records of each frame of a round: the mix's cycle, cut to ``records`` in total."""
    sizes, total = [], 0
    for size in cycle(MIXES[mix]):
        if total >= records:
            return sizes
        size = min(size, records - total)
        sizes.append(size)
        total += size
    raise AssertionError("unreachable")


def frames(tr_id: str, mix: str, records: int) -> list[str]:
    template = TEMPLATES[tr_id]()
    texts, n = [], 0
    for size in frame_sizes(mix, records):
        body = []
        for _ in range(size):  # the exchange time moves on, as in a live feed
            body.append(template.format(time=f"09{n // 3600 % 60:02d}{n % 60:02d}"))
            n += 1
        texts.append(f"0|{tr_id}|{size:03d}|" + "^".join(body))
    return texts


# --- feeder (runs in its own process) -------------------------------------------------------------


async def serve_feeder(port: int) -> None:
    from websockets.asyncio.server import ServerConnection, serve
    from websockets.frames import Frame, Opcode

    blobs: dict[str, bytes] = {}  # path -> every frame of the round, framed for the wire

    async def handler(ws: ServerConnection) -> None:
        path = ws.request.path if ws.request is not None else "/"
        if path not in blobs:
            _, tr_id, mix, records = path.split("/")
            blobs[path] = b"".join(
                Frame(Opcode.TEXT, text.encode()).serialize(mask=False)
                for text in frames(tr_id, mix, int(records))
            )
        message = json.loads(await ws.recv())
        tr_id, tr_key = message["body"]["input"]["tr_id"], message["body"]["input"]["tr_key"]
        ack = {
            "header": {"tr_id": tr_id, "tr_key": tr_key, "encrypt": "N"},
            "body": {"rt_cd": "0", "msg_cd": "OPSP0000", "msg1": "SUBSCRIBE SUCCESS"},
        }
        await ws.send(json.dumps(ack))
        ws.transport.write(blobs[path])  # data frames need no protocol state: write them at once
        await ws.wait_closed()

    async with serve(handler, "127.0.0.1", port, ping_interval=None, max_size=None, compression=None):
        print("ready", flush=True)
        await asyncio.Future()


# --- consumers -------------------------------------------------------------------------------------


def subscribe_message(tr_id: str) -> str:
    return json.dumps(
        {
            "header": {"approval_key": "0", "custtype": "P", "tr_type": "1", "content-type": "utf-8"},
            "body": {"input": {"tr_id": tr_id, "tr_key": "A11612"}},
        }
    )


def tr_of(url: str) -> str:
    return url.split("/")[3]  # ws://host:port/<tr>/<mix>/<records>


Consumer = Callable[[str, int, int], Awaitable[float]]  # (url, frames, records) -> CPU seconds


async def bare(url: str, n_frames: int, records: int, decode: bool = False) -> float:
    from websockets.asyncio.client import connect

    import kisfeed

    subscribe = subscribe_message(tr_of(url))
    async with connect(url, ping_interval=None, max_size=None, compression=None) as ws:
        started = time.process_time()
        await ws.send(subscribe)
        await ws.recv()  # the ack
        count = got = 0
        async for text in ws:
            if decode:
                got += len(kisfeed.decode(text))  # type: ignore[arg-type]  # the feeder sends text frames
            count += 1
            if count == n_frames:
                break
        elapsed = time.process_time() - started
    assert not decode or got == records, got
    return elapsed


async def bare_decode(url: str, n_frames: int, records: int) -> float:
    return await bare(url, n_frames, records, decode=True)


def approval(request: httpx.Request) -> httpx.Response:  # the design's test seam
    return httpx.Response(200, json={"approval_key": "00000000-0000-0000-0000-000000000000"})


async def connect(url: str, n_frames: int, records: int, batch: bool = False) -> float:
    import kisfeed

    with tempfile.TemporaryDirectory() as cache:
        async with kisfeed.connect(
            "bench-key",
            "bench-secret",
            ws_url=url,
            rest_url="http://approval.invalid",
            transport=httpx.MockTransport(approval),
            cache_dir=Path(cache),
        ) as feed:
            started = time.process_time()
            await feed.subscribe(tr_of(url), "A11612")
            count = 0
            if batch:
                while count < records:
                    count += len(await feed.next_batch())
            else:
                async for _ in feed:
                    count += 1
                    if count == records:
                        break
            elapsed = time.process_time() - started
            assert feed.stats().records == records and feed.stats().parse_errors == 0
    return elapsed


async def connect_batch(url: str, n_frames: int, records: int) -> float:
    return await connect(url, n_frames, records, batch=True)


CONSUMERS: dict[str, Consumer] = {
    "bare": bare,
    "bare+decode": bare_decode,
    "connect": connect,
    "connect batch": connect_batch,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=200_000, help="records per round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of each way; the best counts")
    parser.add_argument("--mix", choices=list(MIXES), action="append", help="only this mix (repeatable)")
    parser.add_argument("--tr", choices=list(TEMPLATES), action="append", help="only this TR (repeatable)")
    parser.add_argument("--feeder", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.feeder:
        asyncio.run(serve_feeder(args.feeder))
        return
    port = 29000 + os.getpid() % 1000
    feeder = subprocess.Popen(
        [sys.executable, __file__, "--feeder", str(port)], stdout=subprocess.PIPE, text=True
    )
    mixes, trs = args.mix or list(MIXES), args.tr or list(TEMPLATES)
    best: dict[tuple[str, str, str], float] = {}
    try:
        assert feeder.stdout is not None and feeder.stdout.readline().strip() == "ready"
        for mix in mixes:
            sizes = frame_sizes(mix, args.records)
            for _ in range(args.rounds):  # interleaved: a slow moment of the machine hits all ways
                for tr_id in trs:
                    url = f"ws://127.0.0.1:{port}/{tr_id}/{mix}/{args.records}"
                    for name, consume in CONSUMERS.items():
                        cpu = asyncio.run(consume(url, len(sizes), args.records))
                        key = (tr_id, mix, name)
                        best[key] = min(best.get(key, cpu), cpu)
    finally:
        feeder.terminate()
        feeder.wait()

    print(
        f"records per round: {args.records:,}; best of {args.rounds} interleaved rounds; CPU of the consumer"
    )
    for mix in mixes:
        sizes = frame_sizes(mix, args.records)
        pattern = " ".join(map(str, MIXES[mix]))
        print(
            f"mix {mix}: {len(sizes):,} frames, {args.records / len(sizes):.2f} records/frame (cycle: {pattern})"
        )
    print(f"{'TR':<10}{'mix':<11}{'consumer':<16}{'µs/record':>11}{'µs/frame':>10}{'÷ bare+decode':>15}")
    for tr_id in trs:
        for mix in mixes:
            n_frames = len(frame_sizes(mix, args.records))
            for name in CONSUMERS:
                cpu = best[tr_id, mix, name]
                ratio = cpu / best[tr_id, mix, "bare+decode"]
                print(
                    f"{tr_id:<10}{mix:<11}{name:<16}{cpu / args.records * 1e6:>11.2f}"
                    f"{cpu / n_frames * 1e6:>10.2f}{ratio:>15.2f}"
                )


if __name__ == "__main__":
    main()
