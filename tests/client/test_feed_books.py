"""Order books and expected prices through the client: any mix of the six TRs, every (TR, code)
registration counted against the 41 per app key, the same guarantees as trades (resubscribed
after a drop, never twice, the drop reported), a book in the wrong order counted and skipped, and
a code of the other product refused before it is sent.

Book records are injected with ``Simulator.broadcast`` on codes the simulator does not serve
(it acknowledges them and sends nothing of its own, ``unknown_codes="silence"``), so that what
arrives is exactly what a test sent, whatever the simulator's market publishes.
"""

from __future__ import annotations

import asyncio

import pytest

import kisfeed.schema
from kisfeed.client import events as ev
from kisfeed.exceptions import SubscriptionLimitError, UsageError
from kisfeed.protocol.frames import encode_frame
from kisfeed.schema import LAYOUTS, FuturesBook, FuturesExpected, FuturesTrade, OptionBook

from ..conftest import seconds, wait_until
from .conftest import APP_KEY, APP_SECRET, book_frame, codes, collect, feed_for, running, sim_config

F, FB, FX = "H0ZFCNT0", "H0ZFASP0", "H0ZFANC0"
O, OB, OX = "H0ZOCNT0", "H0ZOASP0", "H0ZOANC0"
QUIET = "A99912"  # a futures code of the right form that the simulator does not list


async def test_fourteen_codes_on_trades_books_and_expected_are_42_registrations(tmp_path):
    async with running() as sim:
        fourteen = codes(sim, F)[:14]
        async with feed_for(sim, tmp_path) as feed:
            await feed.subscribe(F, fourteen)
            await feed.subscribe(FB, fourteen)
            assert feed.stats().subscriptions == {0: 28}
            with pytest.raises(SubscriptionLimitError):  # 28 + 14 = 42 > 41: refused locally
                await feed.subscribe(FX, fourteen)
            assert not {k for k in feed.subscriptions if k[0] == FX}  # none of them placed
            assert sum(len(s.registrations) for s in sim.sessions) == 28  # and none sent
            await feed.subscribe(FX, fourteen[:13])  # 41: the last that fits
            assert sorted(len(s.registrations) for s in sim.sessions) == [41]
            with pytest.raises(SubscriptionLimitError):
                await feed.subscribe(FX, fourteen[13])


async def test_two_app_keys_hold_the_42_between_them(tmp_path):
    keys = {f"PSkey-{n}": f"secret-{n}" for n in range(2)}
    async with running(sim_config(app_keys=keys)) as sim:
        fourteen = codes(sim, F)[:14]
        async with feed_for(sim, tmp_path, credentials=keys.items()) as feed:
            for tr_id in (F, FB, FX):
                await feed.subscribe(tr_id, fourteen)
            held = sorted(len(s.registrations) for s in sim.sessions)
            assert held == [21, 21] and len(feed.subscriptions) == 42
            registered = {r for s in sim.sessions for r in s.registrations}
            assert registered == {(t, c) for t in (F, FB, FX) for c in fourteen}
            trades = await collect(feed, 20)  # the market's trades still flow beside them
            assert {type(r) for r in trades} >= {FuturesTrade}


async def test_a_code_of_the_other_product_is_refused_before_sending(tmp_path):
    async with running() as sim, feed_for(sim, tmp_path) as feed:
        option, future = codes(sim, O)[0], codes(sim, F)[0]
        for tr_id, code, right in ((FB, option, OB), (FX, option, OX), (OB, future, FB), (O, future, F)):
            with pytest.raises(UsageError) as caught:
                await feed.subscribe(tr_id, [code])
            assert code in str(caught.value) and f"use {right}" in str(caught.value)
        with pytest.raises(UsageError):  # one bad code refuses the whole call
            await feed.subscribe(FB, [future, option])
        assert not feed.subscriptions and not any(s.registrations for s in sim.sessions)
        await feed.subscribe(OB, option)  # the right TR is accepted
        assert feed.subscriptions == {(OB, option)}


async def test_books_are_resubscribed_after_a_drop_never_twice_and_the_gap_is_reported(tmp_path, events):
    async with running() as sim, feed_for(sim, tmp_path, on_event=events.append) as feed:
        await feed.subscribe(FB, QUIET)
        await feed.subscribe(FX, QUIET)
        for n in range(3):
            await sim.broadcast(book_frame(FB, QUIET, n))
        before = [r for r in await collect(feed, 3)]
        await sim.faults.drop()
        await wait_until(
            lambda: (
                [set(s.registrations) for s in sim.sessions] == [{(FB, QUIET), (FX, QUIET)}]
                and len([e for e in events if isinstance(e, ev.Subscribed)]) == 4
            ),
            what="the book and expected registrations restored on a new session",
        )
        for n in range(3, 6):
            await sim.broadcast(book_frame(FB, QUIET, n))
        after = await collect(feed, 3)
        assert feed.subscriptions == {(FB, QUIET), (FX, QUIET)}
    books = before + after
    assert all(isinstance(b, FuturesBook) and b.code == QUIET for b in books)
    assert [b.ask1_qty for b in books] == [n + 1 for n in range(6)]  # each once, in order
    (lost,) = [e for e in events if isinstance(e, ev.Disconnected)]
    assert lost.last_frame_ns is not None  # the gap: nothing received on that session after it
    assert all(b.received_ns > lost.last_frame_ns for b in after)


async def test_an_option_book_decodes_by_name_whatever_its_wire_order(tmp_path):
    async with running() as sim, feed_for(sim, tmp_path) as feed:
        quiet = "B99912001"
        await feed.subscribe(OB, quiet)
        await sim.broadcast(book_frame(OB, quiet, 0, best_ask=250, tick=5))
        (book,) = await collect(feed, 1)
    assert isinstance(book, OptionBook)
    assert [level.price for level in book.asks] == pytest.approx([2.5 + 0.05 * n for n in range(10)])
    assert [level.price for level in book.bids] == pytest.approx([2.45 - 0.05 * n for n in range(10)])
    assert book.asks[9].qty == 10 and book.bids[0].orders == 1


async def test_a_book_in_the_wrong_order_is_counted_and_skipped_and_the_stream_goes_on(tmp_path):
    async with running() as sim, feed_for(sim, tmp_path) as feed:
        await feed.subscribe(FB, QUIET)
        # asks falling from level 1: what the legacy 5-level reading of H0ZFASP0 looks like
        await sim.broadcast(book_frame(FB, QUIET, 0, best_ask=65400, tick=-100))
        await sim.broadcast(book_frame(FB, QUIET, 7))
        (book,) = await collect(feed, 1)
        assert book.ask1_qty == 8  # the good book after the bad one
        assert feed.stats().parse_errors == 1 and feed.stats().records == 1


async def test_expected_prices_and_trades_mixed_on_one_session(tmp_path):
    async with running() as sim, feed_for(sim, tmp_path) as feed:
        busy = codes(sim, F)[:2]
        await feed.subscribe(F, busy)
        await feed.subscribe(FX, QUIET)
        values = {"code": QUIET, "time": "084500", "price": "64300", "change": "-300", "change_sign": "5"}
        values |= {"change_rate": "-0.46", "session_code": "311", "quantity": "120"}
        await sim.broadcast(encode_frame(FX, [[values[f.name] for f in LAYOUTS[FX].fields]]))

        async def expected() -> FuturesExpected:
            async for record in feed:
                if isinstance(record, FuturesExpected):
                    return record
            raise AssertionError("the feed ended")

        record = await asyncio.wait_for(expected(), seconds(20))
    assert (record.code, record.price, record.quantity, record.session_code) == (QUIET, 64300, 120, "311")


def test_the_blocking_client_takes_book_trs_too(tmp_path):
    import kisfeed

    async def main() -> list[object]:
        async with running() as sim:
            loop = asyncio.get_running_loop()
            on_book = loop.create_future()

            def blocking() -> list[object]:
                with kisfeed.connect_blocking(
                    credentials=[(APP_KEY, APP_SECRET)],
                    ws_url=sim.ws_url,
                    rest_url=sim.rest_url,
                    cache_dir=tmp_path / "cache",
                ) as feed:
                    feed.subscribe(FB, QUIET)
                    loop.call_soon_threadsafe(on_book.set_result, None)
                    for record in feed:
                        if isinstance(record, FuturesBook):
                            return [record]
                return []

            job = loop.run_in_executor(None, blocking)
            await on_book
            await sim.broadcast(book_frame(FB, QUIET, 1))
            return await asyncio.wait_for(job, seconds(20))

    (book,) = asyncio.run(main())
    assert book.code == QUIET and book.total_ask_qty == sum(1 + level for level in range(1, 11))


async def test_a_code_of_another_market_is_refused_before_sending(tmp_path):
    # reference 4.6: stock codes on H0Z*, KOSPI200 codes (id 01) on H0IF*/H0IO* by day, the night
    # TRs take the 8-character KRX form and the KIS form alike
    async with running() as sim, feed_for(sim, tmp_path) as feed:
        stock = codes(sim, F)[0]
        for tr_id, code, right in (
            ("H0IFCNT0", stock, F),
            (F, "A01612", "H0IFCNT0"),
            ("H0IFASP0", "101W9000", "H0MFASP0"),
            ("H0EUCNT0", stock, F),
        ):
            with pytest.raises(UsageError, match=f"use {right}$"):
                await feed.subscribe(tr_id, [code])
        assert not feed.subscriptions and not any(s.registrations for s in sim.sessions)
        await feed.subscribe("H0MFCNT0", ["101W9000", "A01612"])  # both forms on a night TR
        assert feed.subscriptions == {("H0MFCNT0", "101W9000"), ("H0MFCNT0", "A01612")}


@pytest.mark.parametrize("tr_id", ["H0IFASP0", "H0IOASP0", "H0MFASP0", "H0EUASP0"])
async def test_a_five_level_book_arrives_with_its_levels(tmp_path, tr_id):
    from ..samples import frame, texts, values

    quiet = "A01912" if LAYOUTS[tr_id].product == "futures" else "B01912340"  # listed by no simulator
    async with running() as sim, feed_for(sim, tmp_path) as feed:
        await feed.subscribe(tr_id, quiet)
        await sim.broadcast(frame(tr_id, texts(tr_id, code=quiet)))
        (book,) = await collect(feed, 1)
    assert book.tr_id == tr_id and book.code == quiet and isinstance(book, kisfeed.schema.Book)
    sample = values(tr_id)
    assert [level.price for level in book.asks] == [sample[f"ask{n}"] for n in range(1, len(book.asks) + 1)]
    assert 0 < len(book.asks) <= 5 and 0 < len(book.bids) <= 5
