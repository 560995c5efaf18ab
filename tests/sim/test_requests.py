"""Subscribe/unsubscribe replies exactly as reference 2.2 and 3.1 describe them."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from websockets.exceptions import ConnectionClosed

from kisfeed import decode
from kisfeed.protocol.control import OPSP
from kisfeed.sim import Simulator

from ..conftest import seconds
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
    subscribe,
)


def test_subscribe_ack_has_the_reference_shape_and_an_iv_and_key():
    async def body():
        async with Simulator(quiet()) as sim:
            key = await approval(sim)
            async with await connect(sim, "/tryitout/H0ZFCNT0") as ws:  # any path (ref 1.2)
                code = codes(sim, FUTURES)[0]
                await ws.send(request(key, FUTURES, code))
                answer = await reply(ws)
        assert answer["header"] == {"tr_id": FUTURES, "tr_key": code, "encrypt": "N"}
        body = answer["body"]
        assert (body["rt_cd"], body["msg_cd"], body["msg1"]) == ("0", "OPSP0000", "SUBSCRIBE SUCCESS")
        assert len(body["output"]["iv"]) == 16 and len(body["output"]["key"]) == 32
        assert set(body["output"]) == {"iv", "key"}

    run(body)


def test_already_subscribed_is_opsp0002_and_uses_no_slot():
    async def body():
        async with Simulator(quiet(max_registrations=2)) as sim:
            key = await approval(sim)
            first, second, third = codes(sim, FUTURES)[:3]
            async with await connect(sim) as ws:
                await subscribe(ws, key, FUTURES, first)
                await ws.send(request(key, FUTURES, first))
                again = await reply(ws)
                await subscribe(ws, key, FUTURES, second)  # the duplicate took no slot
                await ws.send(request(key, FUTURES, third))
                over = await reply(ws)
                registrations = sim.sessions[0].registrations
        assert (again["body"]["rt_cd"], again["body"]["msg_cd"]) == ("1", "OPSP0002")
        assert again["header"]["tr_key"] == first and "output" not in again["body"]
        assert over["body"]["msg_cd"] == "OPSP0008"
        assert registrations == {(FUTURES, first), (FUTURES, second)}

    run(body)


def test_unsubscribe_frees_a_slot_and_a_second_unsubscribe_is_opsp0003():
    async def body():
        async with Simulator(quiet(max_registrations=1)) as sim:
            key = await approval(sim)
            first, second = codes(sim, OPTIONS)[:2]
            async with await connect(sim) as ws:
                await subscribe(ws, key, OPTIONS, first)
                await ws.send(request(key, OPTIONS, first, subscribe=False))
                released = await reply(ws)
                await ws.send(request(key, OPTIONS, first, subscribe=False))
                missing = await reply(ws)
                await subscribe(ws, key, OPTIONS, second)  # the released slot is free again
        assert released["header"] == {"tr_id": OPTIONS, "tr_key": first, "encrypt": "N"}
        assert (released["body"]["rt_cd"], released["body"]["msg_cd"]) == ("0", "OPSP0001")
        assert released["body"]["msg1"].startswith("UNSUB")  # how the official runtime detects it
        assert (missing["body"]["rt_cd"], missing["body"]["msg_cd"]) == ("1", "OPSP0003")

    run(body)


def test_41_registrations_are_accepted_and_the_42nd_is_opsp0008():
    async def body():
        async with Simulator(quiet()) as sim:
            key = await approval(sim)
            every = [(i.tr_id, i.code) for i in sim.instruments]
            async with await connect(sim) as ws:
                for tr_id, code in every[:41]:
                    await subscribe(ws, key, tr_id, code)
                await ws.send(request(key, *every[41]))
                over = await reply(ws)
                held = len(sim.sessions[0].registrations)
        assert over["header"] == {"tr_id": every[41][0], "tr_key": every[41][1], "encrypt": "N"}
        assert over["body"] == {"rt_cd": "1", "msg_cd": "OPSP0008", "msg1": "MAX SUBSCRIBE OVER"}
        assert held == 41

    run(body)


def test_unknown_approval_key_is_opsp0011():
    async def body():
        async with Simulator(quiet()) as sim:
            code = codes(sim, FUTURES)[0]
            async with await connect(sim) as ws:
                await ws.send(request(str(uuid.uuid4()), FUTURES, code))
                unknown = await reply(ws)
                await ws.send(json.dumps({"header": {"custtype": "P", "tr_type": "1", "appkey": "x", "appsecret": "y"},
                                          "body": {"input": {"tr_id": FUTURES, "tr_key": code}}}))  # fmt: skip
                legacy = await reply(ws)  # the old appkey/appsecret header form (ref 2.1) is refused
        for answer in (unknown, legacy):
            assert answer["header"] == {"tr_id": FUTURES, "tr_key": code, "encrypt": "N"}
            assert answer["body"] == {
                "rt_cd": "1",
                "msg_cd": "OPSP0011",
                "msg1": "invalid approval : NOT FOUND",
            }

    run(body)


def test_unknown_tr_id_is_opsp8991_and_unknown_code_is_opsp8992_when_refused():
    async def body():
        async with Simulator(quiet(unknown_codes="refuse")) as sim:
            key = await approval(sim)
            option = codes(sim, OPTIONS)[0]
            async with await connect(sim) as ws:
                await ws.send(request(key, "H0STCNT0", "005930"))
                bad_tr = await reply(ws)
                await ws.send(request(key, FUTURES, "A99912"))
                bad_code = await reply(ws)
                await ws.send(request(key, FUTURES, option))  # an option code under the futures TR
                wrong_tr = await reply(ws)
        assert bad_tr["header"]["tr_id"] == "H0STCNT0" and bad_tr["body"]["msg_cd"] == "OPSP8991"
        assert bad_code["header"]["tr_key"] == "A99912" and bad_code["body"]["msg_cd"] == "OPSP8992"
        assert wrong_tr["body"]["msg_cd"] == "OPSP8992"
        for answer in (bad_tr, bad_code, wrong_tr):
            assert answer["body"]["rt_cd"] == OPSP[answer["body"]["msg_cd"]].rt_cd == "1"

    run(body)


def test_unknown_codes_are_registered_silently_by_default():
    # Reference 2.2/8.11: success followed by silence. An unknown code, an old-style code and an
    # option code under the futures TR each take a slot (the 42nd registration is refused), are
    # released like any other, and never bring a record, while a served code trades on.
    async def body():
        async with Simulator(config()) as sim:
            key = await approval(sim)
            future, option = codes(sim, FUTURES)[0], codes(sim, OPTIONS)[0]
            unknown = [(FUTURES, "A99912"), (FUTURES, "111W12"), (FUTURES, option), (OPTIONS, "B99912999")]
            served = [(i.tr_id, i.code) for i in sim.instruments if i.code not in (future, option)]
            async with await connect(sim) as ws:
                acks = []
                for tr_id, code in unknown:
                    await ws.send(request(key, tr_id, code))
                    acks.append(await reply(ws))
                await ws.send(request(key, *unknown[0]))
                again = await reply(ws)
                await subscribe(ws, key, FUTURES, future)
                for tr_id, code in served[: 41 - len(unknown) - 1]:
                    await subscribe(ws, key, tr_id, code)
                await ws.send(request(key, *served[41 - len(unknown) - 1]))
                over = await reply(ws)
                await ws.send(request(key, *unknown[0], subscribe=False))
                released = await reply(ws)
                for tr_id, code in served[: 41 - len(unknown) - 1]:
                    await ws.send(request(key, tr_id, code, subscribe=False))
                    await reply(ws)
                seen = set()
                while len(seen) < 300:  # records until 300 of the future have come
                    message = await recv(ws)
                    if message[0] == "0":
                        seen.update((r.tr_id, r.code, r.volume) for r in decode(message))
                sent = {(tr_id, fields[0]) for tr_id, fields in sim.sent[sim.sessions[0].id]}
        return acks, again, over, released, seen, sent, unknown, future

    acks, again, over, released, seen, sent, unknown, future = run(body)
    for ack, (tr_id, code) in zip(acks, unknown, strict=True):
        assert ack["header"] == {"tr_id": tr_id, "tr_key": code, "encrypt": "N"}
        assert ack["body"]["msg_cd"] == "OPSP0000" and ack["body"]["rt_cd"] == "0"
        assert len(ack["body"]["output"]["key"]) == 32  # an ordinary ack: nothing tells it apart
    assert again["body"]["msg_cd"] == "OPSP0002"
    assert over["body"]["msg_cd"] == "OPSP0008"  # the unknown codes held 4 of the 41 slots
    assert released["body"]["msg_cd"] == "OPSP0001"
    assert {(tr_id, code) for tr_id, code, _ in seen} == {(FUTURES, future)}
    assert (FUTURES, future) in sent and not sent & set(unknown)


def _message(key: str, *, drop: tuple[str, ...] = (), **header: object) -> str:
    message: dict = {
        "header": {"approval_key": key, "custtype": "P", "tr_type": "1", "content-type": "utf-8", **header},
        "body": {"input": {"tr_id": FUTURES, "tr_key": "A11612"}},
    }
    for path in drop:
        where = message
        *parents, last = path.split(".")
        for part in parents:
            where = where[part]
        del where[last]
    return json.dumps(message)


MALFORMED = [
    ("not json", lambda key: "hello", "OPSP9999"),
    ("not an object", lambda key: "[1, 2]", "OPSP9999"),
    ("no header", lambda key: _message(key, drop=("header",)), "OPSP9998"),
    ("no custtype", lambda key: _message(key, drop=("header.custtype",)), "OPSP9997"),
    ("bad custtype", lambda key: _message(key, custtype="X"), "OPSP8998"),
    ("corporate without personalseckey", lambda key: _message(key, custtype="B"), "OPSP8994"),
    ("bad tr_type", lambda key: _message(key, tr_type="3"), "OPSP8997"),
    ("no tr_type", lambda key: _message(key, drop=("header.tr_type",)), "OPSP8997"),
    ("no body", lambda key: _message(key, drop=("body",)), "OPSP9992"),
    ("no input", lambda key: _message(key, drop=("body.input",)), "OPSP9991"),
    ("no tr_key", lambda key: _message(key, drop=("body.input.tr_key",)), "OPSP9990"),
]


@pytest.mark.parametrize("make, msg_cd", [(m, c) for _, m, c in MALFORMED], ids=[n for n, _, _ in MALFORMED])
def test_a_malformed_request_gets_its_json_error_and_the_session_goes_on(make, msg_cd):
    async def body():
        async with Simulator(quiet()) as sim:
            key = await approval(sim)
            async with await connect(sim) as ws:
                await ws.send(make(key))
                answer = await reply(ws)
                await subscribe(ws, key, FUTURES, codes(sim, FUTURES)[0])  # still served
        assert answer["header"] == {"tr_id": "(null)", "tr_key": "", "encrypt": "N"}
        assert answer["body"] == {"rt_cd": OPSP[msg_cd].rt_cd, "msg_cd": msg_cd, "msg1": OPSP[msg_cd].msg1}

    run(body)


def test_a_binary_frame_is_answered_as_invalid_json():
    async def body():
        async with Simulator(quiet()) as sim:
            async with await connect(sim) as ws:
                await ws.send(b"\x00\x01")
                return await reply(ws)

    assert run(body)["body"]["msg_cd"] == "OPSP9999"


def test_one_session_per_app_key_refuses_the_second_with_opsp8996_and_closes_it():
    async def body():
        async with Simulator(quiet()) as sim:
            key = await approval(sim)
            other_key = await approval(sim)  # a second approval key of the same app key (ref 3.2)
            futures = codes(sim, FUTURES)
            async with await connect(sim) as first:
                await subscribe(first, key, FUTURES, futures[0])
                async with await connect(sim) as second:
                    await second.send(request(other_key, FUTURES, futures[1]))
                    refused = await reply(second)
                    with pytest.raises(ConnectionClosed):
                        await reply(second)
                    closed_cleanly = second.close_code
                await subscribe(first, key, FUTURES, futures[1])  # the first session is untouched
            # Once the holder has gone, the app key is free again.
            async with await connect(sim) as third:
                await subscribe(third, other_key, FUTURES, futures[2])
        assert refused["header"] == {"tr_id": "(null)", "tr_key": "", "encrypt": "N"}
        assert refused["body"] == {"rt_cd": "9", "msg_cd": "OPSP8996", "msg1": "ALREADY IN USE appkey"}
        assert closed_cleanly == 1000

    run(body)


def test_two_app_keys_hold_two_sessions():
    async def body():
        keys = {"key-one": "secret-one", "key-two": "secret-two"}
        async with Simulator(quiet(app_keys=keys)) as sim:
            one = await approval(sim, "key-one", "secret-one")
            two = await approval(sim, "key-two", "secret-two")
            code = codes(sim, FUTURES)[0]
            async with await connect(sim) as a, await connect(sim) as b:
                await subscribe(a, one, FUTURES, code)
                await subscribe(b, two, FUTURES, code)
                return sorted(s.app_key for s in sim.sessions)

    assert run(body) == ["key-one", "key-two"]


def test_an_expired_approval_key_opens_no_new_session_but_keeps_an_open_one():
    # Reference 1.4: the key is checked when the session starts; expire_keys_on_open_sessions
    # is the switch for the other reading.
    async def body(strict: bool):
        ttl = seconds(0.5)
        async with Simulator(quiet(approval_key_ttl=ttl, expire_keys_on_open_sessions=strict)) as sim:
            key = await approval(sim)
            futures = codes(sim, FUTURES)
            async with await connect(sim) as ws:
                await subscribe(ws, key, FUTURES, futures[0])  # bound while the key is fresh
                await asyncio.sleep(ttl * 1.5)
                await ws.send(request(key, FUTURES, futures[1]))
                open_session = await reply(ws)
            async with await connect(sim) as fresh:
                await fresh.send(request(key, FUTURES, futures[1]))
                new_session = await reply(fresh)
        return open_session["body"]["msg_cd"], new_session["body"]["msg_cd"]

    assert run(lambda: body(False)) == ("OPSP0000", "OPSP0011")
    assert run(lambda: body(True)) == ("OPSP0011", "OPSP0011")
