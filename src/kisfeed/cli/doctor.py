"""``kisfeed doctor``: one line per check, each with a clear verdict, and never a secret."""

from __future__ import annotations

import asyncio
import email.utils
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
import websockets

from ..auth import REAL_REST_URL, REAL_WS_URL, ApprovalKeys, Credentials
from ..exceptions import KisfeedError
from ..schema import KST
from ..sim.calendar import KrxCalendar
from .common import ConfigOption, config_from, console, errors, plural
from .config import Config

__all__ = ["doctor", "Check", "run_checks"]


@dataclass(frozen=True)
class Check:
    name: str
    verdict: str  # ok, warn, fail, skip
    detail: str


def market_state(now: datetime) -> str:
    """Open or closed for stock F/O at ``now``, by the KRX calendar: 08:45-15:45 with the
    auctions, holidays, the late first day of the year and the exam day (reference 6)."""
    return KrxCalendar().describe(now)


async def _approval(config: Config, rest_url: str, cache: Path | None) -> Check:
    if not config.credentials:
        return Check("approval key", "skip", "no credentials to try")
    try:  # a throw-away cache: the check must not replace the key a running feed relies on
        with tempfile.TemporaryDirectory() as scratch:
            await ApprovalKeys(rest_url, cache_dir=cache or Path(scratch)).get(
                Credentials(*config.credentials[0]), fresh=True
            )
    except KisfeedError as exc:
        return Check("approval key", "fail", str(exc))
    return Check("approval key", "ok", f"issued by {rest_url}/oauth2/Approval")


async def _websocket(ws_url: str) -> Check:
    try:
        async with websockets.connect(ws_url, ping_interval=None, open_timeout=5, close_timeout=1):
            pass
    except (TimeoutError, OSError, websockets.WebSocketException) as exc:
        return Check("websocket", "fail", f"{ws_url} unreachable: {type(exc).__name__}: {exc}")
    return Check("websocket", "ok", f"{ws_url} accepts connections")


async def _clock(rest_url: str) -> Check:
    try:
        async with httpx.AsyncClient(timeout=5) as http:
            response = await http.head(rest_url)
        server = email.utils.parsedate_to_datetime(response.headers["date"]).timestamp()
    except (httpx.HTTPError, KeyError, TypeError, ValueError):
        now = datetime.now(KST)
        return Check(
            "clock", "warn", f"local clock says {now:%Y-%m-%d %H:%M:%S} KST; no server Date to compare"
        )
    offset = time.time() - server
    verdict = "ok" if abs(offset) < 2 else "warn"
    return Check("clock", verdict, f"{offset:+.1f} s against {rest_url} (KST {datetime.now(KST):%H:%M:%S})")


async def run_checks(config: Config, *, cache: Path | None = None) -> list[Check]:
    rest_url, ws_url = config.rest_url or REAL_REST_URL, config.ws_url or REAL_WS_URL
    checks = [
        Check("configuration", "ok", f"read {config.path}" if config.path else "no config file; defaults")
    ]
    checks += [Check("configuration", "warn", w) for w in config.warnings]
    if config.credentials:
        checks.append(
            Check(
                "credentials",
                "ok",
                f"{plural(len(config.credentials), 'app key')} configured (values hidden)",
            )
        )
    else:
        checks.append(
            Check(
                "credentials",
                "warn",
                "none: set KIS_APP_KEY and KIS_APP_SECRET (without them kisfeed uses its simulator)",
            )
        )
    checks.append(await _approval(config, rest_url, cache))
    checks.append(await _websocket(ws_url))
    checks.append(await _clock(rest_url))
    checks.append(Check("market", "ok", market_state(datetime.now(KST))))
    return checks


_MARKS = {"ok": "[green]ok  [/]", "warn": "[yellow]warn[/]", "fail": "[red]FAIL[/]", "skip": "[dim]skip[/]"}


def doctor(config_file: ConfigOption = None) -> None:
    """Check configuration, credentials (never their values), approval key issuance, WebSocket
    reachability, the clock against KST and whether the market is open. Exit 1 if a check fails.

    Example: kisfeed doctor
    """
    import typer

    config = config_from(config_file)
    with errors():
        checks = asyncio.run(run_checks(config))
    for check in checks:
        console.print(f"{_MARKS[check.verdict]}  {check.name:<14} {check.detail}")
    if any(c.verdict == "fail" for c in checks):
        raise typer.Exit(1)
