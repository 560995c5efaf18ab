"""Recording the fleet's stream into a data directory exactly once: ``kisfeed record --from
nats://…`` (issue 17, item 3).

A *durable pull consumer* (explicit acks) hands the records over; each one is journaled as the
one-record frame KIS would have sent (``wire.frame_text``) with the feeder's receive time, by
the same ``store.Recorder`` that records a live feed, so the journal, the converter and the
dataset need nothing new. Gap events become the journal's ``gap-end`` notes (``GapEvent.note``),
which the converter turns into rows of the ``gaps`` view.

A message is acknowledged only once the journal line holding it is fsynced
(``JournalWriter.synced`` counts the lines written and fsynced, in the order appended), so a
recorder killed at any moment leaves every unacknowledged message to be delivered again. Those
it had synced but not yet acknowledged come back too; they must not be written twice. The server
marks a redelivery (its delivery count is above 1), and at most ``max_ack_pending`` messages are
out unacknowledged at a time; so on start the recorder reads the ids of the journal's last
``max_ack_pending`` record frames (each one's receive time and text: a redelivery is the same
message, with the feeder's receive time in its header, so the pair names it without the
message id, which for a book depends on the update before it) and the gap notes among them,
and skips a redelivered message found there. A message delivered for the first time is always
written.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import socket
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..exceptions import MalformedMessageError, StoreError, UsageError
from ..protocol.frames import HEADER_LENGTH, PLAIN_HEADERS
from ..store.journal import NOTE_SESSION, Segment, iter_lines, parse_line, segments
from . import wire
from .options import NatsOptions
from .reading import bind_durable, filter_subjects, open_stream, reply_sequences

if TYPE_CHECKING:
    from nats.aio.client import Client
    from nats.aio.msg import Msg
    from nats.js import JetStreamContext

    from ..store.recorder import Recorder

__all__ = ["StreamRecorder", "StreamRecorderStats", "recent_ids", "default_durable", "plan_subjects"]

log = logging.getLogger("kisfeed.fleet")

#: The journal session of the records a stream recorder writes (real sessions count from 1; 0 is
#: the recorder's notes): the stream is one source, whatever feeders published into it.
STREAM_SESSION = 1


@dataclass(frozen=True)
class StreamRecorderStats:
    received: int  # messages fetched
    journaled: int  # records and gap notes handed to the journal
    acked: int  # messages acknowledged (their journal lines fsynced, or nothing to write)
    skipped: int  # redeliveries of what the journal already held
    malformed: int  # messages that are not a kisfeed record or gap event (acknowledged, not written)
    gaps: int  # gap events journaled
    last_sequence: int  # the highest stream sequence fetched
    pending: int  # messages of the filter still in the stream after the last one fetched


def default_durable(root: Path) -> str:
    """A durable consumer name per machine and data directory: two recorders of one stream
    into two directories must not share a consumer (a pull consumer splits its messages between
    its clients), and a restarted one must find its own again."""
    digest = hashlib.blake2b(str(root.resolve()).encode(), digest_size=5).hexdigest()
    host = "".join(c if c.isalnum() or c in "-_" else "_" for c in socket.gethostname())[:40]
    return f"kisfeed-record-{host}-{digest}"


def plan_subjects(plan: dict[str, list[str]] | None) -> list[str]:
    """The subjects (records and gap events) of a ``{TR: [codes]}`` plan; None: the whole stream."""
    if not plan:
        return filter_subjects(None, None)
    out: list[str] = []
    for tr, codes in plan.items():
        out += filter_subjects([tr], codes)
    return out


#: What names a journaled record message: its receive time (the feeder's) and its frame text.
Written = tuple[int, str]


def recent_ids(root: Path, count: int) -> tuple[set[Written], set[str]]:
    """The ``Written`` of the last ``count`` one-record frames of the journal under ``root`` and
    the gap notes written among them (see the module docstring): what a redelivered message may
    already be. Segments are read newest first, only as many as it takes; a plain one (a
    killed run's, before ``rebuild`` seals it) from its end, only as much as it takes, so that a
    day's journal is not read whole at every start."""
    chunks: list[list[tuple[str, int]]] = []  # per segment, newest segment first
    notes: set[str] = set()
    held = 0
    for seg in reversed(segments(root) if (root / "journal").is_dir() else []):
        try:
            frames = _tail(seg, count - held, notes)
        except (OSError, StoreError) as exc:  # sealed and renamed meanwhile: the rest is older
            log.warning("could not read journal segment %s: %s", seg.name, exc)
            continue
        chunks.append(frames)
        held += len(frames)
        if held >= count:
            break
    last = [frame for chunk in reversed(chunks) for frame in chunk][-count:]
    return {(ns, text) for text, ns in last}, notes


def _tail(seg: Segment, want: int, notes: set[str]) -> list[tuple[str, int]]:
    """The one-record frames (text, received_ns) of ``seg``'s end, at least ``want`` of them if
    it has as many; its gap notes in that stretch go to ``notes``."""
    if seg.sealed:  # zstd: read from the start (sealed: a run that stopped, or rebuilt since)
        with seg.open() as stream:
            return _frames(iter_lines(stream), notes)
    size = seg.path.stat().st_size
    span = 1 << 20
    while True:
        start = max(0, size - span)
        with open(seg.path, "rb") as f:
            f.seek(start)
            lines = f.read(size - start).split(b"\n")
        if start:
            lines = lines[1:]  # the first is the end of a line that began before ``start``
        frames = _frames(lines, notes)
        if len(frames) >= want or not start:
            return frames
        span *= 4


def _frames(lines: Iterable[bytes], notes: set[str]) -> list[tuple[str, int]]:
    frames: list[tuple[str, int]] = []
    for line in lines:
        try:
            ns, session, text = parse_line(line)
        except ValueError:  # a line a crash cut short, or not a line
            continue
        if session == NOTE_SESSION:
            if text.startswith('{"kisfeed":"gap-end"'):
                notes.add(text)
        elif PLAIN_HEADERS.get(text[:HEADER_LENGTH], ("", 0))[1] == 1:
            frames.append((text, ns))
    return frames


class StreamRecorder:
    """Fetches the stream through the durable consumer ``durable`` and journals it with
    ``recorder`` (started by the caller); ``run`` until ``stop`` is set."""

    def __init__(
        self,
        recorder: Recorder,
        options: NatsOptions,
        subjects: Iterable[str],
        durable: str,
        *,
        ack_wait: float = 30.0,
        max_ack_pending: int = 20_000,
        batch: int = 1000,
        connect_timeout: float = 10.0,
    ) -> None:
        if not durable or not all(c.isalnum() or c in "-_" for c in durable):
            raise UsageError(f"--durable {durable!r}: letters, digits, '-' and '_' only")
        if ack_wait < 1 or max_ack_pending < 1 or batch < 1:
            raise UsageError("ack_wait of at least 1 s, max_ack_pending and batch of at least 1")
        self.recorder, self.options, self.durable = recorder, options, durable
        self.subjects = list(subjects)
        self.ack_wait, self.max_ack_pending = ack_wait, max_ack_pending
        self.batch, self.connect_timeout = min(batch, max_ack_pending), connect_timeout
        self._ids: set[Written] = set()
        self._notes: set[str] = set()
        self._written: deque[Written] = deque()  # this run's, oldest first: a redelivery within the run
        self._unacked: deque[tuple[int, Msg]] = deque()  # (journal lines after it, message)
        self._received = self._journaled = self._acked = self._skipped = self._malformed = 0
        self._gaps = self._last_sequence = self._pending = 0
        self._nc: Client | None = None
        self._sub: JetStreamContext.PullSubscription | None = None

    def load_recent(self) -> None:
        """Read what the journal already holds (before the first fetch; see ``recent_ids``)."""
        self._ids, self._notes = recent_ids(self.recorder.root, self.max_ack_pending)

    async def open(self) -> None:
        """Connect and create (or update) the durable consumer: before the recorder takes the
        data directory, so that a wrong URL or login fails at once and touches nothing.
        ``FleetError`` if the server cannot be reached, refuses the login or the consumer."""
        from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

        self._nc, js = await open_stream(
            self.options.with_name(f"kisfeed-{self.durable}"), self.connect_timeout
        )
        try:
            config = ConsumerConfig(
                deliver_policy=DeliverPolicy.ALL,  # a new recorder records all the stream holds
                ack_policy=AckPolicy.EXPLICIT,
                ack_wait=self.ack_wait,
                max_ack_pending=self.max_ack_pending,
                max_deliver=-1,
            )
            self._sub = await bind_durable(js, self.durable, self.subjects, config)
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        nc, self._nc, self._sub = self._nc, None, None
        if nc is not None:
            await nc.close()

    async def __aenter__(self) -> StreamRecorder:
        await self.open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def run(self, stop: asyncio.Event) -> None:
        """Record until ``stop`` is set (the recorder started, ``open`` done); then acknowledge
        what the journal has synced."""
        from nats.errors import ConnectionClosedError
        from nats.errors import TimeoutError as NatsTimeout
        from nats.js.errors import APIError

        sub, nc = self._sub, self._nc
        if sub is None or nc is None:
            raise UsageError("StreamRecorder.run before open")
        acker = asyncio.create_task(self._ack_synced(stop))
        try:
            while not stop.is_set() and self.recorder.error is None:
                try:
                    msgs = await sub.fetch(self.batch, timeout=1.0)
                except (NatsTimeout, TimeoutError):
                    continue
                except (ConnectionClosedError, OSError, APIError) as exc:
                    log.warning("fetching from %s: %s; retrying", self.options.url_shown, exc)
                    await asyncio.sleep(0.5)  # reconnecting: nats-py resubscribes the inbox
                    continue
                for msg in msgs:
                    await self._on_message(msg)
        finally:
            acker.cancel()
            try:
                await acker
            except asyncio.CancelledError:
                pass
        # the journal's last lines, synced, then acknowledged: the next run starts clean
        try:
            await asyncio.to_thread(self.recorder.journal.flush, 10.0)
        except StoreError:
            pass  # the recorder reports it; what was not synced stays unacknowledged
        await self._ack_up_to(self.recorder.journal.synced)
        try:
            await nc.flush(timeout=5)
        except Exception as exc:  # not connected: those acks are lost, their messages skipped next run
            log.warning("final acknowledgements not confirmed: %s", exc)

    async def _on_message(self, msg: Msg) -> None:
        self._received += 1
        delivered, sequence, self._pending = reply_sequences(msg.reply)
        # a redelivery (its ack lost to a reconnect) can come after later messages: the highest
        # sequence fetched is the one that says how far the stream was read
        self._last_sequence = max(self._last_sequence, sequence)
        try:
            if msg.subject.startswith("kisfeed.gap."):
                note = wire.parse_gap(msg.subject, msg.data).note
                if delivered > 1 and note in self._notes:
                    return await self._skip(msg)
                self._gaps += 1
                self._notes.add(note)
                self._journal(msg, note, time.time_ns(), NOTE_SESSION)
                return None
            parsed = wire.parse_record(msg.subject, msg.data, msg.headers)
        except MalformedMessageError as exc:
            self._malformed += 1
            log.warning("skipped a malformed message (%d so far): %s", self._malformed, exc)
            await msg.ack()  # it can never be recorded: not again either
            self._acked += 1
            return None
        text = wire.frame_text(parsed.tr_id, parsed.fields)
        written = (parsed.received_ns, text)
        if delivered > 1 and written in self._ids:
            return await self._skip(msg)
        self._ids.add(written)
        self._written.append(written)
        if len(self._written) > self.max_ack_pending:  # keep the last max_ack_pending of this run
            self._ids.discard(self._written.popleft())
        self._journal(msg, text, parsed.received_ns, STREAM_SESSION)
        return None

    def _journal(self, msg: Msg, text: str, received_ns: int, session: int) -> None:
        self.recorder.on_frame(text, received_ns, session)
        self._journaled += 1
        self._unacked.append((self.recorder.journal.frames, msg))

    async def _skip(self, msg: Msg) -> None:
        """A redelivery of what the journal holds: acknowledged once everything appended so far
        is synced (the copy this run appended may not be yet)."""
        self._skipped += 1
        self._unacked.append((self.recorder.journal.frames, msg))

    async def _ack_synced(self, stop: asyncio.Event) -> None:
        """Acknowledge each message once the journal has fsynced its line (see the docstring)."""
        every = max(0.01, self.recorder.journal.fsync_window / 2)
        while not stop.is_set():
            await self._ack_up_to(self.recorder.journal.synced)
            await asyncio.sleep(every)

    async def _ack_up_to(self, synced: int) -> None:
        unacked = self._unacked
        while unacked and unacked[0][0] <= synced:
            _, msg = unacked.popleft()
            try:
                await msg.ack()
            except Exception as exc:  # disconnected: it comes again, and is skipped then
                log.debug("ack: %s", exc)
            self._acked += 1

    def stats(self) -> StreamRecorderStats:
        return StreamRecorderStats(
            received=self._received,
            journaled=self._journaled,
            acked=self._acked,
            skipped=self._skipped,
            malformed=self._malformed,
            gaps=self._gaps,
            last_sequence=self._last_sequence,
            pending=self._pending,
        )
