"""The live feed: subscriptions spread over app keys, records to ``async for``, stats.

::

    async with kisfeed.connect(app_key=..., app_secret=...) as feed:
        await feed.subscribe("H0ZFCNT0", ["A11612", "A11703"])
        await feed.subscribe("H0ZFASP0", "A11612")   # its order book: any mix of the 15 TRs
        await feed.subscribe("H0IFCNT0", "A01612")   # KOSPI200 futures (H0MFCNT0 by night)
        async for record in feed:          # FuturesTrade, IndexFuturesTrade, ... in arrival order
            ...

The one rule: code that consumes the feed must not block the event loop; slow work belongs in a
thread or process. Records wait in a bounded queue whose overflow policy is a setting; the
``on_frame`` hook sees every raw frame before it is parsed or queued, so a recorder never loses
data to a slow consumer.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from ..auth import ApprovalKeys, Credentials
from ..exceptions import CallbackError, FeedError, KisfeedError, ParseError, UsageError
from ..instruments import check_code
from ..protocol.routing import Key, Request, Router
from ..schema import KST, Record, kst_day, layout_for
from . import events as ev
from .connection import Connection, Fatal
from .queue import RecordQueue
from .settings import FeedSettings

__all__ = ["Feed", "FeedStats", "Key"]

log = logging.getLogger("kisfeed.client")

FrameHook = Callable[[str, int, int], None]  # (text, received_ns, session id)


@dataclass(frozen=True)
class FeedStats:
    frames: int
    records: int
    bytes: int
    parse_errors: int
    dropped: int
    reconnects: int
    queued: int
    subscriptions: dict[int, int]  # connection (app key) index -> registrations held
    connected: dict[int, bool] = field(default_factory=dict)
    last_frame_age: float | None = None  # seconds since the last frame of any kind


def _settle(future: asyncio.Future[None], error: BaseException) -> None:
    """Fail a reply future that its caller may no longer await, without asyncio's
    "exception was never retrieved" warning: the caller (if any) still sees the error."""
    future.set_exception(error)
    future.exception()


class Feed:
    """Created by ``kisfeed.connect``; use it as an async context manager.

    Whatever ends the feed (see ``FeedSettings``) is raised to the consumer: by ``async for``,
    ``next_batch`` and ``run`` once the records queued before it are consumed, by a pending
    ``subscribe``/``unsubscribe``, by ``async with`` while connecting, and by the blocking wrapper.
    """

    def __init__(
        self,
        credentials: Sequence[Credentials],
        *,
        ws_url: str,
        approvals: ApprovalKeys,
        settings: FeedSettings,
        on_frame: FrameHook | None = None,
        on_event: Callable[[ev.FeedEvent], None] | None = None,
    ) -> None:
        if not credentials:
            raise UsageError("at least one app key is needed")
        self.ws_url, self.approvals, self.settings = ws_url, approvals, settings
        self._on_frame, self._on_event = on_frame, on_event
        self.connections = [
            Connection(self, i, c, ws_url=ws_url, approvals=approvals, settings=settings)
            for i, c in enumerate(credentials)
        ]
        self._router = Router(len(self.connections), settings.max_registrations)
        self._replies: dict[Request, asyncio.Future[None]] = {}  # one per request the router has pending
        self._queue: RecordQueue[Record] | None = None
        self._error: BaseException | None = None
        self._sessions = 0
        self._frames = self._records = self._bytes = self._parse_errors = self._reconnects = 0
        self._last_frame_ns: int | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._day_start, self._day_end, self._day = 0, -1, date.min  # [start_ns, end_ns) of a KST day

    # --- lifecycle -----------------------------------------------------------------------------

    async def __aenter__(self) -> Feed:
        """Connect every app key. Raises if none could connect within ``open_timeout``
        (after that, connections are kept up by reconnecting, without limit)."""
        self._queue = RecordQueue(
            self.settings.queue_size, self.settings.overflow, self.settings.reply_overfill
        )
        for connection in self.connections:
            connection.start()
        waits = [asyncio.create_task(c.finished.wait()) for c in self.connections]
        try:
            await asyncio.wait(waits, timeout=self.settings.open_timeout + 5)
        finally:
            for w in waits:
                w.cancel()
        if self._error is not None:
            await self.close()
            raise self._error
        if not any(c.live for c in self.connections):
            await self.close()
            reasons = "; ".join(sorted({c.last_error for c in self.connections if c.last_error}))
            raise FeedError(f"could not connect to {self.ws_url}: {reasons or 'no answer'}")
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for connection in self.connections:
            await connection.stop()
        for future in self._replies.values():
            if not future.done():
                _settle(future, FeedError("the feed was closed"))
        self._replies.clear()
        self._router.clear()
        if self._queue is not None:
            self._queue.close(StopAsyncIteration())

    # --- subscriptions -------------------------------------------------------------------------

    @property
    def capacity(self) -> int:
        return self._router.capacity

    @property
    def subscriptions(self) -> set[Key]:
        return self._router.subscriptions

    async def subscribe(self, tr_id: str, codes: str | Iterable[str]) -> None:
        """Register codes of one TR (any of ``kisfeed.schema.LAYOUTS``: trades, books, expected
        prices) and wait for the server's replies.

        Every (TR, code) pair is one registration: a code's trades, book and expected price take
        three of the 41 an app key holds (reference 3.1). Raises, before anything is sent,
        ``SubscriptionLimitError`` if the app keys together cannot hold them all, and
        ``UsageError`` for a code whose form names another product or market than the TR's (an
        option code on a futures TR, a stock code on an index TR, ``instruments.check_code``);
        then the named ``ServerError`` of the first rejected code (the others stay subscribed)."""
        self._raise_if_ended()
        keys = self._keys(tr_id, codes)
        self._router.place(keys, self._live())
        waiting = [k for k in keys if not self._owner(k).holds(k)]
        requests: list[Request] = [("subscribe", k) for k in waiting]
        futures = [self._expect(r) for r in requests]
        try:
            for key in waiting:
                await self._owner(key).send_subscribe(key)
            await self._await_replies(futures, "subscribe")
        finally:
            self._forget(requests)

    def _owner(self, key: Key) -> Connection:
        session = self._router.owner(key)
        assert session is not None, key
        return self.connections[session]

    def _live(self) -> set[int]:
        return {c.index for c in self.connections if c.live}

    async def unsubscribe(self, tr_id: str, codes: str | Iterable[str]) -> None:
        """Release codes and wait for the server's replies (codes not subscribed are ignored)."""
        self._raise_if_ended()
        keys = [k for k in self._keys(tr_id, codes) if self._router.owner(k) is not None]
        requests: list[Request] = [("unsubscribe", k) for k in keys]
        futures = [self._expect(r) for r in requests]
        try:
            for released in self._router.release(keys):
                await self.connections[released.session].send_unsubscribe(released.key)
            await self._await_replies(futures, "unsubscribe")
        finally:
            self._forget(requests)

    def _raise_if_ended(self) -> None:
        """A request to a feed that has ended gets its error at once: no reply will come."""
        if self._error is not None:
            raise self._error

    @staticmethod
    def _keys(tr_id: str, codes: str | Iterable[str]) -> list[Key]:
        layout_for(tr_id)  # UnknownTRError for a TR without a layout
        codes = [codes] if isinstance(codes, str) else list(codes)
        for code in codes:
            if not isinstance(code, str) or not code or not code.isascii() or not code.isalnum():
                raise UsageError(f"{code!r} is not an instrument code (e.g. A11612, B11612007)")
            check_code(tr_id, code)  # an option code on a futures TR: refused before sending
        return list(dict.fromkeys((tr_id, code) for code in codes))

    def _expect(self, request: Request) -> asyncio.Future[None]:
        if self._router.expect(request):
            self._replies[request] = asyncio.get_running_loop().create_future()
        return self._replies[request]

    def _forget(self, requests: list[Request]) -> None:
        """Stop expecting replies nobody awaits any more (timed out, cancelled): a future left in
        ``_replies`` would keep the queue overfilled for good. A request another call still
        awaits stays."""
        for request in requests:
            if self._router.forget(request):
                self._replies.pop(request, None)

    async def _await_replies(self, futures: list[asyncio.Future[None]], what: str) -> None:
        if not futures:
            return
        done, pending = await asyncio.wait(futures, timeout=self.settings.reply_timeout)
        for future in futures:  # the first request's error, in the order asked
            if future in done and (error := future.exception()) is not None:
                raise error
        if pending:
            raise FeedError(
                f"no reply to {len(pending)} {what} {'request' if len(pending) == 1 else 'requests'} within "
                f"{self.settings.reply_timeout:g} s; they are kept and retried on reconnect"
            )

    # --- records -------------------------------------------------------------------------------

    def __aiter__(self) -> AsyncIterator[Record]:
        return self

    async def __anext__(self) -> Record:
        queue = self._queue
        if queue is None:
            raise UsageError("use the feed inside 'async with kisfeed.connect(...) as feed'")
        record = queue.pop()  # a record waiting: no second coroutine for it
        return await queue.get() if record is None else record

    async def next_batch(self, limit: int = 1000) -> list[Record]:
        """The next record and up to ``limit`` - 1 more already waiting (for batch consumers)."""
        if self._queue is None:
            raise UsageError("use the feed inside 'async with kisfeed.connect(...) as feed'")
        return await self._queue.get_batch(limit)

    async def run(self, on_record: Callable[[Record], Awaitable[None] | None]) -> None:
        """Call ``on_record`` for every record until the feed closes (the callback adapter)."""
        async for record in self:
            result = on_record(record)
            if result is not None:
                await result

    # --- the connections' side (ConnectionOwner in connection.py): they call these, users do not --

    def assigned(self, connection: int) -> list[Key]:
        return self._router.assigned(connection)

    def connected(self, connection: int) -> int:
        self._sessions += 1
        self.emit(ev.Connected(self._sessions, connection))
        return self._sessions

    def frame_received(self, text: str, received_ns: int, session_id: int) -> date:
        self._frames += 1
        self._bytes += len(text)
        self._last_frame_ns = received_ns
        if self._on_frame is not None:
            try:
                self._on_frame(text, received_ns, session_id)
            except Exception as exc:
                raise Fatal(CallbackError("on_frame", exc)) from exc
        if not self._day_start <= received_ns < self._day_end:  # once a day: the KST date then
            day = self._day = kst_day(received_ns)
            midnight = datetime(day.year, day.month, day.day, tzinfo=KST)
            self._day_start = int(midnight.timestamp()) * 1_000_000_000
            self._day_end = self._day_start + 86_400 * 1_000_000_000
        return self._day

    def records_received(self, records: list[Record]) -> Coroutine[Any, Any, None] | None:
        queue = self._queue
        assert queue is not None
        self._records += len(records)
        if queue.offer(records):  # the usual case: room for the whole frame
            return asyncio.sleep(0) if queue.handover else None  # let a waiting consumer run
        return self._queue_when_room(queue, records)

    async def _queue_when_room(self, queue: RecordQueue[Record], records: list[Record]) -> None:
        dropped = queue.dropped
        # While a subscribe/unsubscribe awaits its reply the reader must go on reading, or the
        # reply would wait behind data nobody consumes yet: the queue may then grow, by at most
        # reply_overfill (see RecordQueue). The router holds only replies someone still awaits.
        overfill = self._router.awaiting_reply
        if queue.offer(records, overfill=overfill):
            return
        try:
            for record in records:
                await queue.put(record, overfill=overfill)
        except FeedError as exc:
            raise Fatal(exc) from None
        if queue.dropped != dropped and (dropped == 0 or queue.dropped // 1000 != dropped // 1000):
            log.warning("consumer too slow: %d records dropped so far (overflow=drop-oldest)", queue.dropped)

    def reply(self, request: Request, error: BaseException | None) -> None:
        if self._router.answer(request):
            self._resolve(request, error)

    def _resolve(self, request: Request, error: BaseException | None) -> None:
        future = self._replies.pop(request)
        if not future.done():
            if error is None:
                future.set_result(None)
            else:
                future.set_exception(error)

    def refused(self, request: Request, error: BaseException) -> None:
        if request[0] == "subscribe":  # it is no longer wanted
            self._router.drop(request[1])
        self.reply(request, error)

    def connection_lost(self, connection: Connection, reason: str) -> None:
        self._reconnects += 1
        self.emit(ev.Disconnected(connection.session_id or 0, reason, connection.last_frame_ns))
        rerouted = self._router.lose(connection.index, self._live())
        for request in rerouted.released:
            self._resolve(request, None)  # a lost session holds nothing now
        for moved in rerouted.moved:
            self.background(self.connections[moved.session].send_subscribe(moved.key))

    def malformed(self, error: ParseError) -> None:
        self._parse_errors += 1
        if self.settings.on_malformed == "raise":
            raise Fatal(error)
        log.warning("skipped malformed input (%d so far): %s", self._parse_errors, error)

    def fail(self, error: BaseException) -> None:
        """End the feed: ``error`` goes to every consumer and waiter, and the connections stop
        (none may go on calling ``on_frame`` for a feed that has ended)."""
        if self._error is None:
            self._error = error
            log.error(
                "feed stopped: %s",
                error if isinstance(error, KisfeedError) else f"{type(error).__name__}: {error}",
            )
        for future in self._replies.values():
            if not future.done():
                _settle(future, error)
        if self._queue is not None:
            self._queue.close(error)
        for connection in self.connections:
            connection.cancel()

    def background(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Run ``work`` in a task of the feed; an error it ends with ends the feed."""
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)  # keep a reference until done (asyncio holds tasks weakly)
        task.add_done_callback(self._background_done)
        return task

    def _background_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            self.fail(error.error if isinstance(error, Fatal) else error)

    def emit(self, event: ev.FeedEvent) -> None:
        log.info("%s", event)
        if self._on_event is not None:
            try:
                self._on_event(event)
            except Exception as exc:
                raise Fatal(CallbackError("on_event", exc)) from exc

    # --- observability -------------------------------------------------------------------------

    def stats(self) -> FeedStats:
        age = None if self._last_frame_ns is None else (time.time_ns() - self._last_frame_ns) / 1e9
        return FeedStats(
            frames=self._frames,
            records=self._records,
            bytes=self._bytes,
            parse_errors=self._parse_errors,
            dropped=self._queue.dropped if self._queue is not None else 0,
            reconnects=self._reconnects,
            queued=len(self._queue) if self._queue is not None else 0,
            subscriptions={c.index: len(c.session.registered) if c.session else 0 for c in self.connections},
            connected={c.index: c.live for c in self.connections},
            last_frame_age=age,
        )
