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
import pyarrow.csv as pcsv

from ..schema import Kind, Record, layout_for
from .dataset import ARROW_TYPES, MEMORY_POOL, empty_table, schema_for
from .records import meta_columns, records_table
from .scan import split_records

__all__ = ["FrameRows", "DecodeSlow"]


class _BadRows(Exception):
    """Rows whose values the columnar path does not take; the protocol decides about them."""

    def __init__(self, mask: np.ndarray) -> None:
        self.mask = mask


# The texts Arrow's casts read exactly as the protocol does: kinds.WIRE's patterns, bounded so
# that the value fits (int64: 18 digits; float64: 300 digits before the point). Arrow reads more
# (hex "0x10", "+5", "1e5", "inf", "nan(...)", a 400-digit inf), which WIRE refuses, so a batch
# holding any byte of _SUSPICIOUS is checked value by value against these, and a DECIMAL column
# that came out infinite goes back to the protocol. tests/schema/test_wire and tests/store/test_columns hold them to WIRE.
_SAFE = {
    Kind.INT: r"^-?[0-9]{1,18}$",
    Kind.SIGNED: r"^-?[0-9]{1,18}$",
    Kind.PRICE: r"^-?[0-9]{1,18}$",
    Kind.DECIMAL: r"^-?([0-9]{1,300}(\.[0-9]{0,30})?|\.[0-9]{1,30})$|^-?[nN][aA][nN]$",
}
_SUSPICIOUS = (b"x", b"X", b"(", b"+", b"e", b"E", b"i", b"I")


def _mask(values: pa.Array) -> np.ndarray:
    return np.asarray(values.to_numpy(zero_copy_only=False), dtype=bool)


def _unsafe_rows(col: pa.Array, kind: Kind) -> np.ndarray:
    ok = pc.or_(pc.match_substring_regex(col, _SAFE[kind]), pc.equal(col, ""))
    return ~_mask(pc.fill_null(ok, True))


def _fixed_digits(col: pa.Array, width: int) -> tuple[np.ndarray, np.ndarray]:
    """The digits (one row of ``width`` per non-null value) of a string column whose texts are
    all exactly ``width`` ASCII digits, and which rows are not null; ``_BadRows`` for any other
    text. Read straight from the column's buffers: a regular expression per value over the TIME
    and SIGN columns cost more than the rest of their conversion (benchmarks/record.py)."""
    n = len(col)
    _, offsets, data = col.buffers()
    starts = np.frombuffer(offsets, dtype=np.int32, count=n + 1, offset=col.offset * 4)
    valid = np.ones(n, dtype=bool) if col.null_count == 0 else ~_mask(col.is_null())
    bad = valid & (np.diff(starts) != width)
    if bad.any():
        raise _BadRows(bad)
    raw = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
    count = int(np.count_nonzero(valid))
    if starts[-1] - starts[0] == count * width:  # the texts lie end to end (read_csv's nulls are empty)
        digits = raw[starts[0] : starts[-1]].reshape(count, width)
    else:
        digits = raw[starts[:-1][valid][:, None] + np.arange(width)]
    digits = digits - np.uint8(48)  # wraps below "0", so one comparison checks both ends
    bad = np.any(digits > 9, axis=1)
    if bad.any():
        raise _BadRows(_spread(bad, valid))
    return digits, valid


def _spread(values: np.ndarray, valid: np.ndarray, fill: int = 0) -> np.ndarray:
    """``values`` of the valid rows as a value per row (``fill`` where not valid)."""
    if len(values) == len(valid):
        return values
    out = np.full(len(valid), fill, dtype=values.dtype)
    out[valid] = values
    return out


def _column(col: pa.Array | pa.ChunkedArray, kind: Kind, suspicious: bool) -> pa.Array | pa.ChunkedArray:
    """One column of field texts as its Arrow type; ``_BadRows`` for texts to leave to the
    protocol. ``suspicious``: the batch holds a byte of ``_SUSPICIOUS`` somewhere."""
    if kind is Kind.CODE or kind is Kind.FLAG:
        return col  # empty fields are already null (read_csv)
    if kind is Kind.TIME or kind is Kind.SIGN:
        if isinstance(col, pa.ChunkedArray):  # chunk by chunk: combining them costs a copy
            chunks, at = [], 0
            for chunk in col.chunks:
                try:
                    chunks.append(_column(chunk, kind, suspicious))
                except _BadRows as refused:
                    mask = np.zeros(len(col), dtype=bool)
                    mask[at : at + len(chunk)] = refused.mask
                    raise _BadRows(mask) from None
                at += len(chunk)
            return pa.chunked_array(chunks, ARROW_TYPES[kind])
        digits, valid = _fixed_digits(col, 6 if kind is Kind.TIME else 1)
        if kind is Kind.SIGN:  # "0".."5" (kinds._parse_sign)
            wrong = digits[:, 0] > 5
            if wrong.any():
                raise _BadRows(_spread(wrong, valid))
            return pa.array(_spread(digits[:, 0].astype(np.int8), valid), pa.int8(), mask=~valid)
        # exactly HHMMSS, a valid time of day (kinds._TimeCache)
        d = digits.astype(np.int32)
        h, m, sec = d[:, 0] * 10 + d[:, 1], d[:, 2] * 10 + d[:, 3], d[:, 4] * 10 + d[:, 5]
        wrong = (h > 23) | (m > 59) | (sec > 59)
        if wrong.any():
            raise _BadRows(_spread(wrong, valid))
        ms = _spread((h * 3600 + m * 60 + sec) * 1000, valid)
        unset = ms == 0  # 000000: "not set", null (kinds.NOT_SET)
        return pa.array(ms, pa.int32(), mask=~valid | unset).cast(pa.time32("ms"))
    if col.type != pa.string():  # typed by the CSV reader (see _TYPED)
        return _finite(col, kind)
    if suspicious:
        bad = _unsafe_rows(col, kind)
        if bad.any():
            raise _BadRows(bad)
    try:
        return _finite(pc.cast(col, ARROW_TYPES[kind]), kind)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        bad = _unsafe_rows(col, kind)
        if not bad.any():
            raise
        raise _BadRows(bad) from None


def _finite(col: pa.Array | pa.ChunkedArray, kind: Kind) -> pa.Array | pa.ChunkedArray:
    """``col``, or ``_BadRows`` for the DECIMAL values that came out infinite: Arrow reads a text
    of 400 digits as inf, which the protocol refuses (kinds.WIRE: finite unless NaN)."""
    if kind is Kind.DECIMAL:
        inf = pc.is_inf(col)
        if pc.any(inf).as_py():
            raise _BadRows(
                _mask(
                    pc.fill_null(inf, False)
                    if isinstance(inf, pa.Array)
                    else pc.fill_null(inf, False).combine_chunks()
                )
            )
    return col


_CSV_PARSE = pcsv.ParseOptions(
    delimiter="^",
    quote_char=False,
    double_quote=False,
    escape_char=False,
    newlines_in_values=False,
    ignore_empty_lines=False,
)


# Kinds the CSV reader may type itself when a batch holds nothing suspicious: its numeric
# parsing is the cast's (same ParseValue) except that it trims spaces, so a batch holding a space
# goes the string way. Typing while splitting saves building ~45 string columns and casting them
# (the rebuild figures of benchmarks/record.py). TIME and SIGN keep their checks (``_column``).
_TYPED = (Kind.INT, Kind.SIGNED, Kind.PRICE, Kind.DECIMAL)


def _read_fields(tr_id: str, lines: list[bytes]) -> tuple[pa.Table, bool]:
    """Records of ``^``-joined field texts (one per line) as a table of columns (Arrow's CSV
    reader splits them in C++ without the GIL: the fastest way from journal text to columns),
    and whether a byte of ``_SUSPICIOUS`` occurs anywhere (see ``_SAFE``). Numeric columns come
    typed when nothing in the batch could parse differently; else every column is a string."""
    layout = layout_for(tr_id)
    names = [f.name for f in layout.fields]
    data = b"\n".join(lines)
    suspicious = any(b in data for b in _SUSPICIOUS)
    buffer = pa.py_buffer(data)
    if not suspicious and b" " not in data:
        try:
            return _csv(
                buffer,
                names,
                {f.name: ARROW_TYPES[f.kind] if f.kind in _TYPED else pa.string() for f in layout.fields},
            ), suspicious
        except pa.ArrowInvalid:  # a value the casts refuse: the string way finds which rows
            pass
    return _csv(buffer, names, {n: pa.string() for n in names}), suspicious


# Bytes the CSV reader parses at a time: 1 MiB keeps a block's column builders in cache, which
# one block for the whole batch does not (its chunks are combined later; benchmarks/record.py).
_BLOCK = 1 << 20


def _csv(buffer: pa.Buffer, names: list[str], types: dict[str, pa.DataType]) -> pa.Table:
    return pcsv.read_csv(
        buffer,
        read_options=pcsv.ReadOptions(column_names=names, use_threads=False, block_size=_BLOCK),
        parse_options=_CSV_PARSE,
        convert_options=pcsv.ConvertOptions(
            column_types=types, null_values=[""], strings_can_be_null=True, quoted_strings_can_be_null=False
        ),
        memory_pool=MEMORY_POOL,
    )


_INTEGER = (Kind.INT, Kind.SIGNED, Kind.PRICE)
_INT64 = (-(2**63), 2**63 - 1)
DecodeSlow = Callable[[bytes, int, int, int], Sequence[Record]]


def _joined(chunks: Sequence[np.ndarray], dtype: type) -> np.ndarray:
    return np.concatenate(chunks).astype(dtype, copy=False) if chunks else np.zeros(0, dtype)


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
            self.texts += split_records(payloads, counts, layout_for(self.tr_id).width - 1)
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
            strings, suspicious = _read_fields(self.tr_id, self.texts)
        except pa.ArrowInvalid:  # a one-record frame of the wrong width (scan lets them through)
            width = layout_for(self.tr_id).width
            keep = (
                np.fromiter(map(bytes.count, self.texts, repeat(b"^")), dtype=np.int64, count=len(self.texts))
                == width - 1
            )
            # Rows of empty fields in their place keep the table aligned with ``texts``.
            blank = b"^" * (width - 1)
            try:
                aligned = [t if k else blank for t, k in zip(self.texts, keep)]
                strings, suspicious = _read_fields(self.tr_id, aligned)
            except pa.ArrowInvalid:  # cannot happen for rows of the layout's width; the protocol decides
                keep[:] = False
        table = empty_table(self.tr_id)
        while keep.any():
            try:
                assert strings is not None
                table = self._columnar(strings, keep, suspicious)
                break
            except _BadRows as bad:
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
        columns = {f.name: _column(strings.column(f.name), f.kind, suspicious) for f in layout.fields}
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
