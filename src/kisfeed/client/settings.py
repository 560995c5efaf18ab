"""Every tunable of the live feed, in one place, with the reference's recommended defaults."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Literal

from ..exceptions import ConfigError
from ..protocol import DEFAULT_MAX_REGISTRATIONS

__all__ = ["FeedSettings", "exponential_backoff", "Overflow", "OnMalformed"]

Overflow = Literal["block", "drop-oldest", "raise"]
OnMalformed = Literal["skip", "raise"]


def exponential_backoff(
    initial: float = 1.0, maximum: float = 60.0, factor: float = 2.0, jitter: float = 0.25
) -> Iterator[float]:
    """Delays 1, 2, 4 … capped at ``maximum``, each spread by ±``jitter`` so that many clients
    do not reconnect in step (reference 3.5: exponential back-off 1 → 30/60 s). Unlimited."""
    delay = initial
    while True:
        yield delay * random.uniform(1 - jitter, 1 + jitter)
        delay = min(delay * factor, maximum)


@dataclass(frozen=True)
class FeedSettings:
    """Tunables of ``kisfeed.connect``.

    A feed reconnects after network and server trouble without limit. It ends, raising the
    error to the consumer (``async for``, ``next_batch``, ``run``, a waiting ``subscribe``, the
    blocking iterator), on: ``overflow="raise"`` with a full queue (``FeedError``);
    ``on_malformed="raise"`` and a malformed frame (``ParseError``); credentials the server
    refuses (``AuthError``, ``InvalidApprovalError``); an ``on_frame``/``on_event`` callback that
    raises (``CallbackError``, the callback's exception as ``__cause__``); and any unexpected
    error (a bug, a ``backoff`` that raises), raised as itself.
    """

    #: records held for a slow consumer before the overflow policy applies
    queue_size: int = 100_000
    #: ``block``: stop reading the socket until there is room (nothing lost, but a consumer
    #: stuck for ~100 s gets the session closed by the server; while a subscribe waits for its
    #: reply the queue may grow by ``reply_overfill``); ``drop-oldest``: discard the oldest queued
    #: record, counted (the queue never exceeds ``queue_size``); ``raise``: fail the feed with
    #: ``FeedError`` (past ``queue_size + reply_overfill`` while a reply is awaited)
    overflow: Overflow = "block"
    #: records the queue may hold beyond ``queue_size`` while a subscribe/unsubscribe awaits its
    #: reply (``block``, ``raise``): the reply may sit behind data in the socket while the
    #: consumer is busy awaiting it. A bound, so that a reply that never comes cannot let the
    #: queue grow without limit (issue 11, item 20)
    reply_overfill: int = 10_000
    #: a malformed frame is counted and skipped, or raised to the consumer (tests)
    on_malformed: OnMalformed = "skip"
    #: pause between subscribe messages (reference 3.3: 50–100 ms; no documented limit)
    subscribe_interval: float = 0.05
    #: reconnect when no frame of any kind arrived for this long (reference 3.4: 60–180 s)
    watchdog: float = 60.0
    #: delays between reconnect attempts; called afresh after a stable period
    backoff: Callable[[], Iterator[float]] = field(default=exponential_backoff)
    #: a connection that stayed up this long resets the back-off
    stable_after: float = 60.0
    #: wait before retrying after OPSP8996: another process holds the app key (reference 3.2)
    key_in_use_delay: float = 60.0
    #: registrations per session (reference 3.1: 41 measured; older docs say 40)
    max_registrations: int = DEFAULT_MAX_REGISTRATIONS
    #: time to wait for the server's reply to a subscribe/unsubscribe
    reply_timeout: float = 30.0
    #: time to open the WebSocket
    open_timeout: float = 10.0
    #: the largest frame accepted, in bytes; a larger one is a ``FrameError`` (counted as a parse
    #: error, or raised with ``on_malformed="raise"``) and the connection is reopened. Sized from
    #: the reference: at most 999 records a frame (``NNN``, 2.4) of the widest layout (H0IOCNT0,
    #: 58 fields, 4.6), each field at most 20 characters (an int64 with its sign) plus its ``^``:
    #: 999 × 58 × 21 = 1,216,782 bytes, or 1.62 MB as the base64 of an ``E=1`` frame. 2 MiB
    #: covers both; a client in the reference (2.4) needed 512 KB. Unbounded, one frame from a
    #: broken or hostile peer could take all memory.
    max_frame_size: int = 2 * 1024 * 1024
    #: also answer PINGPONG with a pong control frame, as the official runtime does (reference 2.3)
    pong_frame: bool = False
    #: "P" individual, "B" corporate (spec request header)
    custtype: Literal["P", "B"] = "P"

    def __post_init__(self) -> None:
        if self.overflow not in ("block", "drop-oldest", "raise"):
            raise ConfigError(f"overflow must be block, drop-oldest or raise, not {self.overflow!r}")
        if self.on_malformed not in ("skip", "raise"):
            raise ConfigError(f"on_malformed must be skip or raise, not {self.on_malformed!r}")
        if self.queue_size < 1 or self.max_registrations < 1:
            raise ConfigError("queue_size and max_registrations must be at least 1")
        if self.max_frame_size < 1024:
            raise ConfigError("max_frame_size is in bytes and must be at least 1024")
        if self.reply_overfill < 0:
            raise ConfigError("reply_overfill cannot be negative")
        if min(self.subscribe_interval, self.watchdog, self.reply_timeout, self.open_timeout) < 0:
            raise ConfigError("intervals and timeouts cannot be negative")
        if self.custtype not in ("P", "B"):
            raise ConfigError("custtype is 'P' (individual) or 'B' (corporate)")
