"""Loggers for websockets' connection logs that never show a secret, for the client and the
simulator alike (one rule for both ends of a KIS session).

websockets logs every frame at DEBUG (its first and last characters) and every handshake
header. A client's requests carry its approval key (and a corporate client's ``personalseckey``),
and the reply to a subscription carries the session's AES ``key`` and ``iv`` (reference 2.2), so:

* a frame from the client's side shows its opcode and length only; a close frame, either
  way, its code only (the server's echoes the client's reason);
* a frame from the server's side shows its text unless it is a JSON reply with ``output``
  (key and iv): data frames, PINGPONG and the other replies hold no secret;
* a handshake header shows its value only if it is one of the WebSocket handshake's own
  (RFC 6455 section 4, and Host, User-Agent...); ``appkey``, ``authorization`` or any other
  shows ``***``, and so does the query string of the request line.

Written against websockets 15-17's log calls (``"> %s"``/``"< %s"`` with a ``Frame``,
``"> %s: %s"`` headers, the request line); a test in ``tests/test_wslog.py`` drives a real
connection through both loggers, so a change of those calls shows.
"""

from __future__ import annotations

import logging

from websockets.exceptions import ProtocolError
from websockets.frames import Close, Frame, Opcode

__all__ = ["websockets_logger"]

_HANDSHAKE_HEADERS = frozenset({
    "host", "upgrade", "connection", "sec-websocket-key", "sec-websocket-version", "sec-websocket-accept",
    "sec-websocket-extensions", "sec-websocket-protocol", "user-agent", "server", "date", "origin",
    "content-type", "content-length",
})  # fmt: skip


def _frame(frame: Frame, *, from_client: bool) -> str:
    if frame.opcode is Opcode.CLOSE:  # the server's close frame echoes the client's reason
        try:
            return f"CLOSE {Close.parse(bytes(frame.data)).code} [reason not logged]"
        except (ProtocolError, UnicodeDecodeError):
            return f"CLOSE [{len(frame.data)} bytes, not logged]"
    if from_client:
        return f"{frame.opcode.name} [{len(frame.data)} bytes, not logged: may carry a key]"
    if frame.opcode is Opcode.TEXT and frame.data[:1] == b"{" and b'"output"' in frame.data:
        return f"TEXT [{len(frame.data)} bytes, not logged: a reply with the session's key and iv]"
    return str(frame)


def _without_query(path: object) -> object:
    path, mark, _ = str(path).partition("?")
    return f"{path}?***" if mark else path


class _Redact(logging.Filter):
    """Rewrites websockets' frame, header and request-line records (see the module docstring).
    ``client``: whether the logger is the client's, whose sent frames (">") are the client's."""

    def __init__(self, client: bool) -> None:
        super().__init__()
        self.client_mark = ">" if client else "<"

    def filter(self, record: logging.LogRecord) -> bool:
        args, message = record.args, record.msg
        if not isinstance(args, tuple) or not args:
            return True
        if message in ("< %s", "> %s") and isinstance(args[0], Frame):
            record.args = (_frame(args[0], from_client=message[0] == self.client_mark),)
        elif message in ("< %s: %s", "> %s: %s") and len(args) == 2:
            if str(args[0]).lower() not in _HANDSHAKE_HEADERS:
                record.args = (args[0], "***")
        elif message == "< %s %s %s" and len(args) == 3:  # the server's request line
            record.args = (args[0], _without_query(args[1]), args[2])
        elif message == "> GET %s HTTP/1.1" and len(args) == 1:  # the client's
            record.args = (_without_query(args[0]),)
        return True


def websockets_logger(name: str, *, client: bool) -> logging.Logger:
    """The logger to give websockets' ``connect`` (``client=True``) or ``serve``."""
    logger = logging.getLogger(name)
    if not any(isinstance(f, _Redact) for f in logger.filters):
        logger.addFilter(_Redact(client))
    return logger
