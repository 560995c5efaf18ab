"""Connection events of a live feed, passed to ``on_event`` and logged. Match on them.

``Subscribed``, ``Unsubscribed`` and ``Rejected`` are the sans-I/O session's events
(``kisfeed.protocol.events``), with ``session`` filled in by the feed.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..protocol.events import Rejected, Subscribed, Unsubscribed

__all__ = ["FeedEvent", "Connected", "Subscribed", "Unsubscribed", "Rejected", "Disconnected", "Reconnecting"]


@dataclass(frozen=True, slots=True)
class Connected:
    session: int  # a new number for every WebSocket connection the feed opens
    connection: int  # which app key (0-based, in the order given)


@dataclass(frozen=True, slots=True)
class Disconnected:
    session: int
    reason: str
    # Receive time (ns since the epoch) of the last frame of any kind on the session: from
    # then on its registrations brought nothing. None if no frame came on it.
    last_frame_ns: int | None = None


@dataclass(frozen=True, slots=True)
class Reconnecting:
    connection: int
    attempt: int
    delay: float  # seconds until the next attempt


FeedEvent = Connected | Subscribed | Unsubscribed | Rejected | Disconnected | Reconnecting
