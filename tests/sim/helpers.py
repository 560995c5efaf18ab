"""A plain WebSocket/HTTP client for driving the simulator in tests (not kisfeed's client).

Every wait is bounded by a ``seconds()`` safety net, so a broken simulator fails a test instead
of hanging it. Receives use ``asyncio.timeout`` rather than ``asyncio.wait_for``: same bound, but
no task per call, so a message already queued is returned without a trip round the event loop;
with ``wait_for`` a test reading one message per loop turn falls ever further behind a simulator
at infinite speed.
"""

from __future__ import annotations

import asyncio
import functools
import json
import math
import re
import signal
import subprocess
import sys
import time as clock
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, time
from typing import Any, TypeVar

import websockets
from websockets.asyncio.client import ClientConnection

from kisfeed import decode
from kisfeed.protocol import encode_frame
from kisfeed.schema.records import KST
from kisfeed.sim import DEMO_APP_KEY, DEMO_APP_SECRET, Market, SimConfig, Simulator, build_universe

from ..conftest import seconds

T = TypeVar("T")

START = datetime(2026, 11, 20, 9, 0, tzinfo=KST)  # a Friday, at the open
WEEKEND = datetime(2026, 11, 21, 12, 0, tzinfo=KST)  # a Saturday: the market is closed
FUTURES, OPTIONS = "H0ZFCNT0", "H0ZOCNT0"


def option_code(
    kind: str, strike: int, stock: str = "005930", month: int = 1, start: datetime = START
) -> str:
    """The code of an option of the simulator's universe at ``start``, looked up by what it is:
    strike codes are listing numbers, not strikes (sim.listing)."""
    (code,) = [
        i.code
        for i in build_universe(start)
        if (i.kind, i.strike, i.underlying.code, i.month) == (kind, strike, stock, month)
    ]
    return code


def run(make: Callable[[], Awaitable[T]], timeout: float = 60) -> T:
    """Run one async test body with an overall safety timeout."""

    async def bounded() -> T:
        return await asyncio.wait_for(make(), seconds(timeout))

    return asyncio.run(bounded())


def config(**changes: Any) -> SimConfig:
    """A fast, deterministic, always-open simulator on free ports."""
    settings: dict[str, Any] = {"seed": 1, "start": START, "speed": math.inf, "always_open": True}
    settings.update(changes)
    return SimConfig(**settings)


def quiet(**changes: Any) -> SimConfig:
    """A simulator whose market is closed (real time, on a Saturday): no data frames at all,
    for tests about control replies."""
    settings: dict[str, Any] = {"start": WEEKEND, "speed": 1.0, "always_open": False}
    settings.update(changes)
    return config(**settings)


def post_approval(
    rest_url: str, body: bytes | dict[str, Any], method: str = "POST", path: str = "/oauth2/Approval"
) -> tuple[int, dict[str, Any]]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(
        rest_url + path, data=data if method == "POST" else None, method=method,
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=seconds(10)) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


async def approval(sim: Simulator, app_key: str = DEMO_APP_KEY, secret: str = DEMO_APP_SECRET) -> str:
    """An approval key through the HTTP endpoint, as a client gets it (ref 1.3)."""
    body = {"grant_type": "client_credentials", "appkey": app_key, "secretkey": secret}
    status, reply = await asyncio.to_thread(post_approval, sim.rest_url, body)
    assert status == 200, reply
    return reply["approval_key"]


def request(key: str, tr_id: str, tr_key: str, *, subscribe: bool = True, custtype: str = "P") -> str:
    return json.dumps(
        {
            "header": {
                "approval_key": key,
                "custtype": custtype,
                "tr_type": "1" if subscribe else "2",
                "content-type": "utf-8",
            },
            "body": {"input": {"tr_id": tr_id, "tr_key": tr_key}},
        }
    )


async def connect(sim: Simulator, path: str = "/") -> ClientConnection:
    # Library keep-alive pings off, as a KIS client must (ref 2.3); no size limit (ref 2.4). An
    # unbounded receive queue keeps the socket read while a test is not calling recv(), so the
    # closing handshake never waits behind unread data frames.
    return await websockets.connect(
        sim.ws_url + path, ping_interval=None, max_size=None, max_queue=None, compression=None
    )


async def recv(ws: ClientConnection, timeout: float = 10) -> str:
    async with asyncio.timeout(seconds(timeout)):
        message = await ws.recv()
    assert isinstance(message, str), "KIS sends text frames only"
    return message


async def reply(ws: ClientConnection, timeout: float = 10) -> dict[str, Any]:
    """The next control reply, skipping data frames and PINGPONG."""
    while True:
        message = await recv(ws, timeout)
        if message.startswith("{"):
            parsed = json.loads(message)
            if parsed["header"].get("tr_id") != "PINGPONG":
                return parsed


async def subscribe(ws: ClientConnection, key: str, tr_id: str, tr_key: str) -> dict[str, Any]:
    await ws.send(request(key, tr_id, tr_key))
    answer = await reply(ws)
    assert answer["body"]["msg_cd"] == "OPSP0000", answer
    return answer


def codes(sim: Simulator, tr_id: str) -> list[str]:
    """The served codes of one TR, the busiest first (most series trade a few times a day)."""
    return [i.code for i in sim.busiest(tr_id)]


@functools.lru_cache(maxsize=4)
def watched_day(day: date, codes: tuple[str, ...], profile: str = "filled", book_interval: float = 0.2):
    """Every event of ``day`` with ``codes`` watched on all their TRs, decoded, in order."""
    start = datetime.combine(day, time(8, 0), KST)
    universe = build_universe(start)
    market = Market(universe, seed=3, start=start, profile=profile, book_interval=book_interval)
    for i in universe:
        if i.code in codes:
            for tr_id in i.tr_ids:
                market.watch(tr_id, i.code)
    out = []
    while (event := market.next_event()) is not None and datetime.fromtimestamp(
        event.time, KST
    ).date() == day:
        if not event.records:
            continue
        for r in decode(encode_frame(event.tr_id, [[t] for t in event.records])):
            out.append((event.time, r))
    return market, out


@functools.lru_cache(maxsize=4)
def chosen(day: date) -> tuple[str, ...]:
    """A dozen codes: the busiest futures and options, the next months, the quietest series."""
    start = datetime.combine(day, time(8, 0), KST)
    market = Market(build_universe(start), seed=3, start=start)
    rates = market.rates()
    futures = sorted((i for i in market.instruments if i.strike is None), key=lambda i: -rates[i.code])
    options = sorted((i for i in market.instruments if i.strike is not None), key=lambda i: -rates[i.code])
    quiet = [i for i in options if rates[i.code] > 0][-200::50]
    return tuple(i.code for i in futures[:3] + futures[20:22] + options[:3] + quiet)


class SimProcess:
    """A ``kisfeed sim`` process serving: its banner and the URLs the banner names."""

    def __init__(self, process: subprocess.Popen[str], banner: str) -> None:
        self.process, self.banner = process, banner
        self.ws_url = _found(r"ws://127\.0\.0\.1:\d+", banner)
        self.approval_url = _found(r"http://127\.0\.0\.1:\d+/oauth2/Approval", banner)

    async def approval_key(self) -> str:
        """An approval key for the demo pair, over HTTP as a client asks for one."""
        body = json.dumps(
            {"grant_type": "client_credentials", "appkey": DEMO_APP_KEY, "secretkey": DEMO_APP_SECRET}
        ).encode()
        answer = await asyncio.to_thread(
            lambda: urllib.request.urlopen(
                urllib.request.Request(self.approval_url, data=body), timeout=seconds(10)
            ).read()
        )
        return str(json.loads(answer)["approval_key"])


def _found(pattern: str, text: str) -> str:
    match = re.search(pattern, text)
    assert match, (pattern, text)
    return match.group(0)


@contextmanager
def sim_process(*args: str) -> Iterator[SimProcess]:
    """``kisfeed sim --port 0 --rest-port 0 ARGS`` until its banner says it serves; Ctrl-C
    (SIGINT) when the block ends, waited for (the caller may read its exit and output then)."""
    command = [sys.executable, "-m", "kisfeed", "sim", "--port", "0", "--rest-port", "0", *args]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines: list[str] = []
        deadline = clock.monotonic() + seconds(30)
        while not any("Serving" in line for line in lines):
            assert clock.monotonic() < deadline and process.poll() is None, lines
            assert process.stdout is not None
            lines.append(process.stdout.readline())
        yield SimProcess(process, "".join(lines))
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(seconds(20))
        except subprocess.TimeoutExpired:
            process.kill()
            raise
