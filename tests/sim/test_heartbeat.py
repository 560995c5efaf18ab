"""PINGPONG (reference 2.3): sent on schedule, answered by a text echo or a pong frame, and a
session that does not answer is closed; client ping frames per the ``client_ping`` switch."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime

import pytest
from websockets.exceptions import ConnectionClosed

from kisfeed.schema.records import KST
from kisfeed.sim import Simulator

from ..conftest import seconds
from .helpers import FUTURES, approval, codes, connect, quiet, recv, reply, request, run, subscribe

FAST = {"ping_interval": 0.05, "pong_timeout": 0.3}


async def pingpongs(ws, count: int, answer=None) -> list[str]:
    """The next ``count`` PINGPONG texts (answered with ``answer(text)`` when given)."""
    seen = []
    while len(seen) < count:
        message = await recv(ws)
        if json.loads(message)["header"]["tr_id"] == "PINGPONG":
            seen.append(message)
            if answer is not None:
                await answer(message)
    return seen


def test_pingpong_arrives_with_the_wall_clock_in_kst_and_no_body():
    # Reference 2.3: the datetime is the server's clock, not the simulated market's (issue 14
    # gap 11), so a sim whose clock is years away from now still stamps its heartbeats with now.
    long_ago = datetime(2020, 1, 4, 12, 0, tzinfo=KST)  # a Saturday: no data frames either

    async def body():
        async with Simulator(quiet(ping_interval=0.05, start=long_ago)) as sim:
            async with await connect(sim) as ws:
                before = datetime.now(KST).replace(microsecond=0, tzinfo=None)
                texts = await pingpongs(ws, 2)
                after = datetime.now(KST).replace(tzinfo=None)
                return texts, before, after, sim.clock()

    (first, second), before, after, sim_now = run(body)
    assert sim_now < datetime(2020, 1, 5, tzinfo=KST).timestamp()  # the market is still in 2020
    message = json.loads(first)
    assert set(message) == {"header"}  # no body: how the official runtime spots it
    assert message["header"]["tr_id"] == "PINGPONG"
    for text in (first, second):
        stamp = datetime.strptime(json.loads(text)["header"]["datetime"], "%Y%m%d%H%M%S")
        assert before <= stamp <= after  # YYYYMMDDHHMMSS, KST


def test_an_unanswered_pingpong_closes_the_session():
    async def body():
        async with Simulator(quiet(**FAST)) as sim:
            async with await connect(sim) as ws:
                await pingpongs(ws, 1)
                with pytest.raises(ConnectionClosed):
                    while True:
                        await recv(ws)
                code, reason = ws.close_code, ws.close_reason
            for _ in range(100):
                if not sim.sessions:
                    break
                await asyncio.sleep(0.01)
            return code, reason, sim.sessions

    code, reason, sessions = run(body)
    assert code == 1000 and "PINGPONG" in reason
    assert sessions == []


@pytest.mark.parametrize("mechanism", ["text echo", "re-serialised echo", "pong frame"])
def test_an_answered_pingpong_keeps_the_session(mechanism):
    async def body():
        async with Simulator(quiet(**FAST)) as sim:
            key = await approval(sim)
            async with await connect(sim) as ws:

                async def answer(text: str) -> None:
                    if mechanism == "text echo":
                        await ws.send(text)
                    elif mechanism == "re-serialised echo":  # PYKIS re-encodes it (ref 2.3)
                        await ws.send(json.dumps(json.loads(text), indent=1))
                    else:
                        await ws.pong(text)

                # 30 heartbeats at 0.05 s span five pong timeouts: unanswered, it would be closed.
                await pingpongs(ws, 30, answer)
                await subscribe(ws, key, FUTURES, codes(sim, FUTURES)[0])
                return len(sim.sessions)

    assert run(body) == 1


def test_client_ping_frames_are_tolerated_by_default():
    async def body():
        async with Simulator(quiet()) as sim:
            key = await approval(sim)
            async with await connect(sim) as ws:
                pong = await ws.ping(b"keepalive")
                await asyncio.wait_for(pong, seconds(10))
                await subscribe(ws, key, FUTURES, codes(sim, FUTURES)[0])

    run(body)


def test_client_ping_frames_error_and_close_when_switched_on():
    async def body():
        async with Simulator(quiet(client_ping="error-and-close")) as sim:
            async with await connect(sim) as ws:
                await ws.ping(b"")
                error = await reply(ws)
                with pytest.raises(ConnectionClosed):
                    await recv(ws)
                return error, ws.protocol.close_rcvd

    error, close_frame = run(body)
    assert error["header"] == {"tr_id": "(null)", "tr_key": "", "encrypt": "N"}
    assert error["body"]["msg_cd"] == "OPSP8991" and error["body"]["rt_cd"] == "1"
    assert close_frame is None  # dropped without a close handshake, as reported in 2023


def test_a_ping_frame_carrying_pingpong_is_an_answer_even_under_error_and_close():
    async def body():
        async with Simulator(quiet(client_ping="error-and-close", **FAST)) as sim:
            key = await approval(sim)
            async with await connect(sim) as ws:
                await pingpongs(ws, 30, lambda text: ws.ping(text))  # the Sample01 way (ref 2.3)
                await subscribe(ws, key, FUTURES, codes(sim, FUTURES)[0])

    run(body)


def test_a_client_pingpong_postpones_the_servers():
    # Reference 2.3: a client that sends PINGPONG on its own gets the next one an interval later.
    async def body():
        async with Simulator(quiet(ping_interval=0.3, pong_timeout=100)) as sim:
            async with await connect(sim) as ws:
                await pingpongs(ws, 1)
                session = sim.sessions[0]
                before = session._next_ping
                await ws.send('{"header":{"tr_id":"PINGPONG","datetime":"20261121120000"}}')
                for _ in range(100):
                    if session._next_ping != before:
                        break
                    await asyncio.sleep(0.01)
                return before, session._next_ping, session._unanswered_since

    before, after, unanswered = run(body)
    assert after > before and unanswered is None


def test_a_pingpong_request_is_not_answered_with_an_error():
    async def body():
        async with Simulator(quiet()) as sim:
            key = await approval(sim)
            async with await connect(sim) as ws:
                await ws.send('{"header":{"tr_id":"PINGPONG","datetime":"20261121120000"}}')
                await ws.send(request(key, FUTURES, codes(sim, FUTURES)[0]))
                return await reply(ws)  # the first reply is the subscribe's: nothing for PINGPONG

    assert run(body)["body"]["msg_cd"] == "OPSP0000"
