"""The KOSPI200 products of the simulated universe: months, strikes, codes, names, master file."""

from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import date, datetime

import pytest

from kisfeed.schema.master import INDEX_MASTER_NAME, parse_master
from kisfeed.schema.records import KST
from kisfeed.sim.calendar import KrxCalendar
from kisfeed.sim.index import (
    KOSPI200,
    IndexInstrument,
    index_master_entries,
    index_universe,
    strike_code,
    weekly_expiries,
    write_index_master,
)
from kisfeed.sim.instruments import build_universe, master_entries

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=KST)  # a Tuesday; December's 2nd Thursday is the 10th


@pytest.fixture(scope="module")
def universe() -> list[IndexInstrument]:
    return index_universe(NOW)


def test_futures_are_the_seven_quarterly_months_on_second_thursdays(universe: list[IndexInstrument]) -> None:
    futures = [i for i in universe if i.kind == "future"]
    assert [f.code for f in futures] == ["A01612", "A01703", "A01706", "A01709", "A01712", "A01806", "A01812"]
    assert [f.expiry for f in futures][:2] == [date(2026, 12, 10), date(2027, 3, 11)]
    assert all(f.expiry.weekday() == 3 and 8 <= f.expiry.day <= 14 for f in futures)
    assert futures[0].name == "F 202612"  # the measured 2026 form: no underlying name
    assert futures[0].tr_ids == ("H0IFCNT0", "H0IFASP0") and futures[0].tr_id == "H0IFCNT0"
    assert futures[0].multiplier == 250_000 and futures[0].market == "index"


def test_monthly_options_list_eleven_months_of_strikes_every_two_and_a_half_points(
    universe: list[IndexInstrument],
) -> None:
    monthly = [i for i in universe if i.kind != "future" and not i.weekly]
    months = sorted({i.expiry for i in monthly})
    assert len(months) == 11  # 4 non-quarterly + the futures' 7 (KRX: "11개 월물")
    assert months[:4] == [date(2026, 12, 10), date(2027, 1, 14), date(2027, 2, 11), date(2027, 3, 11)]
    per_series = Counter((i.expiry, i.kind) for i in monthly)
    assert set(per_series.values()) == {33}  # ATM ±40 points
    strikes = {i.strike for i in monthly}
    assert all(s is not None and s % 250 == 0 for s in strikes)
    assert min(strikes) == KOSPI200.price - 4_000 and max(strikes) == KOSPI200.price + 4_000
    assert monthly[0].tr_ids == ("H0IOCNT0", "H0IOASP0")


def test_option_codes_carry_the_strike_code_with_an_implied_half(universe: list[IndexInstrument]) -> None:
    by_code = {i.code: i for i in universe}
    assert strike_code(55_250) == "552" and strike_code(55_500) == "555" and strike_code(100_000) == "000"
    call = by_code["B01612552"]
    assert (call.kind, call.strike, call.strike_points, call.expiry) == (
        "call",
        55_250,
        552.5,
        date(2026, 12, 10),
    )
    assert call.name == "C 202612   552.5"
    put = by_code["C01703560"]
    assert (put.kind, put.strike_points) == ("put", 560.0)
    assert len(by_code) == len(universe)  # no two products share a code


def test_weeklies_are_thursday_and_monday_series_with_codes_apart_from_the_monthlies(
    universe: list[IndexInstrument],
) -> None:
    weekly = [i for i in universe if i.weekly]
    assert {(i.weekly, i.expiry) for i in weekly} == {
        ("thursday", date(2026, 12, 3)),
        ("monday", date(2026, 12, 7)),
    }
    assert Counter((i.weekly, i.kind) for i in weekly) == {
        ("thursday", "call"): 17, ("thursday", "put"): 17, ("monday", "call"): 17, ("monday", "put"): 17,
    }  # fmt: skip
    assert {i.code[:3] for i in weekly} == {"BAF", "CAF", "B09", "C09"}
    assert all(len(i.code) == 9 for i in universe if i.kind != "future")
    thursday = next(i for i in weekly if i.weekly == "thursday" and i.strike == 55_250 and i.kind == "call")
    assert thursday.code == "B096C1552" and thursday.name == "위클리 C 2612W1   552.5"
    assert thursday.tr_ids == ("H0IOCNT0", "H0IOASP0")


def test_no_thursday_weekly_expires_on_the_monthly_expiry() -> None:
    # Thursday 2026-12-03: the next Thursday weekly would be the 10th, the monthly's: not listed
    on_expiry_day = datetime(2026, 12, 3, 10, 0, tzinfo=KST)
    series = {(s, day) for s, day, _ in weekly_expiries(on_expiry_day)}
    assert ("thursday", date(2026, 12, 3)) in series
    assert ("thursday", date(2026, 12, 10)) not in series
    after = datetime(2026, 12, 3, 16, 0, tzinfo=KST)  # the 3rd's weekly has expired
    assert {s for s, _, _ in weekly_expiries(after)} == {"monday"}


def test_holidays_move_a_thursday_weekly_earlier_and_a_monday_weekly_later() -> None:
    calendar = KrxCalendar(holidays={date(2026, 12, 3), date(2026, 12, 7)})
    lasts = {s: last for s, _, last in weekly_expiries(NOW, calendar)}
    assert lasts == {"thursday": date(2026, 12, 2), "monday": date(2026, 12, 8)}


def test_the_index_master_round_trips_and_the_stock_master_leaves_the_index_out(
    universe: list[IndexInstrument], tmp_path
) -> None:
    stocks = build_universe(NOW)
    path = write_index_master(tmp_path / INDEX_MASTER_NAME, [*stocks, *universe])
    entries, bad = parse_master(path.read_bytes().decode("cp949"), "index")
    assert bad == []
    assert [dataclasses.replace(e, atm=e.atm.strip()) for e in index_master_entries(universe)] == entries
    assert [e.code for e in entries] == [i.code for i in universe]
    assert Counter(e.info_type for e in entries) == {
        "1": 7,
        "5": 363,
        "6": 363,
        "L": 17,
        "M": 17,
        "N": 17,
        "O": 17,
    }
    by_code = {e.code: e for e in entries}
    assert by_code["B01612552"].strike == 552.5 and by_code["A01612"].strike == 0.0
    assert (
        by_code["B01612560"].atm == "1"
        and by_code["B01612552"].atm == "2"
        and by_code["C01612552"].atm == "3"
    )
    # columns 8-9 as the measured 2026 masters have them; options' month class blank
    assert (by_code["A01612"].underlying_code, by_code["A01612"].underlying_name) == ("2001", "KOSPI200")
    assert (by_code["A01612"].month_class, by_code["B01612552"].month_class) == ("1", "")
    assert {(e.kind, e.market) for e in entries} == {("future", "index"), ("call", "index"), ("put", "index")}
    assert by_code["B01612552"].tr_ids == ("H0IOCNT0", "H0IOASP0")
    assert all(len(e.standard_code) == 12 and e.standard_code.startswith("KR4") for e in entries)
    assert not {e.code for e in master_entries([*stocks, *universe])} & set(by_code)
