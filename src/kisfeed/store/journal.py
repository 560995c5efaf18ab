"""The journal: every frame received, as text lines, before anything parses it (the write-ahead log).

Layout on disk::

    <root>/journal/<YYYY-MM-DD>/<HHMMSS.nnnnnnnnn>-<pid>.kfj       the segment being written
    <root>/journal/<YYYY-MM-DD>/<HHMMSS.nnnnnnnnn>-<pid>.kfj.zst   a closed segment (zstd)

One *segment* per recording run per KST trading day: the directory is the KST date of the
receive time (frames carry ``HHMMSS`` only, reference 2.4, so the receiver's KST date is the
trading date), and the name is the KST time of the segment's first frame and the writer's pid,
so names sort in recording order and a second run on the same day adds a segment beside the
first instead of touching it. A segment is compressed when its writer closes it or the day rolls
over; ``zstd -d`` gives back the plain file.

Line format (UTF-8, one frame per line, four tab-separated fields)::

    <received_ns> TAB <session> TAB <escaped text> TAB <crc32> LF

``received_ns``   local receive time, integer nanoseconds since the Unix epoch
``session``       the feed's session id (one per WebSocket connection, counted from 1 per run)
``escaped text``  the frame exactly as received, with ``\\`` → ``\\\\``, LF → ``\\n``,
                  CR → ``\\r`` and TAB → ``\\t`` so that it stays one field on one line
``crc32``         8 lowercase hex digits: CRC-32 (zlib) of the UTF-8 bytes before the last TAB

Read one with ``zstd -dc SEGMENT.kfj.zst | cut -f3``. A line whose CRC does not match, or that a
crash cut short, is skipped by ``read_journal`` with its segment and line number reported, never
fatal. Only frames *received* from the server are written: the subscribe requests kisfeed sends
carry the approval key and never reach the journal.

Durability: ``JournalWriter.append`` (the feed's ``on_frame`` hook) only queues the frame; a
writer thread formats, writes and fsyncs everything queued every ``fsync_window`` seconds (issue
5: "group fsync so that at most a set window of data is at risk", default 100 ms). A process
killed with ``kill -9`` loses at most the frames queued since the last write, i.e. one window;
a power cut, at most one window plus the time of one fsync.
"""

from __future__ import annotations

import errno
import fcntl
import os
import threading
import time
import zlib
from collections import deque
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import IO, Iterable, Iterator

import zstandard

from ..exceptions import StoreError
from ..schema import KST

__all__ = [
    "JournalWriter",
    "JournalEntry",
    "JournalStats",
    "BadLine",
    "Segment",
    "read_journal",
    "segments",
    "format_line",
    "parse_line",
    "kst_day",
    "seal",
    "SUFFIX",
    "SEALED_SUFFIX",
]

SUFFIX = ".kfj"
SEALED_SUFFIX = ".kfj.zst"
_DAY_NS = 86_400 * 1_000_000_000
_READ_CHUNK = 1 << 20


# --- the line format ------------------------------------------------------------------------------

_ESCAPES = str.maketrans({"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"})
_UNESCAPES = {"\\": "\\", "n": "\n", "r": "\r", "t": "\t"}


def _needs_escape(text: str) -> bool:
    return "\\" in text or "\n" in text or "\r" in text or "\t" in text


def _unescape(text: str) -> str:
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        j = text.find("\\", i)
        if j < 0:
            out.append(text[i:])
            break
        out.append(text[i:j])
        if j + 1 >= n or text[j + 1] not in _UNESCAPES:
            raise ValueError(f"bad escape at column {j}")
        out.append(_UNESCAPES[text[j + 1]])
        i = j + 2
    return "".join(out)


def format_line(text: str, received_ns: int, session: int) -> bytes:
    """One journal line (with its LF) for one received frame."""
    if _needs_escape(text):
        text = text.translate(_ESCAPES)
    head = f"{received_ns}\t{session}\t{text}".encode()
    return head + b"\t%08x\n" % zlib.crc32(head)


def parse_line(line: bytes) -> tuple[int, int, str]:
    """``(received_ns, session, text)`` of one line (without its LF); ``ValueError`` saying what
    is wrong for a line that is corrupt or cut short."""
    if len(line) < 14 or line[-9:-8] != b"\t":
        raise ValueError("no checksum field (line cut short?)")
    head = line[:-9]
    try:
        crc = int(line[-8:], 16)
    except ValueError:
        raise ValueError("checksum is not 8 hex digits") from None
    if zlib.crc32(head) != crc:
        raise ValueError("checksum mismatch")
    parts = head.split(b"\t", 2)
    if len(parts) != 3:
        raise ValueError("fewer than four fields")
    ns, session, raw = parts
    try:
        text = raw.decode()
    except UnicodeDecodeError:
        raise ValueError("text is not UTF-8") from None
    if "\\" in text:
        text = _unescape(text)
    return int(ns), int(session), text


# --- days and segments ----------------------------------------------------------------------------


def kst_day(received_ns: int) -> date:
    """The KST date of a receive time: the trading date the journal files a frame under."""
    # Integer seconds: ns / 1e9 as a float rounds the last microsecond of a day into the next.
    return datetime.fromtimestamp(received_ns // 1_000_000_000, KST).date()


def _day_bounds(day: date) -> tuple[int, int]:
    start = int(datetime(day.year, day.month, day.day, tzinfo=KST).timestamp()) * 1_000_000_000
    return start, start + _DAY_NS


@dataclass(frozen=True, order=True)
class Segment:
    """One journal file. ``name`` (``YYYY-MM-DD/HHMMSS.nnnnnnnnn-pid``) is its identity: it does
    not change when the file is compressed, and the Parquet dataset refers to it."""

    name: str
    path: Path = field(compare=False)

    @property
    def day(self) -> date:
        return date.fromisoformat(self.name.split("/", 1)[0])

    @property
    def sealed(self) -> bool:
        return self.path.name.endswith(SEALED_SUFFIX)

    def open(self) -> IO[bytes]:
        """The segment's bytes, decompressed if it is sealed."""
        raw = open(self.path, "rb")
        if self.sealed:
            return zstandard.ZstdDecompressor().stream_reader(raw, closefd=True)  # type: ignore[return-value]
        return raw


def _segment_of(path: Path) -> Segment | None:
    name = path.name
    for suffix in (SEALED_SUFFIX, SUFFIX):
        if name.endswith(suffix) and not name.startswith("."):
            return Segment(f"{path.parent.name}/{name[: -len(suffix)]}", path)
    return None


def segments(*paths: str | Path) -> list[Segment]:
    """The segments named by ``paths`` (files, day directories, a journal directory or a data
    root), in recording order. Where both a segment and its compressed copy exist (a crash while
    compressing), the compressed one is complete (it is renamed into place only when whole)."""
    found: dict[str, Segment] = {}
    for p in map(Path, paths):
        if p.is_dir():
            if (p / "journal").is_dir():
                p = p / "journal"
            files = sorted(p.glob(f"*{SUFFIX}*")) + sorted(p.glob(f"*/*{SUFFIX}*"))
        elif p.exists():
            files = [p]
        else:
            raise StoreError(f"no journal at {p}")
        for f in files:
            seg = _segment_of(f)
            if seg is not None and (seg.name not in found or seg.sealed):
                found[seg.name] = seg
    return sorted(found.values())


def seal(segment: Segment, *, level: int = 3) -> Segment:
    """Compress a closed segment to ``.kfj.zst`` (written aside, fsynced, renamed into place),
    then remove the plain file. Returns the sealed segment; a sealed one is returned as is."""
    if segment.sealed:
        return segment
    target = segment.path.with_name(segment.path.name[: -len(SUFFIX)] + SEALED_SUFFIX)
    partial = target.with_name("." + target.name + ".tmp")
    try:
        with open(segment.path, "rb") as src, open(partial, "wb") as dst:
            zstandard.ZstdCompressor(level=level, threads=0).copy_stream(src, dst, read_size=_READ_CHUNK)
            dst.flush()
            os.fsync(dst.fileno())
        os.replace(partial, target)
        _fsync_dir(target.parent)
        segment.path.unlink()
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise StoreError(f"cannot compress journal segment {segment.path}: {exc.strerror or exc}") from exc
    return Segment(segment.name, target)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --- reading --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class JournalEntry:
    segment: str  # Segment.name
    line: int  # 1-based line number within the segment
    received_ns: int
    session: int
    text: str


@dataclass(frozen=True, slots=True)
class BadLine:
    """A line ``read_journal`` skipped: where, why, and its first bytes."""

    segment: str
    line: int
    reason: str
    head: bytes

    def __str__(self) -> str:
        return f"{self.segment} line {self.line}: {self.reason} ({self.head[:60]!r})"


@dataclass
class JournalStats:
    """What a read saw: counts, and every bad line with its position."""

    segments: int = 0
    lines: int = 0
    entries: int = 0
    bad: list[BadLine] = field(default_factory=list)

    @property
    def bad_lines(self) -> int:
        return len(self.bad)


def iter_lines(stream: IO[bytes], *, complete_only: bool = False) -> Iterator[bytes]:
    """The lines of a stream without their LF. A last line without LF is yielded too (a crash
    cut it; its checksum says so) unless ``complete_only`` (a segment still being written)."""
    rest = b""
    while True:
        chunk = stream.read(_READ_CHUNK)
        if not chunk:
            break
        lines = (rest + chunk).split(b"\n")
        rest = lines.pop()
        yield from lines
    if rest and not complete_only:
        yield rest


def read_journal(*paths: str | Path, stats: JournalStats | None = None) -> Iterator[JournalEntry]:
    """Every entry of the segments under ``paths``, in recording order. Bad lines are skipped,
    counted and listed in ``stats`` (pass a ``JournalStats`` to see them)."""
    stats = stats if stats is not None else JournalStats()
    for seg in segments(*paths):
        stats.segments += 1
        with seg.open() as stream:
            for number, line in enumerate(iter_lines(stream), 1):
                stats.lines += 1
                try:
                    ns, session, text = parse_line(line)
                except ValueError as exc:
                    stats.bad.append(BadLine(seg.name, number, str(exc), line[:80]))
                    continue
                stats.entries += 1
                yield JournalEntry(seg.name, number, ns, session, text)


# --- writing --------------------------------------------------------------------------------------


class _OpenSegment:
    """The segment file the writer thread appends to, locked so that no converter seals it."""

    def __init__(self, journal_dir: Path, day: date, first_ns: int, name: str | None) -> None:
        folder = journal_dir / day.isoformat()
        folder.mkdir(parents=True, exist_ok=True)
        if name is None:
            clock = datetime.fromtimestamp(first_ns // 1_000_000_000, KST)
            name = f"{clock:%H%M%S}.{first_ns % 1_000_000_000:09d}-{os.getpid()}"
        n = 1
        stem = name
        while (folder / (stem + SEALED_SUFFIX)).exists():  # sealed: never reopened, never overwritten
            n += 1
            stem = f"{name}-{n}"
        self.path = folder / (stem + SUFFIX)
        self.segment = Segment(f"{day.isoformat()}/{stem}", self.path)
        self.day = day
        self.bounds = _day_bounds(day)
        existed = self.path.exists()
        self.fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(self.fd)
            raise StoreError(f"journal segment {self.path} is being written by another process") from None
        size = os.fstat(self.fd).st_size
        if size and not _ends_with_newline(self.path, size):
            # A crash cut the last line short: end it so that it stays one (bad) line and the
            # next frame starts a line of its own instead of being swallowed by it.
            os.write(self.fd, b"\n")
        if not existed:
            _fsync_dir(folder)
        self.lines = 0

    def close(self) -> None:
        os.close(self.fd)  # releases the lock


def _ends_with_newline(path: Path, size: int) -> bool:
    with open(path, "rb") as f:
        f.seek(size - 1)
        return f.read(1) == b"\n"


class JournalWriter:
    """Appends received frames to the day's segment; fsyncs in groups from a writer thread.

    ``append`` is the feed's ``on_frame`` hook: it costs a deque append (well under a
    microsecond). Use as a context manager, or call ``open()`` and ``close()``. After a write
    error (disk full, directory gone) ``error`` holds a ``StoreError`` and ``append`` raises it.
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
        self.fsync_window = fsync_window
        self.compress = compress
        self._name = name
        self._queue: deque[tuple[str, int, int]] = deque()
        self._wake = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._segment: _OpenSegment | None = None
        self.error: StoreError | None = None
        self.closed_segments: list[Segment] = []
        self.frames = 0  # appended
        self.synced = 0  # written and fsynced
        self.bytes = 0
        self.syncs = 0
        self.sync_seconds = 0.0  # CPU time of the writer thread (format, CRC, write, fsync calls)

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
            raise StoreError(f"cannot write the journal under {self.journal_dir}: "
                             f"{exc.strerror or exc}") from exc
        self._thread = threading.Thread(target=self._run, name="kisfeed-journal", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        """Write and fsync everything queued, close (and compress) the segment, stop the thread.
        Raises the ``StoreError`` of a write that failed."""
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
        return self._segment.segment if self._segment is not None else None

    # --- the writer thread ---

    def _run(self) -> None:
        while True:
            self._wake.wait(self.fsync_window)
            self._wake.clear()
            stopping = self._stopping
            try:
                self._drain()
            except OSError as exc:
                self._failed(exc)
                return
            except StoreError as exc:
                self.error = exc
                return
            if stopping:
                try:
                    self._close_segment()
                except (OSError, StoreError) as exc:
                    self.error = exc if isinstance(exc, StoreError) else _store_error(exc, self.journal_dir)
                return

    def _failed(self, exc: OSError) -> None:
        self.error = _store_error(exc, self._segment.path if self._segment else self.journal_dir)
        if self._segment is not None:
            try:
                self._segment.close()  # keep what is on disk as it is; never truncate
            except OSError:
                pass
            self._segment = None

    def _drain(self) -> None:
        queue = self._queue
        count = len(queue)
        if not count:
            return
        started = time.thread_time()
        popleft = queue.popleft
        out: list[bytes] = []
        append = out.append
        seg = self._segment
        lines = 0
        crc32 = zlib.crc32
        for _ in range(count):
            text, ns, session = popleft()
            if seg is None or not seg.bounds[0] <= ns < seg.bounds[1]:
                if seg is not None:  # the KST day rolled over: finish the old day's segment
                    self._write(seg, out, lines)
                    out, lines = [], 0
                    append = out.append
                    self._close_segment()
                seg = self._segment = _OpenSegment(self.journal_dir, kst_day(ns), ns, self._name)
            if "\\" in text or "\n" in text or "\r" in text or "\t" in text:
                text = text.translate(_ESCAPES)
            head = b"%d\t%d\t%s" % (ns, session, text.encode())
            append(head)
            append(b"\t%08x\n" % crc32(head))
            lines += 1
        assert seg is not None
        self._write(seg, out, lines)
        self.sync_seconds += time.thread_time() - started

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

    def _close_segment(self) -> None:
        seg, self._segment = self._segment, None
        if seg is None:
            return
        if not self.compress:
            seg.close()
            self.closed_segments.append(seg.segment)
            return
        try:
            # Seal while still holding the lock, so that no converter seals it at the same time.
            sealed = seal(seg.segment)
        finally:
            seg.close()
        self.closed_segments.append(sealed)


def _store_error(exc: OSError, where: Path) -> StoreError:
    if exc.errno == errno.ENOSPC:
        reason = "the disk is full"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        reason = "permission denied"
    else:
        reason = exc.strerror or str(exc)
    return StoreError(f"journal write failed at {where}: {reason}; the frames written so far are intact, "
                      f"the ones not yet written are lost")


def entries_text(entries: Iterable[JournalEntry]) -> Iterator[tuple[int, int, str]]:
    """``(received_ns, session, text)`` of each entry."""
    for e in entries:
        yield e.received_ns, e.session, e.text
