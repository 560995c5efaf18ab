"""Writing the journal: ``JournalWriter``, the feed's ``on_frame`` hook (see ``journal`` for the
layout and the line format).

Durability: ``append`` only queues the frame; every ``fsync_window`` seconds a thread takes
everything queued, and the lines are formatted, written and fsynced (issue 5: "group fsync so
that at most a set window of data is at risk", default 100 ms). A process killed with
``kill -9`` loses at most the frames queued since the last write, i.e. one window; a power cut,
at most one window plus the time of one fsync.

The thread holds the feed's GIL only while it formats a group (``journal.format_line``: an
encode and a CRC per frame); ``os.write`` and ``os.fsync`` release it. A writer process was
tried (issue 13): piping the frames to it cost the feed's process nearly what formatting them
does, and it added a process of its own and a pipe protocol.
"""

from __future__ import annotations

import errno
import fcntl
import os
import threading
import time
from collections import deque
from collections.abc import Sequence
from datetime import date, datetime
from itertools import starmap
from operator import itemgetter
from pathlib import Path

from ..exceptions import StoreError
from ..schema import KST, kst_day
from .journal import SEALED_SUFFIX, SUFFIX, Segment, format_line, fsync_dir, seal

__all__ = ["JournalWriter"]

_DAY_NS = 86_400 * 1_000_000_000
_TIME = itemgetter(1)  # of a queued (text, received_ns, session)


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
        self.bounds = _day_bounds(day)
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
    last one on ``close``. Runs in the writer thread."""

    def __init__(self, journal_dir: Path, name: str | None, compress: bool) -> None:
        self.journal_dir, self.name, self.compress = journal_dir, name, compress
        self.open: _OpenSegment | None = None
        self.synced = self.bytes = self.syncs = 0

    def write(self, frames: Sequence[tuple[str, int, int]]) -> None:
        """One group: ``(text, received_ns, session)`` as ``JournalWriter.append`` queued them,
        each formatted straight to its line (no join, encode and split of the whole group)."""
        if not frames:
            return
        seg = self.open
        if (
            seg is not None
            and seg.bounds[0] <= min(map(_TIME, frames))
            and max(map(_TIME, frames)) < seg.bounds[1]
        ):
            self._write(seg, list(starmap(format_line, frames)))  # the usual group: all of one day
            return
        out: list[bytes] = []
        for text, ns, session in frames:
            if seg is None or not seg.bounds[0] <= ns < seg.bounds[1]:
                if seg is not None:  # the KST day rolled over: finish the old day's segment
                    self._write(seg, out)
                    out = []
                    self.close()
                seg = self.open = _OpenSegment(self.journal_dir, kst_day(ns), ns, self.name)
            out.append(format_line(text, ns, session))
        assert seg is not None
        self._write(seg, out)

    def _write(self, seg: _OpenSegment, out: list[bytes]) -> None:
        lines = len(out)
        if not lines:
            return
        data = b"".join(out)
        view = memoryview(data)
        while view:
            written = os.write(seg.fd, view)
            view = view[written:]
        os.fsync(seg.fd)
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


class JournalWriter:
    """Appends received frames to the day's segment, in fsynced groups (see the module docstring).

    ``append`` is the feed's ``on_frame`` hook: it costs a deque append, nothing on the disk. Use
    as a context manager, or call ``open()`` and ``close()``. After a write error (disk full,
    directory gone) ``error`` holds a ``StoreError`` and ``append`` raises it.
    """

    def __init__(
        self,
        root: str | Path,
        *,
        fsync_window: float = 0.1,
        compress: bool = True,
        name: str | None = None,
    ) -> None:
        if fsync_window <= 0:
            raise ValueError("fsync_window must be positive")
        self.root = Path(root)
        self.journal_dir = self.root / "journal"
        self.fsync_window, self.compress = fsync_window, compress
        self._queue: deque[tuple[str, int, int]] = deque()
        self._wake = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._segments = Segments(self.journal_dir, name, compress)
        self.error: StoreError | None = None
        self.frames = 0  # appended
        self.synced = 0  # written and fsynced
        self.bytes = 0
        self.syncs = 0
        self.sync_seconds = 0.0  # CPU time of the writer thread taking, formatting and writing groups

    # --- lifecycle ---

    def open(self) -> JournalWriter:
        """Check that the journal directory can be written (a clear ``StoreError`` if not) and
        start the writer thread."""
        try:
            self.journal_dir.mkdir(parents=True, exist_ok=True)
            probe = self.journal_dir / f".probe-{os.getpid()}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise StoreError(
                f"cannot write the journal under {self.journal_dir}: {exc.strerror or exc}"
            ) from exc
        self._thread = threading.Thread(target=self._run, name="kisfeed-journal", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        """Write and fsync everything queued, close (and compress) the segment, stop the
        thread. Raises the ``StoreError`` of a write that failed."""
        if self._thread is not None:
            self._stopping = True
            self._wake.set()
            self._thread.join()
            self._thread = None
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
        return self._segments.open.segment if self._segments.open is not None else None

    # --- the writer thread ---

    def _run(self) -> None:
        while True:
            self._wake.wait(self.fsync_window)
            self._wake.clear()
            stopping = self._stopping
            segments = self._segments
            started = time.thread_time()
            try:
                queue = self._queue
                popleft = queue.popleft
                segments.write([popleft() for _ in range(len(queue))])
                self.sync_seconds += time.thread_time() - started
                if stopping:
                    segments.close()
            except OSError as exc:
                self._failed(exc)
                return
            except StoreError as exc:
                self.error = exc
                return
            finally:
                self.synced, self.bytes, self.syncs = segments.synced, segments.bytes, segments.syncs
            if stopping:
                return

    def _failed(self, exc: OSError) -> None:
        self.error = _write_error(exc, self._segments.open.path if self._segments.open else self.journal_dir)
        self._segments.abandon()


def _write_error(exc: OSError, where: Path | str) -> StoreError:
    """The one-line error for a failed journal write."""
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
