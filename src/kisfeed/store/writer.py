"""Writing the journal: ``JournalWriter``, the feed's ``on_frame`` hook (see ``journal`` for the
layout and the line format).

Durability: ``append`` only queues the frame; every ``fsync_window`` seconds a thread takes
everything queued, and the lines are formatted, written and fsynced (issue 5: "group fsync so
that at most a set window of data is at risk", default 100 ms). A process killed with
``kill -9`` loses at most the frames queued since the last write, i.e. one window; a power cut,
at most one window plus the time of one fsync.

Where the lines are made is ``mode``. ``"thread"``: in that thread, which holds the feed's GIL
while it formats them. ``"process"`` (what ``Recorder`` uses): the thread only joins the
frames' texts and pipes them (a fraction of that GIL time) to ``python -m kisfeed.store.writer_process``, a
child process that formats, writes, fsyncs and reports back; a feed process killed with
``kill -9`` then loses only what it had not piped yet, since the child writes all it received.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import struct
import subprocess
import sys
import threading
import time
from array import array
from collections import deque
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Literal

from ..exceptions import StoreError
from ..schema import KST, kst_day
from .journal import (
    SEALED_SUFFIX,
    SUFFIX,
    Segment,
    escaped,
    fsync_dir,
    line_bytes,
    seal,
)

__all__ = ["JournalWriter", "Segments", "journal_write_error"]

_DAY_NS = 86_400 * 1_000_000_000


def _day_bounds(day: date) -> tuple[int, int]:
    """The receive times (ns) of KST day ``day``: those of one segment (journal: a segment per day)."""
    start = int(datetime(day.year, day.month, day.day, tzinfo=KST).timestamp()) * 1_000_000_000
    return start, start + _DAY_NS


class _OpenSegment:
    """The segment file the writer thread appends to, locked (flock) for as long as it is open,
    so that no converter takes it for a dead run's segment and seals it under the writer."""

    def __init__(self, journal_dir: Path, day: date, first_ns: int, name: str | None) -> None:
        folder = journal_dir / day.isoformat()
        folder.mkdir(parents=True, exist_ok=True)
        if name is None:
            clock = datetime.fromtimestamp(first_ns // 1_000_000_000, KST)
            name = f"{clock:%H%M%S}.{first_ns % 1_000_000_000:09d}-{os.getpid()}"
        self.day = day
        self.bounds = _day_bounds(day)
        self.lines = 0
        for n in range(1, 1000):
            stem = name if n == 1 else f"{name}-{n}"
            if (folder / (stem + SEALED_SUFFIX)).exists():  # sealed: never reopened, never overwritten
                continue
            path = folder / (stem + SUFFIX)
            fd = _reopen(path) if path.exists() else _create(path)
            if fd is not None:
                break
        else:
            raise StoreError(f"no free journal segment name for {name} in {folder}")
        self.fd, self.path = fd, path
        self.segment = Segment(f"{day.isoformat()}/{stem}", path)

    def close(self) -> None:
        os.close(self.fd)  # releases the lock


def _create(path: Path) -> int | None:
    """A new segment, locked before anyone can see it: created under a hidden name, locked, then
    linked to its name (which fails if the name was taken meanwhile)."""
    hidden = path.with_name("." + path.name + ".tmp")
    try:
        fd = os.open(hidden, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
    except FileExistsError:  # another writer is creating it (or crashed doing so): another name
        return None
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        os.link(hidden, path)
    except FileExistsError:
        os.close(fd)
        return None
    finally:
        hidden.unlink()
    fsync_dir(path.parent)
    return fd


def _reopen(path: Path) -> int | None:
    """An existing segment of a crashed run, if nobody (a converter sealing it) holds it."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        if os.stat(path).st_ino != os.fstat(fd).st_ino:  # sealed and removed meanwhile
            raise FileNotFoundError
    except OSError:
        os.close(fd)
        return None
    size = os.fstat(fd).st_size
    if size and not _ends_with_newline(path, size):
        # A crash cut the last line short: end it so that it stays one (bad) line and the next
        # frame starts a line of its own instead of being swallowed by it.
        os.write(fd, b"\n")
    return fd


def _ends_with_newline(path: Path, size: int) -> bool:
    with open(path, "rb") as f:
        f.seek(size - 1)
        return f.read(1) == b"\n"


class Segments:
    """The segment files one writer appends to: formats the lines of a batch of frames, writes
    and fsyncs them as one group, starts the next day's segment at KST midnight, and seals the
    last one on ``close``. Runs in the writer thread or in the writer process."""

    def __init__(self, journal_dir: Path, name: str | None, compress: bool) -> None:
        self.journal_dir, self.name, self.compress = journal_dir, name, compress
        self.open: _OpenSegment | None = None
        self.synced = self.bytes = self.syncs = 0
        self.cpu = 0.0  # seconds of CPU spent formatting and writing

    def write(self, texts: list[bytes], times: Sequence[int], sessions: Sequence[int]) -> None:
        """One group: ``texts`` escaped and UTF-8 encoded (see ``escaped``)."""
        if not texts:
            return
        started = time.thread_time()
        out: list[bytes] = []
        append = out.append
        seg = self.open
        lines = 0
        for text, ns, session in zip(texts, times, sessions):
            if seg is None or not seg.bounds[0] <= ns < seg.bounds[1]:
                if seg is not None:  # the KST day rolled over: finish the old day's segment
                    self._write(seg, out, lines)
                    out, lines = [], 0
                    append = out.append
                    self.close()
                seg = self.open = _OpenSegment(self.journal_dir, kst_day(ns), ns, self.name)
            append(line_bytes(text, ns, session))
            lines += 1
        assert seg is not None
        self._write(seg, out, lines)
        self.cpu += time.thread_time() - started

    def _write(self, seg: _OpenSegment, out: list[bytes], lines: int) -> None:
        if not lines:
            return
        data = b"".join(out)
        view = memoryview(data)
        while view:
            written = os.write(seg.fd, view)
            view = view[written:]
        os.fsync(seg.fd)
        seg.lines += lines
        self.bytes += len(data)
        self.synced += lines
        self.syncs += 1

    def close(self) -> None:
        seg, self.open = self.open, None
        if seg is None:
            return
        if not self.compress:
            seg.close()
            return
        try:
            # Seal while still holding the lock, so that no converter seals it at the same time.
            seal(seg.segment)
        finally:
            seg.close()

    def abandon(self) -> None:
        """After a failed write: close the file as it is on disk (never truncate)."""
        if self.open is not None:
            try:
                self.open.close()
            except OSError:
                pass
            self.open = None


Mode = Literal["thread", "process"]
_PIPE_SIZE = 1 << 20


class JournalWriter:
    """Appends received frames to the day's segment, in fsynced groups (see the module docstring).

    ``append`` is the feed's ``on_frame`` hook: it costs a deque append, nothing on the disk. Use as a context manager, or call ``open()`` and ``close()``. After a write
    error (disk full, directory gone, the writer process killed) ``error`` holds a
    ``StoreError`` and ``append`` raises it.
    """

    def __init__(
        self,
        root: str | Path,
        *,
        fsync_window: float = 0.1,
        compress: bool = True,
        name: str | None = None,
        mode: Mode = "thread",
    ) -> None:
        if fsync_window <= 0:
            raise ValueError("fsync_window must be positive")
        if mode not in ("thread", "process"):
            raise ValueError("mode is 'thread' or 'process'")
        self.root = Path(root)
        self.journal_dir = self.root / "journal"
        self.fsync_window, self.compress, self.mode = fsync_window, compress, mode
        self._name = name
        self._queue: deque[tuple[str, int, int]] = deque()
        self._wake = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._segments = Segments(self.journal_dir, name, compress)  # "thread" mode
        self._child: subprocess.Popen[bytes] | None = None  # "process" mode
        self._reports: threading.Thread | None = None
        self._segment: Segment | None = None  # as the child last reported it
        self.error: StoreError | None = None
        self.frames = 0  # appended
        self.synced = 0  # written and fsynced
        self.bytes = 0
        self.syncs = 0
        self.sync_seconds = 0.0  # CPU time formatting and writing (in whichever thread or process)
        self.feed_seconds = 0.0  # CPU time of this process's writer thread: what the feed shares its GIL with

    # --- lifecycle ---

    def open(self) -> JournalWriter:
        """Check that the journal directory can be written (a clear ``StoreError`` if not) and
        start the writer thread (and process)."""
        try:
            self.journal_dir.mkdir(parents=True, exist_ok=True)
            probe = self.journal_dir / f".probe-{os.getpid()}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise StoreError(
                f"cannot write the journal under {self.journal_dir}: {exc.strerror or exc}"
            ) from exc
        if self.mode == "process":
            command = [sys.executable, "-m", "kisfeed.store.writer_process", str(self.root)]
            if self._name:
                command += ["--name", self._name]
            if not self.compress:
                command.append("--no-compress")
            self._child = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            assert self._child.stdin is not None
            try:  # a window's frames in a few writes, not a context switch per 64 KiB (Linux)
                fcntl.fcntl(self._child.stdin.fileno(), fcntl.F_SETPIPE_SZ, _PIPE_SIZE)
            except (AttributeError, OSError):  # not Linux, or above /proc/sys/fs/pipe-max-size
                pass
            self._reports = threading.Thread(
                target=self._read_reports, name="kisfeed-journal-reports", daemon=True
            )
            self._reports.start()
        self._thread = threading.Thread(target=self._run, name="kisfeed-journal", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        """Write and fsync everything queued, close (and compress) the segment, stop the thread
        (and the process). Raises the ``StoreError`` of a write that failed."""
        if self._thread is not None:
            self._stopping = True
            self._wake.set()
            self._thread.join()
            self._thread = None
        if self._child is not None:
            child, self._child = self._child, None
            assert child.stdin is not None
            try:
                child.stdin.close()  # end of input: the child writes the rest and seals
            except OSError:
                pass
            child.wait()
            assert self._reports is not None
            self._reports.join()
            if child.returncode and self.error is None:
                self.error = StoreError(
                    f"the journal writer process exited with code {child.returncode}; "
                    f"frames it had not written are lost"
                )
        if self.error is not None:
            raise self.error

    def __enter__(self) -> JournalWriter:
        return self.open()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- the hook ---

    def append(self, text: str, received_ns: int, session: int) -> None:
        """Queue one received frame (the ``on_frame`` hook). Never blocks on the disk."""
        if self.error is not None:
            raise self.error
        if self._thread is None:
            raise StoreError("the journal is not open: a frame given to it now would be lost")
        self._queue.append((text, received_ns, session))
        self.frames += 1

    __call__ = append

    def flush(self, timeout: float = 10.0) -> None:
        """Wait until everything appended so far is written and fsynced."""
        target = self.frames
        self._wake.set()
        deadline = time.monotonic() + timeout
        while self.synced < target and self.error is None:
            if time.monotonic() > deadline or self._thread is None:
                raise StoreError(f"journal not synced within {timeout} s")
            time.sleep(0.002)
        if self.error is not None:
            raise self.error

    @property
    def segment(self) -> Segment | None:
        """The segment being written, if any."""
        if self.mode == "process":
            return self._segment
        return self._segments.open.segment if self._segments.open is not None else None

    # --- the writer thread ---

    def _run(self) -> None:
        while True:
            self._wake.wait(self.fsync_window)
            self._wake.clear()
            stopping = self._stopping
            started = time.thread_time()
            try:
                self._drain()
                if stopping and self.mode == "thread":
                    self._segments.close()
            except OSError as exc:
                self._failed(exc)
                return
            except StoreError as exc:
                self.error = exc
                return
            finally:
                self.feed_seconds += time.thread_time() - started
            if stopping or self.error is not None:
                return

    def _drain(self) -> None:
        queue = self._queue
        count = len(queue)
        if not count:
            return
        popleft = queue.popleft
        texts, times, sessions = zip(*[popleft() for _ in range(count)])
        if self.mode == "thread":
            segments = self._segments
            segments.write(escaped(texts).encode().split(b"\n"), times, sessions)
            self.synced, self.bytes, self.syncs = segments.synced, segments.bytes, segments.syncs
            self.sync_seconds = segments.cpu
            return
        blob = escaped(texts).encode()
        message = b"".join(
            (
                struct.pack("<II", count, len(blob)),
                array("q", times).tobytes(),
                array("i", sessions).tobytes(),
                blob,
            )
        )
        assert self._child is not None and self._child.stdin is not None
        try:
            self._child.stdin.write(message)
            self._child.stdin.flush()
        except OSError as exc:  # the child is gone; its reports say why, if it could
            raise StoreError(
                self.error.args[0]
                if self.error
                else f"the journal writer process is gone ({exc.strerror or exc}); "
                f"frames it had not written are lost"
            ) from exc

    def _failed(self, exc: OSError) -> None:
        self.error = journal_write_error(
            exc, self._segments.open.path if self._segments.open else self.journal_dir
        )
        self._segments.abandon()

    def _read_reports(self) -> None:
        """The writer process's reports: one JSON line per group written, one at the end."""
        assert self._child is not None and self._child.stdout is not None
        for line in self._child.stdout:
            report = json.loads(line)
            if "error" in report:
                self.error = StoreError(report["error"])
                continue
            self.synced, self.bytes, self.syncs = report["synced"], report["bytes"], report["syncs"]
            self.sync_seconds = report["cpu"]
            segment = report.get("segment")
            self._segment = Segment(segment[0], Path(segment[1])) if segment else None


def journal_write_error(exc: OSError, where: Path | str) -> StoreError:
    """The one-line error for a failed journal write, in either of the writer's modes."""
    if exc.errno == errno.ENOSPC:
        reason = "the disk is full"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        reason = "permission denied"
    else:
        reason = exc.strerror or str(exc)
    where = exc.filename or where  # the very path, when the system call names one
    return StoreError(
        f"journal write failed at {where}: {reason}; the frames written so far are intact, "
        f"the ones not yet written are lost"
    )
