"""Expected prices of the simulated auctions (sim/publish.py; reference 4.5 and 6, issue 15):
published from 08:40 to the 08:45:00 uncross and through the closing auctions, the uncross
printing at the last expected price, nothing for a contract with no auction interest."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time

from kisfeed.schema.records import KST
from kisfeed.sim import Market, SimConfig, build_universe
from kisfeed.sim.calendar import KrxCalendar

from .helpers import chosen, watched_day
from .invariants import check_expected

CALENDAR = KrxCalendar()
DAY = date(2026, 12, 10)  # the December contracts' last day: their auction is 15:10-15:20


def at(day: date, hh: int, mm: int) -> time:
    return datetime.combine(day, time(hh, mm), KST).time()


def test_expected_prices_run_from_0840_to_the_uncross_which_prints_at_the_last_one():
    codes = chosen(DAY)
    market, records = watched_day(DAY, codes)
    session = CALENDAR.session(DAY)
    expected: dict[str, list] = defaultdict(list)
    uncrossed: dict[str, list] = defaultdict(list)
    auctions = {session.open.time(), session.close.time(), session.last_day_close.time()}
    last_trade: dict[str, object] = {}
    expiring = {i.code for i in market.instruments if i.expiry == DAY}
    for _, r in records:
        category = r.layout.category
        if category == "expected":
            check_expected(r)
            morning = r.time < time(12)
            assert r.session_code == ("311" if morning else "121")
            if morning:  # published from 08:40, never at or after the 08:45:00 uncross
                assert time(8, 40) <= r.time < time(8, 45), r
            else:  # the closing auctions: 15:35-15:45, or the expiring contracts' 15:10-15:20
                last_day = r.code in expiring
                assert (
                    (time(15, 10) if last_day else time(15, 35))
                    <= r.time
                    < (time(15, 20) if last_day else time(15, 45))
                ), r
            expected[r.code].append(r)
        elif category == "trade":
            if r.time in auctions and r.buy_trades + r.sell_trades == (
                last_trade[r.code].buy_trades + last_trade[r.code].sell_trades if r.code in last_trade else 0
            ):
                # an uncross print: at the last expected price, its quantity the last expected one
                assert expected[r.code], r.code
                last = expected[r.code][-1]
                assert r.price == last.price
                if last.quantity is not None:
                    assert r.last_volume == last.quantity
                uncrossed[r.code].append(r.time)
                expected[r.code] = []
            last_trade[r.code] = r
    assert {time(8, 45), time(15, 20), time(15, 45)} <= {t for times in uncrossed.values() for t in times}
    # every auction's expected prices ended in its uncross; quiet series often had no auction at all
    assert not any(expected.values())
    quiet = codes[-4:]
    assert sum(code in uncrossed for code in quiet) < len(quiet)
    rates = market.rates()
    busy = max(codes, key=lambda code: rates[code])
    assert len(uncrossed[busy]) >= 2


def test_no_expected_price_without_auction_interest_and_a_setting_for_its_window():
    start = datetime(2026, 11, 20, 8, 0, tzinfo=KST)
    universe = build_universe(start)
    market = Market(
        universe, seed=5, start=start, activity=0.001, expected_from=60.0, expected_codes=("A", "B")
    )
    for i in universe:
        for tr_id in i.tr_ids:
            market.watch(tr_id, i.code)
    opens = datetime(2026, 11, 20, 8, 45, tzinfo=KST).timestamp()
    published, printed = set(), set()
    while (event := market.next_event()).time <= opens:
        if event.tr_id.endswith("ANC0"):
            assert opens - 60 < event.time < opens and event.records[0].split("^")[6] == "A"
            published.add(event.code)
        elif event.tr_id.endswith("CNT0"):
            printed.add(event.code)
    assert published == printed and 0 < len(printed) < len(universe) / 2


def test_the_settings_are_checked():
    for bad in ({"book_interval": 0}, {"expected_from": -1}, {"expected_codes": ("311",)}):
        try:
            SimConfig(**bad)
        except ValueError:
            continue
        raise AssertionError(bad)
