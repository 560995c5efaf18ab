"""The approval endpoint ``POST /oauth2/Approval`` and the approval keys it issues (ref 1.3, 7.1).

A deliberately small HTTP/1.1 server on asyncio streams: the WebSocket library's server cannot
answer a POST, and the endpoint needs one route. Each connection gets one response and is
closed (``Connection: close``), which every HTTP client handles.

Replies:

* 200 ``{"approval_key": "<36-char uuid-like>"}`` for a known app key and its secret.
* 403 ``{"error_description": …, "error_code": "EGW00103"}`` for an unknown app key, ``EGW00105``
  for a wrong secret: the REST error shape and codes of reference 1.3/7.1 (exact shape [UNK]).
* 400 for a body that is not a JSON object with ``grant_type`` ``client_credentials``, 404/405
  for other routes. No KIS code is known for these, so they carry ``SIM``-prefixed codes rather
  than invented ``EGW`` ones.

Nothing here logs or echoes an app key, a secret or an approval key.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import msgspec

__all__ = ["ApprovalKeys", "ApprovalServer", "PATH"]

PATH = "/oauth2/Approval"
_MAX_HEADER = 16 * 1024
_MAX_BODY = 64 * 1024
_REASONS = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
            413: "Payload Too Large", 500: "Internal Server Error", 503: "Service Unavailable"}  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Issued:
    app_key: str
    issued: float  # time.monotonic()


class ApprovalKeys:
    """App key/secret pairs and the approval keys issued for them (several per app key)."""

    def __init__(self, app_keys: Mapping[str, str], ttl: float) -> None:
        self._secrets = dict(app_keys)
        self._issued: dict[str, _Issued] = {}
        self.ttl = ttl

    def check(self, app_key: object, secret: object) -> str | None:
        """None when the pair is valid, else the KIS error code (EGW00103 key / EGW00105 secret)."""
        if not isinstance(app_key, str) or app_key not in self._secrets:
            return "EGW00103"
        if secret != self._secrets[app_key]:
            return "EGW00105"
        return None

    def issue(self, app_key: str) -> str:
        """A new approval key for ``app_key`` (36 characters, UUID-shaped like the real ones)."""
        if app_key not in self._secrets:
            raise KeyError("unknown app key")
        key = str(uuid.uuid4())
        self._issued[key] = _Issued(app_key, time.monotonic())
        return key

    def app_key_of(self, approval_key: str | None, *, allow_expired: bool = False) -> str | None:
        """The app key an approval key was issued for; None if unknown (or expired)."""
        issued = self._issued.get(approval_key) if approval_key else None
        if issued is None:
            return None
        if not allow_expired and time.monotonic() - issued.issued > self.ttl:
            return None
        return issued.app_key


_ERRORS = {
    "EGW00103": "유효하지 않은 AppKey입니다.",
    "EGW00105": "유효하지 않은 AppSecret입니다.",
}


def _error(code: str, description: str | None = None) -> bytes:
    return msgspec.json.encode({"error_description": description or _ERRORS[code], "error_code": code})


class ApprovalServer:
    """The HTTP listener. ``refusal(app_key)`` returns an HTTP status to refuse with, or None."""

    def __init__(self, keys: ApprovalKeys, refusal: Callable[[str | None], int | None]) -> None:
        self.keys = keys
        self.refusal = refusal
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0

    async def start(self, host: str, port: int) -> int:
        self._server = await asyncio.start_server(self._serve, host, port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        if self._server is None:
            return
        self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        await self._server.wait_closed()
        self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            status, body = await self._handle(reader)
            head = (
                f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\n"
                "Content-Type: application/json; charset=utf-8\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            )
            writer.write(head.encode("ascii") + body)
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass  # the client went away mid-request: nothing to answer
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _handle(self, reader: asyncio.StreamReader) -> tuple[int, bytes]:
        head = await reader.readuntil(b"\r\n\r\n")
        if len(head) > _MAX_HEADER:
            return 400, _error("SIM00400", "request header too large")
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3:
            return 400, _error("SIM00400", "malformed request line")
        method, target, _ = parts
        headers = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        try:
            length = int(headers.get("content-length", "0"))
        except ValueError:
            return 400, _error("SIM00400", "bad Content-Length")
        if not 0 <= length <= _MAX_BODY:
            return 413, _error("SIM00413", "request body too large")
        body = await reader.readexactly(length) if length else b""
        if target.split("?", 1)[0] != PATH:
            return 404, _error("SIM00404", f"no such endpoint; the simulator serves POST {PATH}")
        if method != "POST":
            return 405, _error("SIM00405", f"{PATH} takes POST")
        try:
            request = msgspec.json.decode(body)
        except msgspec.DecodeError:
            request = None
        if not isinstance(request, dict) or request.get("grant_type") != "client_credentials":
            return 400, _error(
                "SIM00400", 'body must be JSON {"grant_type": "client_credentials", "appkey", "secretkey"}'
            )
        app_key = request.get("appkey")
        refused = self.refusal(app_key if isinstance(app_key, str) else None)
        if refused is not None:  # the refuse_approval fault
            if refused == 403:
                return 403, _error("EGW00103")
            return refused, _error(f"SIM{refused:05d}", "approval refused by a simulated fault")
        code = self.keys.check(app_key, request.get("secretkey"))
        if code is not None:
            return 403, _error(code)
        return 200, msgspec.json.encode({"approval_key": self.keys.issue(app_key)})  # type: ignore[arg-type]  # issue() takes the app key check() accepted, so not None
