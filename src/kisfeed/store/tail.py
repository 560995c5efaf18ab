"""A journal segment's lines as blocks, read while its writer may still append to it.

A writer holds an exclusive ``flock`` on its plain segment while it writes. ``SegmentTail``
reads what is complete (up to the last LF) and remembers where it stopped; once the lock is
free, the writer is gone, and the tail takes the lock itself (until it is closed), so that no
writer reopens the segment while the converter seals it. A sealed segment is streamed, its zstd
decompression in this thread: a read-ahead thread for it did not pay on two shared cores
(benchmarks/record.py).
"""

from __future__ import annotations

import errno
import fcntl
from collections.abc import Iterator
from typing import IO

from .journal import SEALED_SUFFIX, SUFFIX, Segment, iter_blocks, parse_line

__all__ = ["SegmentTail", "last_received_ns"]

_CHUNK = 2 << 20  # bytes read per step (larger blocks cost more in page faults than they save)


class SegmentTail:
    """The lines of ``segment`` not consumed yet; ``lines``: how many were."""

    def __init__(self, segment: Segment) -> None:
        self.segment = segment
        self.lines = 0
        self.offset = 0  # bytes consumed (plain file)
        self.file: IO[bytes] | None = None
        self.owned = False  # this tail holds the segment's lock: its writer is gone

    def live(self) -> bool:
        """True while a writer holds the segment (see the module docstring)."""
        if self.owned or (self.segment.sealed and self.file is None):
            return False
        try:
            f = self.file or open(self.segment.path, "rb")
        except FileNotFoundError:
            return False
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if f is not self.file:
                f.close()
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                return True
            raise
        self.file, self.owned = f, True
        return False

    def blocks(self, final: bool) -> Iterator[bytes]:
        """Blocks of complete lines not consumed yet, without the last LF (plus a last, cut line
        when ``final``); the caller counts the lines it consumes in ``lines``."""
        if self.file is None and not self.segment.sealed:
            try:
                self.file = open(self.segment.path, "rb")
            except FileNotFoundError:  # sealed since it was listed: read the sealed copy
                sealed = self.segment.path.with_name(self.segment.path.name[: -len(SUFFIX)] + SEALED_SUFFIX)
                self.segment = Segment(self.segment.name, sealed)
        if self.file is None:  # sealed: stream it, skipping what was consumed before
            with self.segment.open() as stream:
                yield from _skip(self.lines, iter_blocks(stream, _CHUNK))
            return
        f = self.file
        while True:
            f.seek(self.offset)
            data = f.read(_CHUNK)
            if not data:
                return
            end = data.rfind(b"\n")
            if end < 0:
                if final and len(data) < _CHUNK:  # a last line a crash cut short
                    self.offset += len(data)
                    yield data
                return
            self.offset += end + 1
            yield data[:end]

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None


def _skip(lines: int, blocks: Iterator[bytes]) -> Iterator[bytes]:
    """``blocks`` without their first ``lines`` lines."""
    for data in blocks:
        if lines:
            rest = data.split(b"\n", lines)
            if len(rest) <= lines:
                lines -= len(rest)
                continue
            data, lines = rest[-1], 0
        yield data


def last_received_ns(data: bytes) -> int | None:
    """The receive time of the last sound line of a block (a crash may have cut the last ones)."""
    end = len(data)
    for _ in range(8):
        start = data.rfind(b"\n", 0, end) + 1
        try:
            return parse_line(data[start:end])[0]
        except ValueError:
            if not start:
                return None
            end = start - 1
    return None
