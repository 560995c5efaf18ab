"""Reading the fleet's stream: ``kisfeed.fleet.subscribe``, the typed ``async for`` API of
``kisfeed.connect`` fed by JetStream instead of KIS (issue 17, item 3).

::

    async with kisfeed.fleet.subscribe("nats://host:4222", trs=["H0ZFCNT0"], codes=["A11612"]) as feed:
        async for record in feed:          # FuturesTrade, ... decoded by the client's codec
            ...

Any machine can subscribe; no KIS credential is involved. ``start`` says where in the stream to
begin: ``None`` live (new messages only), ``"all"`` the whole stream, an ``int`` a stream
sequence, a ``datetime`` the first message stored at or after it.

Delivery is a JetStream *ordered consumer* (nats-py): ephemeral, no acks, flow-controlled, and
recreated from the last stream sequence it delivered whenever it misses a message or its
heartbeats stop (a nats-server restart, a lost connection). So a restart neither loses nor
repeats a record; a sequence not above the last one delivered is dropped all the same (counted
in ``stats().duplicates``), so that nothing can reach the consumer twice. With ``durable`` it is
a durable consumer instead, whose position survives the subscriber (see ``subscribe``).

Gap events (``kisfeed.gap.<TR>.<code>``: a wanted code no feeder served for a while) are not
records: they go to the ``on_gap`` callback (a ``wire.GapEvent``) and are counted in
``stats().gaps``. A message that is not what ``wire`` defines is counted in
``stats().malformed``, logged and skipped, never fatal (issue 17, item 5). Messages are decoded
as the consumer asks for records, so ``on_gap`` runs in the consumer's task, in stream order with
the records, and an exception it raises reaches the ``async for``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Literal

from ..client.queue import RecordQueue
from ..exceptions import MalformedMessageError, ParseError, UsageError
from ..schema import CODECS, KST, Record, kst_day
from . import wire
from .options import NatsOptions
from .reading import bind_durable, filter_subjects, open_stream, reply_sequences

if TYPE_CHECKING:
    from nats.aio.client import Client
    from nats.aio.msg import Msg
    from nats.js import JetStreamContext

__all__ = ["subscribe", "StreamFeed", "StreamStats", "Start", "GapCallback"]

log = logging.getLogger("kisfeed.fleet")

Start = None | Literal["all"] | int | datetime
GapCallback = Callable[[wire.GapEvent], None]

_DAY_NS = 86_400 * 1_000_000_000
_CHUNK = 256  # messages decoded at a time for ``async for``
_FETCH = 1000  # messages a durable subscriber asks for at a time
_ROUTES = 100_000  # subjects remembered for the fast path (a code each: far more than KRX lists)


@dataclass(frozen=True)
class StreamStats:
    received: int  # messages delivered by the server (records, gap events, malformed)
    records: int  # records decoded and queued
    malformed: int  # messages skipped: not a kisfeed record or gap event
    gaps: int  # gap events seen
    duplicates: int  # messages at or below the last delivered stream sequence, dropped
    last_sequence: int  # the stream sequence of the last message delivered (0: none yet)
    pending: int  # messages of the filter still in the stream after it (the consumer's lag)
    queued: int  # messages received and records decoded, waiting for the consumer
    reconnects: int  # reconnections to the NATS server
    connected: bool  # to the NATS server, now


def subscribe(
    url_or_options: str | NatsOptions | None = None,
    *,
    trs: Iterable[str] | None = None,
    codes: Iterable[str] | None = None,
    keys: Iterable[tuple[str, str]] | None = None,
    start: Start = None,
    on_gap: GapCallback | None = None,
    queue_size: int = 100_000,
    heartbeat: float = 1.0,
    connect_timeout: float = 10.0,
    durable: str | None = None,
    ack_wait: float = 60.0,
) -> StreamFeed:
    """The records of the fleet's stream, typed: ``async with subscribe(...) as feed``.

    ``url_or_options``: a NATS URL (credentials from ``KISFEED_NATS_*``), a ``NatsOptions``, or
    None for ``KISFEED_NATS_URL``. ``trs``/``codes`` filter (None: all), or ``keys``, (TR, code)
    pairs as ``Feed.subscribe`` registers them. ``start``: see the
    module docstring. ``on_gap`` hears every gap event. ``queue_size`` messages wait for a slow
    consumer; past it the server is held back (flow control), nothing is dropped.
    ``heartbeat``: seconds between the server's idle heartbeats; two missed ones make the
    consumer recreate itself from where it stopped. ``connect_timeout``: seconds to make the
    first connection (``FleetError`` after them); once made, it reconnects for ever.

    ``durable``: a name, to go on where the last run with that name stopped (a JetStream
    durable consumer; ``start`` applies to its first run only). Records are fetched as the
    consumer asks for them, and a batch counts as done when it asks for the next one or leaves
    ``async with`` without an exception: the batch being taken when a run crashed comes again
    ``ack_wait`` seconds later (at least once; a redelivery is not dropped by sequence then)."""
    if isinstance(url_or_options, NatsOptions):
        options = url_or_options
    else:
        options = NatsOptions.from_env(url=url_or_options)
    if start is not None and start != "all" and not isinstance(start, (int, datetime)):
        raise UsageError(f"start={start!r}: None, 'all', a stream sequence (int) or a datetime")
    if isinstance(start, bool) or (isinstance(start, int) and start < 1):
        raise UsageError(f"start={start!r}: a stream sequence counts from 1")
    if queue_size < 1 or heartbeat <= 0 or connect_timeout <= 0:
        raise UsageError("queue_size must be at least 1, heartbeat and connect_timeout positive")
    if ack_wait < 1:
        raise UsageError(f"ack_wait={ack_wait}: at least 1 second")
    if durable is not None and (not durable or not all(c.isalnum() or c in "-_" for c in durable)):
        raise UsageError(f"durable={durable!r}: letters, digits, '-' and '_' only")
    return StreamFeed(
        options,
        filter_subjects(trs, codes, keys),
        start,
        on_gap,
        queue_size,
        heartbeat,
        connect_timeout,
        durable,
        ack_wait,
    )


class StreamFeed:
    """Created by ``subscribe``; use it as an async context manager, then ``async for``,
    ``next_batch`` and ``stats`` as on ``kisfeed.connect``'s ``Feed``."""

    def __init__(
        self,
        options: NatsOptions,
        subjects: list[str],
        start: Start,
        on_gap: GapCallback | None,
        queue_size: int,
        heartbeat: float,
        connect_timeout: float = 10.0,
        durable: str | None = None,
        ack_wait: float = 60.0,
    ) -> None:
        self.options, self.subjects, self.start = options, subjects, start
        self._on_gap, self._heartbeat = on_gap, heartbeat
        self.connect_timeout, self.durable, self.ack_wait = connect_timeout, durable, ack_wait
        self._raw: RecordQueue[Msg] = RecordQueue(queue_size, "block")  # as delivered
        self._ready: deque[Record] = deque()  # decoded, not yet taken
        self._handed: list[Msg] = []  # with durable: the batch being taken
        self._pull: JetStreamContext.PullSubscription | None = None
        self._nc: Client | None = None
        self._sub: JetStreamContext.PushSubscription | None = None
        self._received = self._records = self._malformed = self._gaps = self._duplicates = 0
        self._last_sequence = self._pending = 0
        self._day_start, self._day_end, self._day = 0, -1, date.min
        #: subject -> (TR, code, its codec's one-record reader), once a good record came on it
        self._routes: dict[str, tuple[str, str, Callable[..., list[Record]]]] = {}

    async def __aenter__(self) -> StreamFeed:
        from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
        from nats.js.errors import NotFoundError

        self._nc, js = await open_stream(self.options.with_name("kisfeed-subscribe"), self.connect_timeout)
        config = ConsumerConfig(filter_subjects=self.subjects if len(self.subjects) > 1 else None)
        if self.start is None:
            config.deliver_policy = DeliverPolicy.NEW
        elif self.start == "all":
            config.deliver_policy = DeliverPolicy.ALL
        elif isinstance(self.start, datetime):
            config.deliver_policy = DeliverPolicy.BY_START_TIME
            moment = self.start if self.start.tzinfo else self.start.astimezone()
            config.opt_start_time = moment.astimezone(UTC)
        else:
            config.deliver_policy = DeliverPolicy.BY_START_SEQUENCE
            config.opt_start_seq = self.start
        try:
            if self.durable is None:
                self._sub = await js.subscribe(
                    self.subjects[0],
                    stream=wire.STREAM,
                    cb=self._on_message,
                    config=config,
                    ordered_consumer=True,
                    idle_heartbeat=self._heartbeat,
                )
                return self
            # A durable consumer: its position is the server's (acknowledged), and ``start``
            # applies when it is made; a later run may change its filter, not where it is.
            try:
                info = await js.consumer_info(wire.STREAM, self.durable)
            except NotFoundError:
                info = None
            if info is not None:
                config.deliver_policy = info.config.deliver_policy
                config.opt_start_seq = info.config.opt_start_seq
                config.opt_start_time = info.config.opt_start_time
            config.ack_policy = AckPolicy.EXPLICIT  # each batch's, when the next is asked for
            config.ack_wait = self.ack_wait
            # A pull consumer, asked only when the consumer wants more: what is out
            # unacknowledged is the batch being taken, no more (a push consumer's messages
            # sent to a subscriber that has just left would wait out ack_wait).
            self._pull = await bind_durable(js, self.durable, self.subjects, config)
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        if exc_type is None:  # left normally: what was handed out is done with
            await self._ack_handed()
        await self.close()

    async def close(self) -> None:
        sub, self._sub = self._sub, None
        pull, self._pull = self._pull, None
        nc, self._nc = self._nc, None
        for subscription in (sub, pull):
            if subscription is not None:
                try:
                    await subscription.unsubscribe()
                except Exception as exc:  # a closed connection: nothing left to unsubscribe
                    log.debug("unsubscribe: %s", exc)
        self._raw.close(StopAsyncIteration())
        if nc is not None:
            with contextlib.suppress(Exception):
                await nc.flush(timeout=2)  # the last acknowledgements
            await nc.close()

    async def _fetch(self, limit: int) -> list[Msg]:
        """With ``durable``: the next messages, up to ``limit``, waiting for one."""
        from nats.errors import TimeoutError as NatsTimeout

        while True:
            pull = self._pull
            if pull is None:
                raise StopAsyncIteration
            try:
                return await pull.fetch(limit, timeout=5.0)
            except (NatsTimeout, TimeoutError):
                continue
            except Exception as exc:  # reconnecting (a restarted server): nats-py resubscribes
                if self._pull is None:
                    raise StopAsyncIteration from None
                log.warning("fetching from %s: %s; retrying", self.options.url_shown, exc)
                await asyncio.sleep(0.5)

    async def _ack_handed(self) -> None:
        """With ``durable``: acknowledge the batch whose records were all handed out."""
        handed, self._handed = self._handed, []
        for msg in handed:
            with contextlib.suppress(Exception):  # disconnected: it comes again, dropped by sequence
                await msg.ack()

    # --- the subscription's side: one message at a time, in stream order ---

    async def _on_message(self, msg: Msg) -> None:
        """The subscription's callback: queue the message as it is. Decoding waits for the
        consumer (``_process``): nats-py answers the server's flow control only once its
        callback has taken every message before it, so a callback that decoded would stall the
        delivery (by up to 0.25 s, nats-py's check interval) whenever it fell behind."""
        if not self._raw.offer((msg,)):
            await self._raw.put(msg)  # full: wait for the consumer (the server waits too)

    def _process(self, msgs: list[Msg]) -> list[Record]:
        """The records of ``msgs``, in stream order; gap events to ``on_gap``; a sequence at or
        below the last one dropped; malformed messages counted and skipped."""
        records: list[Record] = []
        for msg in msgs:
            self._received += 1
            _, sequence, self._pending = reply_sequences(msg.reply)
            if sequence <= self._last_sequence and self.durable is None:  # recreated too far back
                self._duplicates += 1
                continue
            self._last_sequence = sequence
            try:
                if msg.subject.startswith("kisfeed.gap."):
                    event = wire.parse_gap(msg.subject, msg.data)
                    self._gaps += 1
                    if self._on_gap is not None:
                        self._on_gap(event)
                    continue
                records.append(self._decode(msg))
            except ParseError as exc:
                self._malformed += 1
                log.warning("skipped a malformed message (%d so far): %s", self._malformed, exc)
        self._records += len(records)
        return records

    def _decode(self, msg: Msg) -> Record:
        """The typed record of a record message (``MalformedMessageError`` if it is not one),
        by the codec the client decodes frames with: the one-record fast path first, on the
        payload as it came; ``wire.parse_record`` (which names what is wrong) only if that
        refuses, then field by field."""
        subject = msg.subject
        route = self._routes.get(subject)
        headers = msg.headers
        if route is None or headers is None:
            return self._decode_slowly(msg)
        tr_id, code, decode_one = route
        try:
            ns = int(headers[wire.RECEIVED_NS])
            if not headers[wire.MSG_ID].startswith(tr_id):
                return self._decode_slowly(msg)
            text = msg.data.decode()
        except (KeyError, ValueError):  # UnicodeDecodeError is a ValueError
            return self._decode_slowly(msg)
        if not self._day_start <= ns < self._day_end:  # once a day: the KST trading date then
            self._day = day = kst_day(ns)
            self._day_start = int(datetime(day.year, day.month, day.day, tzinfo=KST).timestamp()) * 10**9
            self._day_end = self._day_start + _DAY_NS
        try:
            record = decode_one(text, self._day, ns)[0]
        except ValueError:
            return self._decode_slowly(msg)
        if record.code != code:
            return self._decode_slowly(msg)
        return record

    def _decode_slowly(self, msg: Msg) -> Record:
        parsed = wire.parse_record(msg.subject, msg.data, msg.headers)  # the named error, if any
        tr_id, ns = parsed.tr_id, parsed.received_ns
        if msg.subject not in self._routes and len(self._routes) < _ROUTES:
            self._routes[msg.subject] = (tr_id, parsed.fields[0], CODECS[tr_id].decode_one)
        day = kst_day(ns)
        codec = CODECS[tr_id]
        try:  # a record wider or narrower than the layout's required fields
            return codec.decode_fast(msg.data.decode(), 1, len(parsed.fields), day, ns)[0]
        except ValueError:
            pass
        records, errors = codec.decode_carefully(parsed.fields, 1, day, ns)
        if errors:
            raise MalformedMessageError(f"{msg.subject}: {errors[0]}")
        return records[0]

    # --- the consumer's side ---

    def __aiter__(self) -> AsyncIterator[Record]:
        return self

    async def __anext__(self) -> Record:
        ready = self._ready
        while not ready:
            ready.extend(self._process(await self._next_raw(_CHUNK)))
        return ready.popleft()

    async def next_batch(self, limit: int = 1000) -> list[Record]:
        """The next record and up to ``limit`` - 1 more already waiting."""
        ready = self._ready
        while not ready:
            ready.extend(self._process(await self._next_raw(limit)))
        if len(ready) <= limit:
            out = list(ready)
            ready.clear()
            return out
        return [ready.popleft() for _ in range(limit)]

    async def _next_raw(self, limit: int) -> list[Msg]:
        """The next messages; with ``durable``, first the acknowledgement of the batch before,
        every record of which the consumer has taken (it asks for more)."""
        if self.durable is None:
            return await self._raw.get_batch(limit)
        await self._ack_handed()
        self._handed = await self._fetch(min(limit, _FETCH))
        return self._handed

    def stats(self) -> StreamStats:
        reconnects = int(self._nc.stats.get("reconnects", 0)) if self._nc is not None else 0
        return StreamStats(
            received=self._received,
            records=self._records,
            malformed=self._malformed,
            gaps=self._gaps,
            duplicates=self._duplicates,
            last_sequence=self._last_sequence,
            pending=self._pending,
            queued=len(self._raw) + len(self._ready),
            reconnects=reconnects,
            connected=self._nc is not None and self._nc.is_connected,
        )

    def __repr__(self) -> str:  # the URL without its secrets
        return f"StreamFeed({self.options.url_shown!r}, subjects={self.subjects!r})"
