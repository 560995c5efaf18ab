"""RecordQueue on its own: the bound holds under every policy, overfill or not (issue 11, item 20)."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kisfeed.client.queue import HANDOVER, RecordQueue
from kisfeed.exceptions import FeedError

from ..conftest import seconds

POLICIES = ["block", "drop-oldest", "raise"]


def test_the_bound_is_maxsize_and_overfill_adds_a_fixed_amount_except_for_drop_oldest():
    assert RecordQueue(10, "block", 5).bound() == 10
    assert RecordQueue(10, "block", 5).bound(overfill=True) == 15
    assert RecordQueue(10, "raise", 5).bound(overfill=True) == 15
    assert RecordQueue(10, "drop-oldest", 5).bound(overfill=True) == 10  # never stops the reader


@settings(max_examples=200, deadline=None)
@given(
    policy=st.sampled_from(["drop-oldest", "raise"]),
    maxsize=st.integers(1, 8),
    overfill=st.integers(0, 8),
    steps=st.lists(
        st.tuples(st.sampled_from(["put", "offer", "get"]), st.booleans(), st.integers(1, 5)), max_size=60
    ),
)
def test_no_sequence_of_puts_offers_and_gets_exceeds_the_bound(policy, maxsize, overfill, steps):
    async def run() -> None:
        queue: RecordQueue[int] = RecordQueue(maxsize, policy, overfill)
        n = dropped = 0
        for op, over, size in steps:
            before = len(queue)
            if op == "put":
                try:
                    await queue.put(n, overfill=over)
                except FeedError:
                    assert policy == "raise" and before >= queue.bound(over)
            elif op == "offer":
                if not queue.offer(list(range(n, n + size)), overfill=over):
                    assert before + size > queue.bound(over) and len(queue) == before
            elif len(queue):
                await queue.get()
            n += size
            assert len(queue) <= maxsize + (overfill if policy != "drop-oldest" else 0)
            if op != "get" and policy == "drop-oldest":
                assert queue.dropped >= dropped
                dropped = queue.dropped

    asyncio.run(run())


async def test_drop_oldest_drops_and_counts_even_when_asked_to_overfill():
    queue: RecordQueue[int] = RecordQueue(3, "drop-oldest", overfill=100)
    for i in range(10):
        await queue.put(i, overfill=True)
    assert len(queue) == 3 and queue.dropped == 7
    assert [await queue.get() for _ in range(3)] == [7, 8, 9]


async def test_block_overfills_up_to_the_cap_then_waits_for_the_consumer():
    queue: RecordQueue[int] = RecordQueue(2, "block", overfill=3)
    for i in range(5):
        await queue.put(i, overfill=True)
    assert len(queue) == 5
    assert not queue.offer([5], overfill=True)  # a whole frame that does not fit: none of it
    blocked = asyncio.create_task(queue.put(5, overfill=True))
    await asyncio.sleep(0)
    assert not blocked.done() and len(queue) == 5
    assert await queue.get() == 0
    await asyncio.wait_for(blocked, seconds(5))
    assert len(queue) == 5 and queue.dropped == 0
    # without overfill the same queue is full at maxsize: a put waits until it is below
    waiting = asyncio.create_task(queue.put(6))
    await asyncio.sleep(0)
    assert not waiting.done()
    for _ in range(4):
        await queue.get()
    await asyncio.wait_for(waiting, seconds(5))
    assert [await queue.get() for _ in range(2)] == [5, 6]


async def test_raise_fails_at_the_bound():
    queue: RecordQueue[int] = RecordQueue(2, "raise", overfill=1)
    await queue.put(0)
    await queue.put(1)
    await queue.put(2, overfill=True)
    with pytest.raises(FeedError, match="queue full"):
        await queue.put(3, overfill=True)
    assert len(queue) == 3 and queue.dropped == 1


async def test_close_wakes_a_blocked_put_and_get_raises_after_the_queued_items():
    queue: RecordQueue[int] = RecordQueue(1, "block")
    await queue.put(1)
    blocked = asyncio.create_task(queue.put(2))
    await asyncio.sleep(0)
    queue.close(FeedError("ended"))
    await asyncio.wait_for(blocked, seconds(5))
    assert await queue.get() == 1
    with pytest.raises(FeedError, match="ended"):
        await queue.get()


async def test_get_batch_returns_what_is_queued_up_to_the_limit_in_order():
    queue: RecordQueue[int] = RecordQueue(10, "block")
    assert queue.offer([1, 2, 3, 4])
    assert await queue.get_batch(3) == [1, 2, 3]
    assert await queue.get_batch(3) == [4]
    waiting = asyncio.create_task(queue.get_batch(5))  # waits for at least one item
    await asyncio.sleep(0)
    assert not waiting.done()
    assert queue.offer((5, 6))
    assert await asyncio.wait_for(waiting, seconds(5)) == [5, 6]


async def test_a_closed_queue_takes_nothing_and_keeps_its_first_error():
    queue: RecordQueue[int] = RecordQueue(2, "raise")
    assert not queue.closed
    queue.close(FeedError("first"))
    queue.close(FeedError("second"))
    assert queue.closed
    assert queue.offer([1, 2, 3])  # accepted and discarded: the feed has ended
    await queue.put(4)
    assert len(queue) == 0 and queue.dropped == 0
    with pytest.raises(FeedError, match="first"):
        await queue.get()


async def test_pop_takes_what_is_queued_without_waiting_and_wakes_a_blocked_put():
    queue: RecordQueue[int] = RecordQueue(2, "block")
    assert queue.pop() is None  # nothing queued: the caller awaits get() instead
    assert queue.offer([1, 2])
    blocked = asyncio.create_task(queue.put(3))
    await asyncio.sleep(0)
    assert not blocked.done()
    assert queue.pop() == 1
    await asyncio.wait_for(blocked, seconds(5))
    assert [queue.pop(), queue.pop(), queue.pop()] == [2, 3, None]


async def test_a_waiting_get_is_woken_by_an_offer_and_by_a_put():
    queue: RecordQueue[int] = RecordQueue(5, "block")
    for add, expected in (
        (lambda: queue.offer([1, 2]), [1, 2]),
        (lambda: asyncio.ensure_future(queue.put(3)), [3]),
    ):
        waiting = asyncio.create_task(queue.get_batch(5))
        await asyncio.sleep(0)
        assert not waiting.done()
        add()
        assert await asyncio.wait_for(waiting, seconds(5)) == expected


async def test_handover_says_when_a_waiting_consumer_has_enough_to_take():
    queue: RecordQueue[int] = RecordQueue(10 * HANDOVER, "block")
    assert queue.offer(list(range(HANDOVER)))
    assert not queue.handover  # nobody waits: the putter goes on
    assert [queue.pop() for _ in range(HANDOVER)] == list(range(HANDOVER))
    waiting = asyncio.create_task(queue.get_batch(10 * HANDOVER))
    await asyncio.sleep(0)
    assert queue.offer(list(range(HANDOVER - 1)))
    assert not queue.handover  # woken, but too little yet to be worth a switch
    assert queue.offer([HANDOVER - 1])
    assert queue.handover
    assert await asyncio.wait_for(waiting, seconds(5)) == list(range(HANDOVER))
    assert not queue.handover
