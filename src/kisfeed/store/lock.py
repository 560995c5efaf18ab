"""The data directory's two locks, flocks the kernel frees when their holder dies (so a
``kill -9`` never leaves a stale lock), each holding its holder's pid for messages.

- ``<root>/.convert.lock``: one converter at a time (``ConvertLock``); others wait for it.
- ``<root>/.record.lock``: one recorder at a time (``RecordLock``), held for the recorder's whole
  life; a second one is refused at once (``DataDirectoryInUseError``). Two recorders cannot
  share a directory: each one's converter holds ``.convert.lock`` for its whole run, so the
  second waited for the first and then recorded nothing (issue 11, item 1).
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

from ..exceptions import DataDirectoryInUseError, StoreError

__all__ = ["ConvertLock", "RecordLock", "LOCK_NAME", "RECORD_LOCK_NAME"]

LOCK_NAME = ".convert.lock"
RECORD_LOCK_NAME = ".record.lock"


def _open(path: Path) -> int:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise StoreError(f"cannot use the data directory {path.parent}: {exc.strerror or exc}") from exc


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


def _holder(fd: int) -> str:
    return os.pread(fd, 32, 0).decode(errors="replace").strip()


def _own(fd: int) -> None:
    os.ftruncate(fd, 0)
    os.pwrite(fd, str(os.getpid()).encode(), 0)


class ConvertLock:
    """Held while converting ``root``; waits up to ``wait`` seconds for another holder."""

    def __init__(self, root: Path, wait: float) -> None:
        self.path = root / LOCK_NAME
        self.wait = wait
        self.fd: int | None = None

    def __enter__(self) -> ConvertLock:
        fd = _open(self.path)
        deadline = time.monotonic() + self.wait
        while not _try_lock(fd):
            if time.monotonic() >= deadline:
                holder = _holder(fd) or "?"
                os.close(fd)
                raise StoreError(
                    f"another process (pid {holder}) is converting {self.path.parent}; waited {self.wait:g} s"
                ) from None
            time.sleep(0.05)
        _own(fd)
        self.fd = fd
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


class RecordLock:
    """Held by a recorder of ``root`` from ``acquire`` to ``release``; never waits. The fd is not
    inherited by the recorder's child processes (PEP 446), so it dies with the recorder."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.path = root / RECORD_LOCK_NAME
        self.fd: int | None = None

    def acquire(self) -> None:
        fd = _open(self.path)
        if not _try_lock(fd):
            holder = _holder(fd)
            os.close(fd)
            raise DataDirectoryInUseError(self.root, int(holder) if holder.isdigit() else None)
        _own(fd)
        self.fd = fd

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
