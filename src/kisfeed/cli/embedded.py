"""The simulator the commands fall back on without credentials (watch, demo, record)."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

__all__ = ["embedded_simulator"]


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
