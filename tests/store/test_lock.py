"""The data directory's locks: held by one process at a time, named by its pid, freed by the
kernel when the holder dies (``kill -9`` leaves no stale lock), never inherited by children."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from kisfeed.exceptions import DataDirectoryInUseError, StoreError
from kisfeed.store.lock import ConvertLock, RecordLock

from ..conftest import seconds

# A process that takes a lock of ROOT, says so on stdout, and holds it until stdin closes.
HOLDER = """
import sys
from pathlib import Path
from kisfeed.store.lock import ConvertLock, RecordLock
root = Path(sys.argv[2])
if sys.argv[1] == "record":
    RecordLock(root).acquire()
else:
    ConvertLock(root, wait=0).__enter__()
print("held", flush=True)
sys.stdin.read()
"""


def holding(kind: str, root: Path) -> subprocess.Popen[str]:
    child = subprocess.Popen(
        [sys.executable, "-c", HOLDER, kind, str(root)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None and child.stdout.readline() == "held\n"
    return child


def test_a_second_recorder_is_refused_with_the_holders_pid_until_the_holder_dies(tmp_path):
    child = holding("record", tmp_path)
    try:
        with pytest.raises(DataDirectoryInUseError) as refused:
            RecordLock(tmp_path).acquire()
        assert refused.value.pid == child.pid
    finally:
        child.send_signal(signal.SIGKILL)  # no release: the kernel frees the flock
        child.wait(seconds(10))
    lock = RecordLock(tmp_path)
    lock.acquire()
    assert (tmp_path / ".record.lock").read_text() == str(os.getpid())
    lock.release()


def test_a_converter_gives_up_after_its_wait_naming_the_holder(tmp_path):
    child = holding("convert", tmp_path)
    try:
        with pytest.raises(StoreError, match=rf"another process \(pid {child.pid}\) is converting"):
            with ConvertLock(tmp_path, wait=0):
                pass
    finally:
        child.stdin.close()  # the holder exits, and with it its lock
        child.wait(seconds(10))
    with ConvertLock(tmp_path, wait=0) as lock:
        assert lock.fd is not None
    assert lock.fd is None


def test_a_recorders_child_process_does_not_keep_its_lock(tmp_path):
    lock = RecordLock(tmp_path)
    lock.acquire()
    # close_fds=False hands the child every inheritable descriptor: the lock's must not be one
    child = subprocess.Popen(
        [sys.executable, "-c", "import sys; print('started', flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        close_fds=False,
    )
    assert child.stdout.readline() == b"started\n"  # past exec: until then it shares every fd
    try:
        lock.release()
        again = RecordLock(tmp_path)
        again.acquire()  # the child still runs, yet the lock is free
        again.release()
    finally:
        child.stdin.close()
        child.wait(seconds(10))
