"""Publishing a feeder's messages to JetStream without losing one and without blocking the feed.

The feed's ``on_frame`` hook only appends to a bounded buffer (``put``: no await, no NATS call
on the socket reader's path). One task sends from it with ``js.publish_async`` (pipelined, at
most ``max_pending`` unacknowledged) and settles the acknowledgements in send order. A publish
that fails or is not acknowledged within ``ack_timeout`` (the server restarting: nats-py keeps
the connection, the server lost what was in flight) is sent again with the same ``Nats-Msg-Id``,
with everything sent after it, in the original order: JetStream drops the copies it already
stored (its duplicate window, ``FleetSettings.duplicate_window``), so nothing it acknowledged
is lost and nothing it stored twice (issue 17: "nothing that JetStream acknowledged is lost").
While NATS is disconnected nothing is sent; the buffer holds up to ``buffer`` messages and a
message beyond it is counted in ``overflow`` and logged, never dropped silently.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nats.aio.client import Client
    from nats.js import JetStreamContext

    from .wire import Message

__all__ = ["Publisher"]

log = logging.getLogger("kisfeed.fleet")


class Publisher:
    def __init__(
        self,
        nc: Client,
        js: JetStreamContext,
        *,
        max_pending: int = 1000,
        buffer: int = 500_000,
        ack_timeout: float = 5.0,
    ) -> None:
        self.nc, self.js = nc, js
        self.max_pending, self.buffer, self.ack_timeout = max_pending, buffer, ack_timeout
        self.queue: deque[Message] = deque()
        self.inflight: deque[tuple[Message, asyncio.Future[Any], float]] = deque()
        self.published = 0  # acknowledged as new messages
        self.duplicates = 0  # acknowledged as copies JetStream already held (hand-overs, retries)
        self.retries = 0  # messages sent again after a failure or a missing acknowledgement
        self.errors = 0  # failed publishes and acknowledgements
        self.overflow = 0  # messages refused by a full buffer
        self._hook_disconnect()
        self._wake = asyncio.Event()
        self._drained = asyncio.Event()  # set when nothing is pending (flush)
        self._resume_at = 0.0

    def _hook_disconnect(self) -> None:
        """Order across a lost connection. nats-py keeps the commands it had not yet written
        when the connection broke and writes them first thing after reconnecting, while those
        written to the broken socket are lost: later records would be stored before earlier
        ones, which this publisher sends again only after a timeout. So on a disconnect
        everything unacknowledged goes back to the queue, in order, and nats-py's buffer is
        emptied (its pending commands are our publishes and requests that time out and are
        retried): after the reconnect the records go out again in their order, and JetStream
        drops those it had stored. Written against nats-py 2.16.0, whose private ``_pending``,
        ``_pending_data_size`` and ``_disconnected_cb`` these are (a test fails if they move;
        design principle 13). nats-py has one disconnected callback, set by
        ``jetstream.connect``: ours runs first, then that one."""
        previous = getattr(self.nc, "_disconnected_cb", None)

        async def disconnected() -> None:
            if hasattr(self.nc, "_pending") and hasattr(self.nc, "_pending_data_size"):
                self.nc._pending = []
                self.nc._pending_data_size = 0
            if self.inflight:
                self._resend("the NATS connection was lost")
            if previous is not None:
                await previous()

        if hasattr(self.nc, "_disconnected_cb"):
            self.nc._disconnected_cb = disconnected

    @property
    def pending(self) -> int:
        return len(self.queue) + len(self.inflight)

    def put(self, message: Message) -> None:
        """Queue ``message``; O(1), never awaits (called from the feed's frame hook)."""
        if self.pending >= self.buffer:
            self.overflow += 1
            if self.overflow == 1 or self.overflow % 10_000 == 0:
                log.error(
                    "publish buffer full (%d messages, NATS unreachable?): %d messages lost so far",
                    self.buffer,
                    self.overflow,
                )
            return
        self.queue.append(message)
        self._wake.set()

    async def flush(self, timeout: float) -> bool:
        """Wait until everything queued is acknowledged, at most ``timeout`` seconds."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                while self.pending:
                    self._drained.clear()
                    await self._drained.wait()
        return not self.pending

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            self._wake.clear()
            now = loop.time()
            if now >= self._resume_at:
                await self._send(loop)
            self._settle(loop.time())
            wait: float | None = None
            if self.inflight:
                wait = max(0.0, self.inflight[0][2] + self.ack_timeout - loop.time())
            if self.queue and (not self.nc.is_connected or loop.time() < self._resume_at):
                wait = 0.1 if wait is None else min(wait, 0.1)
            try:
                async with asyncio.timeout(wait):
                    await self._wake.wait()
            except TimeoutError:
                pass

    async def _send(self, loop: asyncio.AbstractEventLoop) -> None:
        while self.queue and len(self.inflight) < self.max_pending and self.nc.is_connected:
            message = self.queue.popleft()
            try:
                future = await self.js.publish_async(
                    message.subject, message.payload, headers=message.headers
                )
            except Exception as exc:  # connection closed or its buffer full while reconnecting
                self.queue.appendleft(message)
                self._failed(loop, f"{type(exc).__name__}: {exc}")
                return
            future.add_done_callback(self._ready)
            self.inflight.append((message, future, loop.time()))

    def _ready(self, _future: asyncio.Future[Any]) -> None:
        self._wake.set()

    def _settle(self, now: float) -> None:
        while self.inflight:
            _message, future, sent = self.inflight[0]
            if future.done():
                error = None if future.cancelled() else future.exception()
                if error is None and not future.cancelled():
                    self.inflight.popleft()
                    if getattr(future.result(), "duplicate", False):
                        self.duplicates += 1
                    else:
                        self.published += 1
                    if not self.pending:
                        self._drained.set()
                    continue
                self._resend(f"{type(error).__name__}: {error}" if error else "cancelled")
            elif now - sent > self.ack_timeout:
                self._resend(f"no acknowledgement in {self.ack_timeout:g} s")
            return

    def _resend(self, why: str) -> None:
        """Put every unacknowledged message back at the head of the queue, in send order."""
        again = [message for message, _future, _sent in self.inflight]
        for _message, future, _sent in self.inflight:
            if not future.done():
                future.cancel()
        self.inflight.clear()
        self.queue.extendleft(reversed(again))
        self.retries += len(again)
        self._failed(asyncio.get_running_loop(), why)

    def _failed(self, loop: asyncio.AbstractEventLoop, why: str) -> None:
        self.errors += 1
        if self.errors == 1 or self.errors % 100 == 0:
            log.warning("publish failed (%d so far), retrying: %s", self.errors, why)
        self._resume_at = loop.time() + 0.25  # the server is restarting: do not spin
