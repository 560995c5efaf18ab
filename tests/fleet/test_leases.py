"""What a feeder claims each round (fleet/leases.py, issue 17 item 1): a share of what is
unserved, never a served code, never beyond its capacity."""

from __future__ import annotations

import random

from kisfeed.fleet.leases import plan_claims, plan_releases

WANTED = [f"H0ZFCNT0.A{n:05d}" for n in range(100)]


def test_a_lone_feeder_claims_what_is_unserved_up_to_its_capacity():
    claims = plan_claims(WANTED, {}, held=0, capacity=41, feeders_with_room=1, rng=random.Random(1))
    assert len(claims) == 41 and len(set(claims)) == 41 and set(claims) <= set(WANTED)
    assert plan_claims(WANTED, {}, held=41, capacity=41, feeders_with_room=1) == []
    assert plan_claims(WANTED, {}, held=40, capacity=41, feeders_with_room=1) != []


def test_a_joining_feeder_takes_only_unserved_keys_never_a_served_one():
    served = {k: "f1" for k in WANTED[:90]}
    claims = plan_claims(WANTED, served, held=0, capacity=41, feeders_with_room=2, rng=random.Random(2))
    assert set(claims) <= set(WANTED[90:])
    assert len(claims) == 5  # its share of the 10 unserved, with another feeder that has room
    assert plan_claims(WANTED, {k: "f1" for k in WANTED}, held=0, capacity=41, feeders_with_room=2) == []


def test_feeders_starting_together_spread_their_claims():
    rounds = [
        set(plan_claims(WANTED, {}, held=0, capacity=123, feeders_with_room=3, rng=random.Random(seed)))
        for seed in range(3)
    ]
    assert all(len(r) == 34 for r in rounds)  # ceil(100 / 3), not all 100 each
    assert len(rounds[0] | rounds[1] | rounds[2]) > 34  # shuffled: not the same 34 keys


def test_refused_keys_are_left_alone_and_unwanted_keys_released():
    avoid = set(WANTED[:99])
    assert plan_claims(WANTED, {}, held=0, capacity=41, feeders_with_room=1, avoid=avoid) == [WANTED[99]]
    assert plan_releases(WANTED[:2], ["H0ZFCNT0.A00001", "H0ZOCNT0.B11612015"]) == ["H0ZOCNT0.B11612015"]
