"""The invariants every simulated trade record obeys: the relations of reference 4.4, record by
record and between consecutive records of one code, under either field profile
(``SimConfig.profile``: under ``observed`` the emptied fields carry the official examples'
texts and only the relations that involve them go unchecked)."""

from __future__ import annotations

import math

from kisfeed import OptionTrade, Sign
from kisfeed.schema.kinds import parse_value
from kisfeed.schema.layouts import LAYOUTS
from kisfeed.sim.profiles import Profile, blanks_for
from kisfeed.sim.ticks import OPTION_TICKS, STOCK_GRID, Grid

ROUNDING = 0.005 + 1e-9  # a value written to 0.01, rounded to nearest (ref 4.4)
OPTION_GRID = Grid(OPTION_TICKS)


def sign_of(diff: float) -> Sign:
    return Sign.UP if diff > 0 else Sign.DOWN if diff < 0 else Sign.UNCHANGED


def close(value: float, expected: float) -> bool:
    return abs(value - expected) <= ROUNDING


def emptied(profile: Profile) -> dict[str, dict[str, object]]:
    """tr_id -> field name -> the decoded value of each field the profile leaves empty."""
    empty: dict[str, dict[str, object]] = {}
    for tr_id, layout in LAYOUTS.items():
        texts = blanks_for(tr_id, profile)
        empty[tr_id] = {name: parse_value(layout.by_name[name].kind, text) for name, text in texts.items()}
    return empty


def check_record(r, inst, prev_close: int, prev_volume: int, prev_oi: int, empty: dict[str, object]) -> None:
    option = isinstance(r, OptionTrade)
    assert r.complete and r.extra == (), r
    for name in r.__struct_fields__[: r.layout.width]:
        if name in empty:
            assert getattr(r, name) == empty[name], name
        else:
            assert getattr(r, name) is not None, name
    # Change vs the previous close, its sign code and rate.
    assert r.change == r.price - prev_close
    if r.change > 0:
        assert r.change_sign in (Sign.UP, Sign.LIMIT_UP)
    elif r.change < 0:
        assert r.change_sign in (Sign.DOWN, Sign.LIMIT_DOWN)
    else:
        assert r.change_sign is Sign.UNCHANGED
    assert close(r.change_rate, r.change / prev_close * 100)
    # Open/high/low, the differences against them and their sign codes and times.
    assert r.low <= r.open <= r.high and r.low <= r.price <= r.high
    for diff, sign, ref in ((r.vs_open, r.vs_open_sign, r.open), (r.vs_high, r.vs_high_sign, r.high),
                            (r.vs_low, r.vs_low_sign, r.low)):  # fmt: skip
        assert diff == r.price - ref and sign is sign_of(diff)
    if "open_time" not in empty:
        assert r.open_time <= r.high_time <= r.time and r.open_time <= r.low_time <= r.time
    # Buy/sell counts and sums.
    assert r.net_buy_trades == r.buy_trades - r.sell_trades
    assert r.buy_volume + r.sell_volume <= r.volume  # an auction's uncross print is neither
    assert close(r.trade_strength, r.buy_volume / r.sell_volume * 100 if r.sell_volume else 0.0)
    assert close(r.buy_ratio, r.buy_volume / r.volume)
    assert close(r.volume_rate, r.volume / prev_volume * 100 if prev_volume else 0.0)  # no trade yesterday
    # Model fields: disparity, bases (one spot behind both), open interest.
    assert close(r.disparity, r.price - r.theoretical_price)
    if r.theoretical_price:
        assert close(r.disparity_rate, r.disparity / r.theoretical_price * 100)
    else:  # a model value of 0.00 (a far out-of-the-money option): KIS writes nan (ref 2.5)
        assert math.isnan(r.disparity_rate)
    spot = r.price - r.market_basis
    assert spot == round(spot) and abs(spot - (r.theoretical_price - r.theoretical_basis)) < 1e-6
    assert 0.5 < spot / inst.underlying.price < 2
    assert r.open_interest_change == r.open_interest - prev_oi
    # Best quotes, and every price on its tick grid (ref 6: the stock table for futures since
    # 2023, premium bands for options).
    assert r.ask1 > r.bid1 >= 0
    grid = OPTION_GRID if option else STOCK_GRID
    assert grid.on_grid(r.price) and grid.on_grid(r.ask1) and grid.on_grid(r.bid1)
    if "ask1_qty" not in empty:
        assert r.ask1_qty <= r.total_ask_qty and r.bid1_qty <= r.total_bid_qty
    if option:
        if "premium" not in empty:
            assert r.premium == r.price
        intrinsic = max(0, spot - inst.strike) if inst.kind == "call" else max(0, inst.strike - spot)
        assert r.intrinsic_value == intrinsic and close(r.time_value, r.price - intrinsic)
        assert (0 <= r.delta <= 1) if inst.kind == "call" else (-1 <= r.delta <= 0)
        assert r.gamma >= 0 and r.vega >= 0 and r.historical_volatility > 0
        assert math.isnan(r.implied_volatility) or 0 < r.implied_volatility <= 5  # a fraction (ref 4.4)
        assert r.historical_volatility < 5
    else:
        if "near_month_price" not in empty:
            assert r.spread == r.far_month_price - r.near_month_price
            # the front month against this month (the next month, for the front month itself)
            assert (r.near_month_price if inst.month == 1 else r.far_month_price) == r.price
        assert (r.dynamic_upper_limit, r.dynamic_lower_limit, r.dynamic_limit_flag) == (0, 0, "0")


def check_sequence(before, r, auction: bool = False) -> None:
    """Consecutive records of one code within a day; ``r`` an auction's uncross print or not."""
    assert r.volume == before.volume + r.last_volume
    assert r.turnover == before.turnover + round(r.price * r.last_volume * 10)
    assert r.open_interest == before.open_interest + r.open_interest_tick_change
    assert r.open == before.open and r.open_time == before.open_time
    assert r.high == max(before.high, r.price) and r.low == min(before.low, r.price)
    assert r.price - r.change == before.price - before.change  # one previous close all day
    # a taker's print is buyer- or seller-initiated, an uncross neither (the futures example)
    assert (r.buy_trades + r.sell_trades) - (before.buy_trades + before.sell_trades) == (0 if auction else 1)
    assert r.time >= before.time


# --- books and expected prices (reference 4.5; issue 15) ------------------------------------------

EMPTY_LEVEL = (0, 0, 0)


def levels(r, side: str) -> list[tuple[float, int, int]]:
    """The 10 levels of one side of a book record as written: (price, qty, orders)."""
    return [
        (getattr(r, f"{side}{n}"), getattr(r, f"{side}{n}_qty"), getattr(r, f"{side}{n}_count"))
        for n in range(1, 11)
    ]


def check_book(r, crossed: bool = False) -> None:
    """One book record: each level on the tick grid with 1 <= orders <= qty, asks rising and bids
    falling from level 1, empty levels (price, qty and count 0) only after the published ones,
    the four totals the sums of the 10 levels (KRX since 2024, reference 4.5), and the best bid
    below the best ask unless the book is an auction's (``crossed``)."""
    assert r.complete and r.extra == (), r
    grid = OPTION_GRID if r.tr_id == "H0ZOASP0" else STOCK_GRID
    for side, rising in (("ask", True), ("bid", False)):
        written = levels(r, side)
        published = [level for level in written if level[0]]
        assert written[len(published) :] == [EMPTY_LEVEL] * (10 - len(published)), (side, written)
        for price, qty, orders in published:
            assert grid.on_grid(price) and 1 <= orders <= qty, (side, price, qty, orders)
        prices = [price for price, _, _ in published]
        assert prices == sorted(set(prices), reverse=not rising), (side, prices)
        assert getattr(r, f"total_{side}_qty") == sum(qty for _, qty, _ in written)
        assert getattr(r, f"total_{side}_count") == sum(orders for _, _, orders in written)
    if not crossed and r.ask1 and r.bid1:
        assert r.ask1 > r.bid1, (r.code, r.time, r.ask1, r.bid1)


class BookTrail:
    """The relations between one stream's records of each code, fed in stream order (a market's
    events or a session's wire): every book obeys ``check_book``; its ``TOTAL_*_RSQN_ICDC`` is
    the change of the total since the code's previous book record (the day's first: since the
    empty book, when the stream holds the whole day, ``whole_day``); the first book after a
    trade shows that trade's best quotes (``ASKP1``/``BIDP1``) and, under the ``filled``
    profile, its level-1 and total quantities; books between an expected price and the
    uncross print are an auction's (they may cross). Counts what it checked."""

    def __init__(self, filled: bool, whole_day: bool) -> None:
        self.filled, self.whole_day = filled, whole_day
        self.trades: dict[str, object] = {}
        self.totals: dict[str, tuple[int, int]] = {}
        self.auction: set[str] = set()
        self.books = self.matched = self.crossed = 0

    def new_day(self) -> None:
        self.trades.clear()
        self.auction.clear()
        self.totals = {}

    def feed(self, r) -> None:
        category = r.layout.category
        if category == "trade":
            self.trades[r.code] = r
            self.auction.discard(r.code)
        elif category == "expected":
            self.auction.add(r.code)
        else:
            self.book(r)

    def book(self, r) -> None:
        crossed = r.code in self.auction
        check_book(r, crossed=crossed)
        self.books += 1
        self.crossed += bool(crossed and r.ask1 and r.bid1 and r.ask1 <= r.bid1)
        before = self.totals.get(r.code, (0, 0) if self.whole_day else None)
        if before is not None:
            assert (r.total_ask_qty_change, r.total_bid_qty_change) == (
                r.total_ask_qty - before[0],
                r.total_bid_qty - before[1],
            ), (r.code, r.time)
        self.totals[r.code] = (r.total_ask_qty, r.total_bid_qty)
        trade = self.trades.pop(r.code, None)
        if trade is not None:
            assert (r.ask1, r.bid1) == (trade.ask1, trade.bid1), (r.code, r.time, trade.time)
            if self.filled:
                assert (r.ask1_qty, r.bid1_qty, r.total_ask_qty, r.total_bid_qty) == (
                    trade.ask1_qty,
                    trade.bid1_qty,
                    trade.total_ask_qty,
                    trade.total_bid_qty,
                )
            self.matched += 1


def check_expected(r, codes: tuple[str, str] = ("311", "121")) -> None:
    """One expected-price record: change, sign and rate against one previous close, a session
    code of the setting, a quantity for futures (H0ZFANC0's 8th field) and none for options
    (H0ZOANC0 written with the official 7 fields)."""
    assert r.complete and r.price > 0 and r.session_code in codes
    prev_close = r.price - r.change
    assert prev_close > 0 and close(r.change_rate, r.change / prev_close * 100)
    if r.change_sign not in (Sign.LIMIT_UP, Sign.LIMIT_DOWN):
        assert r.change_sign is sign_of(r.change)
    if r.tr_id == "H0ZOANC0":
        assert r.quantity is None and len(r.layout.fields[: r.layout.required]) == 7
        assert OPTION_GRID.on_grid(r.price)
    else:
        assert r.quantity >= 1 and STOCK_GRID.on_grid(r.price)
