"""The sans-I/O session: one WebSocket connection's protocol state, fed with text.

::

    session = Session(approval_key)
    session.subscribe("H0ZFCNT0", "A11612")
    for text in session.data_to_send(): ...          # send these, in order
    for event in session.receive(text_from_server): # match on the events
        ...
    records, errors = session.receive_data(data_frame)  # a receiver's hot path: no events

It knows what is registered (confirmed by the server) and what is pending, refuses a
registration past the limit before anything is sent (reference 3.1: 41 per session), treats
OPSP0002 as registered, frees a slot on OPSP0001/OPSP0003 or on a rejected subscribe, queues the
PINGPONG answer (the received text, unchanged: reference 2.3) and keeps the AES key/iv of each
TR from its OPSP0000 ack. A new connection is a new Session: the server forgets registrations
on disconnect (reference 3.5).
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from ..exceptions import ControlMessageError, ParseError, SubscriptionLimitError
from ..schema.layouts import layout_for
from ..schema.records import Record
from .control import (
    ALREADY_SUBSCRIBED,
    OPSP,
    UNSUBSCRIBED,
    ControlReply,
    Ping,
    parse_control,
    server_error,
    subscribe_request,
)
from .events import Data, Event, Malformed, PingPong, Rejected, Subscribed, Unsubscribed
from .frames import decode_frame_lenient

__all__ = ["Session", "DEFAULT_MAX_REGISTRATIONS"]

DEFAULT_MAX_REGISTRATIONS = 41  # measured by several parties in 2026 (reference 3.1)

Key = tuple[str, str]  # (tr_id, tr_key)


class Session:
    def __init__(
        self,
        approval_key: str,
        *,
        custtype: str = "P",
        max_registrations: int = DEFAULT_MAX_REGISTRATIONS,
    ) -> None:
        if custtype not in ("P", "B"):
            raise ValueError("custtype is 'P' (individual) or 'B' (corporate)")
        self._approval_key = approval_key
        self.custtype = custtype
        self.max_registrations = max_registrations
        self.registered: set[Key] = set()  # confirmed by the server
        self.pending_subscribe: set[Key] = set()
        self.pending_unsubscribe: set[Key] = set()
        self.keys: dict[str, tuple[str, str]] = {}  # tr_id -> (key, iv) from OPSP0000
        self._outgoing: list[str] = []

    def __repr__(self) -> str:  # never shows the approval key
        return (
            f"<Session registered={len(self.registered)} pending={len(self.pending_subscribe)} "
            f"limit={self.max_registrations}>"
        )

    @property
    def slots_used(self) -> int:
        """Registrations held or asked for; an unsubscribe frees its slot only when confirmed."""
        return len(self.registered | self.pending_subscribe)

    def subscribe(self, tr_id: str, tr_key: str) -> bool:
        """Queue a register message. False (nothing sent) if it is registered or pending already.

        Raises ``UnknownTRError`` for a TR without a layout and ``SubscriptionLimitError`` when
        the session already holds ``max_registrations``."""
        layout_for(tr_id)
        key = (tr_id, tr_key)
        if key in self.registered or key in self.pending_subscribe:
            return False
        if self.slots_used >= self.max_registrations:
            raise SubscriptionLimitError(tr_id, tr_key, self.max_registrations)
        self.pending_subscribe.add(key)
        self._outgoing.append(subscribe_request(self._approval_key, tr_id, tr_key, custtype=self.custtype))
        return True

    def unsubscribe(self, tr_id: str, tr_key: str) -> bool:
        """Queue a release message. False (nothing sent) if it is already pending."""
        key = (tr_id, tr_key)
        if key in self.pending_unsubscribe:
            return False
        self.pending_unsubscribe.add(key)
        self._outgoing.append(
            subscribe_request(self._approval_key, tr_id, tr_key, subscribe=False, custtype=self.custtype)
        )
        return True

    def data_to_send(self) -> list[str]:
        """Texts to send, in order; each is returned once."""
        out, self._outgoing = self._outgoing, []
        return out

    def receive(
        self, text: str, *, trading_date: date | None = None, received_ns: int | None = None
    ) -> list[Event]:
        """Events for one text frame from the server. Never raises for bad input: a malformed
        frame or message becomes a ``Malformed`` event."""
        if text[:1] == "{":
            return self._receive_control(text)
        records, errors = self.receive_data(text, trading_date=trading_date, received_ns=received_ns)
        events: list[Event] = [Malformed(e) for e in errors]
        if records:
            events.insert(0, Data(records[0].tr_id, tuple(records)))
        return events

    def receive_data(
        self, text: str, *, trading_date: date | None = None, received_ns: int | None = None
    ) -> tuple[list[Record], list[ParseError]]:
        """The records of a data frame (any text that does not start with ``{``), in wire order,
        and one error per record or frame that did not decode: what ``receive`` returns as
        ``Data`` and ``Malformed`` events, without the events. Never raises for bad input. A
        receiver's hot path: most frames are data, and it makes no object per frame."""
        try:
            return decode_frame_lenient(
                text, keys=self.keys, trading_date=trading_date, received_ns=received_ns
            )
        except ParseError as exc:
            return [], [exc]

    def _receive_control(self, text: str) -> list[Event]:
        try:
            message = parse_control(text)
        except ControlMessageError as exc:
            return [Malformed(exc)]
        if isinstance(message, Ping):
            self._outgoing.append(message.text)
            return [PingPong(message.text, message.datetime)]
        return [self._on_reply(message)]

    def _on_reply(self, reply: ControlReply) -> Event:
        key: Key | None = (reply.tr_id, reply.tr_key or "") if reply.tr_id else None
        error = server_error(reply)
        if error is not None:
            request: Literal["subscribe", "unsubscribe"] | None = None
            if key in self.pending_subscribe:
                self.pending_subscribe.discard(key)  # the slot was never taken
                request = "subscribe"
            elif key in self.pending_unsubscribe:
                self.pending_unsubscribe.discard(key)
                request = "unsubscribe"
                if error.msg_cd == "OPSP0003":  # not found: it is not registered
                    self.registered.discard(key)
            return Rejected(error, request)
        if key is None or reply.tr_id is None:
            return Malformed(ControlMessageError(f"{reply.msg_cd} reply without a tr_id", raw=repr(reply)))
        releasing = reply.msg_cd == UNSUBSCRIBED or (
            reply.msg_cd not in OPSP and key in self.pending_unsubscribe and key not in self.pending_subscribe
        )
        if releasing:
            self.pending_unsubscribe.discard(key)
            self.registered.discard(key)
            return Unsubscribed(*key)
        self.pending_subscribe.discard(key)
        self.registered.add(key)
        if reply.key and reply.iv:
            self.keys[reply.tr_id] = (reply.key, reply.iv)
        return Subscribed(key[0], key[1], already=reply.msg_cd == ALREADY_SUBSCRIBED)
