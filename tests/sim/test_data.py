"""Data frames (reference 2.4): only subscribed codes, nothing before a trade, several records
per frame when trades cluster, deterministic for a seed, and ground truth equal to the wire."""

from __future__ import annotations

import json
from datetime import datetime

from kisfeed import decode
from kisfeed.protocol import split_frame
from kisfeed.schema.records import KST
from kisfeed.sim import Simulator

from .helpers import (
    FUTURES,
    OPTIONS,
    START,
    approval,
    codes,
    config,
    connect,
    quiet,
    recv,
    request,
    run,
    subscribe,
)


async def data_frames(ws, count: int) -> list[str]:
    """The next ``count`` data frames, skipping control messages."""
    frames = []
    while len(frames) < count:
        message = await recv(ws)
        if message[0] in "01":
            frames.append(message)
    return frames


def test_only_subscribed_codes_are_sent():
    async def body():
        async with Simulator(config()) as sim:
            key = await approval(sim)
            wanted = {codes(sim, FUTURES)[0], codes(sim, OPTIONS)[3]}
            async with await connect(sim) as ws:
                await subscribe(ws, key, FUTURES, codes(sim, FUTURES)[0])
                await subscribe(ws, key, OPTIONS, codes(sim, OPTIONS)[3])
                frames = await data_frames(ws, 200)
        return wanted, frames

    wanted, frames = run(body)
    seen = {record.code for frame in frames for record in decode(frame)}
    assert seen == wanted


def test_nothing_is_sent_on_subscribe_until_a_trade():
    # A closed market: after the ack only PINGPONG arrives, never a snapshot (ref 2.4).
    async def body():
        async with Simulator(quiet(ping_interval=0.05)) as sim:
            key = await approval(sim)
            async with await connect(sim) as ws:
                await subscribe(ws, key, FUTURES, codes(sim, FUTURES)[0])
                return [await recv(ws) for _ in range(5)]

    for message in run(body):
        assert json.loads(message)["header"]["tr_id"] == "PINGPONG"


def test_a_batch_window_packs_several_records_into_one_frame():
    async def body():
        async with Simulator(config(batch_window=2.0)) as sim:
            key = await approval(sim)
            futures = codes(sim, FUTURES)
            async with await connect(sim) as ws:
                for code in futures[:6]:
                    await subscribe(ws, key, FUTURES, code)
                frames = await data_frames(ws, 50)
        return frames

    frames = run(body)
    counts = []
    for frame in frames:
        _tr_id, count, fields = split_frame(frame)
        records = decode(frame)
        assert frame.startswith(f"0|{FUTURES}|{count:03d}|")
        assert len(records) == count and len(fields) == 49 * count
        assert all(r.complete for r in records)
        counts.append(count)
    assert max(counts) > 1


def test_a_sweep_is_one_multi_record_frame_even_without_a_window():
    # One order taking several price levels prints several trades at one instant (ref 2.4).
    async def body():
        async with Simulator(config(batch_window=0.0)) as sim:
            key = await approval(sim)
            async with await connect(sim) as ws:
                await subscribe(ws, key, FUTURES, codes(sim, FUTURES)[0])
                return await data_frames(ws, 300)

    multi = [decode(frame) for frame in run(body) if split_frame(frame)[1] > 1]
    assert multi
    for records in multi:
        assert len({r.time for r in records}) == 1  # the same instant
        prices = [r.price for r in records]
        assert prices == sorted(prices) or prices == sorted(prices, reverse=True)  # walking the book


def test_the_same_seed_sends_the_same_records_and_another_seed_does_not():
    async def first_records(seed: int) -> list[str]:
        async with Simulator(config(seed=seed)) as sim:
            key = await approval(sim)
            async with await connect(sim) as ws:
                await subscribe(ws, key, FUTURES, codes(sim, FUTURES)[0])
                return await data_frames(ws, 100)

    async def body():
        return await first_records(7), await first_records(7), await first_records(8)

    one, two, other = run(body)
    assert one == two
    assert one != other


def test_ground_truth_equals_what_the_client_received():
    async def body():
        hooked: list[tuple[int, str, list[str]]] = []
        settings = config(batch_window=0.5, on_record=lambda *args: hooked.append(args))
        async with Simulator(settings) as sim:
            key = await approval(sim)
            subscribed = [(i.tr_id, i.code) for i in sim.instruments[:20]]
            received: list[tuple[str, list[str]]] = []
            replies: list[str] = []

            async def read() -> None:
                message = await recv(ws)
                if message[0] == "0":
                    tr_id, count, fields = split_frame(message)
                    width = len(fields) // count
                    received.extend((tr_id, fields[i : i + width]) for i in range(0, len(fields), width))
                elif json.loads(message)["header"]["tr_id"] != "PINGPONG":
                    replies.append(json.loads(message)["body"]["msg_cd"])

            async with await connect(sim) as ws:
                for tr_id, code in subscribed:
                    await ws.send(request(key, tr_id, code))
                while len(received) < 3000 or len(replies) < len(subscribed):
                    await read()
                # Release everything: once the last release is answered no record can follow.
                for tr_id, code in subscribed:
                    await ws.send(request(key, tr_id, code, subscribe=False))
                while len(replies) < 2 * len(subscribed):
                    await read()
                session_id = sim.sessions[0].id
                sent = list(sim.sent[session_id])
        assert replies == ["OPSP0000"] * len(subscribed) + ["OPSP0001"] * len(subscribed)
        return received, sent, [(tr, f) for sid, tr, f in hooked if sid == session_id]

    received, sent, hooked = run(body)
    assert len(received) >= 3000
    assert received == sent
    assert hooked == sent


def test_max_records_per_frame_caps_a_batch():
    async def body():
        async with Simulator(config(batch_window=60.0, max_records_per_frame=3)) as sim:
            key = await approval(sim)
            async with await connect(sim) as ws:
                for code in codes(sim, FUTURES)[:6]:
                    await subscribe(ws, key, FUTURES, code)
                return [split_frame(frame)[1] for frame in await data_frames(ws, 40)]

    counts = run(body)
    assert max(counts) == 3 and min(counts) >= 1


def test_at_a_finite_speed_records_never_run_ahead_of_the_sim_clock():
    async def body():
        async with Simulator(config(speed=600.0)) as sim:  # ten sim minutes per second
            key = await approval(sim)
            async with await connect(sim) as ws:
                await subscribe(ws, key, FUTURES, codes(sim, FUTURES)[0])
                frames = await data_frames(ws, 20)
                now = datetime.fromtimestamp(sim.clock(), KST)
        return frames, now

    frames, now = run(body)
    times = [r.time for frame in frames for r in decode(frame)]
    assert times == sorted(times)
    assert START.time() <= times[0] and times[-1] <= now.time()
    assert now.date() == START.date()
