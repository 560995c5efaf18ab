"""One converter per data directory: ``<root>/.convert.lock``, an flock the kernel frees when its
holder dies (so a ``kill -9`` never leaves a stale lock), holding the holder's pid for messages."""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

from ..exceptions import StoreError

__all__ = ["ConvertLock", "LOCK_NAME"]

LOCK_NAME = ".convert.lock"


class ConvertLock:
    """Held while converting ``root``; waits up to ``wait`` seconds for another holder."""

    def __init__(self, root: Path, wait: float) -> None:
        self.path = root / LOCK_NAME
        self.wait = wait
        self.fd: int | None = None

    def __enter__(self) -> ConvertLock:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StoreError(f"cannot use the data directory {self.path.parent}: {exc.strerror or exc}") from exc
        deadline = time.monotonic() + self.wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError:
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
                    os.close(fd)
                    raise StoreError(f"another process (pid {holder}) is converting {self.path.parent}; "
                                     f"waited {self.wait:g} s") from None
                time.sleep(0.05)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self.fd = fd
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
