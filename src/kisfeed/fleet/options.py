"""How to reach NATS: the server URLs and the credentials, which never reach a log or an error.

Every fleet command and ``kisfeed.fleet.subscribe`` take a ``NatsOptions``. The credentials a
NATS server can ask for (issue 17, item 5): user and password (in the URL or apart), a token,
an nkey seed file, a ``.creds`` file (JWT and nkey), and TLS (a CA file to trust, a client
certificate and key) when given or when the URL says ``tls://``. From the environment:
``KISFEED_NATS_URL``, ``KISFEED_NATS_USER``, ``KISFEED_NATS_PASSWORD``, ``KISFEED_NATS_TOKEN``,
``KISFEED_NATS_NKEY`` (a seed file), ``KISFEED_NATS_CREDS``, ``KISFEED_NATS_CA``,
``KISFEED_NATS_CERT``, ``KISFEED_NATS_KEY``.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ..exceptions import ConfigError

__all__ = ["NatsOptions", "DEFAULT_URL"]

DEFAULT_URL = "nats://127.0.0.1:4222"
_SCHEMES = ("nats", "tls", "ws", "wss")
_ENV = {
    "url": "KISFEED_NATS_URL",
    "user": "KISFEED_NATS_USER",
    "password": "KISFEED_NATS_PASSWORD",
    "token": "KISFEED_NATS_TOKEN",
    "nkey_seed": "KISFEED_NATS_NKEY",
    "creds": "KISFEED_NATS_CREDS",
    "tls_ca": "KISFEED_NATS_CA",
    "tls_cert": "KISFEED_NATS_CERT",
    "tls_key": "KISFEED_NATS_KEY",
}


@dataclass(frozen=True)
class NatsOptions:
    """A NATS server and how to log in to it. ``repr`` and ``url_shown`` hide every secret."""

    url: str = DEFAULT_URL
    """One URL, or several separated by commas (a cluster): ``nats://host:4222``,
    ``nats://user:password@host:4222``, ``tls://host:4222``."""
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
    nkey_seed: Path | None = None
    """A file holding an nkey seed (``SU...``): the key itself is read by nats-py, never by us."""
    creds: Path | None = None
    """A ``.creds`` file (user JWT and nkey seed), as ``nsc`` writes it."""
    tls_ca: Path | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    name: str = "kisfeed"
    """The client name the server shows (``nats-server`` monitoring, ``connz``)."""

    def __post_init__(self) -> None:
        for url in self.servers:
            parts = urlsplit(url)
            if parts.scheme not in _SCHEMES or not parts.hostname:
                raise ConfigError(
                    f"NATS URL {_hide(url)!r}: expected nats://host:port (or tls://, ws://, wss://)"
                )
            try:
                parts.port  # noqa: B018 - a bad port raises here, not in the middle of connecting
            except ValueError:
                raise ConfigError(f"NATS URL {_hide(url)!r}: the port is not a number 0-65535") from None
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ConfigError(
                "NATS TLS: give the client certificate and its key together (--tls-cert, --tls-key)"
            )
        if self.token is not None and self.user is not None:
            raise ConfigError("NATS: a token or a user and password, not both")
        for path in (self.nkey_seed, self.creds, self.tls_ca, self.tls_cert, self.tls_key):
            if path is not None and not Path(path).is_file():
                raise ConfigError(f"NATS: {path} is not a readable file")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **given: Any) -> NatsOptions:
        """Options from ``given`` (None: not given), else from ``KISFEED_NATS_*``, else defaults."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            value = given.get(f.name)
            if value is None and f.name in _ENV:
                value = env.get(_ENV[f.name]) or None
            if value is not None:
                values[f.name] = Path(value) if f.name in _PATHS else value
        return cls(**values)

    @property
    def servers(self) -> list[str]:
        return [u.strip() for u in self.url.split(",") if u.strip()]

    @property
    def url_shown(self) -> str:
        """The URL(s) without any password or token: for logs, errors and status lines."""
        return ",".join(_hide(u) for u in self.servers)

    def with_name(self, name: str) -> NatsOptions:
        return replace(self, name=name)

    def connect_kwargs(self) -> dict[str, Any]:
        """The keyword arguments of ``nats.connect`` (reconnecting for ever: a feeder and a
        recorder must outlive a restart of the server, issue 17's tests)."""
        kwargs: dict[str, Any] = {
            "servers": self.servers,
            "name": self.name,
            "max_reconnect_attempts": -1,
            "reconnect_time_wait": 0.5,
            "connect_timeout": 5,
            "allow_reconnect": True,
        }
        if self.user is not None:
            kwargs["user"], kwargs["password"] = self.user, self.password or ""
        if self.token is not None:
            kwargs["token"] = self.token
        if self.nkey_seed is not None:
            kwargs["nkeys_seed"] = str(self.nkey_seed)
        if self.creds is not None:
            kwargs["user_credentials"] = str(self.creds)
        if self.tls_ca or self.tls_cert or any(u.startswith(("tls://", "wss://")) for u in self.servers):
            context = ssl.create_default_context(cafile=str(self.tls_ca) if self.tls_ca else None)
            if self.tls_cert and self.tls_key:
                context.load_cert_chain(str(self.tls_cert), str(self.tls_key))
            kwargs["tls"] = context
        return kwargs


_PATHS = {"nkey_seed", "creds", "tls_ca", "tls_cert", "tls_key"}


def _hide(url: str) -> str:
    """``url`` with its user-info (``user:password@`` or ``token@``) reduced to ``***@``."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"***@{host}"))
