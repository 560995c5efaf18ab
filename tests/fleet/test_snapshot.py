"""``Buckets.snapshot`` against a real nats-server: every live key, while the bucket is written.

nats-py's ``watchall``/``keys`` end their replay at the first message whose ``num_pending`` is 0,
which concurrent writes can make come early (nats.py issue 842, pull request 995): a feeder then
read a partial ``wanted`` bucket and released codes still wanted.
"""

from __future__ import annotations

import asyncio

import nats

from kisfeed.fleet import jetstream
from kisfeed.fleet.jetstream import LEASES, WANTED, FleetSettings


async def test_a_snapshot_holds_every_live_key_while_the_bucket_is_written(nats_server):
    nc = await nats.connect(nats_server.url)
    try:
        buckets = await jetstream.prepare(nc.jetstream(), FleetSettings())
        still = {f"H0ZFCNT0.A{n:05d}" for n in range(300)}
        for key in still:
            await buckets.wanted.put(key, b"")
        await buckets.leases.put("gone", b"f0")
        await buckets.leases.delete("gone")
        busy = [f"H0ZOCNT0.B{n:05d}" for n in range(40)]
        stop = asyncio.Event()

        async def write() -> None:  # renewals and claims beside the snapshots, as a fleet makes
            n = 0
            while not stop.is_set():
                await asyncio.gather(*(buckets.wanted.put(key, str(n).encode()) for key in busy))
                n += 1

        writer = asyncio.create_task(write())
        try:
            for _ in range(40):
                found = await buckets.snapshot(WANTED)
                assert still <= set(found), f"{len(still - set(found))} of {len(still)} live keys missing"
                assert set(found) - still <= set(busy)
        finally:
            stop.set()
            await writer
        assert set(await buckets.snapshot(LEASES)) == set()  # a deleted key is absent
        assert len(await buckets.snapshot(WANTED)) == len(still) + len(busy)
    finally:
        await nc.close()
