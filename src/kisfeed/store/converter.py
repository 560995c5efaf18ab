"""Journal → Parquet: the dataset is derived from the journal, so a crash can only delay it.

Every finalized Parquet file records the journal range it covers (a ``Claim``: segment, first and
last line, and the TRs that got rows). The converter reads exactly the journal lines no
finalized file covers, so ``rebuild`` after a ``kill -9`` restores every record the dataset
lacks and duplicates none (issue 5, part 3): a file is either whole and renamed into place, with
its claim, or absent. Loss is bounded by what the journal lost, the fsync window.

A segment that no writer holds any more (its lock is free) and that is fully converted is
compressed (if its writer could not) and marked done with ``<stem>.converted`` beside it, a JSON
summary; later passes skip it. One converter per data directory at a time: ``.convert.lock``.

The journal's note lines (session 0) are not frames: the notes of a segment become its file of
the ``gaps`` table (``gaps.py``), written whole whenever the segment gave new notes. The done
marker counts them (``"notes"``), so that ``rebuild`` reads a done segment again when its gaps
file was deleted.

``rebuild`` converts a large sealed segment in parts (``Converter._parts``), taken by as many
processes as there are cores when it can fork: one process holds the GIL for much of its CPU
time, so threads alone cannot keep two cores busy. Each part's files claim only its lines, so a crash
leaves the same kind of coverage as one process would, and the next pass converts what is missing.

``python -m kisfeed.store ROOT --follow`` (``__main__.py``) converts continuously until its
standard input closes: the recorder runs it as a child process, so conversion never competes
with the feed for the GIL, and when the recorder dies, the child still finishes what is on disk.
"""

from __future__ import annotations

import errno
import fcntl
import itertools
import json
import os
import threading
import time
import zlib
from bisect import bisect_left
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import IO, TypedDict, Unpack

import numpy as np

from ..exceptions import ParseError
from ..protocol import Data, Malformed, Session, decode_frame_lenient
from ..protocol.frames import HEADER_LENGTH, PLAIN_HEADERS
from ..schema import LAYOUTS, Record
from .columns import DecodeSlow, FrameRows
from .dataset import Claim, DatasetFile, dataset_files
from .forked import Forked, WorkQueue, can_fork
from .gaps import Note, gaps_file, parse_note, segment_rows, write_gaps
from .journal import (
    NOTE_SESSION,
    SEALED_SUFFIX,
    SUFFIX,
    BadLine,
    Frame,
    Segment,
    frame_index,
    parse_line,
    read_frames,
    seal,
    segments,
)
from .lock import LOCK_NAME, ConvertLock
from .progress import ConvertReport, LineCursor, coverage
from .scan import Scan, iter_blocks, prefetch, scan

__all__ = ["Converter", "ConvertReport", "rebuild", "DONE_SUFFIX", "LOCK_NAME"]

DONE_SUFFIX = ".converted"
_CHUNK = 2 << 20  # bytes read per step (larger blocks cost more in page faults than they save)
# Threads that decode and write (Arrow and Parquet release the GIL): two keep two cores busy
# with the line loop. A table's append waits for the one before it in the same file, which the
# FIFO pool has started already, so no deadlock.
_WORKERS = 2
_TABLE_ROWS = 200_000  # rows decoded per columnar table (bounds memory during rebuild)
# The first tables are smaller (doubling up to _TABLE_ROWS), so that the workers start while the
# line loop is still filling the first full one.
_FIRST_TABLE_ROWS = 25_000
_IN_FLIGHT = 4  # tables being made or waiting at most (two workers): bounds memory
# Parts, taken by processes as they get free so that a slowed one does less: two per process,
# each of _PART_FRAMES frames (~2 MiB of lines, ~6,500 records each) at least, unless that would
# leave a process idle, and of _MIN_PART_FRAMES at least. Full tables (_TABLE_ROWS) make fewer
# Parquet row groups, which is why more parts than that cost more CPU than they save.
_PARTS_PER_PROCESS = 2
_PART_FRAMES = 32
_MIN_PART_FRAMES = 4  # smaller is not worth a fork
_MAX_PROCESSES = (
    4  # the default number of processes is the cores, up to this (each holds its tables in memory)
)
# Plain data frame headers as bytes, for the hot loop over journal lines: (tr_id, record count,
# the number of "^" a frame of whole records has).
_HEADERS = {k.encode(): (tr, n, n * LAYOUTS[tr].width - 1) for k, (tr, n) in PLAIN_HEADERS.items()}


_PLAIN_TRS = sorted({tr for tr, _ in PLAIN_HEADERS.values()})
# The same for ``scan``, with the TR as its index in _PLAIN_TRS.
_SCAN_HEADERS = {k: (_PLAIN_TRS.index(tr), n, c) for k, (tr, n, c) in _HEADERS.items()}


Keys = dict[str, dict[str, list[str]]]  # the AES key and iv per session (as text) and TR


@dataclass
class _Part:
    """Lines of a sealed segment converted on their own, from line ``first`` (in ``frames[0]``)
    to the end of ``frames``; none of them is in a finalized file yet."""

    frames: list[Frame]
    first: int
    # The AES keys the lines before ``first`` left (Session.keys), or None where another
    # process converts those lines: the part then stops at an encrypted frame it has no key
    # for, since the key may be in those lines (``_NeedsKeys``).
    keys: Keys | None

    def resumed(self, line: int, keys: Keys) -> _Part:
        """The rest of the part from ``line``, knowing the keys the lines before it left."""
        frames = self.frames[bisect_left([f.first_line for f in self.frames], line + 1) - 1 :]
        return _Part(frames, line, keys)


class _NeedsKeys(Exception):
    def __init__(self, line: int) -> None:
        super().__init__(line)
        self.line = line


class _SegmentJob:
    """Converts one segment, from wherever its coverage stops, possibly while it grows; or,
    given a ``part``, only the part's lines."""

    def __init__(
        self,
        root: Path,
        segment: Segment,
        report: ConvertReport,
        max_rows: int,
        pool: ThreadPoolExecutor,
        part: _Part | None = None,
    ) -> None:
        self.root, self.segment, self.report, self.max_rows = root, segment, report, max_rows
        self.pool, self.part = pool, part
        self.report_lock = threading.Lock()
        self.writes: list[Future[None]] = []
        self.day = segment.day
        ranges = coverage(root, segment.name, _PLAIN_TRS) if part is None else {tr: [] for tr in _PLAIN_TRS}
        self.covered = {tr: LineCursor(iv) for tr, iv in ranges.items()}
        self.any_coverage = any(ranges.values())
        self.sessions: dict[int, Session] = {}
        for session, keys in (part.keys if part and part.keys else {}).items():
            state = self.sessions[int(session)] = Session("")
            state.keys.update({tr: (key, iv) for tr, (key, iv) in keys.items()})
        self.rows = {tr: FrameRows(tr, segment.name, self.day) for tr in _PLAIN_TRS}
        self.files: dict[str, DatasetFile] = {}  # the batch's file of each TR, being written
        self.appends: dict[str, Future[None]] = {}  # the last table handed to each of them
        self.batch_first: int | None = None
        self.batch_last = 0
        self.batch_started = 0.0
        self.pending_rows = 0  # rows since the last flush
        self.collected = 0  # rows since the last _tabulate
        # rows of the next table: a part's process has a core to itself, which its threads share,
        # so its workers gain nothing from starting early, and full tables cost less.
        self.table_rows = _FIRST_TABLE_ROWS if part is None else _TABLE_ROWS
        self.in_flight: list[Future[None]] = []
        self.line = part.first - 1 if part else 0  # lines consumed
        self.offset = 0  # bytes consumed (plain file)
        self.file: IO[bytes] | None = None
        self.owned = False  # this job holds the segment's lock: its writer is gone
        self.notes: dict[int, Note] = {}  # line -> the note on it (gaps.parse_note)
        self.last_ns: int | None = None  # receive time of the last line read (cuts open gaps)
        self._gaps_written: tuple[int, bool] | None = None  # (notes, final) of the gaps file

    # --- reading ---

    def live(self) -> bool:
        """True while a writer holds the segment. Once it does not, the job takes the lock
        itself (until it is done), so that no writer reopens the segment while it is sealed."""
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

    def read(self, final: bool) -> bool:
        """Consume the lines available now (all of them if ``final``); False if none."""
        if self.file is None and not self.segment.sealed:
            try:
                self.file = open(self.segment.path, "rb")
            except FileNotFoundError:  # sealed since it was listed: read the sealed copy
                sealed = self.segment.path.with_name(self.segment.path.name[: -len(SUFFIX)] + SEALED_SUFFIX)
                self.segment = Segment(self.segment.name, sealed)
        got = False
        for data in self._new_blocks(final):
            got = True
            self._block(data)
            self.last_ns = _last_ns(data) or self.last_ns
        if not final:
            self.write_gaps(final=False)
        return got

    def write_gaps(self, final: bool) -> None:
        """The segment's gaps file, if its notes changed since it was written (``final``: the
        writer is gone, so a gap still open was cut by the end of the recording)."""
        if self.part is not None or not self.notes or self._gaps_written == (len(self.notes), final):
            return
        notes = [self.notes[line] for line in sorted(self.notes)]
        write_gaps(self.root, self.segment.name, segment_rows(notes, self.segment.name, self.last_ns, final))
        self._gaps_written = (len(self.notes), final)

    def _new_blocks(self, final: bool) -> Iterator[bytes]:
        """Blocks of complete lines not consumed yet, without the last LF (plus a last, cut line
        when ``final``)."""
        if self.part is not None:  # its frames: each holds whole lines
            frames = self.part.frames
            yield from _skip(
                self.line + 1 - frames[0].first_line,
                prefetch(map(_without_last_lf, read_frames(self.segment, frames))),
            )
            return
        if self.file is None:  # sealed: stream it, skipping what was consumed before
            with self.segment.open() as stream:
                yield from _skip(self.line, prefetch(iter_blocks(stream, _CHUNK)))
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

    def _block(self, data: bytes) -> None:
        """Convert a block of lines: plain lines in bulk (see ``scan``), others one by one."""
        step = max(1, min(self.max_rows, _TABLE_ROWS))  # lines per step: files stay near max_rows
        found = None if self.any_coverage or len(data) < 4096 else scan(data, _SCAN_HEADERS)
        if found is None or np.count_nonzero(~found.plain) * 8 > len(found.plain):
            lines = data.split(b"\n")  # few plain lines: the loop is as fast
            for i in range(0, len(lines), step):
                first = self.line + 1
                self.line += len(lines[i : i + step])
                self._lines(first, lines[i : i + step])
            return
        n = len(found.plain)
        for i in range(0, n, step):
            j = min(n, i + step)
            base = self.line + 1 - i  # line number of block line 0
            self.line += j - i
            a = i
            for k in np.flatnonzero(~found.plain[i:j]).tolist() + [j - i]:
                k += i
                if a < k:
                    self._bulk(data, found, a, k, base)
                if k < j:
                    self._lines(base + k, [data[found.starts[k] : found.ends[k]]])
                a = k + 1

    def _bulk(self, data: bytes, found: Scan, a: int, b: int, base: int) -> None:
        """Lines ``a``–``b - 1`` of a scanned block, all plain: their records in bulk."""
        n_rows = 0
        for t, tr in enumerate(_PLAIN_TRS):
            idx = np.flatnonzero(found.tr[a:b] == t) + a
            if not len(idx):
                continue
            counts = found.count[idx]
            payloads = list(
                map(
                    data.__getitem__, map(slice, found.payload[idx].tolist(), found.payload_end[idx].tolist())
                )
            )
            self.rows[tr].add_bulk(payloads, counts, found.ns[idx], found.session[idx], idx + base)
            n_rows += int(counts.sum())
        if self.batch_first is None:
            self.batch_first = base + a
            self.batch_started = time.monotonic()
        self.batch_last = base + b - 1
        self._account(n_rows)

    # --- lines ---

    def _lines(self, first: int, lines: list[bytes]) -> None:
        """The hot loop of conversion: check each line's CRC and put plain data frames aside
        for the columnar path; everything else goes through ``_other`` (the protocol)."""
        crc32, headers, rows = zlib.crc32, _HEADERS, self.rows
        # Bound appends of each TR's lists: the common frame (one record) costs five appends.
        single = {
            tr: (r.texts.append, r.ns.append, r.sessions.append, r.lines.append, r.index.append)
            for tr, r in rows.items()
        }
        covered = self.covered if self.any_coverage else None
        batch_first, last = self.batch_first, self.batch_last
        n_rows = 0
        for number, line in enumerate(lines, first):
            head = line[:-9]
            try:
                if line[-9] != 9 or crc32(head) != int(line[-8:], 16):
                    raise ValueError
                ns_text, session_text, text = head.split(b"\t", 2)
                ns, session = int(ns_text), int(session_text)
            except (ValueError, IndexError):
                self._bad(number, line)
                continue
            plain = headers.get(text[:HEADER_LENGTH])
            if plain is None or b"\\" in text or text.count(b"^") != plain[2]:
                self.batch_first, self.batch_last = batch_first, last
                n_rows += self._other(number, line)
                batch_first, last = self.batch_first, self.batch_last
                continue
            tr, count, _ = plain
            if covered is not None and number in covered[tr]:
                continue
            if count == 1:
                add_text, add_ns, add_session, add_line, add_index = single[tr]
                add_text(text[HEADER_LENGTH:])
                add_ns(ns)
                add_session(session)
                add_line(number)
                add_index(0)
            else:
                rows[tr].add_plain(text[HEADER_LENGTH:], count, ns, session, number)
            if batch_first is None:
                batch_first = number
                self.batch_started = time.monotonic()
            last = number
            n_rows += count
        self.batch_first, self.batch_last = batch_first, last
        self._account(n_rows)

    def _account(self, n_rows: int) -> None:
        self.pending_rows += n_rows
        self.collected += n_rows
        if self.collected >= self.table_rows:
            self._tabulate()
        if self.pending_rows >= self.max_rows:
            self.flush()

    def _bad(self, number: int, line: bytes) -> None:
        try:
            parse_line(line)
            reason = "not a journal line"
        except ValueError as exc:
            reason = str(exc)
        self.report.bad_lines.append(str(BadLine(self.segment.name, number, reason, line[:60])))

    def _other(self, number: int, line: bytes) -> int:
        """A control message, or a frame for the protocol (encrypted, odd width): rows added."""
        try:
            ns, session, text = parse_line(line)
        except ValueError as exc:
            self.report.bad_lines.append(str(BadLine(self.segment.name, number, str(exc), line[:60])))
            return 0
        if session == NOTE_SESSION:  # the recorder's own note, not a frame
            try:
                self.notes[number] = parse_note(text)
            except ValueError as exc:
                self._error(number, f"{exc}: {text[:60]!r}")
            return 0
        self.report.lines += 1
        state = self.sessions.get(session)
        if state is None:
            state = self.sessions[session] = Session("")  # for the AES keys of encrypted frames
        if (
            self.part is not None
            and self.part.keys is None
            and text[:2] == "1|"
            and text.split("|", 2)[1] not in state.keys
        ):
            raise _NeedsKeys(number)
        events = state.receive(text, trading_date=self.day, received_ns=ns)
        state.data_to_send()  # PINGPONG answers: nothing is sent from here
        # A line that every TR's files cover was reported by the pass that converted it.
        fresh = not all(number in cursor for cursor in self.covered.values())
        added = 0
        for event in events:
            if isinstance(event, Data):
                if number in self.covered[event.tr_id]:
                    continue
                for why in self.rows[event.tr_id].add_records(event.records, session, number):
                    self._error(number, why)
                added += len(event.records)
                if self.batch_first is None:
                    self.batch_first = number
                    self.batch_started = time.monotonic()
                self.batch_last = number
            elif isinstance(event, Malformed) and fresh:
                self._error(number, str(event.error))
        return added

    def _error(self, number: int, message: str) -> None:
        self.report.errors.append(f"{self.segment.name} line {number}: {message}")

    def _decode_refused(self, tr_id: str) -> DecodeSlow:
        def decode(payload: bytes, count: int, received_ns: int, line: int) -> list[Record]:
            text = f"0|{tr_id}|{count:03d}|" + payload.decode("utf-8", "replace")
            try:
                records, errors = decode_frame_lenient(text, trading_date=self.day, received_ns=received_ns)
            except ParseError as exc:
                records, errors = [], [exc]
            for e in errors:
                self._error(line, str(e))
            return records

        return decode

    # --- writing (in the worker threads: Arrow and Parquet release the GIL, so decoding and
    # writing overlap the line loop above) ---

    def _tabulate(self, last: bool = False) -> None:
        """Hand the collected records to a worker, which makes an Arrow table of them and appends
        it to the batch's file of its TR (in order: each append waits for the one before). The
        ``last`` of a batch goes in halves, made at once by the two workers."""
        for tr, rows in self.rows.items():
            if not len(rows):
                continue
            assert self.batch_first is not None
            file = self.files.get(tr)
            if file is None:
                name = f"{self.segment.name.split('/', 1)[1]}.{self.batch_first:010d}"
                file = self.files[tr] = DatasetFile(self.root, tr, self.day, name)
            halves = last and self.part is None and len(rows) > _FIRST_TABLE_ROWS
            for part in rows.halves() if halves else [rows]:
                self.appends[tr] = self.pool.submit(self._append, file, part, self.appends.get(tr))
                self.in_flight.append(self.appends[tr])
            self.rows[tr] = FrameRows(tr, self.segment.name, self.day)
        self.collected = 0
        self.table_rows = min(_TABLE_ROWS, self.table_rows * 2)
        self._throttle()

    def _append(self, file: DatasetFile, rows: FrameRows, before: Future[None] | None) -> None:
        table = rows.table(self._decode_refused(rows.tr_id))
        for line, why in rows.refused:
            self._error(line, why)
        if before is not None:
            before.result()
        file.write(table)

    def _throttle(self) -> None:
        """Bound memory: let the workers catch up when more than ``_IN_FLIGHT`` tables are pending."""
        self.in_flight = [f for f in self.in_flight if not f.done()]
        while len(self.in_flight) > _IN_FLIGHT:
            self.in_flight.pop(0).result()

    def age(self) -> float:
        return 0.0 if self.batch_first is None else time.monotonic() - self.batch_started

    def flush(self) -> None:
        """Finalize the batch's file of each TR with rows, all claiming the lines read since the
        last flush (by the workers; ``wait`` returns when they are in place)."""
        self._tabulate(last=True)
        if self.batch_first is None:
            return
        files, appends = self.files, self.appends
        self.files, self.appends = {}, {}
        # One task per TR, so that the files are finished at once. No deadlock: the pool is
        # FIFO, so every append a close waits for has started before the close does.
        for tr in sorted(files):
            self.writes.append(
                self.pool.submit(self._close, files, appends, tr, self.batch_first, self.batch_last)
            )
        self.batch_first, self.pending_rows = None, 0

    def _close(
        self, files: dict[str, DatasetFile], appends: dict[str, Future[None]], tr: str, first: int, last: int
    ) -> None:
        """Finalize ``tr``'s file of a batch; its claim names every TR of the batch with rows."""
        # Every append first, failed or not: another TR's failure must not discard this TR's
        # file while its append still writes to it (a ParquetWriter closed under a write crashes).
        futures_wait(list(appends.values()))
        try:
            for done in appends.values():
                done.result()
        except BaseException:
            files[tr].discard()
            raise
        counts = {t: f.rows for t, f in files.items() if f.rows}
        if tr not in counts:  # every record refused: no file, and the claim says so
            files[tr].discard()
            return
        files[tr].close(Claim(self.segment.name, first, last, counts))
        with self.report_lock:
            self.report.files += 1
            self.report.records[tr] = self.report.records.get(tr, 0) + counts[tr]

    def wait(self) -> None:
        """Until every file flushed so far is written; raises the worker's error, if any."""
        writes, self.writes = self.writes, []
        for w in writes:
            w.result()

    def finish(self) -> None:
        """The writer is gone and every line is read: seal the segment and mark it done."""
        self.flush()
        self.wait()
        # still holding the segment's lock (see live): no writer can reopen it meanwhile
        if not self.segment.sealed and self.segment.path.exists():
            self.segment = seal(self.segment)
            self.report.sealed += 1
        self.write_gaps(final=True)
        _mark_done(self.root, self.segment, self.line, len(self.notes))
        if self.file is not None:
            self.file.close()
            self.file = None

    def keys(self) -> Keys:
        """The AES keys its sessions hold now."""
        return {str(n): {tr: list(k) for tr, k in s.keys.items()} for n, s in self.sessions.items() if s.keys}

    def close(self) -> None:
        try:
            self.wait()
        finally:
            for tr, file in self.files.items():  # a batch never flushed (an error): its files go
                futures_wait([self.appends[tr]])
                file.discard()
            self.files, self.appends = {}, {}
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


def _without_last_lf(data: bytes) -> bytes:
    return data[:-1] if data.endswith(b"\n") else data


def _last_ns(data: bytes) -> int | None:
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


def _marker(segment: Segment) -> Path:
    return segment.path.parent / (segment.name.split("/", 1)[1] + DONE_SUFFIX)


def _done(root: Path, segment: Segment, check_files: bool) -> bool:
    """Whether a segment needs no pass: it is marked done and, if ``check_files``, every file
    its marker lists still exists. A deleted file makes it pending again, and the pass then
    converts exactly what the files that exist do not cover (their claims, ``coverage``):
    issue 11, item 2. A marker without a file list (an earlier kisfeed) is checked the same way,
    by a pass over the segment."""
    try:
        marker = json.loads(_marker(segment).read_text())
    except FileNotFoundError:
        return False
    except (OSError, ValueError):
        return False  # unreadable: a pass rewrites it
    if not check_files:
        return True
    files = marker.get("files")
    return isinstance(files, list) and all((root / f).is_file() for f in files)


def _gaps_lost(root: Path, segment: Segment) -> bool:
    """A done segment with notes whose gaps file is gone (deleted): it must be read again."""
    try:
        notes = json.loads(_marker(segment).read_text()).get("notes", 0)
    except (OSError, ValueError, AttributeError):
        return False
    return bool(notes) and not gaps_file(root, segment.name).exists()


def _segment_files(root: Path, segment: Segment) -> list[str]:
    """The dataset files of a segment, relative to ``root`` (what its marker lists)."""
    stem = segment.name.split("/", 1)[1]
    return [
        p.relative_to(root).as_posix()
        for tr in sorted(LAYOUTS)
        for p in dataset_files(root, tr, segment.day, prefix=stem + ".")
    ]


def _mark_done(root: Path, segment: Segment, lines: int, notes: int = 0) -> None:
    marker = _marker(segment)
    partial = marker.with_name("." + marker.name + ".tmp")
    partial.write_text(
        json.dumps(
            {"segment": segment.name, "lines": lines, "notes": notes, "files": _segment_files(root, segment)}
        )
    )
    os.replace(partial, marker)


def _merged(before: Keys, after: Keys) -> Keys:
    """The keys ``before`` updated with those a later part's lines set."""
    out = {session: dict(keys) for session, keys in before.items()}
    for session, keys in after.items():
        out.setdefault(session, {}).update(keys)
    return out


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class ConverterSettings(TypedDict, total=False):
    """``Converter``'s settings, as ``rebuild`` passes them on."""

    flush_interval: float
    max_rows: int
    poll_interval: float
    lock_wait: float
    processes: int | None


class _PartResult(TypedDict):
    """What converting a part returns (``Converter._convert_part``); it crosses from a child
    process as JSON, so it holds only JSON's types (line numbers as strings)."""

    stop: int | None
    keys: Keys
    line: int
    report: str
    notes: dict[str, Note]
    last_ns: int | None


class Converter:
    """Converts a data directory's journal into its Parquet dataset.

    ``flush_interval``: in ``follow`` mode, a file is finalized at least this often (issue 5:
    "files finalized at least every N seconds", so other processes see all but the last few
    seconds). ``max_rows``: rows per file at most (bounds memory). ``processes``: how many
    processes ``rebuild`` converts a large sealed segment with (default: the cores, up to 4).
    """

    def __init__(
        self,
        root: str | Path,
        *,
        flush_interval: float = 5.0,
        max_rows: int = 1_000_000,
        poll_interval: float = 0.2,
        lock_wait: float = 30.0,
        processes: int | None = None,
    ) -> None:
        self.root = Path(root)
        self.flush_interval, self.max_rows = flush_interval, max_rows
        self.poll_interval, self.lock_wait = poll_interval, lock_wait
        # At most 64: more than cores only costs, and WorkQueue's pipe holds 16k parts.
        self.processes = min(_cores(), _MAX_PROCESSES) if processes is None else min(processes, 64)
        self.report = ConvertReport()

    def _cleanup(self) -> None:
        for tmp in self.root.glob("*/date=*/.*.parquet.tmp"):
            tmp.unlink(missing_ok=True)

    def _pending_segments(self, check_files: bool = False) -> list[Segment]:
        """Segments not marked done; with ``check_files`` (``rebuild``), also those with a
        dataset file or their gaps file deleted since. ``follow`` polls often and goes by the
        markers alone."""
        if not (self.root / "journal").is_dir():
            return []
        return [
            s
            for s in segments(self.root)
            if not _done(self.root, s, check_files) or (check_files and _gaps_lost(self.root, s))
        ]

    def rebuild(self) -> ConvertReport:
        """One pass: convert every journal line no finalized file covers; seal and mark done
        every segment no writer holds."""
        with ConvertLock(self.root, self.lock_wait):
            self._cleanup()
            for seg in self._pending_segments(check_files=True):
                self.report.segments += 1
                parts = self._parts(seg)
                if parts:
                    self._convert_parts(seg, parts)
                    continue
                # A pool per segment: no thread is left when the next one forks (forked.can_fork).
                with ThreadPoolExecutor(_WORKERS, "kisfeed-convert") as pool:
                    job = _SegmentJob(self.root, seg, self.report, self.max_rows, pool)
                    try:
                        live = job.live()
                        job.read(final=not live)
                        if live:
                            job.flush()
                            job.wait()
                        else:
                            job.finish()
                    finally:
                        job.close()
        return self.report

    def _parts(self, segment: Segment) -> list[_Part]:
        """A sealed segment's lines in parts of about equal size, a few per process, where that
        is worth it and safe: nothing of it converted yet, and a fork possible."""
        if self.processes < 2 or not can_fork():
            return []
        frames = frame_index(segment)
        if frames is None or len(frames) < 2 * _MIN_PART_FRAMES:
            return []
        if any(coverage(self.root, segment.name, _PLAIN_TRS).values()):
            return []  # a pass was interrupted: the rest, in one process
        n = min(
            self.processes * _PARTS_PER_PROCESS,
            max(self.processes, len(frames) // _PART_FRAMES),
            len(frames) // _MIN_PART_FRAMES,
        )
        lines = frames[-1].first_line + frames[-1].lines
        firsts = [f.first_line for f in frames]
        cuts = sorted({0, len(frames)} | {bisect_left(firsts, 1 + lines * k // n) for k in range(1, n)})
        return [
            _Part(frames[a:b], frames[a].first_line, {} if a == 0 else None)
            for a, b in itertools.pairwise(cuts)
        ]

    def _convert_parts(self, segment: Segment, parts: list[_Part]) -> None:
        """Convert the parts in this process and in children, each taking the next part when it
        is done with one (so that a process slowed down does less, not the others wait). A part
        that stopped for want of a key (``_NeedsKeys``) is finished here, after all, in order,
        where the keys of the lines before it are known."""
        processes = min(self.processes, len(parts))
        children: list[Forked[dict[str, _PartResult]]] = []
        with WorkQueue(len(parts)) as queue:
            try:
                for _ in range(processes - 1):
                    children.append(
                        Forked(
                            partial(self._convert_queued, segment, parts, queue),
                            f"a rebuild process for {segment.name}",
                        )
                    )
                done = self._convert_queued(segment, parts, queue)
                for child in children:
                    done.update(child.result())
            finally:
                for child in children:
                    child.kill()
        keys: Keys = {}
        notes: dict[int, Note] = {}
        for i, part in enumerate(parts):
            result = done[str(i)]
            self.report.add(ConvertReport.from_json(result["report"]))
            keys = _merged(keys, result["keys"])
            notes.update((int(line), note) for line, note in result["notes"].items())
            if result["stop"] is not None:
                result = self._convert_part(segment, part.resumed(result["stop"], keys))
                self.report.add(ConvertReport.from_json(result["report"]))
                keys = result["keys"]
                notes.update((int(line), note) for line, note in result["notes"].items())
        self.report.processes = max(self.report.processes, processes)
        if notes:
            ordered = [notes[line] for line in sorted(notes)]
            write_gaps(
                self.root, segment.name, segment_rows(ordered, segment.name, result["last_ns"], final=True)
            )
        _mark_done(self.root, segment, result["line"], len(notes))

    def _convert_queued(
        self, segment: Segment, parts: list[_Part], queue: WorkQueue
    ) -> dict[str, _PartResult]:
        """Convert parts taken from ``queue`` until none is left: their results by number (a
        string: the results cross from a child process as JSON)."""
        done: dict[str, _PartResult] = {}
        while (i := queue.take()) is not None:
            done[str(i)] = self._convert_part(segment, parts[i])
        return done

    def _convert_part(self, segment: Segment, part: _Part) -> _PartResult:
        """Convert a part's lines, or those before the line it stops at (``"stop"``); returns
        that, the keys its lines left, the last line it read and its report."""
        stop, report = None, ConvertReport()
        # A process per core: one worker thread overlaps the line loop (a second one only
        # competes for the core the processes share; benchmarks/record.py).
        workers = max(1, min(_WORKERS, _cores() // self.processes))
        with ThreadPoolExecutor(workers, "kisfeed-convert") as pool:
            job = _SegmentJob(self.root, segment, report, self.max_rows, pool, part)
            try:
                try:
                    job.read(final=True)
                except _NeedsKeys as exc:
                    stop = exc.line
                job.flush()
                job.wait()
            finally:
                job.close()
        return {
            "stop": stop,
            "keys": job.keys(),
            "line": job.line,
            "report": report.to_json(),
            "notes": {str(line): note for line, note in job.notes.items()},
            "last_ns": job.last_ns,
        }

    def follow(self, stop: Callable[[], bool]) -> ConvertReport:
        """Convert continuously until ``stop()`` is true; then convert what is left and return."""
        with ConvertLock(self.root, self.lock_wait), ThreadPoolExecutor(_WORKERS, "kisfeed-convert") as pool:
            self._cleanup()
            jobs: dict[str, _SegmentJob] = {}
            while True:
                stopping = stop()
                for seg in self._pending_segments():
                    job = jobs.get(seg.name)
                    if job is None:
                        job = jobs[seg.name] = _SegmentJob(self.root, seg, self.report, self.max_rows, pool)
                        self.report.segments += 1
                    live = job.live()
                    job.read(final=not live)
                    if not live:
                        job.finish()
                        job.close()
                        del jobs[seg.name]
                    elif stopping or job.age() >= self.flush_interval:
                        job.flush()
                        job.wait()
                if stopping:
                    for job in jobs.values():
                        job.close()
                    return self.report
                time.sleep(self.poll_interval)


def rebuild(root: str | Path, **settings: Unpack[ConverterSettings]) -> ConvertReport:
    """Convert every journal line of ``root`` that the Parquet dataset lacks (after a crash, or
    to re-derive deleted files). Returns what it did; bad lines are listed, never fatal."""
    return Converter(root, **settings).rebuild()
