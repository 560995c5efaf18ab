"""The embedded simulator (watch, record, demo without credentials) says its time is simulated
and runs the busy start of the last KRX trading day rather than inventing trades at night."""

from __future__ import annotations

from datetime import datetime

from kisfeed.cli.codes import simulator_master
from kisfeed.cli.embedded import describe_embedded, embedded_config
from kisfeed.schema.records import KST
from kisfeed.sim import Simulator
from kisfeed.sim.calendar import KrxCalendar


def test_the_embedded_simulator_replays_the_last_trading_day_from_just_before_the_open() -> None:
    config = embedded_config()
    assert config.start is not None and not config.always_open and config.speed > 1
    calendar = KrxCalendar()
    day = config.start.date()
    assert calendar.is_trading_day(day) and day <= datetime.now(KST).date()
    assert 0 < (calendar.session(day).open - config.start).total_seconds() <= 60  # the 08:45 uncross
    line = describe_embedded(config)
    assert f"{config.start:%Y-%m-%d from %H:%M:%S} KST" in line and "not the current market" in line


def test_the_codes_it_checks_against_are_the_codes_it_serves() -> None:
    served = {i.code for i in Simulator(embedded_config()).instruments}
    listed = {e.code for e in simulator_master().entries if e.kind != "spread"}
    assert served == listed
