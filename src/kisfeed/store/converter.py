"""Journal → Parquet: the dataset is derived from the journal, so a crash can only delay it.

Every finalized Parquet file records the journal range it covers (a ``Claim``: segment, first and
last line, and the TRs that got rows). The converter reads exactly the journal lines no
finalized file covers, so ``rebuild`` after a ``kill -9`` restores every record the dataset
lacks and duplicates none (issue 5, part 3): a file is either whole and renamed into place, with
its claim, or absent. Loss is bounded by what the journal lost, the fsync window.

One pipeline, in one process, for ``rebuild`` and for ``follow`` alike: a segment is read in
blocks of whole lines; ``scan`` finds the plain data frames of a block in bulk (checksum, header,
field count); their payloads, grouped by TR, become typed columns through Arrow's CSV reader
(``columns.FrameRows``) in a second thread while the first scans on, and a third appends each
batch of tables to the TRs' files as row groups (Arrow releases the GIL in both). Every other
line (a bad checksum, a note, a control message, an encrypted frame, an escape, an odd width)
takes the careful way: ``journal.parse_line`` names what is wrong with it, and the protocol
decodes it. Memory is bounded by the block and ``_TABLE_ROWS``: one batch in each thread.

A segment that no writer holds any more (its lock is free) and that is fully converted is
compressed (if its writer could not) and marked done (``progress.mark_done``). One converter
per data directory at a time: ``.convert.lock``. The journal's note lines (session 0) are not
frames: the notes of a segment become its file of the ``gaps`` table (``gaps.py``).

``python -m kisfeed.store ROOT --follow`` (``__main__.py``) is the recorder's converter child.
"""

from __future__ import annotations

import importlib.abc
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import TypedDict, Unpack

import numpy as np
import pyarrow as pa

from ..exceptions import ParseError
from ..protocol import Data, Malformed, Session, decode_frame_lenient
from ..schema import Record
from .columns import FrameRows
from .dataset import Claim, DatasetFile
from .gaps import Note, parse_note, segment_rows, write_gaps
from .journal import NOTE_SESSION, BadLine, Segment, parse_line, seal, segments
from .lock import LOCK_NAME, ConvertLock
from .progress import DONE_SUFFIX, ConvertReport, LineCursor, coverage, gaps_lost, is_done, mark_done
from .scan import TRS, Scan, scan
from .tail import SegmentTail, last_received_ns

__all__ = ["Converter", "ConvertReport", "rebuild", "without_pandas", "DONE_SUFFIX", "LOCK_NAME"]


class _PandasAbsent(importlib.abc.MetaPathFinder):
    def find_spec(self, name: str, *args: object) -> None:
        if name == "pandas":
            raise ModuleNotFoundError("left out of a converting process", name=name)


def without_pandas() -> None:
    """Keep pyarrow from importing pandas, with its first array, in a process that converts and
    never uses pandas (the recorder's converter child, ``kisfeed demo``): most of its memory
    after pyarrow's own. (``sys.modules["pandas"] = None`` is not enough: pyarrow's compiled
    import takes the None for the module.) A process that imported pandas already keeps it."""
    if "pandas" not in sys.modules and not any(isinstance(f, _PandasAbsent) for f in sys.meta_path):
        sys.meta_path.insert(0, _PandasAbsent())


# Rows made into one table, a row group of each TR's file: bounds memory.
_TABLE_ROWS = 32_768


class _SegmentJob:
    """Converts one segment, from wherever its coverage stops, possibly while it grows."""

    def __init__(self, root: Path, segment: Segment, report: ConvertReport, max_rows: int) -> None:
        self.root, self.report, self.max_rows = root, report, max_rows
        self.name, self.day = segment.name, segment.day
        self.covered = {tr: LineCursor(iv) for tr, iv in coverage(root, segment.name, TRS).items()}
        # each session's protocol state: the AES keys of its encrypted frames
        self.sessions: defaultdict[int, Session] = defaultdict(lambda: Session(""))
        self.rows = {tr: FrameRows(tr, segment.name, self.day) for tr in TRS}
        self.files: dict[str, DatasetFile] = {}  # the batch's file of each TR, being written
        self.batch_first: int | None = None
        self.batch_last = 0
        self.batch_started = 0.0
        self.pending_rows = 0  # rows since the last flush
        self.collected = 0  # rows since the last _tabulate
        self.tail = SegmentTail(segment)
        self.notes: dict[int, Note] = {}  # line -> the note on it (gaps.parse_note)
        self.last_ns: int | None = None  # receive time of the last line read (cuts open gaps)
        self._gaps_written: tuple[int, bool] | None = None  # (notes, final) of the gaps file
        # one thread makes the tables while this one scans the next lines, another appends them
        # to their files meanwhile (module docstring)
        self._tables = ThreadPoolExecutor(1, thread_name_prefix="kisfeed-tables")
        self._parquet = ThreadPoolExecutor(1, thread_name_prefix="kisfeed-parquet")
        self._making: Future[None] | None = None
        self._writing: Future[None] | None = None

    # --- reading ---

    def step(self, flush_after: float) -> bool:
        """Consume the lines available now. If the segment's writer is gone, they are all of
        them: finish the segment and return True. Else flush a batch ``flush_after`` s old."""
        final = not self.tail.live()
        for data in self.tail.blocks(final):
            self._block(data)
            self.last_ns = last_received_ns(data) or self.last_ns
        if final:
            self.finish()
        else:
            self.write_gaps(final=False)
            if time.monotonic() - self.batch_started >= flush_after:  # no batch: flush does nothing
                self.flush()
        return final

    def write_gaps(self, final: bool) -> None:
        """The segment's gaps file, if its notes changed since it was written (``final``: the
        writer is gone, so a gap still open was cut by the end of the recording)."""
        if not self.notes or self._gaps_written == (len(self.notes), final):
            return
        notes = [self.notes[line] for line in sorted(self.notes)]
        write_gaps(self.root, self.name, segment_rows(notes, self.name, self.last_ns, final))
        self._gaps_written = (len(self.notes), final)

    def _block(self, data: bytes) -> None:
        """Convert a block of lines: every line the bulk path does not take carefully, in order,
        then the plain data frames in bulk (a table puts rows in journal order); in steps of
        lines that keep files near ``max_rows``."""
        found = scan(data)
        n = len(found.plain)
        step = max(1, min(self.max_rows, _TABLE_ROWS))
        for i in range(0, n, step):
            j = min(n, i + step)
            base = self.tail.lines + 1 - i  # line number of block line 0
            self.tail.lines += j - i
            n_rows = 0
            for k in (np.flatnonzero(~found.plain[i:j]) + i).tolist():
                n_rows += self._careful(base + k, data[found.starts[k] : found.ends[k]])
            n_rows += self._bulk(found, data, i, j, base)
            self.pending_rows += n_rows
            self.collected += n_rows
            if self.pending_rows >= self.max_rows:
                self.flush()
            elif self.collected >= _TABLE_ROWS:
                self._tabulate()

    def _bulk(self, found: Scan, data: bytes, a: int, b: int, base: int) -> int:
        """The plain lines among ``a``–``b - 1`` of a scanned block: their records, less those of
        lines finalized files cover for their TR. Returns the rows added."""
        plain = np.flatnonzero(found.plain[a:b]) + a
        if not len(plain):
            return 0
        n_rows = 0
        for t, tr in enumerate(TRS):
            idx = plain[found.tr[plain] == t]
            idx = idx[~self.covered[tr].mask(idx + base)]
            if not len(idx):
                continue
            counts = found.count[idx]
            starts, ends = found.payload[idx].tolist(), found.payload_end[idx].tolist()
            payloads = list(map(data.__getitem__, map(slice, starts, ends)))
            self.rows[tr].add_bulk(payloads, counts, found.ns[idx], found.session[idx], idx + base)
            n_rows += int(counts.sum())
        self._in_batch(base + int(plain[0]), base + int(plain[-1]))
        return n_rows

    def _in_batch(self, first: int, last: int) -> None:
        """Lines ``first``–``last`` gave rows: the batch's claim covers them."""
        if self.batch_first is None:
            self.batch_first, self.batch_last, self.batch_started = first, last, time.monotonic()
        self.batch_first = min(self.batch_first, first)
        self.batch_last = max(self.batch_last, last)

    def _careful(self, number: int, line: bytes) -> int:
        """A line the bulk path does not take: a bad line (named and counted), a note, a control
        message, or a frame for the protocol (encrypted, escaped, odd width). Rows added."""
        try:
            ns, session, text = parse_line(line)
        except ValueError as exc:
            self.report.bad_lines.append(str(BadLine(self.name, number, str(exc), line[:60])))
            return 0
        if session == NOTE_SESSION:  # the recorder's own note, not a frame
            try:
                self.notes[number] = parse_note(text)
            except ValueError as exc:
                self._error(number, f"{exc}: {text[:60]!r}")
            return 0
        self.report.lines += 1
        state = self.sessions[session]
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
                self._in_batch(number, number)
            elif isinstance(event, Malformed) and fresh:
                self._error(number, str(event.error))
        return added

    def _error(self, number: int, message: str) -> None:
        self.report.errors.append(f"{self.name} line {number}: {message}")

    def _decode_refused(
        self, tr_id: str, payload: bytes, count: int, received_ns: int, line: int
    ) -> list[Record]:
        """The protocol's records of a frame the columnar path refused (``FrameRows.table``)."""
        text = f"0|{tr_id}|{count:03d}|" + payload.decode("utf-8", "replace")
        try:
            records, errors = decode_frame_lenient(text, trading_date=self.day, received_ns=received_ns)
        except ParseError as exc:
            records, errors = [], [exc]
        for e in errors:
            self._error(line, str(e))
        return records

    # --- writing ---

    def _tabulate(self) -> None:
        """The collected records, handed to the table thread: a table per TR, appended to the
        batch's file of the TR. One hand-over waits at most: memory stays bounded."""
        batch = []
        for tr, rows in self.rows.items():
            if not len(rows):
                continue
            assert self.batch_first is not None
            file = self.files.get(tr)
            if file is None:
                name = f"{self.name.split('/', 1)[1]}.{self.batch_first:010d}"
                file = self.files[tr] = DatasetFile(self.root, tr, self.day, name)
            batch.append((file, rows))
            self.rows[tr] = FrameRows(tr, self.name, self.day)
        self.collected = 0
        if batch:
            if self._making is not None:
                self._making.result()
            self._making = self._tables.submit(self._make, batch)

    def _make(self, batch: list[tuple[DatasetFile, FrameRows]]) -> None:
        """In the table thread: the batch's tables, handed to the Parquet thread once it has
        written the previous ones (one batch waits there at most: memory stays bounded)."""
        tables = []
        while batch:  # each TR's rows let go once made into a table: the wait below holds none
            file, rows = batch.pop(0)
            tables.append((file, rows.table(partial(self._decode_refused, file.tr_id))))
            for line, why in rows.refused:
                self._error(line, why)
            del rows
        if self._writing is not None:
            self._writing.result()
        self._writing = self._parquet.submit(_write, tables)

    def _written(self) -> None:
        """Wait for the tables handed over to be made and written (raising what failed there)."""
        if self._making is not None:
            self._making.result()  # it hands over to the Parquet thread: wait for that after it
        if self._writing is not None:
            self._writing.result()
        self._making = self._writing = None

    def flush(self) -> None:
        """Finalize the batch's file of each TR with rows, all claiming the lines read since the
        last flush. Each file is renamed into place on its own: a TR the claim names is covered
        only once its own file exists (``Claim``), so a crash between two leaves no hole."""
        self._tabulate()
        self._written()
        if self.batch_first is None:
            return
        counts = {tr: f.rows for tr, f in self.files.items() if f.rows}
        claim = Claim(self.name, self.batch_first, self.batch_last, counts)
        for tr in sorted(self.files):
            if tr in counts:  # else every record was refused: no file, and the claim says so
                self.files[tr].close(claim)
                self.report.files += 1
                self.report.records[tr] = self.report.records.get(tr, 0) + counts[tr]
            self.files.pop(tr).discard()
        self.batch_first, self.pending_rows = None, 0

    def finish(self) -> None:
        """The writer is gone and every line is read: seal the segment and mark it done."""
        self.flush()
        # still holding the segment's lock (SegmentTail.live): no writer can reopen it meanwhile
        tail = self.tail
        if not tail.segment.sealed and tail.segment.path.exists():
            tail.segment = seal(tail.segment)
            self.report.sealed += 1
        self.write_gaps(final=True)
        mark_done(self.root, tail.segment, tail.lines, len(self.notes))

    def close(self) -> None:
        """Drop the files of a batch never flushed (an error) and the segment's file."""
        for pool in (self._tables, self._parquet):  # in this order: the first hands over to the second
            pool.shutdown()  # what they made is dropped below: their error is not news
        for file in self.files.values():
            file.discard()
        self.tail.close()


def _write(tables: list[tuple[DatasetFile, pa.Table]]) -> None:
    for file, table in tables:
        file.write(table)


class ConverterSettings(TypedDict, total=False):
    """``Converter``'s settings, as ``rebuild`` passes them on."""

    flush_interval: float
    max_rows: int
    poll_interval: float
    lock_wait: float


class Converter:
    """Converts a data directory's journal into its Parquet dataset.

    ``flush_interval``: in ``follow`` mode, a file is finalized at least this often (issue 5:
    "files finalized at least every N seconds", so other processes see all but the last few
    seconds). ``max_rows``: rows per file at most.
    """

    def __init__(
        self,
        root: str | Path,
        *,
        flush_interval: float = 5.0,
        max_rows: int = 1_000_000,
        poll_interval: float = 0.2,
        lock_wait: float = 30.0,
    ) -> None:
        self.root = Path(root)
        self.flush_interval, self.max_rows = flush_interval, max_rows
        self.poll_interval, self.lock_wait = poll_interval, lock_wait
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
            if not is_done(self.root, s, check_files) or (check_files and gaps_lost(self.root, s))
        ]

    def rebuild(self) -> ConvertReport:
        """One pass: convert every journal line no finalized file covers; seal and mark done
        every segment no writer holds."""
        with ConvertLock(self.root, self.lock_wait):
            self._cleanup()
            for seg in self._pending_segments(check_files=True):
                self.report.segments += 1
                job = _SegmentJob(self.root, seg, self.report, self.max_rows)
                try:
                    job.step(flush_after=0.0)
                finally:
                    job.close()
        return self.report

    def follow(self, stop: Callable[[], bool]) -> ConvertReport:
        """Convert continuously until ``stop()`` is true; then convert what is left and return."""
        with ConvertLock(self.root, self.lock_wait):
            self._cleanup()
            jobs: dict[str, _SegmentJob] = {}
            try:
                while True:
                    stopping = stop()
                    for seg in self._pending_segments():
                        job = jobs.get(seg.name)
                        if job is None:
                            job = jobs[seg.name] = _SegmentJob(self.root, seg, self.report, self.max_rows)
                            self.report.segments += 1
                        if job.step(0.0 if stopping else self.flush_interval):
                            jobs.pop(seg.name).close()
                    if stopping:
                        return self.report
                    time.sleep(self.poll_interval)
            finally:
                for job in jobs.values():
                    job.close()


def rebuild(root: str | Path, **settings: Unpack[ConverterSettings]) -> ConvertReport:
    """Convert every journal line of ``root`` that the Parquet dataset lacks (after a crash, or
    to re-derive deleted files). Returns what it did; bad lines are listed, never fatal."""
    return Converter(root, **settings).rebuild()
