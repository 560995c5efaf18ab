"""The real parts of the fleet tests: a ``kisfeed sim`` with several app keys, ``kisfeed fleet
feed`` processes, the ``fleet`` commands, and the stream read back with an ordered consumer."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import subprocess
import sys
import time
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

from kisfeed.fleet import NatsOptions, wire
from kisfeed.schema import CODECS, KST
from kisfeed.sim import Market, build_universe

from ..cli.test_stop import Command
from ..conftest import seconds


class Proc(Command):
    """``Command`` with Python's fault handler on: a process that does not stop when asked is
    aborted (SIGABRT) and the test fails with every thread's stack, instead of hanging."""

    def __init__(self, args: list[str], cwd: Path) -> None:
        import os
        import queue
        import threading

        env = {k: v for k, v in os.environ.items() if not k.startswith(("KIS_", "KISFEED_"))}
        env.update(HOME=str(cwd), KISFEED_CACHE_DIR=str(cwd / "cache"), COLUMNS="120", PYTHONFAULTHANDLER="1")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "kisfeed", *args], cwd=cwd, env=env, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        self.lines: queue.Queue[tuple[str, str]] = queue.Queue()
        self.seen: dict[str, list[str]] = {"out": [], "err": []}
        for name, stream in (("out", self.process.stdout), ("err", self.process.stderr)):
            threading.Thread(target=self._read, args=(name, stream), daemon=True).start()

    def stop(self, sig: int) -> tuple[int, str, str]:
        self.process.send_signal(sig)
        try:
            self.process.wait(seconds(30))
        except subprocess.TimeoutExpired:
            self.process.send_signal(signal.SIGABRT)  # the fault handler prints every stack
            self.process.wait(seconds(10))
            time.sleep(0.5)
            while not self.lines.empty():
                name, line = self.lines.get()
                self.seen[name].append(line)
            raise AssertionError("did not stop:\n" + "".join(self.seen["err"])[-6000:]) from None
        return super().stop(sig)


START = datetime(2026, 11, 20, 9, 0, tzinfo=KST)  # a Friday at the open (tests/sim/helpers.py)
LEASE = 6.0  # seconds: the default. 3 s made the tests shorter, but a feeder busy subscribing
# 34 codes beside a simulator, two other feeders and nats-server on 2 cores missed renewals
# often enough in CI that leases lapsed and were claimed again (gap events twice)
KEYS = [(f"PSfleet-key-{n}", f"fleet-secret-{n}-9f3a") for n in range(1, 5)]


def busy_codes(n: int) -> list[str]:
    """The ``n`` stock futures and options that trade most in the simulator at ``START``."""
    universe = build_universe(START)
    rates = Market(universe, seed=1, start=START).rates()
    ranked = sorted(universe, key=lambda i: (-rates.get(i.code, 0.0), i.code))
    return [i.code for i in ranked[:n]]


class Sim:
    """``kisfeed sim`` with the app keys ``KEYS``, always open at ``START``, its ground truth kept."""

    def __init__(self, tmp: Path, speed: float = 20, activity: float = 30) -> None:
        self.truth = tmp / "truth.jsonl"
        args = ["sim", "--port", "0", "--rest-port", "0", "--always-open", "--speed", f"{speed:g}",
                "--activity", f"{activity:g}", "--seed", "1", "--start", START.isoformat(),
                "--ground-truth", str(self.truth)]  # fmt: skip
        for key, secret in KEYS:
            args += ["--app-key", f"{key}:{secret}"]
        self.command = Proc(args, tmp)
        banner = ""
        while "Serving" not in banner:
            banner += self.command.wait_for(r".", where="out")
        self.ws_url = re.search(r"ws://127\.0\.0\.1:\d+", banner).group(0)  # type: ignore[union-attr]
        self.rest_url = re.search(r"REST base (http://127\.0\.0\.1:\d+)", banner).group(1)  # type: ignore[union-attr]

    def stop(self) -> None:
        if self.command.process.poll() is None:
            self.command.stop(signal.SIGTERM)

    def sent_by_code(self) -> dict[str, list[tuple[str, ...]]]:
        """The ground truth per code, in send order, as canonical wire texts: each trade once.
        A trade the simulator sent to two sessions (a hand-over, when two feeders briefly serve
        one code: the case the stream's de-duplication is for) is one trade."""
        out: dict[str, list[tuple[str, ...]]] = defaultdict(list)
        for line in self.truth.read_text().splitlines():
            row = json.loads(line)
            trade = canonical(row["tr_id"], row["fields"])
            if trade not in out[row["fields"][0]]:
                out[row["fields"][0]].append(trade)
        return out


def canonical(tr_id: str, fields: list[str]) -> tuple[str, ...]:
    """Wire texts as kisfeed would write the same values (tests/client/conftest.py)."""
    codec = CODECS[tr_id]
    (record,), errors = codec.decode_carefully(list(fields), 1)
    assert not errors
    return tuple(codec.encode(record))


class Feeder:
    """A ``kisfeed fleet feed`` process with app key ``KEYS[key]`` (or several)."""

    def __init__(self, tmp: Path, sim: Sim, nats_url: str, name: str, *keys: int, feed: str = "") -> None:
        home = tmp / name
        home.mkdir(exist_ok=True)
        config = home / "feeder.toml"
        pairs = [KEYS[k] for k in keys]
        lines = [f'app_key = "{pairs[0][0]}"', f'app_secret = "{pairs[0][1]}"']
        for key, secret in pairs[1:]:
            lines += ["[[credentials]]", f'app_key = "{key}"', f'app_secret = "{secret}"']
        config.write_text("\n".join(lines) + "\n" + (f"[feed]\n{feed}\n" if feed else ""))
        self.name = name
        # info: every claim, release and gap on its stderr, for a failing test to show
        self.command = Proc(
            ["--log-level", "info", "fleet", "feed", "--nats", nats_url, "--id", name, "--config", str(config),
             "--ws-url", sim.ws_url, "--rest-url", sim.rest_url, "--lease-seconds", f"{LEASE:g}",
             "--metrics-port", "0"],
            home,
        )  # fmt: skip
        self.metrics: str | None = None

    def ready(self) -> Feeder:
        """Wait for the feeder's banner (its metrics address)."""
        line = self.command.wait_for(r"^feeder ", where="out")
        found = re.search(r"metrics (http://\S+)", line)
        self.metrics = found.group(1) if found else None
        return self

    def kill(self) -> None:
        self.command.process.kill()
        self.command.process.wait(seconds(10))

    def stop(self) -> tuple[int, str, str]:
        return self.command.stop(signal.SIGTERM)


def start_feeders(tmp: Path, sim: Sim, nats_url: str, names: list[str], **kwargs: Any) -> list[Feeder]:
    """One feeder per name, the n-th with app key n, started together (they start in parallel)."""
    feeders = [Feeder(tmp, sim, nats_url, name, n, **kwargs) for n, name in enumerate(names)]
    return [f.ready() for f in feeders]


_MASTER: list[str] = []


def master_file(tmp: Path) -> str:
    """The simulator's stock master at ``START`` (what ``fleet add --master`` checks codes
    against), written once per test session."""
    if not _MASTER:
        path = tmp / "fo_stk_code_mts.mst"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "kisfeed",
                "sim",
                "--start",
                START.isoformat(),
                "--write-master",
                str(path),
            ],
            check=True,
            capture_output=True,
            timeout=seconds(60),
        )
        _MASTER.append(str(path))
    return _MASTER[0]


def fleet(nats_url: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``kisfeed fleet ARGS --nats URL``, run to its end."""
    import os

    environ = {k: v for k, v in os.environ.items() if not k.startswith(("KIS_", "KISFEED_"))}
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "kisfeed", "fleet", *args, "--nats", nats_url],
        capture_output=True,
        text=True,
        timeout=seconds(60),
        env=environ,
    )


def status(nats_url: str) -> dict[str, Any]:
    from kisfeed.cli.fleet import fleet_status

    return asyncio.run(fleet_status(NatsOptions(nats_url)))


def wait_until(check: Any, timeout: float, what: str, every: float = 0.25) -> Any:
    deadline = time.monotonic() + seconds(timeout)
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, what
        time.sleep(every)


async def _read(nats_url: str) -> list[tuple[str, bytes, dict[str, str]]]:
    import nats
    from nats.js.api import DeliverPolicy

    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        last = (await js.stream_info(wire.STREAM)).state.last_seq
        got: list[tuple[str, bytes, dict[str, str]]] = []
        if not last:
            return got
        sub = await js.subscribe(
            ">", stream=wire.STREAM, ordered_consumer=True, deliver_policy=DeliverPolicy.ALL
        )
        while True:
            msg = await sub.next_msg(timeout=seconds(10))
            got.append((msg.subject, msg.data, dict(msg.headers or {})))
            if msg.metadata.sequence.stream >= last:
                break
        await sub.unsubscribe()
        return got
    finally:
        await nc.close()


def read_stream(nats_url: str) -> list[tuple[str, bytes, dict[str, str]]]:
    """Every message of the stream, in stream order: (subject, payload, headers)."""
    return asyncio.run(_read(nats_url))


def records_by_code(messages: list[tuple[str, bytes, dict[str, str]]]) -> dict[str, list[tuple[str, ...]]]:
    out: dict[str, list[tuple[str, ...]]] = defaultdict(list)
    for subject, payload, headers in messages:
        if subject.startswith("kis."):
            record = wire.parse_record(subject, payload, headers)
            out[record.fields[0]].append(canonical(record.tr_id, record.fields))
    return out


def gaps(messages: list[tuple[str, bytes, dict[str, str]]]) -> list[wire.GapEvent]:
    return [wire.parse_gap(s, p) for s, p, _h in messages if s.startswith("kisfeed.gap.")]
