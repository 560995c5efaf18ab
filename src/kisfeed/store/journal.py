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

A sealed segment is plain zstd. One that kisfeed sealed before issue 13 ends in a zstd
*skippable* frame (RFC 8878 §3.1.2), an index of its frames for the parallel rebuild that no
longer exists; decoders, ``read_journal`` among them, pass over it.

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

*Notes* are the one other kind of line: what the recorder itself saw happen, in the same format
with session ``0`` (``NOTE_SESSION``; real sessions count from 1) and a JSON object
``{"kisfeed": "<kind>", ...}`` as text, ``received_ns`` being when it was noted. The kinds are
``gap-start`` and ``gap-end`` (``gaps``: where subscribed codes were not received). Readers of
frames skip them: ``read_journal`` counts them in ``JournalStats.notes`` (``notes=True`` yields
them), and the converter turns them into the ``gaps`` table, never into records.

Writing is ``writer.JournalWriter`` (group fsync, the durability it gives is documented there).
"""

from __future__ import annotations

import os
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import IO

import zstandard

from ..exceptions import StoreError

__all__ = [
    "JournalEntry",
    "fsync_dir",
    "JournalStats",
    "BadLine",
    "Segment",
    "read_journal",
    "segments",
    "format_line",
    "parse_line",
    "unescape",
    "seal",
    "iter_blocks",
    "iter_lines",
    "SUFFIX",
    "SEALED_SUFFIX",
    "NOTE_SESSION",
]

SUFFIX = ".kfj"
SEALED_SUFFIX = ".kfj.zst"
_READ_CHUNK = 1 << 20
NOTE_SESSION = 0  # the session field of a note line (see the module docstring)


# --- the line format ------------------------------------------------------------------------------

_ESCAPES = str.maketrans({"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"})
_UNESCAPES = {"\\": "\\", "n": "\n", "r": "\r", "t": "\t"}
_ESCAPED = re.compile(r"\\(.?)", re.DOTALL)


def unescape(text: str) -> str:
    """A frame's text as received, from its escaped form in a journal line (``\\ \\n \\r \\t``)."""

    def one(escape: re.Match[str]) -> str:
        if escape[1] not in _UNESCAPES:  # "" at the end of the text included
            raise ValueError(f"bad escape at column {escape.start()}")
        return _UNESCAPES[escape[1]]

    return _ESCAPED.sub(one, text)


def format_line(text: str, received_ns: int, session: int) -> bytes:
    """One journal line (with its LF) for one received frame: the writer's whole per-frame work,
    so the usual frame, which needs no escape, costs four scans, one encode and one CRC."""
    if "\\" in text or "\n" in text or "\r" in text or "\t" in text:
        text = text.translate(_ESCAPES)
    head = b"%d\t%d\t%s" % (received_ns, session, text.encode())
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
        text = unescape(text)
    return int(ns), int(session), text


# --- days and segments ----------------------------------------------------------------------------


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
            reader: IO[bytes] = zstandard.ZstdDecompressor().stream_reader(
                raw, closefd=True, read_across_frames=True
            )
            return reader
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
            zstandard.ZstdCompressor(level=level).copy_stream(src, dst)
            dst.flush()
            os.fsync(dst.fileno())
        os.replace(partial, target)
        fsync_dir(target.parent)
        segment.path.unlink()
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise StoreError(f"cannot compress journal segment {segment.path}: {exc.strerror or exc}") from exc
    return Segment(segment.name, target)


def fsync_dir(path: Path) -> None:
    """Make a rename or a new file in ``path`` durable (the directory entry, not only the data)."""
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
    notes: int = 0  # note lines (session 0): not frames, skipped unless asked for
    bad: list[BadLine] = field(default_factory=list)

    @property
    def bad_lines(self) -> int:
        return len(self.bad)


def iter_blocks(stream: IO[bytes], size: int = _READ_CHUNK) -> Iterator[bytes]:
    """Blocks of complete lines of a stream (no final LF), about ``size`` bytes each; a last
    line without LF (a crash cut it; its checksum says so) comes last, alone."""
    rest = b""
    while True:
        chunk = stream.read(size)
        if not chunk:
            break
        data = rest + chunk if rest else chunk
        end = data.rfind(b"\n")
        if end < 0:
            rest = data
            continue
        rest = data[end + 1 :]
        yield data[:end]  # b"" when it is one empty line
    if rest:
        yield rest


def iter_lines(stream: IO[bytes]) -> Iterator[bytes]:
    """The lines of a stream without their LF (see ``iter_blocks``)."""
    for block in iter_blocks(stream):
        yield from block.split(b"\n")


def read_journal(
    *paths: str | Path, stats: JournalStats | None = None, notes: bool = False
) -> Iterator[JournalEntry]:
    """Every received frame of the segments under ``paths``, in recording order. Bad lines are
    skipped, counted and listed in ``stats`` (pass a ``JournalStats`` to see them); note lines
    (session 0) are counted there too, and yielded as well only if ``notes``."""
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
                if session == NOTE_SESSION:
                    stats.notes += 1
                    if not notes:
                        continue
                else:
                    stats.entries += 1
                yield JournalEntry(seg.name, number, ns, session, text)


# --- writing --------------------------------------------------------------------------------------
