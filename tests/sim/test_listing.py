"""KRX listing rules of the simulated universe: contract months, strike grid and ladders, and
the strike codes' listing numbers (sim.listing)."""

from __future__ import annotations

from datetime import date, datetime

from kisfeed.schema.records import KST
from kisfeed.sim.listing import (
    FUTURES_CYCLE,
    contract_months,
    expiry_date,
    listing_dates,
    strike_grid,
    strike_ladder,
)


def months(expiries: list[date]) -> list[str]:
    return [f"{e.year}{e.month:02d}" for e in expiries]


def test_futures_list_two_nearest_months_and_the_quarterly_cycle_up_to_three_years():
    # 2 nearest months outside the cycle, 1 March, 2 Junes, 1 September, 3 Decembers (Eugene SSF)
    now = datetime(2026, 12, 1, 9, 0, tzinfo=KST)
    assert months(contract_months(now, FUTURES_CYCLE)) == [
        "202612", "202701", "202702", "202703", "202706", "202709", "202712", "202806", "202812",
    ]  # fmt: skip
    # What the real masters held: July 2026 (LS t8401) and September 2026 (hummingbot fixture).
    july = months(contract_months(datetime(2026, 7, 1, 9, 0, tzinfo=KST)))
    assert july[:2] == ["202607", "202608"] and "202703" in july and len(july) == 9
    september = months(contract_months(datetime(2026, 9, 16, 9, 0, tzinfo=KST)))
    assert september[:2] == ["202610", "202611"] and "202703" in september
    assert "202609" not in september  # expired on 2026-09-10


def test_the_expiring_month_is_listed_until_its_15_20_close_and_a_new_month_the_day_after():
    before = contract_months(datetime(2026, 12, 10, 15, 0, tzinfo=KST))
    after = contract_months(datetime(2026, 12, 10, 15, 30, tzinfo=KST))
    assert before[0] == date(2026, 12, 10) and after[0] == date(2027, 1, 14)
    assert months(after)[-1] == "202912" and len(after) == 9  # a third December comes in
    now = datetime(2026, 12, 1, 9, 0, tzinfo=KST)
    listed = listing_dates(now, contract_months(now), FUTURES_CYCLE)
    assert listed[date(2027, 2, 11)] == date(2026, 11, 13)  # the day after the November expiry
    assert listed[date(2028, 12, 14)] == date(2025, 12, 12)  # a third December, 3 years ahead
    assert all(day <= now.date() for day in listed.values())


def test_strikes_sit_on_a_grid_that_widens_with_the_strike_as_real_chains_do():
    # Real strikes: 48,000 49,000 50,000 | 54,000 68,000 92,000 96,000 98,000 | 160,000
    assert [strike_grid(level) for level in (48_000, 49_999, 50_000, 98_000, 160_000)] == [
        1_000, 1_000, 2_000, 2_000, 5_000,
    ]  # fmt: skip
    assert strike_grid(5_000) < strike_grid(300_000) < strike_grid(2_000_000)


def test_a_ladder_lists_nine_strikes_at_listing_numbered_upwards_then_those_added_later():
    today = date(2026, 12, 1)
    fresh = strike_ladder("005930", 71_500, 0.28, today, today)  # listed this month: no history
    assert sorted(fresh) == list(range(64_000, 80_001, 2_000))  # ATM 72,000 and 4 on each side
    assert [fresh[k] for k in sorted(fresh)] == list(range(1, 10))
    old = strike_ladder("005930", 71_500, 0.28, date(2024, 12, 13), today)
    assert len(old) > 9 and set(fresh) <= set(old)  # today's nine, and what the walk left behind
    assert sorted(old.values()) == list(range(1, len(old) + 1))
    # numbers follow the listing, not the strike: some higher strike has a lower number
    ordered = [old[k] for k in sorted(old)]
    assert ordered != sorted(ordered)
    assert strike_ladder("005930", 71_500, 0.28, date(2024, 12, 13), today) == old  # deterministic


def test_expiry_dates_are_second_thursdays():
    assert expiry_date(2026, 12) == date(2026, 12, 10) and expiry_date(2027, 1) == date(2027, 1, 14)
