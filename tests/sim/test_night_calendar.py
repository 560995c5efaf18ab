"""The KRX night session's timetable: hours, the evenings it runs, its trading day."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from kisfeed.schema.records import KST
from kisfeed.sim import SimConfig
from kisfeed.sim.calendar import KrxCalendar, Phase
from kisfeed.sim.night_calendar import NIGHT_CLOSURES, NightCalendar, parse_night_hours

NIGHTS = NightCalendar(KrxCalendar())


def at(day: date, hour: int, minute: int, second: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute, second), KST)


def test_a_night_17_50_to_06_00_next_morning_counting_for_the_next_day():
    s = NIGHTS.night_session(date(2026, 11, 24))  # a Tuesday
    assert (s.auction_start, s.open) == (at(date(2026, 11, 24), 17, 50), at(date(2026, 11, 24), 18, 0))
    assert (s.closing_auction, s.close) == (at(date(2026, 11, 25), 5, 50), at(date(2026, 11, 25), 6, 0))
    assert s.day == date(2026, 11, 25)  # the day it ends on (KRX: T+1)
    phases = {
        (17, 49, 59): Phase.CLOSED,
        (17, 50, 0): Phase.OPENING_AUCTION,
        (17, 59, 59): Phase.OPENING_AUCTION,
        (18, 0, 0): Phase.CONTINUOUS,  # the uncross instant starts continuous trading
        (23, 59, 59): Phase.CONTINUOUS,
    }
    for (h, m, sec), phase in phases.items():
        assert s.phase(at(s.starts, h, m, sec)) is phase
    after_midnight = {(0, 0, 0): Phase.CONTINUOUS, (5, 50, 0): Phase.CLOSING_AUCTION, (6, 0, 0): Phase.CLOSED}
    for (h, m, sec), phase in after_midnight.items():
        assert s.phase(at(s.day, h, m, sec)) is phase
    assert s.describe() == "night 18:00-06:00 KST (auctions 17:50-18:00 and 05:50-06:00), for 2026-11-25"


def test_friday_evening_runs_to_saturday_and_counts_for_monday():
    friday = date(2026, 11, 27)
    s = NIGHTS.night_session(friday)
    assert s.close == at(date(2026, 11, 28), 6, 0)  # Saturday 06:00 (KRX: Monday to Friday nights)
    assert s.day == date(2026, 11, 30)  # cleared with the next regular session, Monday's
    assert not NIGHTS.has_night(date(2026, 11, 28)) and not NIGHTS.has_night(date(2026, 11, 29))
    # Saturday 03:00 is inside Friday's night; Saturday 07:00 waits for Monday evening
    assert NIGHTS.night_from(at(date(2026, 11, 28), 3, 0)) == s
    assert NIGHTS.night_from(at(date(2026, 11, 28), 7, 0)).starts == date(2026, 11, 30)


def test_holidays_the_start_day_decides():
    # no night on a holiday evening; the eve of a holiday has one (2025-12-30 rule), counting
    # for the next trading day
    assert not NIGHTS.has_night(date(2026, 12, 25))
    eve = NIGHTS.night_session(date(2026, 12, 24))
    assert eve.day == date(2026, 12, 28)  # Christmas Friday, the weekend
    assert NIGHTS.night_session(date(2026, 12, 30)).day == date(2027, 1, 4)
    # the eves of long holidays KRX closes (a setting)
    for closed in (date(2026, 2, 13), date(2026, 9, 23)):
        assert closed in NIGHT_CLOSURES and KrxCalendar().is_trading_day(closed)
        assert not NIGHTS.has_night(closed)
        with pytest.raises(ValueError, match="no KRX night session"):
            NIGHTS.night_session(closed)
    assert NightCalendar(KrxCalendar(), closures=()).has_night(date(2026, 2, 13))


def test_the_exam_day_night_opens_at_19_00_and_ends_as_usual():
    s = NIGHTS.night_session(date(2026, 11, 19))
    assert (s.auction_start.time(), s.open.time(), s.close.time()) == (time(18, 50), time(19), time(6))
    assert "수능" in s.note
    assert s.phase(at(s.starts, 18, 30)) is Phase.CLOSED


def test_the_hours_are_a_setting_checked_when_set():
    custom = NightCalendar(KrxCalendar(), hours=("17:40", "18:00", "05:45", "06:00"))
    s = custom.night_session(date(2026, 11, 24))
    assert (s.auction_start.time(), s.closing_auction.time()) == (time(17, 40), time(5, 45))
    for bad in (("18:00", "17:50", "05:50", "06:00"), ("17:50", "18:00", "13:00", "14:00"), ("x",) * 4):
        with pytest.raises(ValueError, match="night hours"):
            parse_night_hours(bad)
        with pytest.raises(ValueError, match="night hours"):
            SimConfig(night_hours=bad)  # type: ignore[arg-type]  # the bad values are the test
    for name, value in (("night_volume_ratio", 0.0), ("night_expected_from", -1.0), ("night_code_form", "x")):
        with pytest.raises(ValueError, match=name):
            SimConfig(**{name: value})  # type: ignore[arg-type]  # the bad values are the test
