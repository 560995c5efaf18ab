"""The simulator the commands fall back on without credentials (watch, demo, record), and the
``kisfeed.connect`` arguments for the server a command talks to."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from .config import Config

__all__ = ["embedded_simulator", "connect_arguments"]


@contextlib.asynccontextmanager
async def embedded_simulator() -> AsyncIterator[dict[str, Any]]:
    """An in-process simulator (always open, so the demo works at night) and how to reach it:
    the ``kisfeed.connect`` arguments for it (credentials, URLs, a throw-away key cache)."""
    from ..sim import DEMO_APP_KEY, DEMO_APP_SECRET, SimConfig, Simulator

    async with Simulator(SimConfig(always_open=True, port=0, rest_port=0, ground_truth=False)) as sim:
        with tempfile.TemporaryDirectory() as cache:  # keys for a throw-away server: do not cache them
            yield {
                "credentials": [(DEMO_APP_KEY, DEMO_APP_SECRET)],
                "ws_url": sim.ws_url,
                "rest_url": sim.rest_url,
                "cache_dir": Path(cache),
            }


@contextlib.asynccontextmanager
async def connect_arguments(config: Config, simulated: bool) -> AsyncIterator[dict[str, Any]]:
    """The ``kisfeed.connect`` arguments of ``config``; if ``simulated``, those of the embedded
    simulator (run for as long as the context) with the config's ``[feed]`` settings."""
    if not simulated:
        yield config.connect_kwargs()
        return
    async with embedded_simulator() as endpoint:
        yield {**endpoint, **config.feed}
