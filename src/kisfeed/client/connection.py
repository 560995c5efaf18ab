"""One app key's WebSocket session, kept alive for the life of the feed.

A ``Connection`` owns the socket and the sans-I/O ``Session`` of its current connection, and
loops: get an approval key, connect with the library's keep-alive pings off (they break KIS
sessions, reference 2.3), restore every subscription it holds (paced, reference 3.3), read
frames until the socket dies or the watchdog sees nothing for too long, then wait (exponential
back-off with jitter, reference 3.5) and start again. The ``Feed`` decides which subscriptions
it holds and receives its records, through the ``ConnectionOwner`` interface.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Coroutine
from datetime import date
from typing import Any, Protocol

import websockets
from websockets.asyncio.client import ClientConnection
from websockets.frames import CloseCode

from ..auth import ApprovalKeys, Credentials
from ..exceptions import (
    AppKeyInUseError,
    AuthError,
    ConfigError,
    FeedError,
    FrameError,
    InvalidApprovalError,
    KisfeedError,
    ParseError,
    SubscriptionLimitError,
)
from ..protocol import Malformed, PingPong, Rejected, Session, Subscribed, Unsubscribed
from ..protocol.routing import Key, Request
from ..schema import Record
from ..wslog import websockets_logger
from . import events as ev
from .settings import FeedSettings

__all__ = ["Connection", "ConnectionOwner", "Fatal"]

log = logging.getLogger("kisfeed.client")


#: websockets' log of the client's connections: its frames (approval keys), the replies with the
#: session's AES key and iv and non-handshake headers never shown (``kisfeed.wslog``).
_ws_log = websockets_logger("kisfeed.websockets", client=True)


class _Restart(Exception):
    """End this connection now and start a new one (after ``delay`` if given)."""

    def __init__(self, reason: str, delay: float | None = None, *, fresh_key: bool = False) -> None:
        super().__init__(reason)
        self.reason, self.delay, self.fresh_key = reason, delay, fresh_key


class Fatal(Exception):
    """The feed cannot go on: ``error`` goes to the consumer and the connection stops."""

    def __init__(self, error: KisfeedError) -> None:
        super().__init__(str(error))
        self.error = error


class ConnectionOwner(Protocol):
    """What a ``Connection`` tells the feed that owns it, and asks of it (``Feed`` implements
    it). A method may raise ``Fatal`` to end the feed."""

    def assigned(self, connection: int) -> list[Key]:
        """The subscriptions connection ``connection`` should hold, in restore order."""
        ...

    def connected(self, connection: int) -> int:
        """A session opened on ``connection``: announce it, and return its new session number."""
        ...

    def frame_received(self, text: str, received_ns: int, session_id: int) -> date:
        """Every raw frame, first (the journal's hook); returns the KST trading day of a frame
        received at ``received_ns``."""
        ...

    def records_received(self, records: list[Record]) -> Coroutine[Any, Any, None] | None:
        """Records of one data frame, in wire order: None once queued, or what to await: to
        queue them when there is no room (it may wait for the consumer), or to let a waiting
        consumer take what is queued."""
        ...

    def emit(self, event: ev.FeedEvent) -> None: ...

    def reply(self, request: Request, error: BaseException | None) -> None:
        """The answer to a pending subscribe/unsubscribe: done (None) or failed."""
        ...

    def refused(self, request: Request, error: BaseException) -> None:
        """The server refused the request; a refused subscription is no longer wanted."""
        ...

    def malformed(self, error: ParseError) -> None: ...

    def connection_lost(self, connection: Connection, reason: str) -> None:
        """A session of ``connection`` ended: move its subscriptions where they can live."""
        ...

    def fail(self, error: BaseException) -> None:
        """End the feed with ``error``."""
        ...

    def background(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Run ``work`` in a task of the feed; an error it ends with ends the feed."""
        ...


class Connection:
    def __init__(
        self,
        owner: ConnectionOwner,
        index: int,
        credentials: Credentials,
        *,
        ws_url: str,
        approvals: ApprovalKeys,
        settings: FeedSettings,
    ) -> None:
        self.owner, self.index, self.credentials = owner, index, credentials
        self.ws_url, self.approvals, self.settings = ws_url, approvals, settings
        self.session: Session | None = None
        self.session_id: int | None = None
        self.attempts = 0  # reconnects since the last stable connection
        self.last_error = ""  # why the last session ended
        self._ws: ClientConnection | None = None
        self._send_lock = asyncio.Lock()
        self._last_send = 0.0
        self._last_frame = 0.0
        self.last_frame_ns: int | None = None  # receive time of the last frame, for Disconnected
        self._reissued = False  # a fresh approval key was fetched after OPSP0011
        self._task: asyncio.Task[None] | None = None
        self.up = asyncio.Event()  # set while a session is open
        self.finished = asyncio.Event()  # set once the first attempt succeeded or failed

    @property
    def live(self) -> bool:
        return self.session is not None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"kisfeed-connection-{self.index}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def cancel(self) -> None:
        """End the connection's task (unless it is the caller) without waiting for it."""
        self.finished.set()
        if self._task is not None and self._task is not asyncio.current_task():
            self._task.cancel()

    def holds(self, key: Key) -> bool:
        """Whether the open session has ``key`` registered (acknowledged by the server)."""
        return self.session is not None and key in self.session.registered

    # --- requests ----------------------------------------------------------------------------

    async def send_subscribe(self, key: Key) -> None:
        """Register ``key`` on the open session, if any (else it goes out on the next connect)."""
        async with self._send_lock:
            session, ws = self.session, self._ws
            if session is None or ws is None or key not in self.owner.assigned(self.index):
                return
            await self._pace()
            if self.session is not session:
                return
            try:
                sent = session.subscribe(*key)
            except SubscriptionLimitError as exc:  # the feed spreads so this should not happen
                self.owner.reply(("subscribe", key), exc)
                return
            if sent:
                with contextlib.suppress(websockets.ConnectionClosed):  # restored on reconnect
                    await self._flush(ws, session)

    async def send_unsubscribe(self, key: Key) -> None:
        async with self._send_lock:
            session, ws = self.session, self._ws
            if session is None or ws is None or key not in session.registered | session.pending_subscribe:
                self.owner.reply(("unsubscribe", key), None)  # nothing held: nothing to release
                return
            await self._pace()
            if self.session is session and session.unsubscribe(*key):
                try:
                    await self._flush(ws, session)
                except websockets.ConnectionClosed:  # the session is gone, and its registrations
                    self.owner.reply(("unsubscribe", key), None)

    async def _pace(self) -> None:
        wait = self._last_send + self.settings.subscribe_interval - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        self._last_send = time.monotonic()

    @staticmethod
    async def _flush(ws: ClientConnection, session: Session) -> None:
        for text in session.data_to_send():
            await ws.send(text)

    # --- the loop ----------------------------------------------------------------------------

    async def _run(self) -> None:
        """The connection's task. Whatever ends it other than ``stop`` ends the feed, with the
        error raised to the consumer: an exception left in a task nobody awaits would leave the
        consumer waiting for records forever."""
        try:
            await self._loop()
        except Fatal as exc:
            self.owner.fail(exc.error)
        except Exception as exc:
            self.owner.fail(exc)
        finally:
            self._close_session()
            self.finished.set()

    async def _loop(self) -> None:
        settings = self.settings
        delays = settings.backoff()
        fresh = False
        while True:
            delay: float | None = None
            up_since: float | None = None
            try:
                approval = await self.approvals.get(self.credentials, fresh=fresh)
                fresh = False
                async with websockets.connect(
                    self.ws_url,
                    ping_interval=None,  # no library keep-alive pings: KIS drops such sessions
                    ping_timeout=None,
                    close_timeout=2,
                    max_size=settings.max_frame_size,  # multi-record frames can be large (reference 2.4)
                    compression=None,
                    open_timeout=settings.open_timeout,
                    logger=_ws_log,
                ) as ws:
                    up_since = time.monotonic()
                    await self._serve(ws, approval)
                reason = "closed by the server"
            except _Restart as exc:
                reason, delay, fresh = exc.reason, exc.delay, exc.fresh_key
            except websockets.InvalidURI as exc:
                self.owner.fail(ConfigError(f"invalid WebSocket URL: {exc}"))
                return
            except AuthError as exc:
                if not exc.retryable:
                    self.owner.fail(exc)
                    return
                reason = str(exc)
            except (TimeoutError, OSError, websockets.WebSocketException) as exc:
                reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            finally:
                self._close_session()
                self.finished.set()
            self.last_error = reason
            self.owner.connection_lost(self, reason)
            if up_since is not None and time.monotonic() - up_since >= settings.stable_after:
                delays, self.attempts = settings.backoff(), 0
            self.attempts += 1
            wait = next(delays, None) if delay is None else delay
            if wait is None:  # a finite ``backoff`` (the default never ends): the user's limit
                raise Fatal(
                    FeedError(
                        f"gave up reconnecting after {self.attempts - 1} attempts, as the "
                        f"backoff setting's delays ran out; last: {reason}"
                    )
                )
            self.owner.emit(ev.Reconnecting(self.index, self.attempts, wait))
            await asyncio.sleep(wait)

    async def _serve(self, ws: ClientConnection, approval: str) -> None:
        settings = self.settings
        session = Session(approval, custtype=settings.custtype, max_registrations=settings.max_registrations)
        self._ws, self.session = ws, session
        self.last_frame_ns = None
        self._last_frame = time.monotonic()
        self.session_id = self.owner.connected(self.index)  # first: if on_event raises, the feed
        self.up.set()  # must not look connected to ``async with`` in the meantime
        self.finished.set()
        restore = self.owner.background(self._restore())
        watchdog = asyncio.create_task(self._watch(ws))
        try:
            await self._read(ws, session, self.session_id)
        except websockets.ConnectionClosed as exc:
            if exc.sent is not None and exc.sent.code == CloseCode.MESSAGE_TOO_BIG:
                self._too_large()
            if not watchdog.done():
                raise
        finally:
            restore.cancel()
            watchdog.cancel()
        if watchdog.done() and not watchdog.cancelled():
            raise _Restart(f"no frame for {settings.watchdog:g} s (watchdog)")

    async def _read(self, ws: ClientConnection, session: Session, session_id: int) -> None:
        """Every frame until the socket closes. A data frame's work is inline and a few calls:
        its records go to the owner as one list, with no event object or coroutine per frame
        (issue 13, item 4). Control messages take the session's events."""
        owner, monotonic, time_ns = self.owner, time.monotonic, time.time_ns
        async for message in ws:
            text = message if isinstance(message, str) else message.decode("utf-8", "replace")
            self._last_frame = monotonic()
            received_ns = self.last_frame_ns = time_ns()
            # the journal hook, before anything else; it gives the frame's trading day
            trading_date = owner.frame_received(text, received_ns, session_id)
            if text[:1] == "{":
                await self._control(ws, session, session_id, text)
                continue
            records, errors = session.receive_data(text, trading_date=trading_date, received_ns=received_ns)
            if records and (wait := owner.records_received(records)) is not None:
                await wait
            for error in errors:
                owner.malformed(error)

    def _too_large(self) -> None:
        """websockets refused a frame over ``max_frame_size`` before reading it, and closed the
        connection (1009): count it as malformed input, then start a new connection."""
        limit = self.settings.max_frame_size
        self.owner.malformed(FrameError(f"a frame larger than max_frame_size ({limit:,} bytes) was refused"))
        raise _Restart(f"a frame larger than max_frame_size ({limit:,} bytes)")

    async def _restore(self) -> None:
        """Register everything this connection holds: the server forgets it all on a
        disconnect (reference 3.5)."""
        for key in self.owner.assigned(self.index):
            await self.send_subscribe(key)

    async def _watch(self, ws: ClientConnection) -> bool:
        limit = self.settings.watchdog
        while True:
            idle = time.monotonic() - self._last_frame
            if idle >= limit:
                ws.transport.abort()  # a silent socket may never close by itself
                return True
            await asyncio.sleep(min(limit - idle + 0.01, 1.0))

    async def _control(self, ws: ClientConnection, session: Session, session_id: int, text: str) -> None:
        owner = self.owner
        for event in session.receive(text):
            match event:
                case PingPong(text=ping):
                    await self._flush(ws, session)  # the received text, unchanged
                    if self.settings.pong_frame:
                        await ws.pong(ping.encode())
                case Subscribed(tr_id=tr_id, tr_key=tr_key):
                    self._reissued = False
                    owner.reply(("subscribe", (tr_id, tr_key)), None)
                    owner.emit(dataclasses.replace(event, session=session_id))
                case Unsubscribed(tr_id=tr_id, tr_key=tr_key):
                    owner.reply(("unsubscribe", (tr_id, tr_key)), None)
                    owner.emit(dataclasses.replace(event, session=session_id))
                case Rejected():
                    self._rejected(dataclasses.replace(event, session=session_id))
                case Malformed(error=error):
                    owner.malformed(error)

    def _rejected(self, event: Rejected) -> None:
        error, owner = event.error, self.owner
        owner.emit(event)
        if isinstance(error, InvalidApprovalError):
            if self._reissued:  # a brand-new key was refused too: the credentials are wrong
                raise Fatal(error)
            self._reissued = True
            self.approvals.forget(self.credentials)
            raise _Restart(
                f"approval key refused (OPSP0011); issuing a new one for {self.credentials.label}",
                delay=0,
                fresh_key=True,
            )
        if isinstance(error, AppKeyInUseError):
            delay = self.settings.key_in_use_delay
            log.warning(
                "%s is in use by another session (OPSP8996): is another kisfeed or KIS program "
                "running with it? retrying in %g s",
                self.credentials.label,
                delay,
            )
            for key in owner.assigned(self.index):  # callers learn why; the subscriptions stay
                owner.reply(("subscribe", key), error)  # and are restored
            raise _Restart("OPSP8996 app key in use", delay=delay)
        if not error.tr_id or event.request is None:
            log.warning("server error on %s: %s", self.credentials.label, error)
            return
        owner.refused((event.request, (error.tr_id, error.tr_key or "")), error)

    def _close_session(self) -> None:
        self._ws, self.session = None, None
        self.up.clear()
