"""The night contracts of the simulator: listed with their night TRs, served on them only in the
night session (in ``always_open`` mode at any hour), and written to the night masters."""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path

from kisfeed.protocol import decode_frame
from kisfeed.schema.night_master import read_night_master
from kisfeed.schema.records import KST
from kisfeed.sim import SimConfig, Simulator
from kisfeed.sim.index import IndexInstrument
from kisfeed.sim.night import NightInstrument, night_master_entries, write_night_masters

from .helpers import approval, connect, recv, run, subscribe

TUESDAY = datetime(2026, 11, 24, 15, 30, tzinfo=KST)  # 15 minutes before the day close


def night_config(**changes: object) -> SimConfig:
    settings: dict[str, object] = {"seed": 1, "start": TUESDAY, "speed": math.inf, "always_open": False}
    settings.update(changes)
    return SimConfig(**settings)  # type: ignore[arg-type]  # the settings of each test


def test_the_simulator_lists_night_contracts_with_their_night_trs():
    sim = Simulator(night_config())
    night = [i for i in sim.instruments if isinstance(i, NightInstrument)]
    day = {i.code: i for i in sim.instruments if isinstance(i, IndexInstrument) and i not in night}
    assert night and len(night) == len(day)  # every KOSPI200 product has its night contract
    for i in night:
        assert i.code == i.day_code and i.code in day  # night_code_form "kis": the day code
        assert i.tr_ids == (
            ("H0MFCNT0", "H0MFASP0") if i.strike is None else ("H0EUCNT0", "H0EUASP0", "H0EUANC0")
        )
        assert i.tr_id == i.tr_ids[0] and i.market == "night"
        assert all(sim.serves(tr_id, i.code) for tr_id in i.tr_ids)
    assert not sim.serves("H0EUANC0", night[0].code)  # a future has no night expected price
    option = next(i for i in night if i.strike is not None)
    assert not sim.serves("H0MFCNT0", option.code)  # an option code on the futures TR: not served
    assert not [
        i for i in Simulator(night_config(night_session=False)).instruments if isinstance(i, NightInstrument)
    ]
    krx = [
        i
        for i in Simulator(night_config(night_code_form="krx")).instruments
        if isinstance(i, NightInstrument)
    ]
    assert all(len(i.code) == 8 and i.code != i.day_code for i in krx)


def test_night_subscriptions_get_the_night_only_day_ones_the_day_only():
    async def body() -> None:
        async with Simulator(night_config()) as sim:
            front = next(i for i in sim.instruments if isinstance(i, NightInstrument) and i.strike is None)
            key = await approval(sim)
            ws = await connect(sim)
            await subscribe(ws, key, "H0MFCNT0", front.code)  # during the day: accepted, silent
            await subscribe(ws, key, "H0IFCNT0", front.day_code)
            seen: list[tuple[str, str]] = []  # (TR, BSOP_HOUR) in arrival order
            while not seen or seen[-1][0] != "H0IFCNT0" or not any(tr == "H0MFCNT0" for tr, _ in seen):
                message = await recv(ws)
                if message[0] in "01":
                    seen += [(r.layout.tr_id, r.time.strftime("%H%M%S")) for r in decode_frame(message)]  # type: ignore[attr-defined]  # every trade record has a time
            await ws.close()
            first_night = next(n for n, (tr, _) in enumerate(seen) if tr == "H0MFCNT0")
            day_before, night = seen[:first_night], seen[first_night:-1]
            assert day_before and all(tr == "H0IFCNT0" and "153000" <= t <= "154500" for tr, t in day_before)
            assert night[0][1] == "180000"  # the night's opening uncross; then through midnight
            assert all(tr == "H0MFCNT0" for tr, _ in night)
            hours = [t for _, t in night]
            assert any(t >= "230000" for t in hours) and any(t < "060000" for t in hours)
            assert seen[-1][1] >= "084500"  # the next day's first trade, on the day TR again

    run(body, timeout=120)


def test_always_open_the_night_trs_trade_at_any_hour():
    async def body() -> None:
        start = datetime(2026, 11, 24, 11, 0, tzinfo=KST)  # the middle of a day session
        async with Simulator(night_config(start=start, always_open=True)) as sim:
            front = next(i for i in sim.instruments if isinstance(i, NightInstrument) and i.strike is None)
            key = await approval(sim)
            ws = await connect(sim)
            await subscribe(ws, key, "H0MFCNT0", front.code)
            while (message := await recv(ws))[0] not in "01":
                pass
            [record, *_] = decode_frame(message)
            assert record.layout.tr_id == "H0MFCNT0"
            assert record.time is not None and record.time.hour == 11  # type: ignore[attr-defined]  # a trade's
            await ws.close()

    run(body)


def test_the_night_masters_of_the_universe(tmp_path: Path):
    sim = Simulator(night_config())
    futures_path, options_path = write_night_masters(tmp_path, sim.instruments)
    assert (futures_path.name, options_path.name) == ("fo_cme_code.mst", "fo_eurex_code.mst")
    futures, bad = read_night_master(futures_path)
    options, bad_options = read_night_master(options_path)
    assert bad == [] == bad_options
    assert futures + options == night_master_entries(sim.instruments)
    night = {i.code: i for i in sim.instruments if isinstance(i, NightInstrument)}
    for entry in futures + options:
        assert entry.code in night and entry.tr_ids == night[entry.code].tr_ids
        assert len(futures_path.read_bytes().split(b"\n")[0]) == 121
    front = futures[0]
    assert front.name.startswith("F ") and front.month_class == "1"
