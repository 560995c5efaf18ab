"""Stopping the long-running commands with a real signal, in a real subprocess: Ctrl-C (SIGINT)
exits 130 with one ``interrupted`` line (after the summary where there is one); SIGTERM is a
normal stop request (systemd) and exits 0 after the summary. Each test waits for the command's
own "running" line before it signals, never for a fixed time."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from kisfeed.cli.codes import simulator_master
from kisfeed.store import query

from ..conftest import seconds

START = ["--start", "2026-11-20T09:00"]


class Command:
    """A kisfeed subprocess whose stdout and stderr lines are read as they come."""

    def __init__(self, args: list[str], cwd: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("KIS_", "KISFEED_"))}
        env.update(HOME=str(cwd), KISFEED_CACHE_DIR=str(cwd / "cache"), COLUMNS="120")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "kisfeed", *args],
            cwd=cwd,
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.lines: queue.Queue[tuple[str, str]] = queue.Queue()
        self.seen: dict[str, list[str]] = {"out": [], "err": []}
        for name, stream in (("out", self.process.stdout), ("err", self.process.stderr)):
            threading.Thread(target=self._read, args=(name, stream), daemon=True).start()

    def _read(self, name: str, stream) -> None:
        for line in stream:
            self.lines.put((name, line))
        self.lines.put((name, ""))

    def wait_for(self, pattern: str, where: str = "err") -> str:
        """Block until a line of ``where`` matches ``pattern`` (bounded by a safety timeout)."""
        while True:
            try:
                name, line = self.lines.get(timeout=seconds(60))
            except queue.Empty:
                raise AssertionError(f"no line matching {pattern!r}; seen {self.seen}") from None
            if line:
                self.seen[name].append(line)
            elif self.process.poll() is not None and self.lines.empty():
                raise AssertionError(f"exited {self.process.returncode} before {pattern!r}: {self.seen}")
            if name == where and re.search(pattern, line):
                return line

    def stop(self, sig: int) -> tuple[int, str, str]:
        self.process.send_signal(sig)
        try:
            self.process.wait(seconds(60))
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise
        finished = {"out": 0, "err": 0}
        while sum(finished.values()) < 2:
            name, line = self.lines.get(timeout=seconds(10))
            if line:
                self.seen[name].append(line)
            else:
                finished[name] += 1
        return self.process.returncode, "".join(self.seen["out"]), "".join(self.seen["err"])


def _assert_interrupted(code: int, out: str, err: str) -> None:
    assert code == 130, out + err
    assert err.splitlines()[-1] == "interrupted", err
    assert "Traceback" not in out + err


def _recorded(out: str) -> int:
    return int(re.search(r"recorded ([\d,]+) records?", out).group(1).replace(",", ""))


def _recorded_stock(out: str) -> int:
    """The demo's stock trades, from its per-TR summary: it records the KOSPI200 front month
    (H0IFCNT0) too, whose view is the store's (index_futures_trades)."""
    counts = dict(re.findall(r"(H0Z[FO]CNT0): ([\d,]+)", out))
    return sum(int(n.replace(",", "")) for n in counts.values())


def _dataset_rows(data: Path) -> int:
    return sum(
        query(f"SELECT count(*) AS n FROM {view}", root=data).column("n")[0].as_py()
        for view in ("futures_trades", "option_trades")
    )


def _front_call() -> str:
    """A 삼성전자 front-month call of the simulator's universe today, looked up (strike codes
    are listing numbers, not strikes)."""
    return next(
        e.code
        for e in simulator_master().entries
        if (e.kind, e.underlying_code, e.month_class, e.atm) == ("call", "005930", "1", "1")
    )


def test_ctrl_c_stops_record_with_130_after_the_summary_and_the_count_is_the_dataset(tmp_path):
    command = Command(["record", "A11612", _front_call(), "--data", "d"], tmp_path)
    command.wait_for(r"^recording 2 codes")
    code, out, err = command.stop(signal.SIGINT)
    _assert_interrupted(code, out, err)
    assert "stopping: closing the journal" in err
    assert _recorded(out) == _dataset_rows(tmp_path / "d")  # the summary counts what was written


def test_sigterm_stops_record_normally_with_0_after_the_summary(tmp_path):
    command = Command(["record", "A11612", "--data", "d"], tmp_path)
    command.wait_for(r"^recording 1 code ")
    code, out, err = command.stop(signal.SIGTERM)
    assert code == 0, out + err
    assert "interrupted" not in err and "recorded" in out and "Traceback" not in out + err


def test_ctrl_c_stops_demo_with_130_and_its_count_is_what_the_dataset_holds(tmp_path):
    command = Command(["demo", "--data", "d"], tmp_path)
    command.wait_for(r"^connected: \d+ codes subscribed")
    code, out, err = command.stop(signal.SIGINT)
    _assert_interrupted(code, out, err)
    assert _recorded_stock(out) == _dataset_rows(tmp_path / "d")
    assert "query it:" in out and "the KOSPI200 front month" in out


def test_ctrl_c_stops_watch_with_130(tmp_path):
    command = Command(["watch", "A11612", "A50612"], tmp_path)
    command.wait_for(r"^connected: 2 codes subscribed")
    code, out, err = command.stop(signal.SIGINT)
    _assert_interrupted(code, out, err)
    assert "reconnects" in out


def test_ctrl_c_stops_sim_with_130(tmp_path):
    command = Command(["sim", "--port", "0", "--rest-port", "0", "--always-open", *START], tmp_path)
    command.wait_for(r"^Serving", where="out")
    code, out, err = command.stop(signal.SIGINT)
    _assert_interrupted(code, out, err)


@pytest.fixture(scope="module")
def journal(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("recorded")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "kisfeed",
            "record",
            "A11612",
            "A50612",
            "--data",
            str(root / "d"),
            "--seconds",
            "2",
        ],
        capture_output=True,
        text=True,
        timeout=seconds(120),
        env={**os.environ, "KIS_APP_KEY": "", "KIS_APP_SECRET": "", "HOME": str(root)},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert _recorded(done.stdout) > 0, done.stdout
    return root / "d"


def test_ctrl_c_stops_a_paced_replay_with_130(tmp_path, journal):
    # a slow pace (a twentieth of the recorded one) keeps the replay running until the signal
    command = Command(["replay", str(journal), "--speed", "0.05"], tmp_path)
    command.wait_for(r"^time\ttr_id\tcode", where="out")  # the header comes before any record
    code, out, err = command.stop(signal.SIGINT)
    _assert_interrupted(code, out, err)
