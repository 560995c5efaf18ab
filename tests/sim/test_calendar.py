"""The KRX calendar: trading days, holidays, each day's timetable and the special days."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest

from kisfeed.schema.records import KST
from kisfeed.sim.calendar import DEFAULT_HOLIDAYS, KrxCalendar, Phase

CAL = KrxCalendar()


def at(day: date, hour: int, minute: int) -> datetime:
    return datetime.combine(day, time(hour, minute), KST)


def test_weekends_and_krx_holidays_have_no_session():
    assert not CAL.is_trading_day(date(2026, 11, 21))  # a Saturday
    for day in (date(2026, 2, 17), date(2026, 6, 3), date(2026, 12, 31), date(2027, 9, 15)):
        assert day in DEFAULT_HOLIDAYS and not CAL.is_trading_day(day)
        with pytest.raises(ValueError, match="not a KRX trading day"):
            CAL.session(day)
    assert CAL.next_trading_day(date(2026, 9, 24)) == date(2026, 9, 28)  # 추석 Thu-Fri, then the weekend
    assert CAL.previous_trading_day(date(2026, 9, 27)) == date(2026, 9, 23)
    assert CAL.next_trading_day(date(2026, 12, 31)) == date(2027, 1, 4)  # year end, New Year, weekend
    assert KrxCalendar(holidays=()).is_trading_day(date(2026, 12, 31))  # the list is a setting


def test_a_regular_session_08_45_to_15_45_with_its_auctions():
    s = CAL.session(date(2026, 11, 20))
    times = [s.auction_start, s.open, s.stock_open, s.stock_close, s.closing_auction, s.close]
    assert [t.time() for t in times] == [
        time(8, 30),
        time(8, 45),
        time(9),
        time(15, 30),
        time(15, 35),
        time(15, 45),
    ]
    assert (s.last_day_auction.time(), s.last_day_close.time()) == (time(15, 10), time(15, 20))
    assert s.phase(at(s.day, 8, 40)) is Phase.OPENING_AUCTION
    assert s.phase(at(s.day, 8, 45)) is Phase.CONTINUOUS
    assert s.phase(at(s.day, 15, 40)) is Phase.CLOSING_AUCTION
    assert s.phase(at(s.day, 15, 15), last_day=True) is Phase.CLOSING_AUCTION
    assert s.phase(at(s.day, 15, 45)) is Phase.CLOSED
    assert s.describe() == "08:45-15:45 KST (auctions 08:30-08:45 and 15:35-15:45)"
    assert KrxCalendar(last_day_auction=timedelta(0)).session(s.day).last_day_auction == s.last_day_close


def test_the_first_trading_day_of_the_year_opens_an_hour_late():
    s = CAL.session(date(2026, 1, 2))
    assert (s.auction_start.time(), s.open.time(), s.stock_open.time()) == (
        time(9, 30),
        time(9, 45),
        time(10),
    )
    assert (s.stock_close.time(), s.close.time()) == (time(15, 30), time(15, 45))  # the close is unchanged
    assert "first trading day" in s.note
    assert CAL.session(date(2027, 1, 4)).open.time() == time(9, 45)  # 2027-01-01 is a holiday (Friday)
    assert CAL.session(date(2027, 1, 5)).open.time() == time(8, 45)


def test_the_exam_day_shifts_the_whole_session_an_hour():
    s = CAL.session(date(2026, 11, 19))
    assert (s.open.time(), s.stock_open.time(), s.stock_close.time()) == (time(9, 45), time(10), time(16, 30))
    assert (s.closing_auction.time(), s.close.time(), s.last_day_close.time()) == (
        time(16, 35),
        time(16, 45),
        time(16, 20),
    )
    assert CAL.session(date(2027, 11, 18)).open.time() == time(9, 45)


def test_the_last_trading_day_moves_before_a_holiday():
    assert CAL.last_trading_day(2026, 12) == date(2026, 12, 10)
    assert CAL.last_trading_day(2027, 5) == date(2027, 5, 12)  # 2nd Thursday is 부처님오신날


def test_the_session_under_way_or_the_next_and_the_doctor_line():
    assert CAL.session_from(at(date(2026, 11, 20), 15, 44)).day == date(2026, 11, 20)
    assert CAL.session_from(at(date(2026, 11, 20), 15, 45)).day == date(2026, 11, 23)
    assert CAL.describe(at(date(2026, 9, 24), 10, 0)).startswith("closed: KRX holiday")
    assert CAL.describe(at(date(2026, 11, 21), 10, 0)).startswith("closed (weekend")
    assert CAL.describe(at(date(2026, 11, 20), 8, 50)).startswith("open: continuous trading (08:50 KST)")
    assert CAL.describe(at(date(2026, 11, 20), 8, 35)).startswith("open: opening auction")
    assert "next session Mon 2026-11-23" in CAL.describe(at(date(2026, 11, 20), 16, 0))
