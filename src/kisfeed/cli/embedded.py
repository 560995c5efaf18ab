"""The simulator the commands fall back on without credentials (watch, demo, record), and the
``kisfeed.connect`` arguments for the server a command talks to.

The embedded simulator does not pretend it is now: it runs the KRX session of the last trading
day (today's on a trading day) from ten seconds before its 08:45 opening uncross, 20 times
faster than real time, so that a short run shows the busiest part of a day (most stock option
series trade a few times a day; reference 6) and the commands say which day and hour it is.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..schema.records import KST
from .config import Config

if TYPE_CHECKING:
    from ..sim import SimConfig

__all__ = ["embedded_simulator", "embedded_config", "describe_embedded", "connect_arguments"]

#: Simulated seconds per wall second of the embedded simulator.
EMBEDDED_SPEED = 20.0
#: How long before the opening uncross (08:45) the embedded simulator starts.
_LEAD = timedelta(seconds=10)


def embedded_config(night: bool = False) -> SimConfig:
    """The embedded simulator's settings: the last trading day's session, just before its
    opening uncross, at ``EMBEDDED_SPEED``; free ports; no ground truth kept. ``night``: the last
    night session that started on or before today, just before its 18:00 uncross."""
    from ..sim import SimConfig
    from ..sim.calendar import KrxCalendar
    from ..sim.night_calendar import NightCalendar

    calendar = KrxCalendar()
    day = calendar.previous_trading_day(datetime.now(KST).date())
    if night:
        nights = NightCalendar(calendar)
        while not nights.has_night(day):  # the eve of a long holiday has none
            day = calendar.previous_trading_day(day - timedelta(days=1))
        start = nights.night_session(day).open - _LEAD
    else:
        start = calendar.session(day).open - _LEAD
    return SimConfig(start=start, speed=EMBEDDED_SPEED, port=0, rest_port=0, ground_truth=False)


def describe_embedded(config: SimConfig) -> str:
    """One line saying that the embedded simulator's time is simulated, and which it is."""
    start = config.start or datetime.now(KST)
    session = "night session starting" if start.hour >= 12 else "session of"
    return (
        f"simulated market: the KRX {session} {start:%Y-%m-%d} from {start:%H:%M:%S} KST, "
        f"{config.speed:g}x real time (not the current market)"
    )


@contextlib.asynccontextmanager
async def embedded_simulator(night: bool = False) -> AsyncIterator[dict[str, Any]]:
    """An in-process simulator (``embedded_config``) and how to reach it: the
    ``kisfeed.connect`` arguments for it (credentials, URLs, a throw-away key cache)."""
    from ..sim import DEMO_APP_KEY, DEMO_APP_SECRET, Simulator

    async with Simulator(embedded_config(night)) as sim:
        with tempfile.TemporaryDirectory() as cache:  # keys for a throw-away server: do not cache them
            yield {
                "credentials": [(DEMO_APP_KEY, DEMO_APP_SECRET)],
                "ws_url": sim.ws_url,
                "rest_url": sim.rest_url,
                "cache_dir": Path(cache),
            }


@contextlib.asynccontextmanager
async def connect_arguments(
    config: Config, simulated: bool, night: bool = False
) -> AsyncIterator[dict[str, Any]]:
    """The ``kisfeed.connect`` arguments of ``config``; if ``simulated``, those of the embedded
    simulator (run for as long as the context; its night session if ``night``) with the
    config's ``[feed]`` settings."""
    if not simulated:
        yield config.connect_kwargs()
        return
    async with embedded_simulator(night) as endpoint:
        yield {**endpoint, **config.feed}
