"""Shared test settings. Timeouts are multiples of one unit, scaled by KISFEED_TEST_TIME_SCALE."""

from __future__ import annotations

import os

TIME_SCALE = float(os.environ.get("KISFEED_TEST_TIME_SCALE", "1"))


def seconds(units: float) -> float:
    """A test timeout: ``units`` × the environment's scale (slow machines set a scale > 1)."""
    return units * TIME_SCALE
