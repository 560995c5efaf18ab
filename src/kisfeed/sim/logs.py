"""The logger of the simulator's WebSocket connections, which never shows a secret.

websockets logs every frame at DEBUG (its first and last characters) and every handshake
header. A client's requests carry its approval key (and a corporate client's ``personalseckey``),
and the reply to a subscription carries the session's AES ``key`` and ``iv`` (reference 2.2), so:

* a frame from a client shows its opcode and length only; a close frame, either way, its
  code only (the server's echoes the client's reason);
* a frame of the simulator's shows its text unless it is a JSON reply with ``output``
  (key and iv): data frames, PINGPONG and the other replies hold no secret;
* a handshake header shows its value only if it is one of the WebSocket handshake's own
  (RFC 6455 section 4, and Host, User-Agent...); ``appkey``, ``authorization`` or any other
  shows ``***``, and so does the query string of the request line.

The simulator's own log lines (``kisfeed.sim``) name sessions by number and never carry a key.
"""

from __future__ import annotations

import logging

from websockets.exceptions import ProtocolError
from websockets.frames import Close, Frame, Opcode

__all__ = ["WEBSOCKETS_LOG"]

_HANDSHAKE_HEADERS = frozenset({
    "host", "upgrade", "connection", "sec-websocket-key", "sec-websocket-version", "sec-websocket-accept",
    "sec-websocket-extensions", "sec-websocket-protocol", "user-agent", "server", "date", "origin",
    "content-type", "content-length",
})  # fmt: skip


def _frame(frame: Frame, *, sent: bool) -> str:
    if frame.opcode is Opcode.CLOSE:  # the server's close frame echoes the client's reason
        try:
            return f"CLOSE {Close.parse(bytes(frame.data)).code} [reason not logged]"
        except (ProtocolError, UnicodeDecodeError):
            return f"CLOSE [{len(frame.data)} bytes, not logged]"
    if not sent:
        return f"{frame.opcode.name} [{len(frame.data)} bytes, not logged: may carry a key]"
    if frame.opcode is Opcode.TEXT and frame.data[:1] == b"{" and b'"output"' in frame.data:
        return f"TEXT [{len(frame.data)} bytes, not logged: a reply with the session's key and iv]"
    return str(frame)


class _Redact(logging.Filter):
    """Rewrites websockets' frame, header and request-line records (see the module docstring)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args, message = record.args, record.msg
        if not isinstance(args, tuple) or not args:
            return True
        if message in ("< %s", "> %s") and isinstance(args[0], Frame):
            record.args = (_frame(args[0], sent=message[0] == ">"),)
        elif message in ("< %s: %s", "> %s: %s") and len(args) == 2:
            if str(args[0]).lower() not in _HANDSHAKE_HEADERS:
                record.args = (args[0], "***")
        elif message == "< %s %s %s" and len(args) == 3:
            path, mark, _ = str(args[1]).partition("?")
            if mark:
                record.args = (args[0], f"{path}?***", args[2])
        return True


#: Given to websockets' ``serve`` for every connection of the simulator.
WEBSOCKETS_LOG = logging.getLogger("kisfeed.sim.websockets")
WEBSOCKETS_LOG.addFilter(_Redact())
