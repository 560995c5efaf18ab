"""Frames to columns: journal payloads become the dataset's typed Arrow columns.

Plain frames whose every value is well formed take the columnar path: Arrow's CSV reader splits
the ``^``-joined fields in C++ without the GIL, and Arrow casts type them. Any frame with an
odd value, an odd width or encryption goes through ``kisfeed.protocol`` instead, which decides
what a malformed frame is (design principle 6), so a row always equals the record the live
feed delivered for that frame.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from itertools import repeat

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..schema import Kind, Record, layout_for
from .casts import BadRows, book_disorder, cast_column, read_fields
from .dataset import empty_table, schema_for
from .records import meta_columns, records_table
from .scan import split_records

__all__ = ["FrameRows", "DecodeSlow"]

_INTEGER = (Kind.INT, Kind.SIGNED, Kind.PRICE)
_INT64 = (-(2**63), 2**63 - 1)
DecodeSlow = Callable[[bytes, int, int, int], Sequence[Record]]


def _joined(chunks: Sequence[np.ndarray], dtype: type) -> np.ndarray:
    return np.concatenate(chunks).astype(dtype, copy=False) if chunks else np.zeros(0, dtype)


def _records_of(payload: bytes, count: int) -> list[bytes]:
    """The records of a frame of ``count`` whole records, its width the fields over the count
    (reference 2.4): for a layout whose records come in two widths (``Layout.required``)."""
    if count == 1:
        return [payload]
    fields = payload.split(b"^")
    width = len(fields) // count
    return [b"^".join(fields[i : i + width]) for i in range(0, count * width, width)]


@dataclass
class FrameRows:
    """Records of one TR from one journal segment, collected for one table.

    ``add_bulk`` (``add_plain``: one) takes the field texts of plain frames (``^``-joined bytes,
    whole records) for the columnar path; ``add_records`` takes records the protocol decoded
    (encrypted frames, odd widths, odd values).
    """

    tr_id: str
    segment: str
    day: date
    texts: list[bytes] = field(default_factory=list)  # one record's fields per item
    # per record, in chunks of add_bulk: receive time, session, journal line, place in its frame
    meta: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list)
    records: list[Record] = field(default_factory=list)
    positions: list[tuple[int, int, int]] = field(default_factory=list)  # (line, index, session)
    refused: list[tuple[int, str]] = field(default_factory=list)  # (line, why) of records left out

    def __len__(self) -> int:
        return len(self.texts) + len(self.records)

    def add_plain(self, payload: bytes, count: int, received_ns: int, session: int, line: int) -> None:
        """One plain frame (see ``add_bulk``)."""
        self.add_bulk([payload], *(np.array([x]) for x in (count, received_ns, session, line)))

    def add_bulk(
        self,
        payloads: list[bytes],
        counts: np.ndarray,
        ns: np.ndarray,
        sessions: np.ndarray,
        lines: np.ndarray,
    ) -> None:
        """Plain frames (``^``-joined field texts of ``counts`` whole records each), in journal
        order. A frame of several records is split into records (reference 2.4: no record
        separator)."""
        total = int(counts.sum())
        if total == len(payloads):  # one record each: the common case
            self.texts += payloads
            index = np.zeros(total, dtype=np.int16)
        else:
            layout = layout_for(self.tr_id)
            if layout.required < layout.width:  # records of either width (scan.HEADERS)
                self.texts += [r for p, c in zip(payloads, counts.tolist()) for r in _records_of(p, c)]
            else:
                self.texts += split_records(payloads, counts, layout.width - 1)
            index = (np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)).astype(np.int16)
            ns, sessions, lines = (np.repeat(x, counts) for x in (ns, sessions, lines))
        self.meta.append((ns, sessions, lines, index))

    def _meta(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The plain records' receive times, sessions, lines and places, each as one array."""
        if len(self.meta) != 1:
            ns, sessions, lines, index = zip(*self.meta) if self.meta else ([], [], [], [])
            self.meta = [
                (
                    _joined(ns, np.int64),
                    _joined(sessions, np.int32),
                    _joined(lines, np.int64),
                    _joined(index, np.int16),
                )
            ]
        return self.meta[0]

    def add_records(self, records: Sequence[Record], session: int, line: int) -> list[str]:
        """Add decoded records; returns why any was refused (an integer past int64, which a
        Parquet column cannot hold)."""
        refused = []
        for i, record in enumerate(records):
            wide = [
                f.kis
                for f in record.layout.fields
                if f.kind in _INTEGER
                and getattr(record, f.name) is not None
                and not _INT64[0] <= getattr(record, f.name) <= _INT64[1]
            ]
            if wide:
                refused.append(f"record {i}: {', '.join(wide)} past the int64 range")
                self.refused.append((line, refused[-1]))
                continue
            self.records.append(record)
            self.positions.append((line, i, session))
        return refused

    def table(self, decode_slow: DecodeSlow) -> pa.Table:
        """All rows as one table in journal order. ``decode_slow(payload, count, received_ns,
        line)`` returns the records the protocol makes of a frame the columnar path refused."""
        parts: list[pa.Table] = []
        if self.texts:
            parts.append(self._plain_table(decode_slow))
        if self.records:
            parts.append(records_table(self.tr_id, self.segment, self.records, self.positions))
        parts = [t for t in parts if t.num_rows]
        if not parts:
            return empty_table(self.tr_id)
        if len(parts) == 1:
            return parts[0]
        table = pa.concat_tables(parts)
        return table.take(
            pc.sort_indices(table, [("journal_line", "ascending"), ("frame_index", "ascending")])
        )

    def _plain_table(self, decode_slow: DecodeSlow) -> pa.Table:
        keep = np.ones(len(self.texts), dtype=bool)
        strings, suspicious = None, True
        try:
            strings, suspicious = read_fields(self.tr_id, self.texts)
        except pa.ArrowInvalid:  # a one-record frame of the wrong width (scan lets them through)
            layout = layout_for(self.tr_id)
            width = layout.width
            carets = np.fromiter(
                map(bytes.count, self.texts, repeat(b"^")), dtype=np.int64, count=len(self.texts)
            )
            keep = (carets >= layout.required - 1) & (carets <= width - 1)  # read_fields completes the short
            # Rows of empty fields in their place keep the table aligned with ``texts``.
            blank = b"^" * (width - 1)
            try:
                aligned = [t if k else blank for t, k in zip(self.texts, keep)]
                strings, suspicious = read_fields(self.tr_id, aligned)
            except pa.ArrowInvalid:  # cannot happen for rows of the layout's width; the protocol decides
                keep[:] = False
        table = empty_table(self.tr_id)
        while keep.any():
            try:
                assert strings is not None
                table = self._columnar(strings, keep, suspicious)
                break
            except BadRows as bad:
                rows = np.flatnonzero(keep)[bad.mask]
                keep[rows] = False
        ns, sessions, lines, index = self._meta()
        done: set[int] = set()
        for i in np.flatnonzero(~keep).tolist():  # every record of a refused frame goes the careful way
            line = int(lines[i])
            if line not in done:
                done.add(line)
                # The frame's records lie together (index 0, 1, ...); joined by "^" they are its
                # payload again, as split_records cut it.
                first = end = i - int(index[i])
                while end < len(lines) and lines[end] == line and index[end] == end - first:
                    end += 1
                payload = b"^".join(self.texts[first:end])
                self.add_records(decode_slow(payload, end - first, int(ns[i]), line), int(sessions[i]), line)
        return table

    def _columnar(self, strings: pa.Table, keep: np.ndarray, suspicious: bool) -> pa.Table:
        ns, sessions, lines, index = self._meta()
        if not keep.all():
            # a frame is refused whole: drop every record of a line that lost one
            keep &= ~np.isin(lines, lines[~keep])
            strings = strings.filter(pa.array(keep))
        layout = layout_for(self.tr_id)
        # every column cast before any refusal is raised: the rows refused in each, at once (one
        # raise per column in turn made a batch with bad values in many columns cast its whole
        # width once per such column)
        columns, refused = {}, np.zeros(strings.num_rows, dtype=bool)
        for f in layout.fields:
            try:
                columns[f.name] = cast_column(strings.column(f.name), f.kind, suspicious)
            except BadRows as bad:
                refused |= bad.mask
        if refused.any():
            raise BadRows(refused)
        if layout.depth:  # a book out of order is the protocol's to name (BookOrderError), not a row
            disorder = book_disorder(columns, layout)
            if disorder.any():
                raise BadRows(disorder)
        meta = meta_columns(
            self.day,
            columns["time"],
            ns[keep],
            sessions[keep],
            self.segment,
            lines[keep],
            index[keep],
            extra=None,
            missing=None,
        )
        return pa.table({**columns, **meta}, schema=schema_for(self.tr_id))
