"""The simulated KOSPI200 and its products in the market: the index follows its constituents, the
futures trade near their theoretical basis, every index record decodes with its prices on the
KOSPI200 tick grids, and the stock products are untouched."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import datetime

import numpy as np
import pytest

import kisfeed
from kisfeed.protocol import encode_frame
from kisfeed.schema.records import KST
from kisfeed.sim import Market, SimConfig, Simulator, build_universe
from kisfeed.sim.book import slot_of
from kisfeed.sim.index import KOSPI200, IndexInstrument, index_universe
from kisfeed.sim.kospi200 import WEIGHTS, level
from kisfeed.sim.ticks import INDEX_FUTURES_GRID, INDEX_OPTION_GRID

START = datetime(2026, 12, 1, 9, 0, tzinfo=KST)  # a Tuesday
INDEX_TRS = ("H0IFCNT0", "H0IFASP0", "H0IOCNT0", "H0IOASP0")


def hundredths(value: float) -> int:
    """A price written with 2 decimals, as the grids count it."""
    cents = round(value * 100)
    assert abs(cents - value * 100) < 1e-6, value
    return cents


class Day:
    """One simulated always-open day of the index products alone (their members' walks made by
    the market): the index and its members at each index update, and every record of a few
    watched products, decoded."""

    def __init__(self) -> None:
        universe = index_universe(START)
        self.market = m = Market(universe, seed=5, start=START, always_open=True)
        self.by_code = {i.code: i for i in universe}
        front = [i for i in universe if i.month == 1 and not i.weekly]
        strikes = (KOSPI200.price - 3_000, KOSPI200.price, KOSPI200.price + 1_000)
        watched = [i for i in front if i.strike is None or i.strike in strikes]
        watched += [i for i in universe if i.weekly and i.strike == KOSPI200.price]
        for i in watched:
            m.watch(i.tr_id, i.code)
        for i in watched[:2]:  # the futures' book and one option's (their books change often)
            m.watch(i.tr_ids[1], i.code)
        index = m.spots[KOSPI200.code]
        self.snapshots: list[list[float]] = []
        self.records: dict[str, list[tuple[float, object]]] = defaultdict(list)
        updated = None
        while m.now < START.timestamp() + 2 * 3600:
            event = m.next_event()
            assert event is not None
            if index.updated != updated:
                updated = index.updated
                assert index.members is not None
                assert index.price == level(index.members, index.log_price)
                self.snapshots.append(
                    [index.price, *(m.spots[c].price for c in WEIGHTS), math.exp(index.log_price)]
                )
            for text in event.records:
                (record,) = kisfeed.decode(encode_frame(event.tr_id, [text.split("^")]))
                self.records[event.tr_id].append((event.time, record))


@pytest.fixture(scope="module")
def day() -> Day:
    return Day()


def test_the_index_follows_its_constituents(day: Day) -> None:
    a = np.array(day.snapshots[::10], dtype=float)
    assert len(a) > 300
    returns = np.diff(np.log(a[:, :-1]), axis=0)
    y, members = returns[:, 0], returns[:, 1:]
    beta, *_ = np.linalg.lstsq(members, y, rcond=None)
    r2 = 1 - (y - members @ beta).var() / y.var()
    assert r2 > 0.85  # the rest is mostly the common factor the stocks load on too
    assert abs(beta[0] - WEIGHTS["005930"]) < 0.08 and abs(beta[1] - WEIGHTS["000660"]) < 0.08
    # with the rest as one more factor the weights come back, up to intraday drift
    rest = np.diff(np.log(a[:, -1]))
    beta, *_ = np.linalg.lstsq(np.column_stack([members, rest]), y, rcond=None)
    r2 = 1 - (y - np.column_stack([members, rest]) @ beta).var() / y.var()
    assert r2 > 0.995
    expected = [*WEIGHTS.values(), 1 - sum(WEIGHTS.values())]
    assert np.allclose(beta, expected, atol=0.015), (beta, expected)
    assert 0.003 < y.std() * math.sqrt(len(y)) < 0.04  # a day's move of about 1.4 % (22 % a year)


def test_futures_trade_on_the_005_grid_near_their_theoretical_basis(day: Day) -> None:
    trades = day.records["H0IFCNT0"]
    assert len(trades) > 1_000  # the front month trades 0.4 times a second
    for _, r in trades:
        inst = day.by_code[r.code]
        assert INDEX_FUTURES_GRID.on_grid(hundredths(r.price)), r.price
        for name in ("open", "high", "low", "ask1", "bid1", "near_month_price", "far_month_price"):
            assert INDEX_FUTURES_GRID.on_grid(hundredths(getattr(r, name))), name
        spot = r.price - r.market_basis
        assert abs(spot - (r.theoretical_price - r.theoretical_basis)) < 1e-6  # one spot behind both
        assert 500 < spot < 620
        assert abs(r.market_basis - r.theoretical_basis) <= 0.5  # within 10 ticks of the model
        assert -10 < r.theoretical_basis < 10
        assert math.isclose(r.disparity, r.price - r.theoretical_price, abs_tol=0.005)
        assert r.turnover % 12_500 == 0  # 0.05 point × 250,000 KRW: whole ticks of value
        assert r.ask1 > r.bid1 and r.block_volume == 0
        assert (r.dynamic_upper_limit, r.dynamic_lower_limit, r.dynamic_limit_flag) == (0, 0, "0")
        assert r.spread == pytest.approx(r.far_month_price - r.near_month_price, abs=1e-9)
        assert isinstance(inst, IndexInstrument) and inst.kind == "future"
    (_, first), (_, last) = trades[0], trades[-1]
    assert last.volume > first.volume and last.open_interest > 0


def test_option_premiums_sit_on_their_tick_grid_with_per_point_greeks(day: Day) -> None:
    trades = day.records["H0IOCNT0"]
    assert len(trades) > 100
    cheap = dear = 0
    for _, r in trades:
        inst = day.by_code[r.code]
        assert inst.strike is not None
        price = hundredths(r.price)
        assert INDEX_OPTION_GRID.on_grid(price), r.price
        if r.price >= 10:
            dear += 1
            assert price % 5 == 0  # 0.05 from 10 points
        else:
            cheap += 1  # 0.01 below
        assert r.premium == r.price and r.price >= 0.01
        spot = r.price - r.market_basis
        intrinsic = (
            max(0.0, spot - inst.strike / 100) if inst.kind == "call" else max(0.0, inst.strike / 100 - spot)
        )
        assert r.intrinsic_value == pytest.approx(intrinsic, abs=1e-9)
        assert (0 <= r.delta <= 1) if inst.kind == "call" else (-1 <= r.delta <= 0)
        assert 0 <= r.gamma < 1 and 0 <= r.vega < 5  # per point and per volatility point
        assert math.isnan(r.implied_volatility) or 0.05 < r.implied_volatility < 1
        assert 0.1 < r.average_volatility < 0.4 and r.block_volume == 0
        assert (r.dynamic_upper_limit, r.dynamic_lower_limit, r.dynamic_limit_flag) == (0, 0, "0")
    assert cheap and dear  # both bands were traded


@pytest.mark.parametrize("tr_id", ["H0IFASP0", "H0IOASP0"])
def test_index_books_have_five_levels_on_the_grid_and_the_02_second_filter(day: Day, tr_id: str) -> None:
    books = day.records[tr_id]
    assert len(books) > 100
    last_slot: dict[str, int] = {}
    for t, r in books:
        slot = slot_of(t, 5.0)
        assert slot > last_slot.get(r.code, -1)  # at most one book a code per 0.2 s
        last_slot[r.code] = slot
        grid = INDEX_FUTURES_GRID if tr_id == "H0IFASP0" else INDEX_OPTION_GRID
        asks = [(getattr(r, f"ask{n}"), getattr(r, f"ask{n}_qty")) for n in range(1, 6)]
        bids = [(getattr(r, f"bid{n}"), getattr(r, f"bid{n}_qty")) for n in range(1, 6)]
        for side, rising in ((asks, True), (bids, False)):
            prices = [p for p, _ in side if p]
            assert side[len(prices) :] == [(0, 0)] * (5 - len(prices))  # empty levels last, as 0
            assert prices == sorted(set(prices), reverse=not rising)
            assert all(grid.on_grid(hundredths(p)) for p in prices)
        assert r.total_ask_qty == sum(q for _, q in asks) and r.total_bid_qty == sum(q for _, q in bids)
        assert r.ask1 > r.bid1 > 0


def _index_levels(start: datetime, end: datetime) -> list[tuple[float, int]]:
    """(time, index level) at every index event of a regular session from ``start`` to ``end``."""
    m = Market(index_universe(start), seed=2, start=start)
    index = m.spots[KOSPI200.code]
    seen: list[tuple[float, int]] = []
    while m.now < end.timestamp():
        event = m.next_event()
        assert event is not None
        if event.instrument.underlying is KOSPI200:
            seen.append((event.time, index.price))
    return seen


def at(hour: int, minute: int) -> datetime:
    return datetime(2026, 12, 1, hour, minute, tzinfo=KST)


def test_the_index_is_frozen_outside_the_stock_market_hours() -> None:
    morning = _index_levels(at(8, 30), at(9, 10))
    assert {price for t, price in morning if t <= at(9, 0).timestamp()} == {KOSPI200.price}  # the close
    assert len({price for t, price in morning if t > at(9, 0).timestamp()}) > 20
    assert min(t for t, _ in morning) <= at(8, 45).timestamp()  # the opening uncross and 08:45-09:00
    afternoon = _index_levels(at(15, 20), at(15, 45))
    after = [price for t, price in afternoon if t > at(15, 30).timestamp()]
    assert len(after) > 50 and len(set(after)) == 1  # frozen at 15:30 while the index products trade on
    assert len({price for t, price in afternoon if t <= at(15, 30).timestamp()}) > 5


def test_a_stock_only_subscription_sees_only_stock_records() -> None:
    stocks = build_universe(START)
    sim = Simulator(SimConfig(seed=1, start=START, always_open=True, speed=math.inf))
    assert sim.instruments[: len(stocks)] == stocks
    index = [i for i in sim.instruments[len(stocks) :] if i.market != "night"]  # night ones: sim/night.py
    assert index and all(i.market == "index" and set(i.tr_ids) <= set(INDEX_TRS) for i in index)
    assert {("H0IFCNT0", "A01612"), ("H0IOASP0", "B01612560")} <= sim.served
    assert ("H0ZFCNT0", "A01612") not in sim.served and ("H0IFCNT0", "A11612") not in sim.served
    assert Simulator(SimConfig(seed=1, start=START, index_products=False)).instruments == stocks
    m = sim.market
    m.watch("H0ZFCNT0", "A11612")
    m.watch("H0ZFASP0", "A11612")
    sent = 0
    for _ in range(5_000):
        event = m.next_event()
        assert event is not None
        if event.records:
            assert event.code == "A11612" and event.tr_id in ("H0ZFCNT0", "H0ZFASP0")
            for text in event.records:
                (record,) = kisfeed.decode(encode_frame(event.tr_id, [text.split("^")]))
                assert isinstance(record.price if event.tr_id == "H0ZFCNT0" else record.ask1, int)
            sent += 1
    assert sent > 10


def test_a_thursday_weekly_stops_at_1520_on_its_last_day_while_the_others_trade_on() -> None:
    start = datetime(2026, 12, 3, 14, 50, tzinfo=KST)  # the 1st Thursday: that weekly's last day
    m = Market(index_universe(start), seed=4, start=start)
    last: dict[str, float] = {}
    while m.now < datetime(2026, 12, 3, 15, 45, tzinfo=KST).timestamp():
        event = m.next_event()
        assert event is not None
        if event.records or event.instrument.underlying is KOSPI200:
            expiring = event.instrument.expiry == datetime(2026, 12, 3).date()
            last["expiring" if expiring else "other"] = event.time
    stop = datetime(2026, 12, 3, 15, 20, tzinfo=KST).timestamp()
    assert last["expiring"] <= stop < last["other"]  # the other products close at 15:45
