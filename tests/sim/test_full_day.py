"""One full simulated KRX day of the whole universe, every record checked (issue 14): on its
tick grid (tests/sim/invariants.py), inside its phase's hours and its daily limits, with an OI change within its size, a
theoretical price by KRX's formula, and every relation of reference 4.4; and the day's
liquidity shaped like the official examples' (a few busy series, most quiet)."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from datetime import date, datetime, time

import pytest

from kisfeed import FuturesTrade, OptionTrade, Sign, decode
from kisfeed.protocol import encode_frame
from kisfeed.schema.records import KST
from kisfeed.sim import Market, build_universe
from kisfeed.sim.calendar import KrxCalendar
from kisfeed.sim.fair import DIVIDENDS, carry
from kisfeed.sim.profiles import Profile
from kisfeed.sim.ticks import STOCK_GRID

from .invariants import check_record, check_sequence, close, emptied

CALENDAR = KrxCalendar()
RATE = 0.03  # SimConfig.interest_rate's default, which Market uses too


def one_day(day: date, profile: Profile):
    """Every event of ``day`` with every code watched, and the previous-day values."""
    start = datetime.combine(day, time(8, 0), KST)
    universe = build_universe(start)
    market = Market(universe, seed=1, start=start, profile=profile)
    market.watched.update(i.code for i in universe)
    state = {c.code: (c.prev_close, c.prev_volume, c.prev_oi) for c in market.contracts}
    events = []
    while (event := market.next_event()) is not None and datetime.fromtimestamp(
        event.time, KST
    ).date() == day:
        events.append(event)
    return universe, state, events


@pytest.mark.parametrize(
    ("day", "profile"),
    [
        (date(2026, 12, 10), "observed"),  # the December contracts' last day: their 15:10-15:20 auction
        (date(2026, 11, 19), "filled"),  # 수능: the session an hour late (09:45-16:45)
    ],
)
def test_every_record_of_a_full_day_obeys_the_krx_rules_and_the_reference(day: date, profile: Profile):
    universe, state, events = one_day(day, profile)
    session = CALENDAR.session(day)
    opens, stocks_open = session.open.timestamp(), session.stock_open.timestamp()
    empty = emptied(profile)
    last: dict[str, FuturesTrade | OptionTrade] = {}
    uncrossed: Counter[tuple[str, float]] = Counter()
    trades: Counter[str] = Counter()
    phases: Counter[str] = Counter()
    for event in events:
        inst = event.instrument
        expiring = CALENDAR.last_trading_day(inst.expiry.year, inst.expiry.month) == day
        stop = (session.last_day_auction if expiring else session.closing_auction).timestamp()
        uncross = (session.last_day_close if expiring else session.close).timestamp()
        auction = event.time in (opens, uncross)
        if auction:  # one uncross print per contract and auction, at the instant of the uncross
            uncrossed[inst.code, event.time] += 1
            assert len(event.records) == 1 and uncrossed[inst.code, event.time] == 1
            phases["uncross"] += 1
        else:  # continuous trading only: nothing during the auctions (08:30-08:45, 15:35-15:45)
            assert opens <= event.time < stop, (inst.code, datetime.fromtimestamp(event.time, KST))
            phases["continuous"] += 1
        for r in decode(encode_frame(inst.tr_id, [[t] for t in event.records])):
            option = isinstance(r, OptionTrade)
            prev_close = state[r.code][0]
            check_record(r, inst, *state[r.code], empty[r.tr_id])
            if r.code in last:
                check_sequence(last[r.code], r, auction=auction)
            else:
                assert r.open == r.price and r.buy_trades + r.sell_trades == (0 if auction else 1)
            last[r.code] = r
            trades[r.code] += 1
            assert abs(r.open_interest_tick_change) <= r.last_volume  # each contract opens or closes one
            if not option:
                # staged limits: only the first stage (±10 %) before the stocks open at 09:00
                band = 0.10 if event.time < stocks_open else 0.30
                assert abs(r.change) <= band * prev_close + STOCK_GRID.tick_of(prev_close)
                if r.change_sign in (Sign.LIMIT_UP, Sign.LIMIT_DOWN):
                    assert abs(r.change) >= 0.10 * prev_close - STOCK_GRID.tick_of(prev_close)
                # KRX's theoretical price: simple-rate carry less the dividends before expiry
                spot = r.price - r.market_basis
                terms = carry(day, inst.expiry, RATE, DIVIDENDS.get(inst.underlying.code, ()))
                assert close(r.theoretical_price, terms.futures(spot))
    assert phases["uncross"] > 0 and phases["continuous"] > 1000
    # Liquidity: a few busy series, most quiet, many silent all day (the examples: a busy Samsung
    # series had 29 trades by 09:19, the Samsung futures 141 by 09:16).
    options = [trades[i.code] for i in universe if i.strike is not None]
    futures = defaultdict(int)
    for i in universe:
        if i.strike is None:
            futures[i.month] += trades[i.code]
    assert statistics.median(options) <= 5 and max(options) > 100
    assert sum(n == 0 for n in options) > len(options) / 3
    # next months trade 0.04 of the front month's rate times a lognormal factor per series (25x
    # expected); 15x leaves room for the noise of ten such series
    assert futures[1] > 15 * futures[2] > 0
