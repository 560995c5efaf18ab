"""A long run decoded with ``kisfeed.decode``: every record complete and every relation of
reference 4.4 holding, record by record and between consecutive records of one code, under both
field profiles (``SimConfig.profile``: under ``observed`` the emptied fields carry the official
examples' texts and only the relations that involve them go unchecked)."""

from __future__ import annotations

from datetime import datetime

import pytest

from kisfeed import FuturesTrade, OptionTrade, decode
from kisfeed.schema.records import KST
from kisfeed.sim import Simulator
from kisfeed.sim.profiles import Profile

from .helpers import START, approval, config, connect, recv, request, run
from .invariants import check_record, check_sequence, emptied

RECORDS = 6000


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
            assert r.buy_volume + r.sell_volume == r.volume  # around the clock: no auction prints
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
