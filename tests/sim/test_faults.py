"""Scripted faults (issue 3, reference 3.4, 7.7): each one as a client sees it."""

from __future__ import annotations

import asyncio

import pytest
from websockets.exceptions import ConnectionClosed, ConnectionClosedOK

from kisfeed import ParseError, decode
from kisfeed.exceptions import FieldError, FrameError
from kisfeed.sim import Simulator, parse_fault

from ..conftest import seconds
from .helpers import (
    FUTURES,
    approval,
    codes,
    config,
    connect,
    post_approval,
    quiet,
    recv,
    reply,
    request,
    run,
    subscribe,
)

GOOD = {"grant_type": "client_credentials", "appkey": "demo-app-key", "secretkey": "demo-app-secret"}


async def until_closed(ws) -> None:
    with pytest.raises(ConnectionClosed):
        while True:
            await recv(ws)


async def next_data(ws) -> str:
    while True:
        message = await recv(ws)
        if message[0] == "0":
            return message


async def wait_for_no_sessions(sim) -> None:
    async with asyncio.timeout(seconds(10)):
        while sim.sessions:
            await asyncio.sleep(0.01)


def test_drop_ends_the_connection_without_a_close_frame():
    async def body():
        async with Simulator(config()) as sim:
            key = await approval(sim)
            async with await connect(sim) as ws:
                await subscribe(ws, key, FUTURES, codes(sim, FUTURES)[0])
                await next_data(ws)
                await sim.faults.drop()
                await until_closed(ws)
                close_frame = ws.protocol.close_rcvd
            await wait_for_no_sessions(sim)
            # The app key is free again at once (stale_session_seconds defaults to 0).
            async with await connect(sim) as again:
                await subscribe(again, key, FUTURES, codes(sim, FUTURES)[0])
        return close_frame

    assert run(body) is None


def test_a_dropped_app_key_stays_in_use_for_stale_session_seconds():
    async def body():
        async with Simulator(quiet(stale_session_seconds=60)) as sim:
            key = await approval(sim)
            async with await connect(sim) as ws:
                await subscribe(ws, key, FUTURES, codes(sim, FUTURES)[0])
                sim.faults.drop()
                await until_closed(ws)
            await wait_for_no_sessions(sim)
            async with await connect(sim) as again:
                await again.send(request(key, FUTURES, codes(sim, FUTURES)[0]))
                return await reply(again)

    assert run(body)["body"]["msg_cd"] == "OPSP8996"


def test_close_is_a_clean_websocket_close_with_the_code():
    async def body():
        async with Simulator(quiet()) as sim:
            async with await connect(sim) as one, await connect(sim) as two:
                sim.faults.close()
                with pytest.raises(ConnectionClosedOK):  # 1000: a normal closure
                    await recv(one)
                await until_closed(two)
            async with await connect(sim) as three:
                await sim.faults.close(4001, "maintenance")
                await until_closed(three)
            return [
                (ws.close_code, ws.close_reason, ws.protocol.close_rcvd is not None)
                for ws in (one, two, three)
            ]

    assert run(body) == [(1000, "", True), (1000, "", True), (4001, "maintenance", True)]


def test_a_fault_can_target_one_app_key():
    async def body():
        keys = {"key-one": "s1", "key-two": "s2"}
        async with Simulator(config(app_keys=keys)) as sim:
            one, two = await approval(sim, "key-one", "s1"), await approval(sim, "key-two", "s2")
            async with await connect(sim) as a, await connect(sim) as b:
                await subscribe(a, one, FUTURES, codes(sim, FUTURES)[0])
                await subscribe(b, two, FUTURES, codes(sim, FUTURES)[0])
                await sim.faults.drop(app_key="key-one")
                await until_closed(a)
                await next_data(b)  # the other app key's session carries on
                return [s.app_key for s in sim.sessions]

    assert run(body) == ["key-two"]


def test_stall_sends_nothing_for_its_window_then_resumes():
    async def body():
        async with Simulator(config(ping_interval=0.05)) as sim:
            key = await approval(sim)
            async with await connect(sim) as ws:
                await subscribe(ws, key, FUTURES, codes(sim, FUTURES)[0])
                await next_data(ws)
                window = seconds(2)
                over = sim.faults.stall(window)
                stalled = sim.sessions[0].stalled
                # Frames already on the way drain at once; then silence, though trades and
                # heartbeats are due all the time (speed inf, PINGPONG every 0.05 s).
                silent = False
                while not silent:
                    try:
                        async with asyncio.timeout(window / 4):
                            await ws.recv()
                    except TimeoutError:
                        silent = True
                still_stalled = sim.sessions[0].stalled
                await over
                after = await next_data(ws)
                return stalled, still_stalled, after

    stalled, still_stalled, after = run(body)
    assert stalled and still_stalled
    assert decode(after)


def test_malformed_sends_frames_that_do_not_decode():
    async def body():
        async with Simulator(quiet()) as sim:
            async with await connect(sim) as ws:
                await sim.faults.malformed(4)
                return [await recv(ws) for _ in range(4)]

    frames = run(body)
    errors = []
    for frame in frames:
        assert frame.startswith("0|")
        with pytest.raises(ParseError) as caught:
            decode(frame)
        errors.append(type(caught.value))
    assert errors == [FrameError, FieldError, FrameError, FrameError]


def test_delayed_acks_arrive_after_the_data_they_enabled():
    async def body():
        async with Simulator(config()) as sim:
            key = await approval(sim)
            sim.faults.delay_acks(seconds(1))
            async with await connect(sim) as ws:
                await ws.send(request(key, FUTURES, codes(sim, FUTURES)[0]))
                first = await recv(ws)
                ack = await reply(ws)
        return first, ack

    first, ack = run(body)
    assert decode(first)[0].code == "A11612"  # the registration took effect at once
    assert ack["body"]["msg_cd"] == "OPSP0000"


def test_withheld_acks_never_come_until_released():
    async def body():
        async with Simulator(config()) as sim:
            key = await approval(sim)
            futures = codes(sim, FUTURES)
            sim.faults.withhold_acks(True)
            async with await connect(sim) as ws:
                await ws.send(request(key, FUTURES, futures[0]))
                seen = [await recv(ws) for _ in range(300)]
                sim.faults.withhold_acks(False)
                await ws.send(request(key, FUTURES, futures[1]))
                ack = await reply(ws)
        return seen, ack, futures[1]

    seen, ack, second = run(body)
    assert all(message[0] == "0" for message in seen)  # data, and never a reply
    assert ack["header"]["tr_key"] == second and ack["body"]["msg_cd"] == "OPSP0000"


def test_refused_approval_is_a_kis_shaped_403_until_switched_off():
    async def body():
        keys = {"demo-app-key": "demo-app-secret", "other": "other-secret"}
        async with Simulator(quiet(app_keys=keys)) as sim:
            sim.faults.refuse_approval(True)
            refused = await asyncio.to_thread(post_approval, sim.rest_url, GOOD)
            sim.faults.refuse_approval(False)
            sim.faults.refuse_approval(True, app_key="other", status=503)
            allowed = await asyncio.to_thread(post_approval, sim.rest_url, GOOD)
            other = {"grant_type": "client_credentials", "appkey": "other", "secretkey": "other-secret"}
            unavailable = await asyncio.to_thread(post_approval, sim.rest_url, other)
        return refused, allowed, unavailable

    refused, allowed, unavailable = run(body)
    assert refused == (403, {"error_description": "유효하지 않은 AppKey입니다.", "error_code": "EGW00103"})
    assert allowed[0] == 200 and len(allowed[1]["approval_key"]) == 36
    assert unavailable[0] == 503 and set(unavailable[1]) == {"error_description", "error_code"}


def test_restart_drops_everyone_and_listens_again_on_the_same_ports():
    async def body():
        async with Simulator(config()) as sim:
            key = await approval(sim)
            urls = sim.ws_url, sim.rest_url
            async with await connect(sim) as ws:
                await subscribe(ws, key, FUTURES, codes(sim, FUTURES)[0])
                await sim.restart()
                await until_closed(ws)
                close_frame = ws.protocol.close_rcvd
            assert not sim.sessions
            async with await connect(sim) as again:
                await subscribe(again, key, FUTURES, codes(sim, FUTURES)[0])  # keys survive
                await next_data(again)
            fresh = await approval(sim)
            return urls, (sim.ws_url, sim.rest_url), close_frame, fresh

    before, after, close_frame, fresh = run(body)
    assert before == after
    assert close_frame is None
    assert len(fresh) == 36


def test_broadcast_sends_a_text_verbatim_to_every_session():
    async def body():
        async with Simulator(quiet()) as sim:
            async with await connect(sim) as one, await connect(sim) as two:
                text = '{"header":{"tr_id":"PINGPONG"}}'
                sent_to = await sim.broadcast(text)
                return sent_to, await recv(one), await recv(two)

    assert run(body) == (2, '{"header":{"tr_id":"PINGPONG"}}', '{"header":{"tr_id":"PINGPONG"}}')


def test_scheduled_faults_run_at_their_time():
    async def body():
        faults = (parse_fault("malformed=2@0.1"), parse_fault("drop@0.3"))
        async with Simulator(quiet(faults=faults)) as sim:
            async with await connect(sim) as ws:
                frames = [await recv(ws), await recv(ws)]
                await until_closed(ws)
                return frames, ws.protocol.close_rcvd

    frames, close_frame = run(body)
    for frame in frames:
        with pytest.raises(ParseError):
            decode(frame)
    assert close_frame is None


@pytest.mark.parametrize(
    "text, expected",
    [
        ("drop@30", ("drop", 30.0, None, None, None)),
        ("stall=5@60,every=120", ("stall", 60.0, "5", 120.0, None)),
        ("malformed=3@10,app_key=demo-app-key", ("malformed", 10.0, "3", None, "demo-app-key")),
        ("withhold-acks=off@1.5", ("withhold-acks", 1.5, "off", None, None)),
        ("refuse-approval=503@0", ("refuse-approval", 0.0, "503", None, None)),
        ("restart@90", ("restart", 90.0, None, None, None)),
    ],
)
def test_fault_syntax(text, expected):
    fault = parse_fault(text)
    assert (fault.name, fault.at, fault.value, fault.every, fault.app_key) == expected


@pytest.mark.parametrize(
    "text", ["drop", "explode@1", "stall@5", "stall=x@5", "drop=1@5", "drop@-1", "drop@5,every=0", "drop@5,when=1",
             "withhold-acks=maybe@1", "refuse-approval=200@1", "malformed=0@1"],
)  # fmt: skip
def test_bad_fault_syntax_is_refused(text):
    with pytest.raises(ValueError):
        parse_fault(text)
