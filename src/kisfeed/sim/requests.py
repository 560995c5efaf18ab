"""What a client sends the server, validated, and the JSON replies the server writes back.

Reference 2.1 (request shape), 2.2 (replies and the ``msg_cd`` table) and 2.3 (PINGPONG). The
reply texts come from ``kisfeed.protocol.OPSP`` so that the simulator and the client read one
table. The order in which a malformed request is checked is not documented [UNK]; ours is:
JSON → header → custtype → tr_type → body → input → tr_key → tr_id, then (by the server)
approval key → app key in use → tr_id served → tr_key listed (under ``unknown_codes="refuse"``).
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from ..protocol.control import OPSP

__all__ = ["Request", "Heartbeat", "Refusal", "parse_request", "reply", "pingpong", "is_pingpong"]

NULL = "(null)"  # header tr_id of replies not tied to a subscription (ref 2.2, OPSP8996)


@dataclass(frozen=True, slots=True)
class Request:
    """A well-formed register (``tr_type`` 1) or release (2) request."""

    approval_key: str | None
    custtype: str
    subscribe: bool
    tr_id: str
    tr_key: str


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """A PINGPONG text from the client: the answer to the server's heartbeat (ref 2.3)."""


@dataclass(frozen=True, slots=True)
class Refusal:
    """A request the server must refuse before it can be tied to a subscription."""

    msg_cd: str
    tr_id: str = NULL
    tr_key: str = ""


_decoder = msgspec.json.Decoder()


def _text(obj: dict[str, object], name: str) -> str | None:
    value = obj.get(name)
    return value if isinstance(value, str) else None


def parse_request(text: str) -> Request | Heartbeat | Refusal:
    """Classify one text frame from a client. Never raises: every malformed input is a Refusal
    carrying the ``OPSP`` code the server answers with."""
    try:
        message = _decoder.decode(text)
    except (msgspec.DecodeError, UnicodeDecodeError):
        return Refusal("OPSP9999")
    if not isinstance(message, dict):
        return Refusal("OPSP9999")
    header = message.get("header")
    if not isinstance(header, dict):
        return Refusal("OPSP9998")
    if header.get("tr_id") == "PINGPONG":
        return Heartbeat()
    custtype = header.get("custtype")
    if custtype is None:
        return Refusal("OPSP9997")
    if custtype not in ("P", "B"):
        return Refusal("OPSP8998")
    if custtype == "B" and not _text(header, "personalseckey"):
        return Refusal("OPSP8994")  # corporate customers carry more header fields (ref 2.2)
    tr_type = header.get("tr_type")
    if tr_type not in ("1", "2"):
        return Refusal("OPSP8997")
    body = message.get("body")
    if not isinstance(body, dict):
        return Refusal("OPSP9992")
    data = body.get("input")
    if not isinstance(data, dict):
        return Refusal("OPSP9991")
    tr_key = _text(data, "tr_key")
    if not tr_key:
        return Refusal("OPSP9990")
    tr_id = _text(data, "tr_id")
    if not tr_id:
        return Refusal("OPSP8991", NULL, tr_key)
    return Request(_text(header, "approval_key"), custtype, tr_type == "1", tr_id, tr_key)


def reply(msg_cd: str, tr_id: str = NULL, tr_key: str = "", key_iv: tuple[str, str] | None = None) -> str:
    """A control reply exactly as reference 2.2 shows it: header (tr_id, tr_key, encrypt "N"),
    body (rt_cd, msg_cd, msg1, and on OPSP0000 ``output`` with iv and key)."""
    entry = OPSP[msg_cd]
    body: dict[str, object] = {"rt_cd": entry.rt_cd, "msg_cd": msg_cd, "msg1": entry.msg1}
    if key_iv is not None:
        body["output"] = {"iv": key_iv[1], "key": key_iv[0]}
    message = {"header": {"tr_id": tr_id, "tr_key": tr_key, "encrypt": "N"}, "body": body}
    return msgspec.json.encode(message).decode()


def pingpong(stamp: str) -> str:
    """The server's heartbeat: a header and no body (ref 2.3); ``stamp`` is YYYYMMDDHHMMSS KST."""
    return '{"header":{"tr_id":"PINGPONG","datetime":"' + stamp + '"}}'


def is_pingpong(payload: bytes | str) -> bool:
    """Whether a frame's payload is a PINGPONG message (an echo may be re-serialised: PYKIS)."""
    try:
        message = _decoder.decode(payload)
    except (msgspec.DecodeError, UnicodeDecodeError):
        return False
    header = message.get("header") if isinstance(message, dict) else None
    return isinstance(header, dict) and header.get("tr_id") == "PINGPONG"
