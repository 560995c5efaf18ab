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
