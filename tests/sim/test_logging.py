"""The simulator's logs hold no secret at any level (issue 11, item 26): not an app key, a
secret, an approval key or a session's AES key/iv, nor a piece of one. websockets logs the
start and end of every frame at DEBUG, and a request's start is its approval key."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import uuid

import pytest
import websockets

import kisfeed
from kisfeed.sim import Simulator

from ..conftest import seconds
from .helpers import FUTURES, codes, config, post_approval, recv, reply, run

APP_KEY, APP_SECRET = f"PS{uuid.uuid4().hex}", uuid.uuid4().hex + uuid.uuid4().hex
PIECE = 8  # no run of this many characters of a secret may appear


def pieces(secret: str) -> set[str]:
    return {secret[i : i + PIECE] for i in range(len(secret) - PIECE + 1)}


def corporate_request_with_the_key_last(key: str, code: str) -> str:
    # The approval key at the end of the frame, where websockets' log shows the last characters.
    return json.dumps({
        "body": {"input": {"tr_id": FUTURES, "tr_key": code}},
        "header": {"custtype": "B", "personalseckey": APP_SECRET, "tr_type": "1", "content-type": "utf-8",
                   "approval_key": key},
    })  # fmt: skip


def test_no_secret_in_the_simulators_logs_through_approval_subscribe_and_reconnect(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    secrets = {APP_KEY, APP_SECRET}

    async def body() -> None:
        reconnected = asyncio.Event()

        def on_record(session_id: int, tr_id: str, fields: list[str]) -> None:
            if session_id >= 2:  # the kisfeed client's second session sends data
                reconnected.set()

        async with Simulator(config(app_keys={APP_KEY: APP_SECRET}, on_record=on_record)) as sim:
            code = codes(sim, FUTURES)[0]
            feed = kisfeed.connect(
                credentials=[(APP_KEY, APP_SECRET)], ws_url=sim.ws_url, rest_url=sim.rest_url,
                cache_dir=tmp_path / "cache", backoff=lambda: itertools.repeat(0.05), subscribe_interval=0.0,
                watchdog=seconds(5), reply_timeout=seconds(10), key_in_use_delay=0.2,
            )  # fmt: skip
            async with feed:
                await feed.subscribe(FUTURES, code)
                await asyncio.wait_for(feed.__anext__(), seconds(10))
                (session,) = sim.sessions
                secrets.update(session.key_iv)
                await asyncio.wait_for(sim.faults.drop(), seconds(10))  # the client reconnects
                await asyncio.wait_for(reconnected.wait(), seconds(10))
                await asyncio.wait_for(feed.__anext__(), seconds(10))
                secrets.update(*(s.key_iv for s in sim.sessions))
            for session in sim.sessions:  # the app key is free for the next client
                await asyncio.wait_for(session.ended.wait(), seconds(10))
            # A client that puts its keys everywhere: headers, the query string, a corporate
            # request with the key last, a binary frame, a close reason.
            status, answer = await asyncio.to_thread(
                post_approval, sim.rest_url,
                {"grant_type": "client_credentials", "appkey": APP_KEY, "secretkey": APP_SECRET},
            )  # fmt: skip
            assert status == 200, answer
            key = answer["approval_key"]
            ws = await websockets.connect(
                f"{sim.ws_url}/?approval_key={key}&appsecret={APP_SECRET}", ping_interval=None,
                additional_headers={"appkey": APP_KEY, "appsecret": APP_SECRET, "approval_key": key},
            )  # fmt: skip
            await ws.send(corporate_request_with_the_key_last(key, code))
            assert (await reply(ws))["body"]["msg_cd"] == "OPSP0000"
            secrets.update(sim.sessions[-1].key_iv)
            await recv(ws)
            await ws.send(key.encode())
            assert (await reply(ws))["body"]["msg_cd"] == "OPSP9999"
            await ws.close(1000, key)
            secrets.update(sim.keys._issued)  # every approval key issued, the client's too

    run(body)
    # Every logger of the run: the simulator's and the kisfeed client's (kisfeed.wslog serves both
    # ends), httpx; not websockets.client, the log of this test's own hostile raw client.
    logged = [r for r in caplog.records if r.name != "websockets.client"]
    assert any(r.name == "kisfeed.websockets" and "TEXT" in r.getMessage() for r in logged)
    assert any("TEXT" in r.getMessage() for r in logged), "websockets' frame log was not captured"
    assert any(r.getMessage().startswith("< CLOSE") for r in logged)  # the reason was the approval key
    assert len(secrets) >= 2 + 2 * 3 + 2  # app key, secret, key/iv of 3 sessions, 2 approval keys
    for record in logged:
        text = record.getMessage() + (
            logging.Formatter().formatException(record.exc_info) if record.exc_info else ""
        )
        found = [piece for secret in secrets for piece in pieces(secret) if piece in text]
        assert not found, f"{record.name} {record.levelname}: {text!r} holds {found[0]!r}"


@pytest.mark.parametrize(("path", "shown"), [("/", "/"), ("/feed?approval_key=x", "/feed?***")])
def test_the_simulators_websocket_log_keeps_what_debugging_needs(caplog, path, shown):
    # Redaction hides payloads, not the frame: opcode, length, close code, data frames as sent.
    caplog.set_level(logging.DEBUG)

    async def body() -> None:
        async with Simulator(config()) as sim:
            async with await websockets.connect(sim.ws_url + path, ping_interval=None) as ws:
                await ws.send("not json")
                await reply(ws)

    run(body)
    lines = [r.getMessage() for r in caplog.records if r.name == "kisfeed.sim.websockets"]
    assert "< TEXT [8 bytes, not logged: may carry a key]" in lines
    assert any(line.startswith('> TEXT \'{"header":{"tr_id":"(null)"') for line in lines), lines
    assert f"< GET {shown} HTTP/1.1" in lines
    assert "< CLOSE 1000 [reason not logged]" in lines
    assert "> CLOSE 1000 [reason not logged]" in lines  # the close reply echoes the client's reason
