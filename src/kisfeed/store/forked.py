"""A function run in a forked child process, its JSON result read back through a pipe.

``rebuild`` converts the parts of a large sealed segment this way: one Python process holds the
GIL for much of conversion's CPU time, so a second process, not a thread, is what uses a
second core. Forking (rather than starting a new interpreter) spares importing numpy and
pyarrow again, and is done only where it is safe: when the process
runs no other Python thread (``kisfeed rebuild``, not the recorder's threads).
"""

from __future__ import annotations

import json
import os
import signal
import struct
import sys
import threading
import warnings
from collections.abc import Callable
from typing import Generic, TypeVar

from ..exceptions import StoreError

__all__ = ["Forked", "WorkQueue", "can_fork"]


def can_fork() -> bool:
    """True where a fork is safe: on Linux (macOS system libraries are not fork-safe), with no
    other Python thread that could hold a lock the child would inherit."""
    return sys.platform.startswith("linux") and threading.active_count() == 1


T = TypeVar("T")


class Forked(Generic[T]):
    """``fn()`` running in a child process; ``result()`` waits for what it returned, through
    JSON: ``T`` is a type JSON gives back as it was (no tuples, no keys other than strings).

    A child that raises, or dies (killed, out of memory), makes ``result()`` raise a
    ``StoreError`` that says what happened to ``what``.
    """

    def __init__(self, fn: Callable[[], T], what: str) -> None:
        self.what = what
        read, write = os.pipe()
        with warnings.catch_warnings():
            # Python 3.12+ warns when the process has any other OS thread (it reads
            # /proc/self/stat). Here those are idle native pools (OpenBLAS, Arrow, DuckDB), which
            # take no Python lock; no Python thread runs (can_fork).
            warnings.simplefilter("ignore", DeprecationWarning)
            self.pid = os.fork()
        if self.pid == 0:  # the child: never returns
            code = 1
            try:
                os.close(read)
                try:
                    payload: dict[str, object] = {"result": fn()}
                    code = 0
                except BaseException as exc:  # reported to the parent, which raises it there
                    payload = {"error": str(exc) or type(exc).__name__}
                with open(write, "wb") as out:
                    out.write(json.dumps(payload).encode())
            finally:
                os._exit(code)  # no atexit handlers, no flush of the parent's buffers
        os.close(write)
        self._pipe = open(read, "rb")
        self._status: int | None = None

    def result(self) -> T:
        with self._pipe:
            data = self._pipe.read()
        self._wait()
        assert self._status is not None
        if os.WIFSIGNALED(self._status):
            raise StoreError(f"{self.what} died: {signal.Signals(os.WTERMSIG(self._status)).name}")
        try:
            payload = json.loads(data)
        except ValueError:
            payload = {"error": f"exit status {os.waitstatus_to_exitcode(self._status)}, no result"}
        if "error" in payload:
            raise StoreError(f"{self.what} failed: {payload['error']}")
        result: T = payload["result"]  # what fn returned, as JSON keeps it (see the class)
        return result

    def kill(self) -> None:
        """Stop the child (after an error in the parent) and reap it."""
        if self._status is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self._wait()
        self._pipe.close()

    def _wait(self) -> None:
        if self._status is None:
            self._status = os.waitpid(self.pid, 0)[1]


class WorkQueue:
    """The numbers ``0 … n - 1``, each taken once by whichever process (forked after it was made)
    asks first: a pipe filled up front, from which each ``take`` reads one number (a pipe read
    of 4 bytes is atomic)."""

    def __init__(self, n: int) -> None:
        self._read, write = os.pipe()
        try:
            os.write(write, b"".join(struct.pack("<I", i) for i in range(n)))  # fits its buffer
        finally:
            os.close(write)  # no writer left: an empty pipe reads as the end

    def take(self) -> int | None:
        data = os.read(self._read, 4)
        return struct.unpack("<I", data)[0] if data else None

    def __enter__(self) -> WorkQueue:
        return self

    def __exit__(self, *exc_info: object) -> None:
        os.close(self._read)
