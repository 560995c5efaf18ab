"""Liquidity drawn per contract: a few busy front-month series near the money, most quiet."""

from __future__ import annotations

import random
import statistics
from datetime import datetime

from kisfeed.schema.records import KST
from kisfeed.sim.instruments import build_universe
from kisfeed.sim.liquidity import CONTINUOUS_SECONDS, activity

UNIVERSE = build_universe(datetime(2026, 11, 20, 9, 0, tzinfo=KST))


def draw(seed: int = 1):
    rng = random.Random(seed)
    return {i.code: (i, activity(i, i.underlying.price, rng)) for i in UNIVERSE}


def rate(pair) -> float:
    inst, act = pair
    return act.rate(inst.strike, inst.underlying.price)


def test_the_same_seed_draws_the_same_activity() -> None:
    assert draw(1) == draw(1) and draw(1) != draw(2)


def test_samsung_front_futures_match_the_official_example() -> None:
    samsung = [a for i, a in draw().values() if i.kind == "future" and i.underlying.code == "005930"]
    front, *later = sorted(samsung, key=lambda a: -a.base)
    # the H0ZFCNT0 example: 141 trades in the first 17 minutes, one-tick quotes, ~12 contracts a print
    assert 0.05 <= front.base <= 0.2 and front.spread_ticks(front.base) == 1 and front.mean_size == 12
    assert all(a.base < 0.1 * front.base and a.spread_ticks(a.base) > 1 for a in later)
    assert 0.3 < front.prev_oi / front.prev_volume < 4


def test_most_option_series_are_quiet_and_quotes_widen_as_they_thin() -> None:
    options = [(i, a) for i, a in draw().values() if i.strike is not None]
    per_day = sorted(rate(pair) * CONTINUOUS_SECONDS for pair in options)
    assert statistics.median(per_day) < 20  # most series print a handful of times a day
    assert per_day[-1] > 150  # while the busiest trade all day (the example's: 29 by 09:19)
    busiest = max(options, key=rate)
    assert busiest[0].underlying.code == "005930" and busiest[0].month == 1
    assert busiest[1].spread_ticks(rate(busiest)) <= 4  # the example's 1,100/1,040: three ticks
    thin = [pair for pair in options if rate(pair) * CONTINUOUS_SECONDS < 1]
    assert thin and all(a.spread_ticks(rate((i, a))) > 4 for i, a in thin)
    assert all(a.prev_volume >= 0 and a.prev_oi >= 0 for _, a in options)


def test_an_option_follows_the_money() -> None:
    inst, act = next(pair for pair in draw().values() if pair[0].strike is not None)
    assert act.rate(inst.strike, inst.strike) == act.base
    assert act.rate(inst.strike, inst.strike * 1.1) < 0.2 * act.base
