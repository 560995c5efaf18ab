"""Configuration for the ``kisfeed`` command: command-line options > environment > TOML file.

The file is the first that exists of ``--config PATH``, ``$KISFEED_CONFIG``, ``./kisfeed.toml``
and ``~/.config/kisfeed/config.toml``::

    app_key = "PS..."            # or KIS_APP_KEY; several keys: [[credentials]] tables
    app_secret = "..."           # or KIS_APP_SECRET; keep the file mode 0600
    ws_url = "ws://ops.koreainvestment.com:21000"      # or KIS_WS_URL
    rest_url = "https://openapi.koreainvestment.com:9443"  # or KIS_REST_URL
    data = "./kisfeed-data"      # or KISFEED_DATA

    [feed]                       # any FeedSettings field
    overflow = "block"
    watchdog = 60

    [[credentials]]              # extra app keys: one session (41 registrations) each
    app_key = "PS..."
    app_secret = "..."
"""

from __future__ import annotations

import os
import stat
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .. import paths
from ..client.settings import FeedSettings
from ..exceptions import ConfigError

__all__ = ["Config", "load_config", "config_path"]

DEFAULT_DATA = "./kisfeed-data"
# What a [feed] setting holds, by the type of its default: TOML has no callables (backoff).
_FEED_TYPES: dict[str, type] = {
    f.name: type(f.default) for f in fields(FeedSettings) if isinstance(f.default, (bool, int, float, str))
}
_FEED_FIELDS = set(_FEED_TYPES)
_TYPE_NAMES = {bool: "true or false", int: "a whole number", float: "a number", str: "a string"}


@dataclass(frozen=True)
class Config:
    credentials: list[tuple[str, str]] = field(default_factory=list, repr=False)
    ws_url: str | None = None
    rest_url: str | None = None
    data: Path = Path(DEFAULT_DATA)
    feed: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None  # the file read, if any
    warnings: list[str] = field(default_factory=list)

    @property
    def has_credentials(self) -> bool:
        return bool(self.credentials)

    def connect_kwargs(self) -> dict[str, Any]:
        """Arguments for ``kisfeed.connect`` (credentials, endpoints, feed settings)."""
        return {
            "credentials": self.credentials,
            "ws_url": self.ws_url,
            "rest_url": self.rest_url,
            **self.feed,
        }


def _is_file(path: Path) -> bool:
    """Whether ``path`` is a file; an error other than "not there" (EACCES on an unreadable
    home, ENAMETOOLONG, ...) is raised as OSError for the caller to report."""
    try:
        return stat.S_ISREG(path.stat().st_mode)
    except (FileNotFoundError, NotADirectoryError):
        return False


def config_path(explicit: str | Path | None = None, warnings: list[str] | None = None) -> Path | None:
    """The config file to read: ``explicit``, else ``$KISFEED_CONFIG``, else the first default
    location that is a file. A default location that cannot be checked (an unreadable home) is
    skipped with a note appended to ``warnings``; a named file that cannot be read is an error."""
    if explicit:
        path = Path(explicit)
        try:
            found = _is_file(path)
        except OSError as exc:
            raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from None
        if not found:
            raise ConfigError(f"config file {path} not found")
        return path
    if env := os.environ.get("KISFEED_CONFIG"):
        return config_path(env)
    for candidate in (Path("kisfeed.toml"), paths.config_home() / "config.toml"):
        try:
            if _is_file(candidate):
                return candidate
        except OSError as exc:
            if warnings is not None:
                warnings.append(
                    f"cannot check {candidate} ({exc.strerror or exc}); no config read from there"
                )
    return None


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None


def _feed_value_error(name: str, value: object) -> str | None:
    """Why ``value`` cannot be the [feed] setting ``name`` (its type), or None."""
    expected = _FEED_TYPES[name]
    if isinstance(value, bool) != (expected is bool):
        ok = False
    elif expected is float:
        ok = isinstance(value, (int, float))
    else:
        ok = isinstance(value, expected)
    return None if ok else f"{name} must be {_TYPE_NAMES[expected]}, not {value!r}"


def _holds_secret(raw: dict[str, Any]) -> bool:
    extra = raw.get("credentials")
    tables = extra if isinstance(extra, list) else []
    return bool(raw.get("app_secret")) or any(isinstance(t, dict) and t.get("app_secret") for t in tables)


def _pair(table: Any, where: str) -> tuple[str, str]:
    if (
        not isinstance(table, dict)
        or not isinstance(table.get("app_key"), str)
        or not isinstance(table.get("app_secret"), str)
    ):
        raise ConfigError(f"{where} needs app_key and app_secret strings")
    return table["app_key"], table["app_secret"]


def load_config(
    path: str | Path | None = None,
    *,
    app_key: str | None = None,
    app_secret: str | None = None,
    ws_url: str | None = None,
    rest_url: str | None = None,
    data: str | Path | None = None,
) -> Config:
    """Options given here win over the environment, which wins over the file."""
    warnings: list[str] = []
    file = config_path(path, warnings)
    raw = _read(file) if file else {}
    if file and _holds_secret(raw) and stat.S_IMODE(file.stat().st_mode) & 0o077:
        warnings.append(f"{file} holds an app secret but others can read it: chmod 600 {file}")
    unknown = set(raw) - {"app_key", "app_secret", "ws_url", "rest_url", "data", "feed", "credentials"}
    if unknown:
        raise ConfigError(
            f"{file}: unknown setting{'s' if len(unknown) > 1 else ''} {', '.join(sorted(unknown))}"
        )

    for name in ("app_key", "app_secret"):
        if name in raw and not isinstance(raw[name], str):
            raise ConfigError(f"{file}: {name} must be a string")
    # A key and its secret come as a pair from one place, never a key from here and a secret
    # from there: options, else the environment, else the file.
    credentials: list[tuple[str, str]] = []
    for where, key, secret in (
        ("--app-key/--app-secret", app_key, app_secret),
        ("KIS_APP_KEY/KIS_APP_SECRET", os.environ.get("KIS_APP_KEY"), os.environ.get("KIS_APP_SECRET")),
        (f"{file} app_key/app_secret", raw.get("app_key"), raw.get("app_secret")),
    ):
        if key or secret:
            if not (isinstance(key, str) and key and isinstance(secret, str) and secret):
                raise ConfigError(f"{where}: an app key needs its app secret, and the reverse")
            credentials.append((key, secret))
            break
    extra = raw.get("credentials", [])
    if not isinstance(extra, list):
        raise ConfigError(f"{file}: credentials must be a list of [[credentials]] tables")
    credentials += [_pair(t, f"{file} [[credentials]] #{n + 1}") for n, t in enumerate(extra)]

    feed = raw.get("feed", {})
    if not isinstance(feed, dict) or set(feed) - _FEED_FIELDS:
        bad = sorted(set(feed) - _FEED_FIELDS) if isinstance(feed, dict) else ["(not a table)"]
        raise ConfigError(
            f"{file}: unknown [feed] setting{'s' if len(bad) > 1 else ''} {', '.join(bad)}; "
            f"known: {', '.join(sorted(_FEED_FIELDS))}"
        )
    for name, value in feed.items():
        if why := _feed_value_error(name, value):
            raise ConfigError(f"{file}: [feed] {why}")
    try:
        FeedSettings(**feed)
    except ConfigError as exc:  # FeedSettings' own check: a value out of range, an unknown policy
        raise ConfigError(f"{file}: [feed] {exc}") from None

    def pick(given: str | None, env: str, name: str) -> str | None:
        value = given or os.environ.get(env) or raw.get(name)
        if value is not None and not isinstance(value, str):
            raise ConfigError(f"{file}: {name} must be a string")
        return value

    return Config(
        credentials=credentials,
        ws_url=pick(ws_url, "KIS_WS_URL", "ws_url"),
        rest_url=pick(rest_url, "KIS_REST_URL", "rest_url"),
        data=Path(pick(str(data) if data else None, "KISFEED_DATA", "data") or DEFAULT_DATA),
        feed=dict(feed),
        path=file,
        warnings=warnings,
    )
