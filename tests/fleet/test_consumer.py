"""``kisfeed.fleet.subscribe``: the stream's records, typed, in order, from where asked; malformed
messages counted and skipped; a nats-server restart neither loses nor repeats a record
(issue 17, items 3 and 5). A real nats-server; records published in the fleet's format."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from kisfeed.exceptions import FleetError, UsageError
from kisfeed.fleet import jetstream, subscribe, wire
from kisfeed.fleet.consumer import StreamFeed
from kisfeed.fleet.options import NatsOptions
from kisfeed.fleet.reading import filter_subjects
from kisfeed.schema import FuturesBook, FuturesTrade, OptionExpected, OptionTrade

from ..conftest import seconds
from ..samples import texts
from .stream import BASE_NS, book, message, publish, trade


async def take(feed: StreamFeed, n: int, timeout: float = 10) -> list:
    out: list = []

    async def read() -> None:
        while len(out) < n:
            out.extend(await feed.next_batch(n - len(out)))

    await asyncio.wait_for(read(), seconds(timeout))
    return out


async def nothing_more(feed: StreamFeed, wait: float = 0.5) -> None:
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(feed.__anext__(), wait)


async def stream(url: str):
    nc = await jetstream.connect(NatsOptions(url))
    js = nc.jetstream()
    await jetstream.prepare(js)
    return nc, js


async def test_records_arrive_typed_in_order_per_code_and_filtered(nats_server):
    nc, js = await stream(nats_server.url)
    try:
        messages = []
        for v in range(1, 31):  # two codes interleaved, a book and an option trade among them
            messages += [
                message("H0ZFCNT0", trade("A11612", v), v),
                message("H0ZFCNT0", trade("A01612", v), v),
            ]
        messages += [
            message("H0ZFASP0", book("A11612", 7)),
            message("H0ZOCNT0", trade("B11612065", 5, "H0ZOCNT0")),
        ]
        await publish(js, messages)

        async with subscribe(nats_server.url, trs=["H0ZFCNT0"], start="all") as feed:
            records = await take(feed, 60)
            await nothing_more(feed)
            stats = feed.stats()
        assert all(type(r) is FuturesTrade for r in records)
        for code in ("A11612", "A01612"):
            mine = [r for r in records if r.code == code]
            assert [r.volume for r in mine] == list(range(1, 31))  # each once, in stream order
            assert [r.received_ns for r in mine] == [BASE_NS + v * 1_000_000 for v in range(1, 31)]
            assert {r.trading_date for r in mine} == {datetime(2026, 12, 1).date()}
        assert (stats.records, stats.malformed, stats.duplicates, stats.pending) == (60, 0, 0, 0)
        assert stats.last_sequence == 60

        async with subscribe(nats_server.url, codes=["A11612"], start="all") as feed:  # every TR of a code
            records = await take(feed, 31)
            await nothing_more(feed)
        assert [type(r) for r in records] == [FuturesTrade] * 30 + [FuturesBook]
        assert records[-1].ask1_qty == 7

        async with subscribe(nats_server.url, trs=["H0ZOCNT0"], codes=["B11612065"], start="all") as feed:
            (option,) = await take(feed, 1)
        assert type(option) is OptionTrade and option.volume == 5
    finally:
        await nc.close()


async def test_start_live_by_sequence_and_by_time(nats_server):
    nc, js = await stream(nats_server.url)
    try:
        first = await publish(js, [message("H0ZFCNT0", trade("A11612", v)) for v in range(1, 11)])
        await asyncio.sleep(0.05)
        middle = datetime.now(UTC)
        await asyncio.sleep(0.05)
        second = await publish(js, [message("H0ZFCNT0", trade("A11612", v)) for v in range(11, 21)])
        assert first == list(range(1, 11)) and second == list(range(11, 21))

        async with subscribe(nats_server.url, start=15) as feed:
            assert [r.volume for r in await take(feed, 6)] == list(range(15, 21))
            await nothing_more(feed)
        async with subscribe(nats_server.url, start=middle) as feed:
            assert [r.volume for r in await take(feed, 10)] == list(range(11, 21))
            await nothing_more(feed)
        async with subscribe(nats_server.url) as feed:  # live: only what is published from now on
            await nothing_more(feed)
            await publish(js, [message("H0ZFCNT0", trade("A11612", 21))])
            assert [r.volume for r in await take(feed, 1)] == [21]
            assert feed.stats().last_sequence == 21
    finally:
        await nc.close()


async def test_malformed_messages_are_counted_and_skipped(nats_server):
    nc, js = await stream(nats_server.url)
    gaps: list[wire.GapEvent] = []
    try:
        good = message("H0ZFCNT0", trade("A11612", 1))
        event = wire.GapEvent("H0ZFCNT0", "A11612", BASE_NS, BASE_NS + 7_000_000_000, "no feeder")
        gap = wire.gap_message(event)
        bad = [
            ("kis.H0ZFCNT0.A11612", b"A11612^not^a^trade", good.headers),  # wrong field count
            ("kis.H0ZFCNT0.A11612", b"\xff\xfe" + good.payload[2:], good.headers),  # not UTF-8
            (
                "kis.H0ZFCNT0.A11612",
                good.payload,
                {wire.MSG_ID: good.headers[wire.MSG_ID]},
            ),  # no receive time
            ("kis.H0ZFCNT0.A01612", good.payload, good.headers),  # another code than the subject's
            ("kis.H0XXCNT0.A11612", good.payload, good.headers),  # a TR kisfeed does not know
            (
                "kis.H0ZFCNT0.A11612",
                good.payload.replace(b"^64300^", b"^6x300^", 1),
                good.headers,
            ),  # bad field
            ("kisfeed.gap.H0ZFCNT0.A11612", b"{not json", None),  # a gap event that is not one
        ]
        for n, (subject, payload, headers) in enumerate(bad):
            await js.publish(subject, payload, headers={**(headers or {}), wire.MSG_ID: f"bad-{n}"})
        await js.publish(gap.subject, gap.payload, headers=gap.headers)
        await js.publish(good.subject, good.payload, headers=good.headers)

        async with subscribe(nats_server.url, start="all", on_gap=gaps.append) as feed:
            (record,) = await take(feed, 1)
            stats = feed.stats()
        assert record.volume == 1 and record.price == 64300
        assert gaps == [event]
        assert (stats.received, stats.malformed, stats.gaps, stats.records) == (9, 7, 1, 1)
    finally:
        await nc.close()


async def test_a_server_restart_mid_stream_loses_and_repeats_nothing(nats_server):
    nc, js = await stream(nats_server.url)
    total = 300
    try:
        async with subscribe(nats_server.url, trs=["H0ZFCNT0"], start="all", heartbeat=0.5) as feed:

            async def publisher() -> None:
                for v in range(1, total + 1):
                    await publish(js, [message("H0ZFCNT0", trade("A11612", v), v)], retry_for=seconds(30))
                    if v == total // 2:
                        await asyncio.to_thread(nats_server.restart)
                    await asyncio.sleep(0.002)

            publishing = asyncio.create_task(publisher())
            records = await take(feed, total, timeout=40)
            await publishing
            await nothing_more(feed, 1.0)
            stats = feed.stats()
        assert [r.volume for r in records] == list(range(1, total + 1))
        assert stats.reconnects >= 1 and stats.last_sequence == total
    finally:
        await nc.close()


async def test_records_narrower_or_wider_than_the_layout_arrive_as_the_client_reads_them(nats_server):
    # H0ZOANC0 comes with 7 of its layout's 8 fields; fields KIS appends stay on the record
    nc, js = await stream(nats_server.url)
    try:
        expected = texts("H0ZOANC0")
        assert len(expected) == 7
        wider = trade("A11612", 9) + ["X1", "X2"]
        await publish(js, [message("H0ZOANC0", expected), message("H0ZFCNT0", wider)])
        async with subscribe(nats_server.url, start="all") as feed:
            narrow, wide = await take(feed, 2)
        assert type(narrow) is OptionExpected and narrow.code == expected[0] and narrow.missing == 0
        assert type(wide) is FuturesTrade and wide.volume == 9 and wide.extra == ("X1", "X2")
        assert feed.stats().malformed == 0
    finally:
        await nc.close()


async def test_a_durable_subscriber_goes_on_where_it_stopped(nats_server):
    nc, js = await stream(nats_server.url)
    try:
        await publish(js, [message("H0ZFCNT0", trade("A11612", v)) for v in range(1, 11)])
        async with subscribe(nats_server.url, durable="strategy-1", start="all") as feed:
            assert [r.volume for r in await take(feed, 10)] == list(range(1, 11))
        await publish(js, [message("H0ZFCNT0", trade("A11612", v)) for v in range(11, 16)])
        async with subscribe(nats_server.url, durable="strategy-1", start="all") as feed:
            assert [r.volume for r in await take(feed, 5)] == list(range(11, 16))  # not the first 10
            await nothing_more(feed)  # asking for more: the 5 are done with
        await publish(js, [message("H0ZFCNT0", trade("A11612", v)) for v in range(16, 19)])
        feed = subscribe(nats_server.url, durable="strategy-1", ack_wait=1)
        await feed.__aenter__()
        assert [r.volume for r in await take(feed, 3)] == [16, 17, 18]
        await feed.close()  # a crash: the batch taken was never done with, so it comes again
        async with subscribe(nats_server.url, durable="strategy-1", ack_wait=1) as feed:
            assert [r.volume for r in await take(feed, 3)] == [16, 17, 18]  # after ack_wait
            await nothing_more(feed)
        info = await js.consumer_info(wire.STREAM, "strategy-1")
        assert (info.num_ack_pending, info.num_pending) == (0, 0)
    finally:
        await nc.close()


def test_filters_and_arguments_are_checked():
    assert filter_subjects(None, None) == ["kis.>", "kisfeed.gap.>"]
    assert filter_subjects(["H0ZFCNT0"], None) == ["kis.H0ZFCNT0.>", "kisfeed.gap.H0ZFCNT0.>"]
    assert filter_subjects(None, ["A11612"]) == ["kis.*.A11612", "kisfeed.gap.*.A11612"]
    for trs, codes, why in [
        (["H0XXCNT0"], None, "unknown TR"),
        (None, ["A1.612"], "not an instrument code"),
        (None, ["*"], "not an instrument code"),
        ([], None, "at least one"),
    ]:
        with pytest.raises(UsageError, match=why):
            filter_subjects(trs, codes)
    with pytest.raises(UsageError, match="durable="):
        subscribe("nats://127.0.0.1:4222", durable="a.b")
    for start in ("latest", 0, True):
        with pytest.raises(UsageError, match="start="):
            subscribe("nats://127.0.0.1:4222", start=start)  # type: ignore[arg-type]


async def test_an_unreachable_server_or_wrong_password_is_a_fleet_error(tmp_path):
    from .conftest import running_nats

    with pytest.raises(FleetError, match=r"cannot connect to NATS at nats://127\.0\.0\.1:1"):
        async with subscribe("nats://127.0.0.1:1", connect_timeout=1):
            pass
    with running_nats(tmp_path, "--user", "kis", "--pass", "right-pw") as server:
        with pytest.raises(FleetError) as caught:
            async with subscribe(NatsOptions(server.url, user="kis", password="wrong-pw"), connect_timeout=2):
                pass
        assert "wrong-pw" not in str(caught.value) and "\n" not in str(caught.value)
        async with subscribe(NatsOptions(server.url, user="kis", password="right-pw")) as feed:
            assert feed.stats().received == 0
