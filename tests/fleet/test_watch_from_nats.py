"""``kisfeed watch --from nats://…``: the board fed by the fleet's stream, live, with no KIS
credential (issue 17, item 3). A real nats-server and a real ``kisfeed watch`` process."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

from kisfeed.fleet import jetstream
from kisfeed.fleet.options import NatsOptions

from ..conftest import seconds
from .stream import message, publish, trade


def watch_process(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "kisfeed", "watch", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


async def test_the_board_shows_the_streams_records(nats_server, tmp_path):
    nc = await jetstream.connect(NatsOptions(nats_server.url))
    js = nc.jetstream()
    await jetstream.prepare(js)
    # published before the board starts: live means from now on, so these are not shown
    await publish(js, [message("H0ZFCNT0", trade("A11612", 1))])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KIS_", "KISFEED_"))}
    env.update(HOME=str(tmp_path), KISFEED_CACHE_DIR=str(tmp_path / "cache"), COLUMNS="120")
    watch = watch_process("--from", nats_server.url, "A11612", "A01612", "--seconds", "3", env=env)
    try:
        assert watch.stderr is not None
        line = ""
        while not line.startswith("connected to"):
            line = await asyncio.to_thread(watch.stderr.readline)
            assert line, "watch ended before connecting"
        assert "2 codes from the stream" in line
        await publish(js, [message("H0ZFCNT0", trade("A11612", v), v) for v in range(2, 12)])
        await publish(js, [message("H0ZFCNT0", trade("B99999", 5))])  # not asked for: not shown
        out, err = await asyncio.to_thread(watch.communicate, timeout=seconds(30))
    finally:
        watch.kill()
        await nc.close()
    assert watch.returncode == 0, err
    assert "KIS_APP_KEY" not in err  # no KIS credential asked for or needed
    assert "10 records in" in out
    assert "no record from 1 of 2 codes: A01612" in out
    board = out.split("10 records in")[0]
    assert "A11612" in board and "64,300" in board  # the published trades' last price
