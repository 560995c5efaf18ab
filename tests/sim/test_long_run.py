"""A long run decoded with ``kisfeed.decode``: every record complete and every relation of
reference 4.4 holding, record by record and between consecutive records of one code, under both
field profiles (``SimConfig.profile``: under ``observed`` the emptied fields carry the official
examples' texts and only the relations that involve them go unchecked)."""

from __future__ import annotations

import math
from datetime import datetime

import pytest

from kisfeed import FuturesTrade, OptionTrade, Sign, decode
from kisfeed.schema.kinds import parse_value
from kisfeed.schema.layouts import LAYOUTS
from kisfeed.schema.records import KST
from kisfeed.sim import Simulator
from kisfeed.sim.profiles import Profile, blanks_for
from kisfeed.sim.ticks import STOCK_GRID

from .helpers import START, approval, config, connect, recv, request, run

RECORDS = 6000
ROUNDING = 0.005 + 1e-9  # a value written to 0.01, rounded to nearest (ref 4.4)


def collect(profile: Profile):
    async def body():
        async with Simulator(config(seed=3, profile=profile)) as sim:
            key = await approval(sim)
            # one session's 41 registrations on the busiest series: 4 futures, 37 options
            chosen = sim.busiest("H0ZFCNT0")[:4] + sim.busiest("H0ZOCNT0")[:37]
            frames: list[str] = []
            async with await connect(sim) as ws:
                for inst in chosen:
                    await ws.send(request(key, inst.tr_id, inst.code))
                count = 0
                while count < RECORDS:
                    message = await recv(ws)
                    if message[0] == "0":
                        frames.append(message)
                        count += int(message[11:14])
                state = {c.code: (c.prev_close, c.prev_volume, c.prev_oi) for c in sim.market.contracts}
                day = datetime.fromtimestamp(sim.market.now, KST).date()
            return sim, chosen, frames, state, day

    return run(body, timeout=120)


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
    if option:
        assert r.buy_volume + r.sell_volume == r.volume
    else:
        assert r.buy_volume + r.sell_volume <= r.volume  # an auction's uncross print is neither
    assert close(r.trade_strength, r.buy_volume / r.sell_volume * 100 if r.sell_volume else 0.0)
    assert close(r.buy_ratio, r.buy_volume / r.volume)
    assert close(r.volume_rate, r.volume / prev_volume * 100)
    # Model fields: disparity, bases (one spot behind both), open interest.
    assert close(r.disparity, r.price - r.theoretical_price)
    assert close(r.disparity_rate, r.disparity / r.theoretical_price * 100)
    spot = r.price - r.market_basis
    assert spot == round(spot) and abs(spot - (r.theoretical_price - r.theoretical_basis)) < 1e-6
    assert 0.5 < spot / inst.underlying.price < 2
    assert r.open_interest_change == r.open_interest - prev_oi
    # Best quotes.
    assert r.ask1 > r.bid1 >= 0
    if "ask1_qty" not in empty:
        assert r.ask1_qty <= r.total_ask_qty and r.bid1_qty <= r.total_bid_qty
    if option:
        if "premium" not in empty:
            assert r.premium == r.price
        intrinsic = max(0, spot - inst.strike) if inst.kind == "call" else max(0, inst.strike - spot)
        assert r.intrinsic_value == intrinsic and close(r.time_value, r.price - intrinsic)
        assert (0 <= r.delta <= 1) if inst.kind == "call" else (-1 <= r.delta <= 0)
        assert r.gamma >= 0 and r.vega >= 0 and r.historical_volatility > 0
        assert math.isnan(r.implied_volatility) or 0 < r.implied_volatility < 5  # a fraction (ref 4.4)
        assert r.historical_volatility < 5
    else:
        assert STOCK_GRID.on_grid(r.price)
        if "near_month_price" not in empty:
            assert r.spread == r.far_month_price - r.near_month_price
            # the front month against this month (the next month, for the front month itself)
            assert (r.near_month_price if inst.month == 1 else r.far_month_price) == r.price
        assert (r.dynamic_upper_limit, r.dynamic_lower_limit, r.dynamic_limit_flag) == (0, 0, "0")


def check_sequence(before, r) -> None:
    """Consecutive records of one code within a day."""
    assert r.volume == before.volume + r.last_volume
    assert r.turnover == before.turnover + round(r.price * r.last_volume * 10)
    assert r.open_interest == before.open_interest + r.open_interest_tick_change
    assert r.open == before.open and r.open_time == before.open_time
    assert r.high == max(before.high, r.price) and r.low == min(before.low, r.price)
    assert r.price - r.change == before.price - before.change  # one previous close all day
    assert (r.buy_trades + r.sell_trades) - (before.buy_trades + before.sell_trades) == 1
    assert r.time >= before.time


@pytest.mark.parametrize("profile", ["observed", "filled"])
def test_a_long_run_decodes_completely_and_every_relation_holds(profile: Profile):
    _sim, chosen, frames, state, day = collect(profile)
    empty = emptied(profile)
    assert day == START.date()  # one trading day: previous-day values are constant throughout
    by_code = {i.code: i for i in chosen}
    last: dict[str, object] = {}
    last_time = {}
    kinds = set()
    multi = 0
    total = 0
    for frame in frames:
        batch = decode(frame)
        multi += len(batch) > 1
        for r in batch:
            total += 1
            inst = by_code[r.code]  # only subscribed codes arrive
            assert isinstance(r, FuturesTrade if inst.kind == "future" else OptionTrade)
            kinds.add(inst.kind)
            check_record(r, inst, *state[r.code], empty[r.tr_id])
            if r.code in last:
                check_sequence(last[r.code], r)
            elif r.volume == r.last_volume:  # the day's first print: it is the open
                assert r.open == r.high == r.low == r.price
                # Trading around the clock (``always_open``) has no auctions: a taker's order.
                assert r.buy_trades + r.sell_trades == 1
            last[r.code] = r
            assert r.time >= last_time.get(r.tr_id, r.time)  # time never runs backwards per TR
            last_time[r.tr_id] = r.time
    assert total >= RECORDS and kinds == {"future", "call", "put"} and multi > 0
    assert len(last) > 20  # most subscribed codes traded
