"""Frames to columns: journal payloads become the dataset's typed Arrow columns.

Plain frames whose every value is well formed take the columnar path: Arrow's CSV reader splits
the ``^``-joined fields in C++ without the GIL, and Arrow casts type them. Any frame with an
odd value, an odd width or encryption goes through ``kisfeed.protocol`` instead, which decides
what a malformed frame is (design principle 6), so a row always equals the record the live
feed delivered for that frame.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Callable, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from ..schema import KST, RECORD_TYPES, Kind, Record, Sign, layout_for
from .scan import split_records
from .dataset import _EPOCH, ARROW_TYPES, TZ, schema_for

__all__ = ["FrameRows", "DecodeSlow", "records_table", "table_records"]


class _BadRows(Exception):
    """Rows whose values the columnar path does not take; the protocol decides about them."""

    def __init__(self, mask: np.ndarray) -> None:
        self.mask = mask


# Arrow's casts read these exactly as kisfeed.schema.kinds does. Beyond them Arrow also takes hex
# integers ("0x10") and "nan(...)", which the protocol refuses, so a column holding an "x" or a
# "(" is checked value by value (test_dataset checks the equivalence over generated texts).
_SAFE = {
    Kind.INT: r"^-?[0-9]{1,18}$",
    Kind.SIGNED: r"^-?[0-9]{1,18}$",
    Kind.PRICE: r"^-?[0-9]{1,18}$",
    Kind.DECIMAL: r"^-?[0-9]{1,300}(\.[0-9]{1,30})?$|^-?nan$",
    Kind.TIME: r"^[0-9]{6}$",
    Kind.SIGN: r"^[0-5]$",
}


def _empty_to_null(col: pa.Array) -> pa.Array:
    empty = pc.equal(col, "")
    if pc.any(empty).as_py():
        return pc.if_else(empty, pa.scalar(None, col.type), col)
    return col


def _mask(values: pa.Array) -> np.ndarray:
    return np.asarray(values.to_numpy(zero_copy_only=False), dtype=bool)


def _unsafe_rows(col: pa.Array, kind: Kind) -> np.ndarray:
    ok = pc.or_(pc.match_substring_regex(col, _SAFE[kind]), pc.equal(col, ""))
    return ~_mask(pc.fill_null(ok, True))


def _column(col: pa.Array, kind: Kind, suspicious: bool) -> pa.Array:
    """One column of field texts as its Arrow type; ``_BadRows`` for texts to leave to the
    protocol. ``suspicious``: the batch holds an ``x`` or ``(`` somewhere."""
    if kind is Kind.CODE or kind is Kind.FLAG:
        return col  # empty fields are already null (read_csv)
    if kind is Kind.TIME or kind is Kind.SIGN:
        bad = _unsafe_rows(col, kind)
        if bad.any():
            raise _BadRows(bad)
        if kind is Kind.SIGN:
            return pc.cast(col, pa.int8())
        hhmmss = pc.cast(col, pa.int32()).to_numpy(zero_copy_only=False)
        valid = ~np.isnan(hhmmss) if hhmmss.dtype.kind == "f" else np.ones(len(hhmmss), dtype=bool)
        hhmmss = np.nan_to_num(hhmmss).astype(np.int64)
        h, m, sec = hhmmss // 10000, hhmmss // 100 % 100, hhmmss % 100
        wrong = (h > 23) | (m > 59) | (sec > 59)
        if wrong.any():
            raise _BadRows(wrong & valid)
        ms = ((h * 3600 + m * 60 + sec) * 1000).astype(np.int32)
        return pa.array(ms, pa.int32(), mask=~valid).cast(pa.time32("ms"))
    if col.type != pa.string():  # typed by the CSV reader (see _TYPED)
        return col
    if suspicious:
        bad = _unsafe_rows(col, kind)
        if bad.any():
            raise _BadRows(bad)
    try:
        return pc.cast(col, ARROW_TYPES[kind])
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        bad = _unsafe_rows(col, kind)
        if not bad.any():
            raise
        raise _BadRows(bad) from None


_CSV_PARSE = pcsv.ParseOptions(delimiter="^", quote_char=False, double_quote=False, escape_char=False,
                               newlines_in_values=False, ignore_empty_lines=False)


# Kinds the CSV reader may type itself when a batch holds nothing suspicious: its numeric
# parsing is the cast's (same ParseValue) except that it trims spaces, so a batch holding a space
# goes the string way. Typing while splitting saves building ~45 string columns and casting them
# (about 4 µs per record of worker CPU). TIME and SIGN keep their checks (``_column``).
_TYPED = (Kind.INT, Kind.SIGNED, Kind.PRICE, Kind.DECIMAL)


def _read_fields(tr_id: str, lines: list[bytes]) -> tuple[pa.Table, bool]:
    """Records of ``^``-joined field texts (one per line) as a table of columns (Arrow's CSV
    reader splits them in C++ without the GIL: the fastest way from journal text to columns),
    and whether an ``x``, ``X`` or ``(`` occurs anywhere (see ``_SAFE``). Numeric columns come
    typed when nothing in the batch could parse differently; else every column is a string."""
    layout = layout_for(tr_id)
    names = [f.name for f in layout.fields]
    data = b"\n".join(lines)
    suspicious = b"x" in data or b"X" in data or b"(" in data
    buffer = pa.py_buffer(data)
    if not suspicious and b" " not in data:
        try:
            return _csv(buffer, names, {f.name: ARROW_TYPES[f.kind] if f.kind in _TYPED else pa.string()
                                        for f in layout.fields}), suspicious
        except pa.ArrowInvalid:  # a value the casts refuse: the string way finds which rows
            pass
    return _csv(buffer, names, {n: pa.string() for n in names}), suspicious


# Bytes the CSV reader parses at a time: 1 MiB keeps a block's column builders in cache, which
# makes it ~40% faster than one block for the whole batch (its chunks are combined later).
_BLOCK = 1 << 20


def _csv(buffer: pa.Buffer, names: list[str], types: dict[str, pa.DataType]) -> pa.Table:
    return pcsv.read_csv(
        buffer,
        read_options=pcsv.ReadOptions(column_names=names, use_threads=False, block_size=_BLOCK),
        parse_options=_CSV_PARSE,
        convert_options=pcsv.ConvertOptions(column_types=types, null_values=[""], strings_can_be_null=True,
                                            quoted_strings_can_be_null=False),
    )


_INTEGER = (Kind.INT, Kind.SIGNED, Kind.PRICE)
_INT64 = (-(2**63), 2**63 - 1)
DecodeSlow = Callable[[bytes, int, int, int], Sequence[Record]]


@dataclass
class FrameRows:
    """Records of one TR from one journal segment, collected for one table.

    ``add_plain`` takes the field texts of a plain frame (``^``-joined bytes, whole records) for
    the columnar path; ``add_records`` takes records the protocol decoded (encrypted frames, odd
    widths, odd values).
    """

    tr_id: str
    segment: str
    day: date
    texts: list[bytes] = field(default_factory=list)  # one record's fields per item
    ns: list[int] = field(default_factory=list)
    sessions: list[int] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    index: list[int] = field(default_factory=list)
    records: list[Record] = field(default_factory=list)
    positions: list[tuple[int, int, int]] = field(default_factory=list)  # (line, index, session)
    frames: dict[int, tuple[bytes, int]] = field(default_factory=dict)  # line -> multi-record payload
    refused: list[tuple[int, str]] = field(default_factory=list)  # (line, why) of records left out

    def __len__(self) -> int:
        return len(self.texts) + len(self.records)

    def add_plain(self, payload: bytes, count: int, received_ns: int, session: int, line: int) -> None:
        if count == 1:
            self.texts.append(payload)
            self.index.append(0)
        else:  # split a multi-record frame into records (reference 2.4: no record separator)
            self.frames[line] = (payload, count)
            fields = payload.split(b"^")
            width = len(fields) // count
            for i in range(count):
                self.texts.append(b"^".join(fields[i * width : (i + 1) * width]))
                self.index.append(i)
            self.ns.extend([received_ns] * (count - 1))
            self.sessions.extend([session] * (count - 1))
            self.lines.extend([line] * (count - 1))
        self.ns.append(received_ns)
        self.sessions.append(session)
        self.lines.append(line)

    def add_bulk(self, payloads: list[bytes], counts: np.ndarray, ns: np.ndarray, sessions: np.ndarray,
                 lines: np.ndarray) -> None:
        """``add_plain`` for many frames at once (``counts`` records each), in journal order."""
        total = int(counts.sum())
        if total == len(payloads):  # one record each: the common case
            self.texts += payloads
            self.index += [0] * total
        else:
            for k in np.flatnonzero(counts > 1).tolist():
                self.frames[int(lines[k])] = (payloads[k], int(counts[k]))
            self.texts += split_records(payloads, counts, layout_for(self.tr_id).width - 1)
            starts = np.repeat(np.cumsum(counts) - counts, counts)
            self.index += (np.arange(total) - starts).tolist()
            ns, sessions, lines = (np.repeat(x, counts) for x in (ns, sessions, lines))
        self.ns += ns.tolist()
        self.sessions += sessions.tolist()
        self.lines += lines.tolist()

    def add_records(self, records: Sequence[Record], session: int, line: int) -> list[str]:
        """Add decoded records; returns why any was refused (an integer past int64, which a
        Parquet column cannot hold)."""
        refused = []
        for i, record in enumerate(records):
            wide = [f.kis for f in record.layout.fields
                    if f.kind in _INTEGER and getattr(record, f.name) is not None
                    and not _INT64[0] <= getattr(record, f.name) <= _INT64[1]]
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
            return schema_for(self.tr_id).empty_table()
        if len(parts) == 1:
            return parts[0]
        table = pa.concat_tables(parts)
        return table.take(pc.sort_indices(table, [("journal_line", "ascending"), ("frame_index", "ascending")]))

    def _plain_table(self, decode_slow: DecodeSlow) -> pa.Table:
        strings: pa.Table | None = None
        suspicious = True
        try:
            strings, suspicious = _read_fields(self.tr_id, self.texts)
        except pa.ArrowInvalid:  # cannot happen for texts of whole records; the protocol decides
            pass
        keep = np.ones(len(self.texts), dtype=bool)
        if strings is None:
            keep[:] = False
        table = schema_for(self.tr_id).empty_table()
        while keep.any():
            try:
                assert strings is not None
                table = self._columnar(strings, keep, suspicious)
                break
            except _BadRows as bad:
                rows = np.flatnonzero(keep)[bad.mask]
                keep[rows] = False
        done: set[int] = set()
        for i in np.flatnonzero(~keep):  # every record of a refused frame goes the careful way
            line = self.lines[i]
            if line not in done:
                done.add(line)
                payload, count = self.frames.get(line, (self.texts[i], 1))
                self.add_records(decode_slow(payload, count, self.ns[i], line), self.sessions[i], line)
        return table

    def _columnar(self, strings: pa.Table, keep: np.ndarray, suspicious: bool) -> pa.Table:
        if not keep.all():
            # a frame is refused whole: drop every record of a line that lost one
            lines = np.asarray(self.lines)
            keep &= ~np.isin(lines, lines[~keep])
            strings = strings.filter(pa.array(keep))
        layout = layout_for(self.tr_id)
        columns = {f.name: _column(strings.column(f.name).combine_chunks(), f.kind, suspicious)
                   for f in layout.fields}
        meta = _meta_columns(
            self.day, columns["time"],
            np.asarray(self.ns, dtype=np.int64)[keep],
            np.asarray(self.sessions, dtype=np.int32)[keep],
            self.segment,
            np.asarray(self.lines, dtype=np.int64)[keep],
            np.asarray(self.index, dtype=np.int16)[keep],
            extra=None, missing=None,
        )
        return pa.table({**columns, **meta}, schema=schema_for(self.tr_id))


def _meta_columns(
    day: date,
    time_ms: pa.Array,
    ns: np.ndarray,
    sessions: np.ndarray,
    segment: str,
    lines: np.ndarray,
    index: np.ndarray,
    extra: pa.Array | None,
    missing: np.ndarray | None,
) -> dict[str, pa.Array]:
    n = len(ns)
    midnight_ms = int(datetime(day.year, day.month, day.day, tzinfo=KST).timestamp()) * 1000
    since_midnight = pc.cast(pc.cast(time_ms, pa.int32()), pa.int64())
    exchange = pc.cast(pc.add(since_midnight, midnight_ms), pa.timestamp("ms", tz=TZ))
    if extra is None:
        extra = pa.ListArray.from_arrays(pa.array(np.zeros(n + 1, dtype=np.int32)), pa.array([], pa.string()))
    return {
        "extra": extra,
        "missing": pa.array(np.zeros(n, dtype=np.int8) if missing is None else missing, pa.int8()),
        "trading_date": pa.array(np.full(n, (day - _EPOCH).days, dtype=np.int32)).cast(pa.date32()),
        "exchange_time": exchange,
        "received_at": pa.array(ns, pa.int64()).cast(pa.timestamp("ns", tz=TZ)),
        "session": pa.array(sessions, pa.int32()),
        "journal_segment": pc.take(pa.array([segment], pa.string()), pa.array(np.zeros(n, dtype=np.int32))),
        "journal_line": pa.array(lines, pa.int64()),
        "frame_index": pa.array(index, pa.int16()),
    }


def records_table(
    tr_id: str, segment: str, records: Sequence[Record], positions: Sequence[tuple[int, int, int]]
) -> pa.Table:
    """Typed records (one TR, one segment) as a table; ``positions`` holds each record's
    ``(journal line, index in frame, session)``. The slow path: about 50 µs per record."""
    layout = layout_for(tr_id)
    columns: dict[str, pa.Array] = {}
    for f in layout.fields:
        values = [getattr(r, f.name) for r in records]
        if f.kind is Kind.CODE or f.kind is Kind.FLAG:
            values = [v if v != "" else None for v in values]
        columns[f.name] = pa.array(values, ARROW_TYPES[f.kind])
    day = records[0].trading_date if records else _EPOCH  # type: ignore[attr-defined]
    ns = np.array([r.received_ns or 0 for r in records], dtype=np.int64)  # type: ignore[attr-defined]
    meta = _meta_columns(
        day, columns["time"], ns,
        np.array([p[2] for p in positions], dtype=np.int32),
        segment,
        np.array([p[0] for p in positions], dtype=np.int64),
        np.array([p[1] for p in positions], dtype=np.int16),
        extra=pa.array([list(r.extra) for r in records], pa.list_(pa.string())),  # type: ignore[attr-defined]
        missing=np.array([r.missing for r in records], dtype=np.int8),  # type: ignore[attr-defined]
    )
    return pa.table({**columns, **meta}, schema=schema_for(tr_id))


def table_records(table: pa.Table, tr_id: str | None = None) -> list[Record]:
    """Rows of a dataset table back into typed records (``FuturesTrade``/``OptionTrade``):
    the inverse of the conversion, for checks and for code that wants records."""
    tr_id = tr_id or (table.schema.metadata or {}).get(b"kisfeed.tr_id", b"").decode()
    cls = RECORD_TYPES[tr_id]
    layout = cls.layout
    columns = []
    for f in layout.fields:
        values = table.column(f.name).to_pylist()
        if f.kind is Kind.SIGN:
            values = [None if v is None else Sign(v) for v in values]
        columns.append(values)
    extra = [tuple(v) for v in table.column("extra").to_pylist()]
    missing = table.column("missing").to_pylist()
    days = table.column("trading_date").to_pylist()
    ns = pc.cast(table.column("received_at"), pa.int64()).to_pylist()
    return [cls(*row) for row in zip(*columns, extra, missing, days, ns)]
