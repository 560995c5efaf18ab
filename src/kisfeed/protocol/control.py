"""JSON control messages: requests we send, replies and PINGPONG the server sends.

Reference 2.1 (requests), 2.2 (replies and the complete ``msg_cd`` table) and 2.3 (PINGPONG).
``OPSP`` below is the whole table as data: the client maps each code to an event or a named
error through it, and the simulator writes its replies from it, so the two cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

from ..exceptions import (
    AppKeyInUseError,
    ControlMessageError,
    InvalidApprovalError,
    InvalidRequestError,
    MaxSubscriptionsError,
    NotSubscribedError,
    ServerError,
    ServerInternalError,
    UnknownServerError,
)

__all__ = [
    "Opsp",
    "OPSP",
    "SUBSCRIBED",
    "UNSUBSCRIBED",
    "ALREADY_SUBSCRIBED",
    "ControlReply",
    "Ping",
    "parse_control",
    "subscribe_request",
    "server_error",
]

SUBSCRIBED, UNSUBSCRIBED, ALREADY_SUBSCRIBED = "OPSP0000", "OPSP0001", "OPSP0002"


@dataclass(frozen=True, slots=True)
class Opsp:
    msg1: str  # the text the server sends (observed text where it differs from the FAQ)
    rt_cd: str  # "0" success, "1" ordinary error, "9" OPSP8996; [UNK] ones default to "1"
    error: type[ServerError] | None  # None: a success (OPSP0002 counts as registered, ref. 3.1)


OPSP: dict[str, Opsp] = {
    "OPSP0000": Opsp("SUBSCRIBE SUCCESS", "0", None),
    "OPSP0001": Opsp("UNSUBSCRIBE SUCCESS", "0", None),
    "OPSP0002": Opsp("ALREADY IN SUBSCRIBE", "1", None),
    "OPSP0003": Opsp("UNSUBSCRIBE ERROR(not found!)", "1", NotSubscribedError),
    "OPSP0007": Opsp("SUBSCRIBE INTERNAL ERROR", "1", ServerInternalError),
    "OPSP0008": Opsp("MAX SUBSCRIBE OVER", "1", MaxSubscriptionsError),
    "OPSP0009": Opsp("SUBSCRIBE ERROR : mci send failed", "1", ServerInternalError),
    "OPSP0010": Opsp("SUBSCRIBE WARNING : invalid appkey", "1", InvalidApprovalError),
    "OPSP0011": Opsp("invalid approval : NOT FOUND", "1", InvalidApprovalError),
    "OPSP8991": Opsp("SUBSCRIBE ERROR : invalid tr_id", "1", InvalidRequestError),
    "OPSP8992": Opsp("SUBSCRIBE ERROR : invalid tr_key", "1", InvalidRequestError),
    "OPSP8993": Opsp("JSON PARSING ERROR : invalid tr_key", "1", InvalidRequestError),
    "OPSP8994": Opsp("JSON PARSING ERROR : personalseckey not found", "1", InvalidRequestError),
    "OPSP8995": Opsp("JSON PARSING ERROR : appsecret not found", "1", InvalidRequestError),
    "OPSP8996": Opsp("ALREADY IN USE appkey", "9", AppKeyInUseError),
    "OPSP8997": Opsp("JSON PARSING ERROR : invalid tr_type", "1", InvalidRequestError),
    "OPSP8998": Opsp("JSON PARSING ERROR : invalid custtype", "1", InvalidRequestError),
    "OPSP8999": Opsp("resource not available (ALLOC_CALL_PARAM)", "1", ServerInternalError),
    "OPSP9990": Opsp("JSON PARSING ERROR : tr_key not found", "1", InvalidRequestError),
    "OPSP9991": Opsp("JSON PARSING ERROR : input not found", "1", InvalidRequestError),
    "OPSP9992": Opsp("JSON PARSING ERROR : body not found", "1", InvalidRequestError),
    "OPSP9993": Opsp("JSON PARSING ERROR : internal error", "1", ServerInternalError),
    "OPSP9994": Opsp("JSON PARSING ERROR : INVALID appkey", "1", InvalidApprovalError),
    "OPSP9995": Opsp("JSON PARSING ERROR : resource not available", "1", ServerInternalError),
    "OPSP9996": Opsp("JSON PARSING ERROR : appkey", "1", InvalidApprovalError),
    "OPSP9997": Opsp("JSON PARSING ERROR : custtype not found", "1", InvalidRequestError),
    "OPSP9998": Opsp("JSON PARSING ERROR : header not found", "1", InvalidRequestError),
    "OPSP9999": Opsp("JSON PARSING ERROR : invalid json format", "1", InvalidRequestError),
}


@dataclass(frozen=True, slots=True)
class ControlReply:
    """A subscribe/unsubscribe/error reply. ``tr_id`` is None when the server wrote ``(null)``."""

    tr_id: str | None
    tr_key: str | None
    encrypt: str
    rt_cd: str
    msg_cd: str
    msg1: str
    key: str | None = None  # output.key, 32 characters, on OPSP0000
    iv: str | None = None  # output.iv, 16 characters, on OPSP0000

    @property
    def ok(self) -> bool:
        """Success or "already subscribed"; every other listed code is a failure (reference
        2.2). A code the table does not list counts as success only with ``rt_cd`` "0"."""
        if self.msg_cd in OPSP:
            return OPSP[self.msg_cd].error is None
        return self.rt_cd == "0"


@dataclass(frozen=True, slots=True)
class Ping:
    """The server's heartbeat; ``text`` is what must go back, unchanged (reference 2.3)."""

    text: str
    datetime: str | None  # YYYYMMDDHHMMSS KST when present; clients must not require it


def _string(obj: dict[str, Any], name: str, text: str) -> str:
    value = obj.get(name, "")
    if value is None:
        return ""
    if not isinstance(value, (str, int, float)):
        raise ControlMessageError(f"{name} is not a string", raw=text)
    return str(value)


def parse_control(text: str) -> ControlReply | Ping:
    """A JSON control message; ``ControlMessageError`` if it is not JSON or has no header."""
    try:
        # msgspec encodes a str argument to UTF-8 itself and lets UnicodeEncodeError escape for
        # lone surrogates, which no WebSocket text frame can carry (RFC 6455 5.6: UTF-8): encode
        # here, so that such text is one more kind of malformed input.
        data = text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ControlMessageError(
            f"not UTF-8 text ({exc.reason} at character {exc.start})", raw=text
        ) from None
    try:
        message = msgspec.json.decode(data)
    except msgspec.DecodeError as exc:
        raise ControlMessageError(f"not JSON ({exc})", raw=text) from None
    header = message.get("header") if isinstance(message, dict) else None
    if not isinstance(header, dict):
        raise ControlMessageError("no header object", raw=text)
    tr_id = _string(header, "tr_id", text)
    body = message.get("body")
    if tr_id == "PINGPONG":
        stamp = header.get("datetime")
        return Ping(text, stamp if isinstance(stamp, str) else None)
    if not isinstance(body, dict):
        raise ControlMessageError("a reply without a body object", raw=text)
    msg_cd = _string(body, "msg_cd", text)
    if not msg_cd:
        raise ControlMessageError("a reply without msg_cd", raw=text)
    output = body.get("output")
    key = iv = None
    if isinstance(output, dict):
        key, iv = output.get("key"), output.get("iv")
        key = key if isinstance(key, str) else None
        iv = iv if isinstance(iv, str) else None
    tr_key = _string(header, "tr_key", text)
    return ControlReply(
        tr_id=None if tr_id in ("", "(null)") else tr_id,
        tr_key=tr_key or None,
        encrypt=_string(header, "encrypt", text),
        rt_cd=_string(body, "rt_cd", text),
        msg_cd=msg_cd,
        msg1=_string(body, "msg1", text),
        key=key,
        iv=iv,
    )


def server_error(reply: ControlReply) -> ServerError | None:
    """The named error a reply stands for, or None for a success."""
    if reply.ok:
        return None
    entry = OPSP.get(reply.msg_cd)
    cls = entry.error if entry is not None and entry.error is not None else UnknownServerError
    return cls(reply.msg_cd, reply.msg1, rt_cd=reply.rt_cd, tr_id=reply.tr_id, tr_key=reply.tr_key)


def subscribe_request(
    approval_key: str, tr_id: str, tr_key: str, *, subscribe: bool = True, custtype: str = "P"
) -> str:
    """One register (``tr_type`` 1) or release (2) message, as the spec's Header/Body tables say."""
    return msgspec.json.encode(
        {
            "header": {
                "approval_key": approval_key,
                "custtype": custtype,
                "tr_type": "1" if subscribe else "2",
                "content-type": "utf-8",
            },
            "body": {"input": {"tr_id": tr_id, "tr_key": tr_key}},
        }
    ).decode()
