"""What a peer can make the client hold: the record queue stays bounded when replies never
come (issue 11, item 20), and a frame is bounded in size (item 26). Real simulator, real sockets."""

from __future__ import annotations

import asyncio
import contextlib
import math

import pytest

import kisfeed
from kisfeed.client import events as ev
from kisfeed.exceptions import FeedError, FrameError

from ..conftest import seconds, wait_until
from .conftest import assert_exact_prefix, codes, collect, feed_for, running, sim_config

F, O = "H0ZFCNT0", "H0ZOCNT0"
QUEUE, OVERFILL = 50, 200


@contextlib.asynccontextmanager
async def largest_queue(feed):
    """Samples the queue length while the block runs; yields a list whose only item is the most
    seen so far (the unit tests of RecordQueue prove the bound; this watches the feed keep it)."""
    most = [0]

    async def sample() -> None:
        while True:
            most[0] = max(most[0], feed.stats().queued)
            await asyncio.sleep(0.002)

    task = asyncio.create_task(sample())
    try:
        yield most
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        most[0] = max(most[0], feed.stats().queued)


async def subscribe_without_reply(sim, feed) -> None:
    sim.faults.withhold_acks()  # the server registers the codes and sends their data, but no ack
    with pytest.raises(FeedError, match="no reply"):
        await feed.subscribe(O, codes(sim, O)[:20])


async def test_drop_oldest_keeps_to_queue_size_after_a_reply_timeout(tmp_path):
    async with (
        running(sim_config(speed=math.inf)) as sim,
        feed_for(
            sim,
            tmp_path,
            queue_size=QUEUE,
            reply_overfill=OVERFILL,
            overflow="drop-oldest",
            reply_timeout=0.5,
        ) as feed,
    ):
        async with largest_queue(feed) as most:
            await subscribe_without_reply(sim, feed)
            after_timeout = feed.stats().records
            # nobody consumes; the data keeps coming
            await wait_until(lambda: feed.stats().records >= after_timeout + 5000, what="5000 more records")
        stats = feed.stats()
    assert most[0] <= QUEUE  # drop-oldest never overfills, reply or not
    assert stats.dropped >= stats.records - QUEUE > 0


async def test_block_overfills_by_reply_overfill_at_most_and_loses_nothing(tmp_path):
    got = []
    async with (
        running(sim_config(speed=math.inf)) as sim,
        feed_for(
            sim, tmp_path, queue_size=QUEUE, reply_overfill=OVERFILL, overflow="block", reply_timeout=0.5
        ) as feed,
    ):
        async with largest_queue(feed) as most:
            await subscribe_without_reply(sim, feed)
            # the reply will never come: the queue is back to queue_size once the consumer
            # has made room, and stays there while the market floods
            while len(got) < 3000:
                got += await asyncio.wait_for(feed.next_batch(10), seconds(10))
                await asyncio.sleep(0)  # the reader may run between batches
        stats = feed.stats()
    assert most[0] <= QUEUE + OVERFILL
    assert stats.queued <= QUEUE
    assert stats.dropped == 0
    assert_exact_prefix(got, sim)


async def test_a_cancelled_subscribe_does_not_leave_the_queue_overfilled(tmp_path):
    got = []
    async with (
        running(sim_config(speed=math.inf)) as sim,
        feed_for(sim, tmp_path, queue_size=QUEUE, reply_overfill=OVERFILL, overflow="block") as feed,
    ):
        sim.faults.withhold_acks()
        with pytest.raises(asyncio.TimeoutError):  # the caller gives up before reply_timeout
            await asyncio.wait_for(feed.subscribe(O, codes(sim, O)[:20]), 0.5)
        while len(got) < 2000:
            got += await asyncio.wait_for(feed.next_batch(10), seconds(10))
            await asyncio.sleep(0)
        stats = feed.stats()
    assert stats.queued <= QUEUE and stats.dropped == 0


# --- frame size (issue 11, item 26) ------------------------------------------------------------

LIMIT = 64 * 1024


def frame_of(sim, size: int) -> str:
    """A well-formed data frame of as many copies of one record as fit in ``size`` bytes."""
    tr_id, record = sim.sample_record()
    head = f"0|{tr_id}|"
    count = (size - len(head) - 4) // (len(record) + 1)
    text = f"{head}{count:03d}|" + "^".join([record] * count)
    assert len(text) <= size and count <= 999
    return text


def test_the_default_frame_limit_is_finite_and_above_the_largest_kis_frame():
    limit = kisfeed.client.FeedSettings().max_frame_size
    assert 999 * 53 * 21 * 4 // 3 < limit <= 16 * 1024 * 1024


async def test_a_frame_over_max_frame_size_is_counted_and_the_connection_reopened(tmp_path, events):
    async with (
        running() as sim,
        feed_for(sim, tmp_path, max_frame_size=LIMIT, on_event=events.append) as feed,
    ):
        await feed.subscribe(F, codes(sim, F)[:2])
        await collect(feed, 5)
        await sim.broadcast(frame_of(sim, LIMIT))  # at the limit: accepted
        await sim.broadcast("0|H0ZFCNT0|001|" + "^" * LIMIT)  # over it: refused unread
        await wait_until(
            lambda: (
                len(sim.sessions) == 1
                and feed.stats().reconnects == 1
                and all(len(s.registrations) == 2 for s in sim.sessions)
            ),
            what="a new session",
        )
        await collect(feed, 20)  # and the data flows again
        stats = feed.stats()
    assert stats.parse_errors == 1 and stats.reconnects == 1
    (lost,) = [e for e in events if isinstance(e, ev.Disconnected)]
    assert "max_frame_size (65,536 bytes)" in lost.reason


async def test_a_frame_over_max_frame_size_can_be_raised(tmp_path):
    async with running() as sim, feed_for(sim, tmp_path, max_frame_size=LIMIT, on_malformed="raise") as feed:
        await feed.subscribe(F, codes(sim, F)[:1])
        await sim.broadcast("0|H0ZFCNT0|001|" + "^" * LIMIT)
        with pytest.raises(FrameError, match="max_frame_size"):
            await asyncio.wait_for(consume_all(feed), seconds(10))


async def consume_all(feed) -> None:
    async for _ in feed:
        pass


async def test_a_reply_two_calls_await_reaches_the_second_after_the_first_gave_up():
    # Two subscribes of one code share one reply future; the first one's timeout used to take
    # it out of the feed's book, so the reply, when it came, reached nobody and the second timed
    # out too. Bookkeeping only: no connection is needed to see it.
    feed = kisfeed.connect("app-key", "app-secret")
    request = ("subscribe", ("H0ZFCNT0", "A11612"))
    first, second = feed._expect(request), feed._expect(request)
    feed._forget([request])  # the first call timed out
    feed.reply(request, None)  # the server's answer arrives
    assert second.done() and second.result() is None and first is second
    feed._forget([request])
    assert feed._replies == {} and not feed._router.awaiting_reply  # nothing left to overfill the queue for
