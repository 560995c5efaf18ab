"""The day's steps and the auction draws (``sim/phases.py``)."""

from __future__ import annotations

import math
import random

from kisfeed.sim.phases import (
    CLOSING,
    NEXT,
    OPEN,
    STOP,
    UNCROSS,
    Schedule,
    SessionTimes,
    auction_interest,
    auction_size,
)

TIMES = SessionTimes(0.0, 900.0, 1800.0, 25_200.0, 25_500.0, 26_100.0, 23_700.0, 24_300.0)


def test_the_plan_of_a_day_in_order_and_uncross_prints_before_the_day_ends():
    schedule = Schedule()
    schedule.plan(TIMES, [(7, 23_700.0, 600.0)], start=0.0, auctions=True)
    schedule.add(TIMES.close, UNCROSS, 3, 600.0)  # added later, at the instant the day ends
    steps = [schedule.pop() for _ in range(5)]
    assert [(s.at, s.action) for s in steps] == [
        (900.0, OPEN), (23_700.0, STOP), (25_500.0, CLOSING), (26_100.0, UNCROSS), (26_100.0, NEXT),
    ]  # fmt: skip
    assert steps[1].contract == 7 and steps[1].window == 600.0 and schedule.due == math.inf


def test_a_plan_from_the_middle_of_the_day_keeps_what_is_still_ahead():
    schedule = Schedule()
    schedule.plan(TIMES, [(7, 23_700.0, 600.0)], start=25_600.0, auctions=True)
    assert [schedule.pop().action for _ in range(2)] == [CLOSING, NEXT]  # the closing auction is on
    schedule.plan(TIMES, [], start=5_000.0, auctions=False)
    assert [(s.at, s.action) for s in (schedule.pop(), schedule.pop())] == [(5_000.0, OPEN), (26_100.0, NEXT)]


def test_interest_grows_with_the_rate_and_an_uncross_is_several_orders():
    draws = [random.random() for _ in range(10_000)]
    thin = sum(auction_interest(0.0002, 900.0, u) for u in draws) / len(draws)
    busy = sum(auction_interest(0.05, 900.0, u) for u in draws) / len(draws)
    assert abs(thin - (1 - math.exp(-0.18))) < 0.02 and busy > 0.99
    rng = random.Random(1)
    sizes = [auction_size(0.15, 900.0, 12.0, rng.random) for _ in range(2000)]
    assert min(sizes) >= 1 and 18 < sum(sizes) / len(sizes) < 35  # the official example's 23
