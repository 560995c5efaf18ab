"""The closed set of events a ``Session`` returns from ``receive``; consume them with ``match``.

``Subscribed``, ``Unsubscribed`` and ``Rejected`` are also the live feed's events (passed to
``on_event``, see ``kisfeed.client.events``): the feed fills in ``session``, its number of the
WebSocket connection the reply came on. A bare ``Session`` leaves it 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..exceptions import ParseError, ServerError
from ..schema.records import Record

__all__ = ["Event", "Data", "Subscribed", "Unsubscribed", "Rejected", "PingPong", "Malformed"]


@dataclass(frozen=True, slots=True)
class Data:
    """Records of one data frame, in wire order."""

    tr_id: str
    records: tuple[Record, ...]


@dataclass(frozen=True, slots=True)
class Subscribed:
    """OPSP0000, or OPSP0002 (``already``): the registration is held by the server."""

    tr_id: str
    tr_key: str
    already: bool = False
    session: int = 0


@dataclass(frozen=True, slots=True)
class Unsubscribed:
    """OPSP0001: the registration is released and its slot is free."""

    tr_id: str
    tr_key: str
    session: int = 0


@dataclass(frozen=True, slots=True)
class Rejected:
    """A reply with an error ``msg_cd``. ``request`` says which pending request it answers:
    ``"subscribe"``, ``"unsubscribe"``, or None for a session-level error such as OPSP8996."""

    error: ServerError  # the named error: MaxSubscriptionsError, AppKeyInUseError, ...
    request: Literal["subscribe", "unsubscribe"] | None = None
    session: int = 0

    @property
    def tr_id(self) -> str | None:
        return self.error.tr_id

    @property
    def tr_key(self) -> str | None:
        return self.error.tr_key


@dataclass(frozen=True, slots=True)
class PingPong:
    """The server's heartbeat; its answer is already queued in ``Session.data_to_send()``."""

    text: str
    datetime: str | None


@dataclass(frozen=True, slots=True)
class Malformed:
    """Input that did not decode. The receiver's policy decides: count and skip, or raise."""

    error: ParseError


Event = Data | Subscribed | Unsubscribed | Rejected | PingPong | Malformed
