"""One app key's WebSocket session, kept alive for the life of the feed.

A ``Connection`` owns the socket and the sans-I/O ``Session`` of its current connection, and
loops: get an approval key, connect with the library's keep-alive pings off (they break KIS
sessions, reference 2.3), restore every subscription it holds (paced, reference 3.3), read
frames until the socket dies or the watchdog sees nothing for too long, then wait (exponential
back-off with jitter, reference 3.5) and start again. The ``Feed`` decides which subscriptions
it holds and receives its records.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING

import websockets
from websockets.asyncio.client import ClientConnection
from websockets.frames import CloseCode

from ..auth import Credentials
from ..exceptions import (
    AppKeyInUseError,
    AuthError,
    ConfigError,
    FeedError,
    FrameError,
    InvalidApprovalError,
    KisfeedError,
    SubscriptionLimitError,
)
from ..protocol import Data, Malformed, PingPong, Rejected, Session, Subscribed, Unsubscribed
from ..wslog import websockets_logger
from . import events as ev

if TYPE_CHECKING:
    from .feed import Feed, Key

__all__ = ["Connection", "Fatal"]

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


class Connection:
    def __init__(self, feed: Feed, index: int, credentials: Credentials) -> None:
        self.feed, self.index, self.credentials = feed, index, credentials
        self.wanted: set[Key] = set()  # subscriptions this connection should hold
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

    # --- requests ----------------------------------------------------------------------------

    async def send_subscribe(self, key: Key) -> None:
        """Register ``key`` on the open session, if any (else it goes out on the next connect)."""
        async with self._send_lock:
            session, ws = self.session, self._ws
            if session is None or ws is None or key not in self.wanted:
                return
            await self._pace()
            if self.session is not session:
                return
            try:
                sent = session.subscribe(*key)
            except SubscriptionLimitError as exc:  # the feed spreads so this should not happen
                self.feed._reply(("subscribe", key), exc)
                return
            if sent:
                with contextlib.suppress(websockets.ConnectionClosed):  # restored on reconnect
                    await self._flush(ws, session)

    async def send_unsubscribe(self, key: Key) -> None:
        async with self._send_lock:
            session, ws = self.session, self._ws
            if session is None or ws is None or key not in session.registered | session.pending_subscribe:
                self.feed._reply(("unsubscribe", key), None)  # nothing held: nothing to release
                return
            await self._pace()
            if self.session is session and session.unsubscribe(*key):
                try:
                    await self._flush(ws, session)
                except websockets.ConnectionClosed:  # the session is gone, and its registrations
                    self.feed._reply(("unsubscribe", key), None)

    async def _pace(self) -> None:
        wait = self._last_send + self.feed.settings.subscribe_interval - time.monotonic()
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
            self.feed._fail(exc.error)
        except Exception as exc:
            self.feed._fail(exc)
        finally:
            self._close_session()
            self.finished.set()

    async def _loop(self) -> None:
        settings = self.feed.settings
        delays = settings.backoff()
        fresh = False
        while True:
            delay: float | None = None
            up_since: float | None = None
            try:
                approval = await self.feed.approvals.get(self.credentials, fresh=fresh)
                fresh = False
                async with websockets.connect(
                    self.feed.ws_url,
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
                self.feed._fail(ConfigError(f"invalid WebSocket URL: {exc}"))
                return
            except AuthError as exc:
                if not exc.retryable:
                    self.feed._fail(exc)
                    return
                reason = str(exc)
            except (TimeoutError, OSError, websockets.WebSocketException) as exc:
                reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            finally:
                self._close_session()
                self.finished.set()
            self.feed._connection_lost(self, reason)
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
            self.feed._emit(ev.Reconnecting(self.index, self.attempts, wait))
            await asyncio.sleep(wait)

    async def _serve(self, ws: ClientConnection, approval: str) -> None:
        settings = self.feed.settings
        session = Session(approval, custtype=settings.custtype, max_registrations=settings.max_registrations)
        self._ws, self.session = ws, session
        self.session_id = self.feed._new_session_id()
        self.last_frame_ns = None
        self._last_frame = time.monotonic()
        self.feed._emit(ev.Connected(self.session_id, self.index))  # first: if on_event raises,
        self.up.set()  # the feed must not look connected to ``async with`` in the meantime
        self.finished.set()
        restore = self.feed._background(self._restore())
        watchdog = asyncio.create_task(self._watch(ws))
        try:
            async for text in ws:
                await self._receive(
                    ws, session, text if isinstance(text, str) else text.decode("utf-8", "replace")
                )
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

    def _too_large(self) -> None:
        """websockets refused a frame over ``max_frame_size`` before reading it, and closed the
        connection (1009): count it as malformed input, then start a new connection."""
        limit = self.feed.settings.max_frame_size
        self.feed._malformed(FrameError(f"a frame larger than max_frame_size ({limit:,} bytes) was refused"))
        raise _Restart(f"a frame larger than max_frame_size ({limit:,} bytes)")

    async def _restore(self) -> None:
        """Register everything this connection holds: the server forgets it all on a
        disconnect (reference 3.5)."""
        for key in sorted(self.wanted):
            await self.send_subscribe(key)

    async def _watch(self, ws: ClientConnection) -> bool:
        limit = self.feed.settings.watchdog
        while True:
            idle = time.monotonic() - self._last_frame
            if idle >= limit:
                ws.transport.abort()  # a silent socket may never close by itself
                return True
            await asyncio.sleep(min(limit - idle + 0.01, 1.0))

    async def _receive(self, ws: ClientConnection, session: Session, text: str) -> None:
        self._last_frame = time.monotonic()
        received_ns = self.last_frame_ns = time.time_ns()
        feed = self.feed
        assert self.session_id is not None
        feed._frame(text, received_ns, self.session_id)  # journal hook: before anything else
        events = session.receive(text, trading_date=feed._trading_date(received_ns), received_ns=received_ns)
        for event in events:
            match event:
                case Data(records=records):
                    await feed._deliver(records)
                case PingPong(text=ping):
                    await self._flush(ws, session)  # the received text, unchanged
                    if feed.settings.pong_frame:
                        await ws.pong(ping.encode())
                case Subscribed(tr_id=tr_id, tr_key=tr_key):
                    self._reissued = False
                    feed._reply(("subscribe", (tr_id, tr_key)), None)
                    feed._emit(ev.Subscribed(self.session_id, tr_id, tr_key))
                case Unsubscribed(tr_id=tr_id, tr_key=tr_key):
                    feed._reply(("unsubscribe", (tr_id, tr_key)), None)
                    feed._emit(ev.Unsubscribed(self.session_id, tr_id, tr_key))
                case Rejected():
                    self._rejected(event)
                case Malformed(error=error):
                    feed._malformed(error)

    def _rejected(self, event: Rejected) -> None:
        error, feed = event.error, self.feed
        feed._emit(ev.Rejected(self.session_id or 0, error))
        if isinstance(error, InvalidApprovalError):
            if self._reissued:  # a brand-new key was refused too: the credentials are wrong
                raise Fatal(error)
            self._reissued = True
            self.feed.approvals.forget(self.credentials)
            raise _Restart(
                f"approval key refused (OPSP0011); issuing a new one for {self.credentials.label}",
                delay=0,
                fresh_key=True,
            )
        if isinstance(error, AppKeyInUseError):
            delay = feed.settings.key_in_use_delay
            log.warning(
                "%s is in use by another session (OPSP8996): is another kisfeed or KIS program "
                "running with it? retrying in %g s",
                self.credentials.label,
                delay,
            )
            for key in self.wanted:  # callers learn why; the subscriptions stay and are restored
                feed._reply(("subscribe", key), error)
            raise _Restart("OPSP8996 app key in use", delay=delay)
        key = (error.tr_id, error.tr_key or "") if error.tr_id else None
        if key is None or event.request is None:
            log.warning("server error on %s: %s", self.credentials.label, error)
            return
        if event.request == "subscribe":
            feed._drop(key)
        feed._reply((event.request, key), error)

    def _close_session(self) -> None:
        self._ws, self.session = None, None
        self.up.clear()
