"""The simulator serves all six TRs of its instruments (issue 15): each (TR, code) pair with its
own frames, a code on another product's TR answered as an unknown code, every registration
counted against the 41; and a WebSocket capture from ``kisfeed sim`` whose books, expected
prices and trades obey every invariant (tests/sim/invariants.py)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from datetime import datetime

import pytest

from kisfeed import decode
from kisfeed.schema import KST
from kisfeed.schema.layouts import LAYOUTS
from kisfeed.sim import Simulator

from .helpers import (
    FUTURES,
    OPTIONS,
    approval,
    codes,
    config,
    connect,
    quiet,
    recv,
    reply,
    request,
    run,
    sim_process,
    subscribe,
)
from .invariants import BookTrail, check_expected

STOCK_TRS = {tr_id for tr_id, layout in LAYOUTS.items() if layout.market == "stock"}

BOOKS, EXPECTED = ("H0ZFASP0", "H0ZOASP0"), ("H0ZFANC0", "H0ZOANC0")


def test_every_instrument_is_served_on_its_three_trs_and_busiest_takes_any_of_them():
    sim = Simulator(config())
    future = next(i for i in sim.instruments if i.kind == "future")
    call = next(i for i in sim.instruments if i.kind == "call")
    assert future.tr_ids == ("H0ZFCNT0", "H0ZFASP0", "H0ZFANC0") and future.tr_id == FUTURES
    assert call.tr_ids == ("H0ZOCNT0", "H0ZOASP0", "H0ZOANC0") and call.tr_id == OPTIONS
    for tr_id in future.tr_ids:
        assert sim.serves(tr_id, future.code) and not sim.serves(tr_id, call.code)
    assert [i.code for i in sim.busiest("H0ZFASP0")] == [i.code for i in sim.busiest(FUTURES)]
    assert [i.code for i in sim.busiest("H0ZOANC0")] == [i.code for i in sim.busiest(OPTIONS)]


@pytest.mark.parametrize("unknown_codes", ["refuse", "silence"])
def test_a_code_on_the_other_products_tr_is_an_unknown_code(unknown_codes):
    async def body():
        async with Simulator(quiet(unknown_codes=unknown_codes)) as sim:
            key = await approval(sim)
            future, option = codes(sim, FUTURES)[0], codes(sim, OPTIONS)[0]
            answers = []
            async with await connect(sim) as ws:
                for tr_id, code in (("H0ZOASP0", future), ("H0ZOANC0", future), ("H0ZFASP0", option)):
                    await ws.send(request(key, tr_id, code))
                    answers.append(await reply(ws))
                await subscribe(ws, key, "H0ZFASP0", future)
            return answers

    answers = run(body)
    expected = "OPSP8992" if unknown_codes == "refuse" else "OPSP0000"
    assert [a["body"]["msg_cd"] for a in answers] == [expected] * 3


def test_registrations_on_all_six_trs_count_against_the_41():
    async def body():
        async with Simulator(quiet()) as sim:
            key = await approval(sim)
            stocks = [i for i in sim.instruments if i.market == "stock"]
            index = [i for i in sim.instruments if i.market == "index"]
            pairs = [(tr_id, i.code) for i in stocks[:6] + stocks[-6:] + index[:3] for tr_id in i.tr_ids]
            async with await connect(sim) as ws:
                for tr_id, code in pairs[:41]:
                    await subscribe(ws, key, tr_id, code)
                await ws.send(request(key, *pairs[41]))
                over = await reply(ws)
                await ws.send(request(key, *pairs[0], subscribe=False))
                released = await reply(ws)
                await ws.send(request(key, *pairs[41]))
                again = await reply(ws)
            return pairs, over, released, again

    pairs, over, released, again = run(body)
    # the six stock TRs and the index futures' two (whose registrations count the same)
    assert {tr_id for tr_id, _ in pairs[:41]} == STOCK_TRS | {"H0IFCNT0", "H0IFASP0"}
    assert over["body"]["msg_cd"] == "OPSP0008" and released["body"]["msg_cd"] == "OPSP0001"
    assert again["body"]["msg_cd"] == "OPSP0000"


def test_a_capture_from_kisfeed_sim_has_books_coherent_with_its_trades(tmp_path):
    """The opening auction and the first minutes of a day, six codes on their three TRs each
    (expected prices, books, then trades: every book of an auction follows an expected price,
    every trade seen has its book watched), through a real socket."""
    sim = Simulator(config(always_open=False))
    chosen = [i for i in sim.busiest(FUTURES)[:3] + sim.busiest(OPTIONS)[:3]]
    pairs = [
        (tr_id, i.code)
        for category in (2, 1, 0)
        for i in chosen
        for tr_id in i.tr_ids[category : category + 1]
    ]
    with sim_process(
        "--speed", "inf", "--start", "2026-11-20T08:38", "--seed", "1", "--profile", "filled"
    ) as sim:

        async def capture() -> list[str]:
            import websockets

            key = await sim.approval_key()
            frames = []
            async with websockets.connect(sim.ws_url, ping_interval=None, max_size=None) as ws:
                for tr_id, code in pairs:
                    await ws.send(request(key, tr_id, code))
                while sum(1 for f in frames if f.startswith("0|H0ZFCNT0")) < 100:
                    message = await recv(ws)
                    if message[0] == "0":
                        frames.append(message)
            return frames

        frames = asyncio.run(capture())
    trail = BookTrail(filled=True, whole_day=False)
    per_second: Counter[tuple[str, object]] = Counter()
    seen: Counter[str] = Counter()
    for frame in frames:
        for r in decode(frame):
            seen[r.tr_id] += 1
            trail.feed(r)
            if r.layout.category == "book":
                per_second[r.code, r.time] += 1
            elif r.layout.category == "expected":
                check_expected(r)
    assert set(seen) == STOCK_TRS, seen  # rows of every stock TR
    assert max(per_second.values()) <= 5  # KIS's 0.2 s filter: 5 books a code and second at most
    assert trail.books > 100 and trail.matched > 50 and trail.crossed > 0


def test_a_client_subscribing_during_the_opening_auction_gets_its_expected_prices():
    """At real-time speed the market must not run ahead of the clock before anyone watches:
    the official client, started at 08:39:30, received no expected price when the first pull
    of the market ran through the whole auction to the 08:45 uncross."""
    opening = datetime(2026, 11, 20, 8, 42, 50, tzinfo=KST)  # in the auction, 2 min 10 s before 08:45

    async def body() -> list[str]:
        async with Simulator(config(always_open=False, start=opening, speed=20.0)) as sim:
            code = codes(sim, "H0ZFANC0")[0]
            ws = await connect(sim)
            key = await approval(sim)
            await asyncio.sleep(0.2)  # the market loop has started before the client subscribes
            await subscribe(ws, key, "H0ZFANC0", code)
            frames: list[str] = []
            while not frames or decode(frames[-1])[-1].time < dt.time(8, 44, 10):
                message = await recv(ws, timeout=30)
                if message.startswith("0|"):
                    frames.append(message)
            await ws.close()
            return frames

    records = [r for frame in run(body) for r in decode(frame)]
    assert records[0].time < dt.time(8, 43, 30)  # the first steps, not the uncross
    assert all(r.session_code == "311" for r in records)
