"""Approval keys (웹소켓 접속키) from ``POST /oauth2/Approval`` (reference 1.3, 1.4).

A key is valid for 24 hours and is only checked when a session starts, so it is cached on disk
(one small JSON file per host, app key and app secret, mode 0600, in the user cache directory)
and reused for ``reuse`` (default 23 h, an hour of margin) across program starts. ``OPSP0011`` makes the
client ask for a fresh one once. The HTTP transport is injectable (``httpx.MockTransport`` in
tests). Neither the app secret nor an approval key ever reaches a log line, an exception or a
repr: files hold them, messages name the app key only by a masked label.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from . import paths
from .exceptions import AuthError, ConfigError

__all__ = [
    "REAL_REST_URL",
    "REAL_WS_URL",
    "Credentials",
    "ApprovalKeys",
]

log = logging.getLogger("kisfeed.auth")

# Reference 1.1 (official kis_devlp.yaml); the WebSocket is plain ws://. The paper-trading
# endpoints are not here: H0ZFCNT0/H0ZOCNT0 do not exist there (모의투자 미지원).
REAL_REST_URL = "https://openapi.koreainvestment.com:9443"
REAL_WS_URL = "ws://ops.koreainvestment.com:21000"

KEY_LIFETIME = 24 * 3600.0  # PORTAL-TXT: valid for 24 hours
DEFAULT_REUSE = 23 * 3600.0


@dataclass(frozen=True)
class Credentials:
    """An app key and its secret. ``repr`` and ``label`` never show either value."""

    app_key: str = field(repr=False)
    app_secret: str = field(repr=False)

    def __post_init__(self) -> None:
        if not self.app_key or not self.app_secret:
            raise ConfigError("an app key and its app secret are both required")

    @property
    def label(self) -> str:
        """A stable name for logs: a short hash, not the key."""
        return "app key #" + hashlib.sha256(self.app_key.encode()).hexdigest()[:8]

    @classmethod
    def from_env(cls) -> Credentials:
        key, secret = os.environ.get("KIS_APP_KEY", ""), os.environ.get("KIS_APP_SECRET", "")
        if not key or not secret:
            raise ConfigError("no credentials: pass app_key/app_secret or set KIS_APP_KEY and KIS_APP_SECRET")
        return cls(key, secret)


class ApprovalKeys:
    """Issues approval keys and keeps them on disk while they are valid."""

    def __init__(
        self,
        rest_url: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        reuse: float = DEFAULT_REUSE,
        timeout: float = 10.0,
    ) -> None:
        self.rest_url = rest_url.rstrip("/")
        self.cache_dir = Path(cache_dir) if cache_dir is not None else paths.cache_dir()
        self.reuse = min(reuse, KEY_LIFETIME)
        self._transport = transport
        self._timeout = timeout
        self.issued = 0  # keys fetched over HTTP by this object (tests and stats read it)

    def _path(self, credentials: Credentials) -> Path:
        # The secret is part of the name (hashed with the rest, never stored): keyed by the app
        # key alone, a cached approval key hid a wrong or changed secret until it expired.
        identity = f"{self.rest_url}\0{credentials.app_key}\0{credentials.app_secret}"
        digest = hashlib.sha256(identity.encode()).hexdigest()[:24]
        return self.cache_dir / f"approval-{digest}.json"

    async def get(self, credentials: Credentials, *, fresh: bool = False) -> str:
        """A valid approval key: the cached one unless ``fresh`` or expired, else a new one."""
        path = self._path(credentials)
        if not fresh:
            cached = self._read(path)
            if cached is not None:
                return cached
        key = await self._issue(credentials)
        self._write(path, key)
        return key

    def forget(self, credentials: Credentials) -> None:
        """Drop the cached key (after ``OPSP0011``)."""
        self._path(credentials).unlink(missing_ok=True)

    def _read(self, path: Path) -> str | None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            key, issued_at = data["approval_key"], float(data["issued_at"])
        except (OSError, ValueError, KeyError, TypeError):
            return None  # absent or unreadable: issue a new one
        if not isinstance(key, str) or not 0 <= time.time() - issued_at < self.reuse:
            return None
        return key

    def _write(self, path: Path, key: str) -> None:
        try:
            paths.write_private(path, json.dumps({"approval_key": key, "issued_at": time.time()}))
        except OSError as exc:  # a read-only home must not stop trading: work without the cache
            log.warning(
                "cannot cache the approval key in %s (%s); continuing without the cache",
                self.cache_dir,
                exc.strerror or exc,
            )

    async def _issue(self, credentials: Credentials) -> str:
        url = f"{self.rest_url}/oauth2/Approval"
        body = {
            "grant_type": "client_credentials",
            "appkey": credentials.app_key,
            "secretkey": credentials.app_secret,
        }  # "secretkey", not "appsecret" (reference 1.3)
        try:
            async with httpx.AsyncClient(transport=self._transport, timeout=self._timeout) as http:
                response = await http.post(url, json=body, headers={"content-type": "application/json"})
        except httpx.HTTPError as exc:
            error = AuthError("HTTP", f"approval endpoint {url} unreachable: {type(exc).__name__}")
            error.retryable = True  # the network, not the credentials
            raise error from None
        try:
            data = response.json()
        except ValueError:
            data = None
        key = data.get("approval_key") if isinstance(data, dict) else None
        if response.status_code != 200 or not isinstance(key, str) or not key:
            code, text = "HTTP", f"status {response.status_code}"
            if isinstance(data, dict):  # KIS errors: {"error_code": "EGW00103", "error_description": ...}
                code = str(data.get("error_code") or data.get("msg_cd") or code)
                text = str(data.get("error_description") or data.get("msg1") or text)
            error = AuthError(code, f"approval refused for {credentials.label}: {text}")
            error.retryable = response.status_code >= 500
            raise error
        self.issued += 1
        log.info("issued an approval key for %s", credentials.label)
        return key
