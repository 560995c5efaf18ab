"""``kisfeed sim --ground-truth`` holds every record a client received (issue 11, item 25): a
SIGTERM stops the simulator in order and flushes the file, and while it serves the file is
flushed every fraction of a second, so that even a kill -9 loses no record sent long enough ago."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from kisfeed.protocol.frames import split_frame
from kisfeed.sim import Simulator

from ..conftest import seconds
from .helpers import (
    FUTURES,
    OPTIONS,
    approval,
    codes,
    config,
    connect,
    option_code,
    recv,
    request,
    run,
    subscribe,
)

START = ["--start", "2026-11-20T09:00"]
CODES = [(FUTURES, "A11612"), (OPTIONS, option_code("call", 70_000))]  # 삼성전자 Dec 2026
Record = tuple[str, tuple[str, ...]]


def start_sim(truth: Path, *extra: str) -> tuple[subprocess.Popen[str], str, str]:
    """A ``kisfeed sim`` process, once it serves: (process, WebSocket URL, approval URL)."""
    command = [sys.executable, "-m", "kisfeed", "sim", "--port", "0", "--rest-port", "0", "--speed", "inf",
               "--always-open", *START, "--ground-truth", str(truth), *extra]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines, deadline = [], time.monotonic() + seconds(30)
    while not any("Serving" in line for line in lines):
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            pytest.fail(f"the simulator did not start: {lines} {process.stderr.read()}")
        lines.append(process.stdout.readline())
    output = "".join(lines)
    ws_url = re.search(r"ws://127\.0\.0\.1:\d+", output).group(0)
    approval_url = re.search(r"http://127\.0\.0\.1:\d+/oauth2/Approval", output).group(0)
    return process, ws_url, approval_url


def finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    try:
        out, err = process.communicate(timeout=seconds(20))
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    return process.returncode, out, err


def records_of(frame: str) -> list[Record]:
    tr_id, count, fields = split_frame(frame)
    width = len(fields) // count
    return [(tr_id, tuple(fields[i : i + width])) for i in range(0, len(fields), width)]


def ground_truth(path: Path) -> list[Record]:
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert {line["session"] for line in lines} <= {1}  # the one client's session
    return [(line["tr_id"], tuple(line["fields"])) for line in lines]


async def subscribed(ws_url: str, approval_url: str) -> tuple[websockets.ClientConnection, str]:
    """A client subscribed to ``CODES``, and its approval key."""
    body = json.dumps({"grant_type": "client_credentials", "appkey": "demo-app-key",
                       "secretkey": "demo-app-secret"}).encode()  # fmt: skip
    reply = await asyncio.to_thread(
        lambda: urllib.request.urlopen(
            urllib.request.Request(approval_url, data=body), timeout=seconds(10)
        ).read()
    )
    key = json.loads(reply)["approval_key"]
    ws = await websockets.connect(ws_url, ping_interval=None, max_size=None)
    for tr_id, code in CODES:
        await ws.send(request(key, tr_id, code))
    return ws, key


def test_sigterm_leaves_every_record_the_client_received_in_the_ground_truth(tmp_path):
    truth = tmp_path / "truth.jsonl"
    process, ws_url, approval_url = start_sim(truth)

    async def use() -> list[Record]:
        received: list[Record] = []
        ws, _ = await subscribed(ws_url, approval_url)
        try:
            while len(received) < 200:
                message = await recv(ws)
                if message[0] == "0":
                    received += records_of(message)
            process.send_signal(signal.SIGTERM)  # while records are in flight
            while True:  # everything the simulator still sends until it has stopped
                message = await recv(ws)
                if message[0] == "0":
                    received += records_of(message)
        except ConnectionClosed:
            pass
        return received

    try:
        received = asyncio.run(use())
    except BaseException:
        process.kill()
        finish(process)
        raise
    code, out, err = finish(process)
    assert code == 0, err
    assert "stopped (terminated)" in out
    sent = ground_truth(truth)
    assert len(received) >= 200
    assert sent[: len(received)] == received  # in wire order; the file may hold frames still in flight
    assert f"{len(sent):,} records in {truth}" in out


def test_the_ground_truth_is_on_disk_while_serving_so_kill_9_loses_nothing_sent_earlier(tmp_path):
    truth = tmp_path / "truth.jsonl"
    process, ws_url, approval_url = start_sim(truth)

    async def receive_then_release() -> list[Record]:
        received: list[Record] = []
        ws, key = await subscribed(ws_url, approval_url)
        async with ws:
            while len(received) < 50:
                message = await recv(ws)
                if message[0] == "0":
                    received += records_of(message)
            # Release both codes: records traded before a release are sent before its reply
            # (ref 3.1), so once both replies are in, the client has every record sent.
            for tr_id, code in CODES:
                await ws.send(request(key, tr_id, code, subscribe=False))
            released = 0
            while released < len(CODES):
                message = await recv(ws)
                if message[0] == "0":
                    received += records_of(message)
                elif json.loads(message).get("body", {}).get("msg_cd") == "OPSP0001":
                    released += 1
            # Still connected (a close would not change the file): the simulator has nothing
            # more to send, so only the periodic flush can bring the tail to disk.
            deadline = time.monotonic() + seconds(10)
            while ground_truth(truth) != received:
                assert time.monotonic() < deadline, (
                    f"{len(ground_truth(truth))} of {len(received)} records on disk"
                )
                await asyncio.sleep(0.05)
        return received

    try:
        received = asyncio.run(receive_then_release())
    finally:
        process.kill()  # kill -9: no clean-up at all
        finish(process)
    assert ground_truth(truth) == received


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (Linux)")
def test_a_ground_truth_write_error_stops_the_simulator_with_one_line_and_exit_1(tmp_path):
    process, ws_url, approval_url = start_sim(Path("/dev/full"))  # every write: ENOSPC

    async def use() -> None:
        ws, _ = await subscribed(ws_url, approval_url)
        with pytest.raises(ConnectionClosed):  # the simulator stops at its first flush
            while True:
                await recv(ws)

    try:
        asyncio.run(use())
    except BaseException:
        process.kill()
        raise
    finally:
        code, out, err = finish(process)
    assert code == 1, (out, err)
    assert err.strip() == "error: cannot write /dev/full: No space left on device", err
    assert "Traceback" not in err


def test_frames_that_reach_the_client_while_their_send_drains_are_in_the_ground_truth():
    # The writer blocks in a send (the transport's buffer is above its high-water mark) while its
    # frames trickle through small socket buffers to the client; then the connection drops. The
    # frames the client got from that send are sent, though the send never returned.
    async def body() -> tuple[list[Record], list[Record]]:
        async with Simulator(config()) as sim:
            key = await approval(sim)
            ws = await connect(sim)
            ws.transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            await subscribe(ws, key, FUTURES, codes(sim, FUTURES)[0])
            (session,) = sim.sessions
            server_side = session.ws.transport
            server_side.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
            ws.transport.pause_reading()
            async with asyncio.timeout(seconds(10)):
                while server_side.get_write_buffer_size() <= server_side.get_write_buffer_limits()[1]:
                    await asyncio.sleep(0.01)  # until the writer waits for the buffer to drain
            # It now waits until the buffer is empty, so its frames reach the client first.
            server_side.set_write_buffer_limits(high=server_side.get_write_buffer_limits()[1], low=0)
            recorded = len(sim.sent[session.id])
            ws.transport.resume_reading()
            received: list[Record] = []
            while len(received) <= recorded:
                message = await recv(ws)
                if message[0] == "0":
                    received += records_of(message)
            await sim.faults.drop()
            try:
                while True:
                    message = await recv(ws)
                    if message[0] == "0":
                        received += records_of(message)
            except ConnectionClosed:
                pass
            return received, [(tr_id, tuple(fields)) for tr_id, fields in sim.sent[session.id]]

    received, sent = run(body)
    assert sent[: len(received)] == received, f"{len(received)} records received, {len(sent)} sent"
