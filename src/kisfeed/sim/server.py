"""The WebSocket side of the simulator: one ``SimSession`` per connection.

What a session does (reference 2.1–2.4, 3.1, 3.2):

* Every text frame is a request: validated by ``requests.parse_request`` and answered with the
  reply of the ``OPSP`` table. A request's approval key binds the session to its app key; a second
  live session on the same app key gets ``OPSP8996`` (``rt_cd "9"``) and is closed. A code
  not served is registered and silent, or refused with ``OPSP8992`` (``unknown_codes``, ref 8.11).
* PINGPONG every ``ping_interval`` seconds, stamped with the wall clock in KST; a PINGPONG text
  from the client (echo), or a pong or ping frame carrying one, is the answer; none for
  ``pong_timeout`` seconds closes the session.
* Data: the market pushes records of subscribed codes; records of one TR are packed into one
  frame while they fall in the batch window. One writer task per session sends everything in
  order (replies, PINGPONG, data), so a frame is never interleaved and ground truth is the wire
  order.

websockets answers ping frames itself and hides pong frames; ``_Connection`` overrides
``process_event`` (the documented hook where frames arrive) to let the session see both.
"""

from __future__ import annotations

import asyncio
import logging
import random
import string
from collections import deque
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame, Opcode

from ..schema.layouts import LAYOUTS
from ..schema.records import KST
from ..wslog import websockets_logger
from .requests import Heartbeat, Refusal, is_pingpong, parse_request, pingpong, reply

if TYPE_CHECKING:
    from .simulator import Simulator

__all__ = ["SimSession", "FeedServer", "wait_set"]

log = logging.getLogger("kisfeed.sim")

# What the writer does after sending an item.
_CLOSE = "close"  # WebSocket close handshake (OPSP8996)
_TCP_CLOSE = "tcp-close"  # flush, then close TCP without a close frame (client ping, ref 2.3)
_RUN = 256  # data frames sent in one go at most (one socket write of a few hundred KB at most)
_RUN_MIN = 32  # data frames that wake the writer by themselves (fewer wait for a kick)


async def wait_set(event: asyncio.Event, timeout: float) -> bool:
    """Wait until ``event`` is set, for ``timeout`` seconds at most; True if it was set.

    A cancel always propagates. ``asyncio.wait_for`` must not be used here: on Python 3.11 it
    runs the wait in a task of its own, and a cancel that arrives after that task finished but
    before ``wait_for`` resumed is swallowed (``wait_for`` returns the result instead; fixed in
    3.12, where ``wait_for`` is built on ``asyncio.timeout``). A heartbeat woken by a stall in
    the same loop turn as its connection dropped then kept running, ``_handle`` never returned,
    and the session held its app key (OPSP8996) and the server's ``wait_closed`` for ever.
    ``asyncio.timeout`` cancels this task itself and tells its own cancel from anyone else's.
    """
    try:
        async with asyncio.timeout(max(0.0, timeout)):
            await event.wait()
    except TimeoutError:
        return False
    return True


class _Out:
    __slots__ = ("text", "tr_id", "records", "done", "then")

    def __init__(self, text: str, tr_id: str | None = None, records: list[str] | None = None,
                 done: asyncio.Future[None] | None = None, then: str | None = None) -> None:  # fmt: skip
        self.text, self.tr_id, self.records, self.done, self.then = text, tr_id, records, done, then


class _Connection(ServerConnection):
    """A server connection that reports ping and pong frames to its session, and sends a run of
    data frames in one send context and one write.

    The one place the simulator reaches into websockets' internals. Written against websockets
    17.4 (``websockets.asyncio``); it relies on: ``ServerConnection.process_event(event)`` being
    called with every ``Frame`` received, ``send_data()`` flushing ``protocol.writes`` (a list of
    bytes, ``b""`` for a half-close), ``send_in_progress`` and the ``send_context()`` async
    context manager that ``send`` uses, and ``protocol.send_text(data)``.
    ``tests/sim/test_server.py`` fails if any of these changes.
    """

    session: SimSession | None = None

    def process_event(self, event: Any) -> None:
        super().process_event(event)
        if isinstance(event, Frame) and self.session is not None:
            if event.opcode is Opcode.PING:
                self.session.on_ping_frame(bytes(event.data))
            elif event.opcode is Opcode.PONG:
                self.session.on_pong_frame(bytes(event.data))

    def send_data(self) -> None:
        # The writer queues a run of data frames at once (``send_frames``); hand them to the
        # transport as one write, so a run costs one syscall rather than one per frame.
        writes = getattr(self.protocol, "writes", None)
        if writes is not None and len(writes) > 1 and all(writes):  # b"" is a half-close: keep it apart
            self.protocol.writes = [b"".join(writes)]
        super().send_data()

    async def send_frames(self, texts: list[str], handed: Callable[[], None]) -> None:
        """Send each text as its own text frame, in one send context (what ``send`` does for
        one): the per-message coroutine and context cost is paid once per run of frames.

        ``handed()`` runs once the frames are queued, just before they are written: from then on
        the client may receive them, even if the send then fails or is cancelled while it
        drains (a drop, a stop), so that is when the ground truth must count them as sent."""
        while self.send_in_progress is not None:  # as send(): never inside a fragmented message
            await asyncio.shield(self.send_in_progress)
        async with self.send_context():
            for text in texts:
                self.protocol.send_text(text.encode())
            handed()


class SimSession:
    """One client connection. Public attributes: ``id``, ``app_key`` (None until a request's
    approval key binds it), ``registrations`` (set of ``(tr_id, tr_key)``), ``stalled``."""

    def __init__(self, sim: Simulator, ws: _Connection, session_id: int) -> None:
        self.sim, self.ws, self.id = sim, ws, session_id
        self.config = sim.config
        self.app_key: str | None = None
        self.registrations: set[tuple[str, str]] = set()
        rng = random.Random(f"{sim.config.seed}:{session_id}")
        # output.key (32 lowercase letters) and output.iv (16 hex), as in EFE's capture (ref 2.2).
        self.key_iv = (
            "".join(rng.choice(string.ascii_lowercase) for _ in range(32)),
            "".join(rng.choice("0123456789abcdef") for _ in range(16)),
        )
        self.loop = asyncio.get_running_loop()
        self._out: deque[_Out] = deque()
        self._wake = asyncio.Event()
        self.room = asyncio.Event()  # set while the send queue is below its limit
        self.room.set()
        # (tr_id, width) -> (sim time of the first record, record texts) of the open batches
        self._pending: dict[tuple[str, int], tuple[float, list[str]]] = {}
        self.stalled_until = 0.0
        self._unanswered_since: float | None = None  # loop time of the oldest unanswered PINGPONG
        self._next_ping = self.loop.time() + self.config.ping_interval
        self._heartbeat_wake = asyncio.Event()
        self.closed = False
        self.ended = asyncio.Event()  # set once the simulator has forgotten this session
        self.last_record: tuple[str, str] | None = None  # (tr_id, text): base of malformed frames

    def __repr__(self) -> str:
        return f"<SimSession {self.id} registrations={len(self.registrations)}>"

    # --- state -----------------------------------------------------------------------------

    @property
    def stalled(self) -> bool:
        return self.loop.time() < self.stalled_until

    def stall(self, seconds: float) -> None:
        """Send nothing (no data, no reply, no PINGPONG) for ``seconds``; data that trades in
        the meantime is never sent to this session (the feed just goes silent, ref 3.4)."""
        self.stalled_until = max(self.stalled_until, self.loop.time() + seconds)
        self._pending.clear()
        self._unanswered_since = None  # a frozen server times nobody out
        self._heartbeat_wake.set()

    # --- outgoing ----------------------------------------------------------------------------

    def enqueue(
        self, text: str, *, then: str | None = None, done: asyncio.Future[None] | None = None
    ) -> None:
        if self.closed:
            if done is not None and not done.done():
                done.set_result(None)
            return
        self._out.append(_Out(text, done=done, then=then))
        self._wake.set()

    def answer(self, text: str) -> None:
        """A reply to a request, subject to the ack faults (delayed or withheld)."""
        withheld, delay = self.sim.faults.ack_policy(self.app_key)
        if withheld:
            return
        if delay > 0:
            self.loop.call_later(delay, self.enqueue, text)
        else:
            self.enqueue(text)

    def push(self, tr_id: str, record: str, t: float, width: int = 0) -> None:
        """One record (``^``-joined fields) of a subscribed code at sim time ``t``. Records are
        packed per TR, and per ``width`` when a replayed tape mixes record widths (KIS appends
        fields, ref 2.5): one frame's records must all have one width to be split again."""
        if self.closed or self.loop.time() < self.stalled_until:
            return
        key = (tr_id, width)
        pending = self._pending.get(key)
        if pending is not None:
            start, records = pending
            if t - start > self.config.batch_window or len(records) >= self.config.max_records_per_frame:
                self.flush(key)
            else:
                records.append(record)
                return
        self._pending[key] = (t, [record])
        self.sim.batch_opened(self)

    def push_all(self, tr_id: str, records: list[str], t: float, width: int = 0) -> None:
        """``push`` for every record of one event (one instant, one TR): the event's records
        join one batch in one step instead of a call and a window check per record."""
        if self.closed or self.loop.time() < self.stalled_until:
            return
        key = (tr_id, width)
        pending = self._pending.get(key)
        if pending is not None:
            start, batch = pending
            if (
                t - start <= self.config.batch_window
                and len(batch) + len(records) <= self.config.max_records_per_frame
            ):
                batch.extend(records)
                return
        for record in records:  # the rare case: this event crosses a window or frame size limit
            self.push(tr_id, record, t, width)

    def flush_due(self, t: float) -> bool:
        """Send the batches that a record at sim time ``t`` could no longer join; True if some
        batch is still open."""
        window = self.config.batch_window
        for key, (start, _) in list(self._pending.items()):
            if t - start > window:
                self.flush(key)
        return bool(self._pending)

    def flush(self, key: tuple[str, int] | None = None) -> None:
        for batch in [key] if key is not None else list(self._pending):
            pending = self._pending.pop(batch, None)
            if pending is None:
                continue
            tr, records = batch[0], pending[1]
            # Each record is already ^-joined, so the frame is the header and the records
            # joined with ^: exactly encode_frame's plain frame, without a list per record.
            self._out.append(_Out(f"0|{tr}|{len(records):03d}|{'^'.join(records)}", tr, records))
            if len(self._out) >= self.config.send_queue_limit:
                self.room.clear()
            if len(self._out) >= _RUN_MIN:  # a run to send; smaller ones wait for kick()
                self._wake.set()

    def kick(self) -> None:
        """Send the data frames queued so far, however few (the simulator calls this before
        the market waits, and every few milliseconds while it runs)."""
        if self._out:
            self._wake.set()

    async def run_writer(self) -> None:
        ws, out = self.ws, self._out
        limit = self.config.send_queue_limit
        try:
            while True:
                while not out:
                    self._wake.clear()
                    await self._wake.wait()
                while (wait := self.stalled_until - self.loop.time()) > 0:  # noqa: ASYNC110 - a stall can be extended while it lasts
                    await asyncio.sleep(wait)
                item = out.popleft()
                if item.records is not None:
                    # Data frames: the run the market queued between two turns of the loop in
                    # one send, and the ground truth in wire order as they go to the socket.
                    run = [item]
                    while out and out[0].records is not None and len(run) < _RUN:
                        run.append(out.popleft())
                    if len(out) < limit // 2 + 1:
                        self.room.set()
                    await ws.send_frames([x.text for x in run], partial(self._sent, run))
                    continue
                if len(out) < limit // 2 + 1:
                    self.room.set()
                await ws.send(item.text)
                if item.done is not None and not item.done.done():
                    item.done.set_result(None)
                if item.then == _CLOSE:
                    await ws.close()
                    return
                if item.then == _TCP_CLOSE:
                    ws.transport.close()  # flushes what was written, sends no close frame
                    return
        except ConnectionClosed:
            return

    def _sent(self, run: list[_Out]) -> None:
        for x in run:
            if x.tr_id is not None and x.records is not None:  # always, for data frames
                self.sim.record_sent(self, x.tr_id, x.records)

    # --- PINGPONG (ref 2.3) ------------------------------------------------------------------

    def _heard(self) -> None:
        """The client answered (or sent) a PINGPONG: it is alive, and the next heartbeat is due
        a full interval from now (ref 2.3: a client PINGPONG postpones the server's)."""
        self._unanswered_since = None
        self._next_ping = self.loop.time() + self.config.ping_interval

    def on_ping_frame(self, payload: bytes) -> None:
        if is_pingpong(payload):
            self._heard()
        elif self.config.client_ping == "error-and-close":
            # The 2023 report: an error about an unknown tr_id, then the connection dropped
            # without a close handshake (SYSNET: "closed ... without completing the handshake").
            self.enqueue(reply("OPSP8991"), then=_TCP_CLOSE)

    def on_pong_frame(self, payload: bytes) -> None:
        if payload and is_pingpong(payload):
            self._heard()

    async def run_heartbeat(self) -> None:
        interval, timeout = self.config.ping_interval, self.config.pong_timeout
        loop = self.loop
        while True:
            now = loop.time()
            if now < self.stalled_until:
                await asyncio.sleep(self.stalled_until - now)
                self._next_ping = loop.time()
                continue
            since = self._unanswered_since
            if since is not None and now - since >= timeout:
                log.info("session %d: PINGPONG unanswered for %.1f s, closing", self.id, now - since)
                await self.ws.close(1000, "PINGPONG not answered")
                return
            if now >= self._next_ping:
                # The server's own clock in KST (ref 2.3), not the simulated market's time:
                # a replay or a sim started in 2020 still stamps its heartbeats with today.
                stamp = datetime.now(KST).strftime("%Y%m%d%H%M%S")
                self.enqueue(pingpong(stamp))
                if self._unanswered_since is None:
                    self._unanswered_since = now
                self._next_ping = now + interval
            deadline = self._next_ping
            if self._unanswered_since is not None:
                deadline = min(deadline, self._unanswered_since + timeout)
            self._heartbeat_wake.clear()
            await wait_set(self._heartbeat_wake, deadline - loop.time())

    # --- requests (ref 2.1, 2.2, 3.1, 3.2) ---------------------------------------------------

    def on_message(self, message: str | bytes) -> None:
        """Answer one client frame. Never raises: anything unexpected is logged and answered
        with ``OPSP9993`` (internal error) so the client is never left without a reply."""
        try:
            if isinstance(message, bytes):  # KIS speaks text frames only (ref 2)
                self.answer(reply("OPSP9999"))
                return
            self._on_text(message)
        except Exception:
            log.exception("session %d: internal error on a client message", self.id)
            self.answer(reply("OPSP9993"))

    def _on_text(self, text: str) -> None:
        request = parse_request(text)
        if isinstance(request, Heartbeat):
            self._heard()
            return
        if isinstance(request, Refusal):
            self.answer(reply(request.msg_cd, request.tr_id, request.tr_key))
            return
        tr_id, tr_key = request.tr_id, request.tr_key
        sim = self.sim
        owner = sim.keys.app_key_of(request.approval_key, allow_expired=True)
        fresh = sim.keys.app_key_of(request.approval_key) is not None
        if owner is None or not (
            fresh or (owner == self.app_key and not self.config.expire_keys_on_open_sessions)
        ):
            self.answer(reply("OPSP0011", tr_id, tr_key))
            return
        if self.app_key is None:
            if not sim.claim(owner, self):
                # One session per app key (ref 3.2): refuse the new one and close it.
                self.enqueue(reply("OPSP8996"), then=_CLOSE)
                return
            self.app_key = owner
        elif owner != self.app_key:  # another app key's approval key on a bound session
            self.answer(reply("OPSP0011", tr_id, tr_key))
            return
        if tr_id not in LAYOUTS:
            self.answer(reply("OPSP8991", tr_id, tr_key))
            return
        if self.config.unknown_codes == "refuse" and not sim.serves(tr_id, tr_key):
            self.answer(reply("OPSP8992", tr_id, tr_key))
            return
        # Otherwise a code not served is registered like any other and stays silent (ref 8.11).
        registration = (tr_id, tr_key)
        if request.subscribe:
            if registration in self.registrations:
                self.answer(reply("OPSP0002", tr_id, tr_key))  # no slot used (ref 3.1)
            elif len(self.registrations) >= self.config.max_registrations:
                self.answer(reply("OPSP0008", tr_id, tr_key))
            else:
                self.registrations.add(registration)
                sim.subscribe(self, registration)
                self.answer(reply("OPSP0000", tr_id, tr_key, self.key_iv))
        elif registration in self.registrations:
            self.registrations.discard(registration)
            sim.unsubscribe(self, registration)
            self.flush()  # records traded before the release go out before its reply
            self.answer(reply("OPSP0001", tr_id, tr_key))
        else:
            self.answer(reply("OPSP0003", tr_id, tr_key))

    def finish(self) -> None:
        """The connection is gone: release everything a waiter could block on."""
        self.closed = True
        self._pending.clear()
        while self._out:
            item = self._out.popleft()
            if item.done is not None and not item.done.done():
                item.done.set_result(None)
        self.room.set()


class FeedServer:
    """The WebSocket listener; any path is accepted (ref 1.2)."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self._server: Server | None = None
        self.port = 0

    async def start(self, host: str, port: int) -> int:
        self._server = await serve(
            self._handle,
            host,
            port,
            create_connection=_Connection,
            ping_interval=None,  # KIS sends no WebSocket pings: its heartbeat is PINGPONG text
            compression=None,  # no permessage-deflate (ref 3.4)
            max_size=2**20,
            logger=websockets_logger(
                "kisfeed.sim.websockets", client=False
            ),  # frames and headers without approval keys or AES keys
        )
        self.port = next(iter(self._server.sockets)).getsockname()[1]
        return self.port

    async def stop(self) -> None:
        """Stop listening and drop every connection without a close frame (a server restart)."""
        if self._server is None:
            return
        self._server.close(close_connections=False)
        for session in self.sim.sessions:
            session.ws.transport.abort()
        await self._server.wait_closed()
        self._server = None

    async def _handle(self, ws: ServerConnection) -> None:
        sim = self.sim
        assert isinstance(ws, _Connection)  # serve(create_connection=_Connection)
        session = SimSession(sim, ws, sim.new_session_id())
        ws.session = session
        sim.session_opened(session)
        tasks = [asyncio.create_task(session.run_writer()), asyncio.create_task(session.run_heartbeat())]
        try:
            async for message in ws:
                session.on_message(message)
        except ConnectionClosed:
            pass
        finally:
            for task in tasks:
                task.cancel()
            try:
                outcomes = await asyncio.gather(*tasks, return_exceptions=True)
            finally:  # even if this handler is cancelled: a session left behind holds its app key
                protocol = ws.protocol
                abrupt = protocol.close_rcvd is None and protocol.close_sent is None
                session.finish()
                sim.session_closed(session, abrupt=abrupt)
                session.ended.set()
            for outcome in outcomes:
                if isinstance(outcome, Exception):  # a writer or heartbeat bug: never silent
                    log.error("session %d: a writer or heartbeat task failed", session.id, exc_info=outcome)
