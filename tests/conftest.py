"""Shared test settings. Timeouts are multiples of one unit, scaled by KISFEED_TEST_TIME_SCALE."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Iterator

import pytest

TIME_SCALE = float(os.environ.get("KISFEED_TEST_TIME_SCALE", "1"))


#: What the machine's environment could set for kisfeed: tests that read settings clear them.
KIS_SETTINGS = (
    "KIS_APP_KEY",
    "KIS_APP_SECRET",
    "KIS_WS_URL",
    "KIS_REST_URL",
    "KISFEED_CONFIG",
    "KISFEED_DATA",
)


def without_kis_settings(monkeypatch: pytest.MonkeyPatch, directory: os.PathLike[str]) -> None:
    """No KIS_*/KISFEED_* setting from the machine, and ``directory`` as the working directory."""
    for name in KIS_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(directory)


def seconds(units: float) -> float:
    """A test timeout: ``units`` × the environment's scale (slow machines set a scale > 1)."""
    return units * TIME_SCALE


async def wait_until(predicate: Callable[[], object], what: str, timeout: float = 10) -> None:
    """Poll ``predicate`` until it holds; fail the test naming ``what`` after ``timeout`` units."""

    async def poll() -> None:
        while not predicate():
            await asyncio.sleep(0.02)

    try:
        await asyncio.wait_for(poll(), seconds(timeout))
    except TimeoutError:
        pytest.fail(f"timed out waiting for {what}")


@pytest.fixture(autouse=True)
def _kisfeed_logging_as_found() -> Iterator[None]:
    """A command run in-process (typer's CliRunner) configures the ``kisfeed`` logger for its
    stderr, as it should for a real process; undo that so a later test's caplog sees DEBUG."""
    logger = logging.getLogger("kisfeed")
    level, handlers = logger.level, list(logger.handlers)
    yield
    logger.setLevel(level)
    logger.handlers[:] = handlers
