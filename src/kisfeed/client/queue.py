"""The bounded record queue between the sockets and the consumer, with its overflow policy."""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Generic, TypeVar

from ..exceptions import FeedError
from .settings import Overflow

__all__ = ["RecordQueue", "HANDOVER"]

T = TypeVar("T")

#: Items queued for a waiting consumer after which the putter should let it run (``handover``):
#: a few hundred kB of records, which stay in a core's cache until the consumer takes them.
HANDOVER = 128


class RecordQueue(Generic[T]):
    """A FIFO of at most ``maxsize`` items. ``put`` applies the overflow policy; ``get`` raises
    the error the queue was closed with once the items before it are consumed.

    ``overfill``: a put or offer that says ``overfill=True`` may take the queue up to
    ``maxsize + overfill`` items before the policy applies, under ``block`` and ``raise``. The
    feed asks for it while a subscribe/unsubscribe awaits its reply: the consumer may be the one
    awaiting it, and the reply may sit behind data in the socket, so stopping the reader at
    ``maxsize`` would wait out the reply timeout. ``drop-oldest`` never stops the reader, so it
    keeps to ``maxsize``. Either way the queue never holds more than ``maxsize + overfill``.
    """

    def __init__(self, maxsize: int, overflow: Overflow, overfill: int = 0) -> None:
        self.maxsize, self.overflow, self.overfill = maxsize, overflow, overfill
        # bound(False), bound(True): looked up once per frame, not worked out
        self._bounds = (maxsize, maxsize if overflow == "drop-oldest" else maxsize + overfill)
        self._items: deque[T] = deque()
        # Set only while a get (or put) waits, which the counts say: the usual frame or record
        # then costs no call to the events.
        self._readable = asyncio.Event()
        self._writable = asyncio.Event()
        self._getters = self._putters = 0
        #: A get waits (woken, not yet run) and at least ``HANDOVER`` items are queued for it:
        #: the putter should yield to the event loop now, so that the consumer takes them while
        #: they are still in the CPU's caches, rather than after the putter has decoded every
        #: frame the socket had buffered (hundreds at a time). An attribute, set by ``offer``:
        #: it is read once per frame.
        self.handover = False
        self._closed: BaseException | None = None
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._items)

    def bound(self, overfill: bool = False) -> int:
        """The most items a put or offer with this ``overfill`` leaves in the queue."""
        return self._bounds[overfill]

    @property
    def closed(self) -> bool:
        return self._closed is not None

    async def put(self, item: T, *, overfill: bool = False) -> None:
        """Queue ``item``, applying the policy when the queue holds ``bound(overfill)``."""
        if self._closed is not None:
            return
        while len(self._items) >= self._bounds[overfill]:
            if self.overflow == "drop-oldest":
                self._items.popleft()
                self.dropped += 1
            elif self.overflow == "raise":
                self.dropped += 1
                raise FeedError(f"record queue full ({len(self._items)} records): the consumer is too slow")
            else:  # block: wait for the consumer
                self._writable.clear()
                self._putters += 1
                try:
                    await self._writable.wait()
                finally:
                    self._putters -= 1
                if self.closed:  # closed while waiting (mypy cannot see ``close`` run meanwhile)
                    return
        self._items.append(item)
        if self._getters:
            self._readable.set()

    def offer(self, items: tuple[T, ...] | list[T], *, overfill: bool = False) -> bool:
        """Queue all ``items`` at once if they fit within ``bound(overfill)``; False, queuing
        none, if not."""
        if self._closed is not None:
            return True
        queued = self._items
        if len(queued) + len(items) > self._bounds[overfill]:
            return False
        queued.extend(items)
        if self._getters:
            self._readable.set()
            self.handover = len(queued) >= HANDOVER
        return True

    def pop(self) -> T | None:
        """The next item if one is queued, else None: ``get`` without the wait, for queues
        whose items are never None (records)."""
        if not self._items:
            return None
        item = self._items.popleft()
        if self._putters:
            self._writable.set()
        return item

    async def get(self) -> T:
        while not self._items:
            if self._closed is not None:
                raise self._closed
            self._readable.clear()
            self._getters += 1
            try:
                await self._readable.wait()
            finally:
                self._getters -= 1
                self.handover = False
        item = self._items.popleft()
        if self._putters:
            self._writable.set()
        return item

    async def get_batch(self, limit: int) -> list[T]:
        """At least one item (waiting for it), and up to ``limit`` of those already queued."""
        batch = [await self.get()]
        while self._items and len(batch) < limit:
            batch.append(self._items.popleft())
        if self._putters:
            self._writable.set()
        return batch

    def close(self, error: BaseException) -> None:
        """No more items: ``get`` raises ``error`` (``StopAsyncIteration`` for a clean end)
        after the queued items."""
        if self._closed is None:
            self._closed = error
        self._readable.set()
        self._writable.set()
