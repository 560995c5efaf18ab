"""The client against the simulator, over real sockets on 127.0.0.1, with scripted faults."""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import math

import pytest

import kisfeed
from kisfeed.client import events as ev
from kisfeed.exceptions import (
    AppKeyInUseError,
    AuthError,
    ConfigError,
    FeedError,
    MaxSubscriptionsError,
    ParseError,
    SubscriptionLimitError,
    UnknownTRError,
    UsageError,
)
from kisfeed.schema import FuturesTrade, OptionTrade

from ..conftest import seconds, wait_until
from .conftest import (
    APP_KEY,
    APP_SECRET,
    assert_exact_prefix,
    assert_ordered_no_duplicate,
    codes,
    collect,
    feed_for,
    running,
    sim_config,
)

F, O = "H0ZFCNT0", "H0ZOCNT0"


async def maybe(result):
    return await result if inspect.isawaitable(result) else result


async def test_both_trs_are_received_decoded_and_equal_to_what_was_sent(tmp_path):
    async with running() as sim, feed_for(sim, tmp_path) as feed:
        futures, options = codes(sim, F)[:3], codes(sim, O)[:6]
        await feed.subscribe(F, futures)
        await feed.subscribe(O, options)
        records = await collect(feed, 300)
    kinds = {type(r) for r in records}
    assert kinds == {FuturesTrade, OptionTrade}
    assert {r.code for r in records} <= set(futures) | set(options)
    assert all(r.complete and r.received_ns and r.trading_date for r in records)
    assert_exact_prefix(records, sim)


async def test_multi_record_frames_are_split_into_every_record(tmp_path):
    counts = []

    def on_frame(text, received_ns, session):
        if text[0] == "0":
            counts.append(int(text.split("|")[2]))

    async with (
        running(sim_config(batch_window=1.0)) as sim,
        feed_for(
            sim,
            tmp_path,
        ) as feed,
    ):
        feed._on_frame = on_frame
        await feed.subscribe(O, codes(sim, O)[:20])
        await feed.subscribe(F, codes(sim, F)[:20])  # 40 registrations of the 41 (ref 3.1)
        records = await collect(feed, 400)
    assert max(counts) > 1, counts
    assert sum(counts) >= len(records)
    assert_exact_prefix(records, sim)


async def test_pingpong_is_answered_so_the_server_keeps_the_session(tmp_path, events):
    config = sim_config(ping_interval=0.05, pong_timeout=0.5)
    async with running(config) as sim, feed_for(sim, tmp_path, on_event=events.append) as feed:
        await feed.subscribe(F, codes(sim, F)[:1])
        pings = []
        feed._on_frame = lambda text, ns, s: pings.append(text) if "PINGPONG" in text else None
        await asyncio.sleep(seconds(2))  # forty pings; an unanswered one closes after 0.5 s
        assert len(pings) >= 10
        assert not [e for e in events if isinstance(e, ev.Disconnected)]
        assert feed.stats().reconnects == 0


@pytest.mark.parametrize("fault", ["drop", "close", "restart"])
async def test_reconnect_and_resubscribe_with_no_duplicates(tmp_path, events, fault):
    async with running() as sim, feed_for(sim, tmp_path, on_event=events.append) as feed:
        wanted = codes(sim, F)[:4] + codes(sim, O)[:4]
        await feed.subscribe(F, wanted[:4])
        await feed.subscribe(O, wanted[4:])
        before = await collect(feed, 100)
        if fault == "restart":
            await sim.restart()
        else:
            await maybe(getattr(sim.faults, fault)())
        after = await collect(feed, 200)
        assert feed.subscriptions == {(F, c) for c in wanted[:4]} | {(O, c) for c in wanted[4:]}
    assert [e for e in events if isinstance(e, ev.Disconnected)]
    assert [e for e in events if isinstance(e, ev.Reconnecting)]
    connected = [e.session for e in events if isinstance(e, ev.Connected)]
    assert len(connected) == 2 and connected[0] != connected[1]
    assert {r.code for r in after} & set(wanted)  # data flows again after resubscribing
    assert_ordered_no_duplicate(before + after, sim)


async def test_a_stalled_server_is_left_by_the_watchdog(tmp_path, events):
    async with running() as sim, feed_for(sim, tmp_path, on_event=events.append, watchdog=0.5) as feed:
        await feed.subscribe(F, codes(sim, F)[:4])
        before = await collect(feed, 50)
        await maybe(sim.faults.stall(3))  # longer than the watchdog: the client leaves first
        after = await collect(feed, 50)
    reasons = [e.reason for e in events if isinstance(e, ev.Disconnected)]
    assert any("watchdog" in r for r in reasons), reasons
    assert_ordered_no_duplicate(before + after, sim)


async def test_the_42nd_registration(tmp_path):
    async with running() as sim:
        everything = codes(sim, O)
        assert len(everything) >= 42
        # Locally: refused before it is sent.
        async with feed_for(sim, tmp_path) as feed:
            await feed.subscribe(O, everything[:41])
            with pytest.raises(SubscriptionLimitError):
                await feed.subscribe(O, everything[41])
            assert sum(len(s.registrations) for s in sim.sessions) == 41
        # With the local limit raised, the server's OPSP0008 comes back as the named error.
        async with feed_for(sim, tmp_path, max_registrations=50) as feed:
            await feed.subscribe(O, everything[:41])
            with pytest.raises(MaxSubscriptionsError) as caught:
                await feed.subscribe(O, everything[41])
            assert caught.value.msg_cd == "OPSP0008" and caught.value.tr_key == everything[41]
            assert (O, everything[41]) not in feed.subscriptions


async def test_app_key_in_use(tmp_path, events):
    async with running() as sim, feed_for(sim, tmp_path) as first:
        await first.subscribe(F, codes(sim, F)[:1])
        async with feed_for(sim, tmp_path, on_event=events.append, key_in_use_delay=30) as second:
            with pytest.raises(AppKeyInUseError) as caught:
                await second.subscribe(F, codes(sim, F)[1])
            assert caught.value.msg_cd == "OPSP8996" and caught.value.rt_cd == "9"
            reconnecting = [e for e in events if isinstance(e, ev.Reconnecting)]
            await wait_until(lambda: any(isinstance(e, ev.Reconnecting) for e in events), what="back-off")
            reconnecting = [e for e in events if isinstance(e, ev.Reconnecting)]
            assert reconnecting[0].delay == 30  # backs off long, not the quick test back-off
            assert (F, codes(sim, F)[1]) in second.subscriptions  # kept, restored when the key is free
        records = await collect(first, 20)  # the first session is untouched
        assert records


async def test_100_subscriptions_over_3_app_keys_survive_a_lost_session(tmp_path, events):
    keys = {f"PSkey-{n}": f"secret-{n}" for n in range(3)}
    async with running(sim_config(app_keys=keys)) as sim:
        wanted = (codes(sim, O) + codes(sim, F))[:100]
        assert len(wanted) == 100
        async with feed_for(sim, tmp_path, credentials=keys.items(), on_event=events.append) as feed:
            with pytest.raises(SubscriptionLimitError):
                await feed.subscribe(O, [f"X{n:08d}" for n in range(124)])  # 3 × 41 = 123
            assert not feed.subscriptions
            for tr_id in (O, F):
                await feed.subscribe(tr_id, [c for c in wanted if (tr_id == O) == (len(c) == 9)])
            per_session = [len(s.registrations) for s in sim.sessions]
            assert sorted(per_session) == [33, 33, 34] and sum(per_session) == 100
            before = await collect(feed, 200)
            await maybe(sim.faults.drop(app_key="PSkey-1"))
            await wait_until(
                lambda: sum(len(s.registrations) for s in sim.sessions) == 100 and len(sim.sessions) == 3,
                what="all 100 registered again",
            )
            assert all(len(s.registrations) <= 41 for s in sim.sessions)
            assert len(feed.subscriptions) == 100
            after = await collect(feed, 300)
    assert [e for e in events if isinstance(e, ev.Disconnected)]
    assert_ordered_no_duplicate(before + after, sim)


@pytest.mark.parametrize("policy", ["block", "drop-oldest", "raise"])
async def test_a_slow_consumer_under_each_overflow_policy(tmp_path, policy):
    got: list = []
    async with (
        running(sim_config(speed=math.inf)) as sim,
        feed_for(sim, tmp_path, queue_size=20, overflow=policy) as feed,
    ):
        try:
            await feed.subscribe(F, codes(sim, F)[:10])
            await feed.subscribe(O, codes(sim, O)[:30])  # data floods in while this waits
            for _ in range(60):
                got += await asyncio.wait_for(feed.next_batch(5), seconds(10))
                await asyncio.sleep(0.02)  # a consumer slower than the market
        except FeedError as exc:  # at subscribe or while consuming: the feed has stopped
            assert policy == "raise", exc
            assert "queue full" in str(exc)
            assert feed.stats().dropped >= 1
            with pytest.raises(FeedError):
                await asyncio.wait_for(feed.next_batch(1_000_000), seconds(10))
            return
        stats = feed.stats()
    assert policy != "raise"
    if policy == "block":
        assert stats.dropped == 0
        assert_exact_prefix(got, sim)  # nothing lost: exactly what was sent, in order
    else:
        assert stats.dropped > 0
        assert stats.records >= len(got) + stats.dropped
        assert_ordered_no_duplicate(got, sim)


async def test_malformed_frames_are_counted_and_skipped(tmp_path):
    async with running() as sim, feed_for(sim, tmp_path) as feed:
        await feed.subscribe(F, codes(sim, F)[:4])
        await collect(feed, 10)
        await maybe(sim.faults.malformed(3))
        await sim.broadcast("0|H0ZFCNT0|001|not^a^record")
        await sim.broadcast("{broken json")
        records = await collect(feed, 50)
        await wait_until(lambda: feed.stats().parse_errors >= 5, what="parse errors counted")
        assert records and feed.stats().parse_errors == 5


async def test_malformed_frames_can_be_raised(tmp_path):
    async with running() as sim, feed_for(sim, tmp_path, on_malformed="raise") as feed:
        await feed.subscribe(F, codes(sim, F)[:1])
        await sim.broadcast("0|H0ZFCNT0|001|not^a^record")
        with pytest.raises(ParseError):
            await collect(feed, 10_000)


async def test_approval_key_is_cached_and_reissued_on_opsp0011(tmp_path, events):
    async with running() as sim:
        async with feed_for(sim, tmp_path) as feed:
            await feed.subscribe(F, codes(sim, F)[:1])
            assert feed.approvals.issued == 1
        async with feed_for(sim, tmp_path) as feed:  # a new start reuses the cached key
            await feed.subscribe(F, codes(sim, F)[:1])
            assert feed.approvals.issued == 0
        (cached,) = (tmp_path / "cache").iterdir()
        assert cached.stat().st_mode & 0o777 == 0o600
        data = json.loads(cached.read_text())
        data["approval_key"] = "00000000-0000-0000-0000-000000000000"  # one the server never issued
        cached.write_text(json.dumps(data))
        async with feed_for(sim, tmp_path, on_event=events.append) as feed:
            await feed.subscribe(F, codes(sim, F)[:1])
            assert feed.approvals.issued == 1
            assert await collect(feed, 5)
        rejected = [e.error.msg_cd for e in events if isinstance(e, ev.Rejected)]
        assert rejected == ["OPSP0011"]


async def test_wrong_credentials_stop_with_a_clear_error(tmp_path):
    async with running() as sim:
        with pytest.raises(AuthError) as caught:
            async with feed_for(sim, tmp_path, credentials=[(APP_KEY, "not-the-secret")]):
                pass
        assert "not-the-secret" not in str(caught.value) and APP_KEY not in str(caught.value)


async def test_no_secret_in_any_log_line(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    logging.getLogger("kisfeed.websockets").setLevel(logging.DEBUG)
    async with running() as sim, feed_for(sim, tmp_path) as feed:
        await feed.subscribe(F, codes(sim, F)[:2])
        await collect(feed, 20)
        await maybe(sim.faults.drop())
        await collect(feed, 20)
        (cached,) = (tmp_path / "cache").iterdir()
        approval_key = json.loads(cached.read_text())["approval_key"]
    text = caplog.text
    assert "TEXT" in text  # websockets' frame log was captured at DEBUG
    for secret in (APP_KEY, APP_SECRET, approval_key):
        assert secret not in text


async def test_subscribe_and_unsubscribe_while_running(tmp_path):
    async with running() as sim, feed_for(sim, tmp_path) as feed:
        a, b = codes(sim, F)[:2]
        await feed.subscribe(F, a)
        await collect(feed, 5)
        await feed.subscribe(F, [b, a])  # a is held already: only b is sent
        assert sorted(len(s.registrations) for s in sim.sessions) == [2]
        await feed.unsubscribe(F, a)
        assert feed.subscriptions == {(F, b)}
        assert [sorted(s.registrations) for s in sim.sessions] == [[(F, b)]]
        await feed.unsubscribe(F, a)  # not held: nothing to do
        while (await asyncio.wait_for(feed.__anext__(), seconds(10))).code == a:
            pass  # records of a that were already queued
        records = await collect(feed, 20)
        assert {r.code for r in records} == {b}


async def test_bad_requests_are_refused_locally(tmp_path):
    async with running() as sim, feed_for(sim, tmp_path) as feed:
        with pytest.raises(UnknownTRError):
            await feed.subscribe("H0STCNT0", "005930")
        with pytest.raises(UsageError):
            await feed.subscribe(F, "A116 2")
    with pytest.raises(ConfigError):
        kisfeed.connect(APP_KEY, APP_SECRET, paper=True)
    with pytest.raises(ConfigError):
        kisfeed.connect(APP_KEY, APP_SECRET, overflow="sometimes")
    with pytest.raises(ConfigError):
        kisfeed.connect(credentials=[(APP_KEY, APP_SECRET), (APP_KEY, APP_SECRET)])


async def test_callback_adapter_and_stats(tmp_path):
    seen = []

    async with running() as sim, feed_for(sim, tmp_path) as feed:
        await feed.subscribe(F, codes(sim, F)[:2])

        def on_record(record):
            seen.append(record)
            if len(seen) == 30:
                raise asyncio.CancelledError  # stop the adapter from inside the callback

        with pytest.raises(asyncio.CancelledError):
            await feed.run(on_record)
        stats = feed.stats()
    assert len(seen) == 30
    assert stats.frames >= 1 and stats.records >= 30 and stats.bytes > 0
    assert stats.subscriptions == {0: 2} and stats.connected == {0: True}
    assert stats.parse_errors == 0 and stats.dropped == 0 and stats.last_frame_age is not None


def test_blocking_iterator_for_plain_scripts(tmp_path):
    async def main():
        async with running() as sim:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(None, blocking, sim)

    def blocking(sim):
        with kisfeed.connect_blocking(
            credentials=[(APP_KEY, APP_SECRET)],
            ws_url=sim.ws_url,
            rest_url=sim.rest_url,
            cache_dir=tmp_path / "cache",
        ) as feed:
            feed.subscribe(F, codes(sim, F)[:2])
            records = []
            for record in feed:
                records.append(record)
                if len(records) == 25:
                    break
            return records

    records = asyncio.run(main())
    assert len(records) == 25 and all(isinstance(r, FuturesTrade) for r in records)
