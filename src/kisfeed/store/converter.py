"""Journal → Parquet: the dataset is derived from the journal, so a crash can only delay it.

Every finalized Parquet file records the journal range it covers (a ``Claim``: segment, first and
last line, and the TRs that got rows). The converter reads exactly the journal lines no
finalized file covers, so ``rebuild`` after a ``kill -9`` restores every record the dataset
lacks and duplicates none (issue 5, part 3): a file is either whole and renamed into place, with
its claim, or absent. Loss is bounded by what the journal lost, the fsync window.

A segment that no writer holds any more (its lock is free) and that is fully converted is
compressed (if its writer could not) and marked done with ``<stem>.converted`` beside it, a JSON
summary; later passes skip it. One converter per data directory at a time: ``.convert.lock``.

``python -m kisfeed.store.converter ROOT --follow`` converts continuously until its standard
input closes: the recorder runs it as a child process, so conversion never competes with the
feed for the GIL, and when the recorder dies, the child still finishes what is on disk.
"""

from __future__ import annotations

import argparse
import errno
import fcntl
import json
import os
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Callable, Iterator

from ..exceptions import ParseError, StoreError
from ..protocol import Data, Malformed, Session, decode_frame_lenient
from ..protocol.frames import _HEAD, _PLAIN_HEADERS
from .dataset import Claim, FrameRows, read_claims, write_file
from .journal import SEALED_SUFFIX, SUFFIX, BadLine, Segment, iter_lines, parse_line, seal, segments

__all__ = ["Converter", "ConvertReport", "rebuild", "DONE_SUFFIX", "LOCK_NAME"]

DONE_SUFFIX = ".converted"
LOCK_NAME = ".convert.lock"
_CHUNK = 8 << 20  # bytes read from a live segment per step
_TABLE_FRAMES = 100_000  # frames decoded per columnar table (bounds memory during rebuild)


@dataclass
class ConvertReport:
    """What conversion did: records written per TR, and every line it could not use."""

    segments: int = 0
    lines: int = 0
    records: dict[str, int] = field(default_factory=dict)
    files: int = 0
    sealed: int = 0
    bad_lines: list[str] = field(default_factory=list)  # "<segment> line <n>: <reason>"
    errors: list[str] = field(default_factory=list)  # frames the protocol refused, with position

    @property
    def total(self) -> int:
        return sum(self.records.values())

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> ConvertReport:
        return cls(**json.loads(text))

    def add(self, other: ConvertReport) -> None:
        self.segments += other.segments
        self.lines += other.lines
        for tr, n in other.records.items():
            self.records[tr] = self.records.get(tr, 0) + n
        self.files += other.files
        self.sealed += other.sealed
        self.bad_lines += other.bad_lines
        self.errors += other.errors


class _Cursor:
    """Membership of increasing line numbers in sorted, merged intervals: O(1) amortized."""

    def __init__(self, intervals: list[tuple[int, int]]) -> None:
        merged: list[list[int]] = []
        for a, b in sorted(intervals):
            if merged and a <= merged[-1][1] + 1:
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        self.intervals = merged
        self.i = 0

    def __contains__(self, n: int) -> bool:
        iv, i = self.intervals, self.i
        while i < len(iv) and iv[i][1] < n:
            i += 1
        self.i = i
        return i < len(iv) and iv[i][0] <= n


def _coverage(root: Path, segment: str) -> dict[str, list[tuple[int, int]]]:
    """Per TR, the line ranges whose rows are in finalized files (see ``Claim``)."""
    batches: dict[tuple[int, int], tuple[Claim, set[str]]] = {}
    for tr, claim in read_claims(root, segment):
        entry = batches.setdefault((claim.first, claim.last), (claim, set()))
        entry[1].add(tr)
    out: dict[str, list[tuple[int, int]]] = {tr: [] for tr in _PLAIN_TRS}
    for claim, present in batches.values():
        for tr in out:
            if tr not in claim.trs or tr in present:
                out[tr].append((claim.first, claim.last))
    return out


_PLAIN_TRS = sorted({tr for tr, _ in _PLAIN_HEADERS.values()})


class _SegmentJob:
    """Converts one segment, from wherever its coverage stops, possibly while it grows."""

    def __init__(self, root: Path, segment: Segment, report: ConvertReport, max_rows: int) -> None:
        self.root, self.segment, self.report, self.max_rows = root, segment, report, max_rows
        self.day = segment.day
        self.covered = {tr: _Cursor(iv) for tr, iv in _coverage(root, segment.name).items()}
        self.sessions: dict[int, Session] = {}
        self.rows = {tr: FrameRows(tr, segment.name, self.day) for tr in _PLAIN_TRS}
        self.tables: dict[str, list] = {tr: [] for tr in _PLAIN_TRS}
        self.batch_first: int | None = None
        self.batch_last = 0
        self.batch_started = 0.0
        self.pending_rows = 0
        self.frames = 0  # frames collected since the last _tabulate
        self.line = 0  # lines consumed
        self.offset = 0  # bytes consumed (plain file)
        self.file: IO[bytes] | None = None
        self.records_done = 0

    # --- reading ---

    def live(self) -> bool:
        """True while a writer holds the segment (its flock); a sealed segment never is."""
        if self.segment.sealed and self.file is None:
            return False
        try:
            f = self.file or open(self.segment.path, "rb")
        except FileNotFoundError:
            return False
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                return True
            raise
        fcntl.flock(f.fileno(), fcntl.LOCK_UN)
        if self.file is None:
            self.file = f
        return False

    def read(self, final: bool) -> bool:
        """Consume the lines available now (all of them if ``final``); False if none."""
        if self.file is None and not self.segment.sealed:
            try:
                self.file = open(self.segment.path, "rb")
            except FileNotFoundError:  # sealed since it was listed: read the sealed copy
                sealed = self.segment.path.with_name(self.segment.path.name[: -len(SUFFIX)] + SEALED_SUFFIX)
                self.segment = Segment(self.segment.name, sealed)
        got = False
        for line in self._new_lines(final):
            got = True
            self.line += 1
            self._line(self.line, line)
        return got

    def _new_lines(self, final: bool) -> Iterator[bytes]:
        if self.file is None:  # sealed: stream it, skipping what was consumed before
            with self.segment.open() as stream:
                for n, line in enumerate(iter_lines(stream), 1):
                    if n > self.line:
                        yield line
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
            yield from data[:end].split(b"\n")

    # --- one line ---

    def _line(self, number: int, line: bytes) -> None:
        try:
            ns, session, text = parse_line(line)
        except ValueError as exc:
            bad = BadLine(self.segment.name, number, str(exc), line[:60])
            self.report.bad_lines.append(str(bad))
            return
        self.report.lines += 1
        plain = _PLAIN_HEADERS.get(text[:_HEAD])
        if plain is not None:
            tr, count = plain
            if number in self.covered[tr]:
                return
            self._batch(number)
            self.rows[tr].add_plain(text[_HEAD:], count, ns, session, number)
            self.pending_rows += count
            self.frames += 1
        else:
            state = self.sessions.get(session)
            if state is None:
                state = self.sessions[session] = Session("")
            events = state.receive(text, trading_date=self.day, received_ns=ns)
            state.data_to_send()  # PINGPONG answers: nothing is sent from here
            # A line every TR's files already cover was reported by the pass that converted it.
            fresh = not all(number in cursor for cursor in self.covered.values())
            for event in events:
                if isinstance(event, Data):
                    if number in self.covered[event.tr_id]:
                        continue
                    self._batch(number)
                    self.rows[event.tr_id].add_records(event.records, session, number)
                    self.pending_rows += len(event.records)
                    self.frames += 1
                elif isinstance(event, Malformed) and fresh:
                    self._error(number, event.error)
        if self.frames >= _TABLE_FRAMES:
            self._tabulate()
        if self.pending_rows >= self.max_rows:
            self.flush()

    def _batch(self, number: int) -> None:
        if self.batch_first is None:
            self.batch_first = number
            self.batch_started = time.monotonic()
        self.batch_last = number

    def _error(self, number: int, error: ParseError) -> None:
        self.report.errors.append(f"{self.segment.name} line {number}: {error}")

    def _decode_refused(self, rows: FrameRows) -> Callable[[int], tuple[list, list]]:
        def decode(i: int) -> tuple[list, list]:
            text = f"0|{rows.tr_id}|{rows.counts[i]:03d}|{rows.payloads[i]}"
            try:
                records, errors = decode_frame_lenient(text, trading_date=self.day, received_ns=rows.ns[i])
            except ParseError as exc:
                records, errors = [], [exc]
            for e in errors:
                self._error(rows.lines[i], e)
            return records, errors

        return decode

    # --- writing ---

    def _tabulate(self) -> None:
        """Turn collected frames into Arrow tables (bounded memory), to be written by flush."""
        for tr, rows in self.rows.items():
            if rows.payloads or rows.records:
                table = rows.table(self._decode_refused(rows))
                if table.num_rows:
                    self.tables[tr].append(table)
                self.rows[tr] = FrameRows(tr, self.segment.name, self.day)
        self.frames = 0

    def age(self) -> float:
        return 0.0 if self.batch_first is None else time.monotonic() - self.batch_started

    def flush(self) -> None:
        """Finalize one file per TR with rows, all claiming the lines read since the last flush."""
        self._tabulate()
        if self.batch_first is None:
            return
        import pyarrow as pa

        tables = {tr: pa.concat_tables(ts) for tr, ts in self.tables.items() if ts}
        counts = {tr: t.num_rows for tr, t in tables.items() if t.num_rows}
        claim = Claim(self.segment.name, self.batch_first, self.batch_last, counts)
        for tr in sorted(counts):
            write_file(self.root, tr, self.day, tables[tr], claim)
            self.report.files += 1
            self.report.records[tr] = self.report.records.get(tr, 0) + counts[tr]
        self.tables = {tr: [] for tr in _PLAIN_TRS}
        self.batch_first, self.pending_rows = None, 0

    def finish(self) -> None:
        """The writer is gone and every line is read: seal the segment and mark it done."""
        self.flush()
        if self.file is not None:
            self.file.close()
            self.file = None
        if not self.segment.sealed and self.segment.path.exists():
            self.segment = seal(self.segment)
            self.report.sealed += 1
        marker = self.segment.path.parent / (self.segment.name.split("/", 1)[1] + DONE_SUFFIX)
        summary = {"segment": self.segment.name, "lines": self.line}
        partial = marker.with_name("." + marker.name + ".tmp")
        partial.write_text(json.dumps(summary))
        os.replace(partial, marker)

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None


def _done(segment: Segment) -> bool:
    return (segment.path.parent / (segment.name.split("/", 1)[1] + DONE_SUFFIX)).exists()


class _Lock:
    """``<root>/.convert.lock``: one converter per data directory (flock; freed if it dies)."""

    def __init__(self, root: Path, wait: float) -> None:
        self.path = root / LOCK_NAME
        self.wait = wait
        self.fd: int | None = None

    def __enter__(self) -> _Lock:
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


class Converter:
    """Converts a data directory's journal into its Parquet dataset.

    ``flush_interval``: in ``follow`` mode, a file is finalized at least this often (issue 5:
    "files finalized at least every N seconds", so other processes see all but the last few
    seconds). ``max_rows``: rows per file at most (bounds memory).
    """

    def __init__(self, root: str | Path, *, flush_interval: float = 5.0, max_rows: int = 1_000_000,
                 poll_interval: float = 0.2, lock_wait: float = 30.0) -> None:
        self.root = Path(root)
        self.flush_interval, self.max_rows = flush_interval, max_rows
        self.poll_interval, self.lock_wait = poll_interval, lock_wait
        self.report = ConvertReport()

    def _cleanup(self) -> None:
        for tmp in self.root.glob("*/date=*/.*.parquet.tmp"):
            tmp.unlink(missing_ok=True)

    def _pending_segments(self) -> list[Segment]:
        if not (self.root / "journal").is_dir():
            return []
        return [s for s in segments(self.root) if not _done(s)]

    def rebuild(self) -> ConvertReport:
        """One pass: convert every journal line no finalized file covers; seal and mark done
        every segment no writer holds."""
        with _Lock(self.root, self.lock_wait):
            self._cleanup()
            for seg in self._pending_segments():
                job = _SegmentJob(self.root, seg, self.report, self.max_rows)
                self.report.segments += 1
                try:
                    live = job.live()
                    job.read(final=not live)
                    if live:
                        job.flush()
                    else:
                        job.finish()
                finally:
                    job.close()
        return self.report

    def follow(self, stop: Callable[[], bool]) -> ConvertReport:
        """Convert continuously until ``stop()`` is true; then convert what is left and return."""
        with _Lock(self.root, self.lock_wait):
            self._cleanup()
            jobs: dict[str, _SegmentJob] = {}
            while True:
                stopping = stop()
                for seg in self._pending_segments():
                    job = jobs.get(seg.name)
                    if job is None:
                        job = jobs[seg.name] = _SegmentJob(self.root, seg, self.report, self.max_rows)
                        self.report.segments += 1
                    live = job.live()
                    job.read(final=not live)
                    if not live:
                        job.finish()
                        job.close()
                        del jobs[seg.name]
                    elif stopping or job.age() >= self.flush_interval:
                        job.flush()
                if stopping:
                    for job in jobs.values():
                        job.close()
                    return self.report
                time.sleep(self.poll_interval)


def rebuild(root: str | Path, **settings: float) -> ConvertReport:
    """Convert every journal line of ``root`` that the Parquet dataset lacks (after a crash, or
    to re-derive deleted files). Returns what it did; bad lines are listed, never fatal."""
    return Converter(root, **settings).rebuild()  # type: ignore[arg-type]


def _main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kisfeed.store.converter")
    parser.add_argument("root")
    parser.add_argument("--follow", action="store_true", help="convert until standard input closes")
    parser.add_argument("--flush-interval", type=float, default=5.0)
    args = parser.parse_args(argv)
    converter = Converter(args.root, flush_interval=args.flush_interval)
    if args.follow:
        closed = threading.Event()

        def watch_stdin() -> None:
            try:
                while sys.stdin.buffer.read(1):
                    pass
            finally:
                closed.set()

        threading.Thread(target=watch_stdin, daemon=True).start()
        report = converter.follow(closed.is_set)
    else:
        report = converter.rebuild()
    print(report.to_json(), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())

