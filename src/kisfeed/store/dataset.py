"""The Parquet dataset: typed records per TR, partitioned by trading date, derived from the journal.

Layout::

    <root>/<tr_id>/date=<YYYY-MM-DD>/<segment stem>.<first line>-<last line>.parquet

e.g. ``kisfeed-data/H0ZFCNT0/date=2026-11-20/090001.123456789-4242.0000000001-0000052113.parquet``
holds the H0ZFCNT0 records of journal lines 1–52113 of segment
``2026-11-20/090001.123456789-4242``. Files are written under a hidden temporary name, fsynced
and renamed into place, so a reader never sees half a file (issue 5, part 2).

Columns, in this order (names are the layouts' English names, ``kisfeed.schema.layouts``):

==================== ============================== ==============================================
column               Arrow type                     meaning
==================== ============================== ==============================================
*layout fields*      by kind (below)                every field of the TR, wire order; KIS code,
                                                    Korean label, kind and wire index are the
                                                    field's Parquet metadata (``kis``, ``korean``,
                                                    ``kind``, ``index``)
``extra``            list<string>                   fields past the documented layout, raw
``missing``          int8                           documented fields the frame did not carry
``trading_date``     date32                         KST trading date (also the partition)
``exchange_time``    timestamp[ms, Asia/Seoul]      trading date + ``BSOP_HOUR`` (reference 2.4)
``received_at``      timestamp[ns, Asia/Seoul]      local receive time of the frame
``session``          int32                          the recording feed's session id
``journal_segment``  string                         journal segment the frame came from
``journal_line``     int64                          its line number in that segment (1-based)
``frame_index``      int16                          the record's position within its frame
==================== ============================== ==============================================

``(journal_segment, journal_line, frame_index)`` is unique: it is the row's identity.

Kinds (``kisfeed.schema.kinds``): CODE and FLAG → string; TIME → time32[ms]; INT, SIGNED and
PRICE → int64; DECIMAL → float64 (``nan`` on the wire stays NaN); SIGN → int8 holding the
``Sign`` code 0–5. An empty field on the wire is null, whatever its kind.

Decoding is columnar (Arrow compute over the ``^``-split payloads) for plain frames whose every
value is well formed; any frame with an odd value, an odd width or encryption goes through
``kisfeed.protocol`` instead, which decides what a malformed frame is (design principle 6).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..exceptions import StoreError
from ..schema import KST, LAYOUTS, RECORD_TYPES, Kind, Record, Sign, layout_for

__all__ = [
    "TABLES",
    "ARROW_TYPES",
    "Claim",
    "schema_for",
    "FrameRows",
    "records_table",
    "table_records",
    "write_file",
    "dataset_files",
    "read_claims",
    "read_table",
]

#: DuckDB view name of each TR's table.
TABLES: dict[str, str] = {"H0ZFCNT0": "futures_trades", "H0ZOCNT0": "option_trades"}

TZ = "Asia/Seoul"
ARROW_TYPES: dict[Kind, pa.DataType] = {
    Kind.CODE: pa.string(),
    Kind.TIME: pa.time32("ms"),
    Kind.INT: pa.int64(),
    Kind.SIGNED: pa.int64(),
    Kind.PRICE: pa.int64(),
    Kind.DECIMAL: pa.float64(),
    Kind.SIGN: pa.int8(),
    Kind.FLAG: pa.string(),
}
META_FIELDS: tuple[pa.Field, ...] = (
    pa.field("extra", pa.list_(pa.string()), nullable=False),
    pa.field("missing", pa.int8(), nullable=False),
    pa.field("trading_date", pa.date32(), nullable=False),
    pa.field("exchange_time", pa.timestamp("ms", tz=TZ)),
    pa.field("received_at", pa.timestamp("ns", tz=TZ), nullable=False),
    pa.field("session", pa.int32(), nullable=False),
    pa.field("journal_segment", pa.string(), nullable=False),
    pa.field("journal_line", pa.int64(), nullable=False),
    pa.field("frame_index", pa.int16(), nullable=False),
)
_CLAIM_KEY = b"kisfeed.journal"
_EPOCH = date(1970, 1, 1)


def _build_schema(tr_id: str) -> pa.Schema:
    layout = layout_for(tr_id)
    fields = [
        pa.field(f.name, ARROW_TYPES[f.kind], metadata={
            "kis": f.kis, "korean": f.korean, "kind": f.kind.value, "index": str(f.index)})
        for f in layout.fields
    ]
    return pa.schema(fields + list(META_FIELDS), metadata={
        "kisfeed.tr_id": tr_id, "kisfeed.layout": f"{layout.korean} ({layout.english})"})


_SCHEMAS = {tr: _build_schema(tr) for tr in LAYOUTS}


def schema_for(tr_id: str) -> pa.Schema:
    """The Arrow schema of a TR's Parquet files (see the module docstring)."""
    try:
        return _SCHEMAS[tr_id]
    except KeyError:
        layout_for(tr_id)  # UnknownTRError
        raise


@dataclass(frozen=True)
class Claim:
    """The journal range one conversion batch covered, stored in each file it wrote.

    Lines ``first``–``last`` of ``segment`` were converted; ``trs`` maps each TR that got rows
    to its row count. A TR absent from ``trs`` had no rows there that are not in other files;
    a TR present in it is covered only once its own file of this batch exists.
    """

    segment: str
    first: int
    last: int
    trs: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> bytes:
        return json.dumps({"segment": self.segment, "first_line": self.first, "last_line": self.last,
                           "trs": self.trs}, sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Claim:
        obj = json.loads(data)
        return cls(obj["segment"], int(obj["first_line"]), int(obj["last_line"]),
                   {k: int(v) for k, v in obj["trs"].items()})

    @property
    def stem(self) -> str:
        return f"{self.segment.split('/', 1)[1]}.{self.first:010d}-{self.last:010d}"


# --- frames to columns ----------------------------------------------------------------------------


class _BadRows(Exception):
    """Rows (record numbers) whose values the columnar path does not take; the protocol decides."""

    def __init__(self, mask: np.ndarray) -> None:
        self.mask = mask


_SAFE = {  # values the columnar casts are known to read exactly as kisfeed.schema.kinds does
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


def _unsafe_rows(col: pa.Array, kind: Kind) -> np.ndarray:
    ok = pc.or_(pc.match_substring_regex(col, _SAFE[kind]), pc.equal(col, ""))
    return ~np.asarray(ok.to_numpy(zero_copy_only=False), dtype=bool)


def _column(col: pa.Array, kind: Kind) -> pa.Array:
    if kind is Kind.CODE or kind is Kind.FLAG:
        return _empty_to_null(col)
    if kind is Kind.TIME or kind is Kind.SIGN:
        bad = _unsafe_rows(col, kind)
        if bad.any():
            raise _BadRows(bad)
        col = _empty_to_null(col)
        if kind is Kind.SIGN:
            return pc.cast(col, pa.int8())
        h, m, s = (pc.cast(pc.utf8_slice_codeunits(col, i, i + 2), pa.int32()) for i in (0, 2, 4))
        bad_range = pc.or_(pc.or_(pc.greater(h, 23), pc.greater(m, 59)), pc.greater(s, 59))
        if pc.any(bad_range).as_py():
            raise _BadRows(np.asarray(bad_range.to_numpy(zero_copy_only=False), dtype=bool))
        ms = pc.multiply(pc.add(pc.add(pc.multiply(h, 3600), pc.multiply(m, 60)), s), 1000)
        return ms.cast(pa.int32()).cast(pa.time32("ms"))
    target = ARROW_TYPES[kind]
    try:
        return pc.cast(col, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    bad = _unsafe_rows(col, kind)
    if bad.any():
        raise _BadRows(bad)
    return pc.cast(_empty_to_null(col), target)


@dataclass
class FrameRows:
    """Frames of one TR from one journal segment, collected for one table.

    ``add_plain`` takes a plain frame's payload for the columnar path; ``add_records`` takes
    records the protocol decoded (encrypted frames, odd widths, odd values).
    """

    tr_id: str
    segment: str
    day: date
    payloads: list[str] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)
    ns: list[int] = field(default_factory=list)
    sessions: list[int] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    records: list[Record] = field(default_factory=list)
    positions: list[tuple[int, int, int]] = field(default_factory=list)  # (line, index, session)

    def __len__(self) -> int:
        return sum(self.counts) + len(self.records)

    @property
    def frames(self) -> int:
        return len(self.payloads) + len({p[0] for p in self.positions})

    def add_plain(self, payload: str, count: int, received_ns: int, session: int, line: int) -> None:
        self.payloads.append(payload)
        self.counts.append(count)
        self.ns.append(received_ns)
        self.sessions.append(session)
        self.lines.append(line)

    def add_records(self, records: Sequence[Record], session: int, line: int) -> None:
        for i, record in enumerate(records):
            self.records.append(record)
            self.positions.append((line, i, session))

    def table(self, decode_slow: Any) -> pa.Table:
        """All rows as one table in journal order. ``decode_slow(payload_index)`` must return
        ``(records, errors)`` for a plain frame the columnar path refused."""
        parts: list[pa.Table] = []
        if self.payloads:
            parts.append(self._plain_table(decode_slow))
        if self.records:
            parts.append(records_table(self.tr_id, self.segment, self.records, self.positions))
        if not parts:
            return schema_for(self.tr_id).empty_table()
        table = pa.concat_tables(parts) if len(parts) > 1 else parts[0]
        if len(parts) > 1:
            table = table.take(pc.sort_indices(table, [("journal_line", "ascending"), ("frame_index", "ascending")]))
        return table

    def _plain_table(self, decode_slow: Any) -> pa.Table:
        keep = np.ones(len(self.payloads), dtype=bool)
        while True:
            try:
                return self._columnar(keep)
            except _BadRows as bad:
                frames = np.repeat(np.flatnonzero(keep), np.asarray(self.counts)[keep])[bad.mask]
                for f in np.unique(frames):
                    keep[f] = False
                    records, _errors = decode_slow(int(f))  # errors are reported by the caller
                    self.add_records(records, self.sessions[f], self.lines[f])

    def _columnar(self, keep: np.ndarray) -> pa.Table:
        layout = layout_for(self.tr_id)
        width = layout.width
        counts = np.asarray(self.counts, dtype=np.int64)[keep]
        if not len(counts):
            return schema_for(self.tr_id).empty_table()
        payloads = pa.array(self.payloads, pa.string())
        if not keep.all():
            payloads = payloads.filter(pa.array(keep))
        split = pc.split_pattern(payloads, "^")
        lengths = np.asarray(pc.list_value_length(split).to_numpy(zero_copy_only=False), dtype=np.int64)
        wrong = lengths != counts * width
        if wrong.any():  # odd widths: not for the columnar path
            raise _BadRows(np.repeat(wrong, counts))
        flat = pc.list_flatten(split)
        n = int(counts.sum())
        starts = np.arange(n, dtype=np.int64) * width
        columns: dict[str, pa.Array] = {}
        for f in layout.fields:
            columns[f.name] = _column(flat.take(pa.array(starts + f.index)), f.kind)
        ns = np.repeat(np.asarray(self.ns, dtype=np.int64)[keep], counts)
        first = np.cumsum(counts) - counts
        index = np.arange(n, dtype=np.int64) - np.repeat(first, counts)
        meta = _meta_columns(
            self.day, columns["time"], ns,
            np.repeat(np.asarray(self.sessions, dtype=np.int32)[keep], counts),
            self.segment,
            np.repeat(np.asarray(self.lines, dtype=np.int64)[keep], counts),
            index.astype(np.int16),
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


# --- files ----------------------------------------------------------------------------------------


def write_file(root: Path, tr_id: str, day: date, table: pa.Table, claim: Claim) -> Path:
    """Write one finalized file: to a hidden temporary name, fsync, rename, fsync the directory.
    A crash leaves either the whole file or only a temporary file that rebuild removes."""
    folder = root / tr_id / f"date={day.isoformat()}"
    target = folder / f"{claim.stem}.parquet"
    partial = folder / f".{claim.stem}.parquet.tmp"
    schema = schema_for(tr_id)
    table = table.replace_schema_metadata({**(schema.metadata or {}), _CLAIM_KEY: claim.to_json()})
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with open(partial, "wb") as f:
            pq.write_table(table, f, compression="zstd", row_group_size=256 * 1024)
            f.flush()
            os.fsync(f.fileno())
        os.replace(partial, target)
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise StoreError(f"cannot write {target}: {exc.strerror or exc}") from exc
    return target


def dataset_files(root: Path, tr_id: str | None = None, day: date | None = None, prefix: str = "") -> list[Path]:
    """Finalized Parquet files, optionally of one TR, one date and one segment stem prefix."""
    trs = [tr_id] if tr_id else sorted(LAYOUTS)
    out: list[Path] = []
    for tr in trs:
        folders = [root / tr / f"date={day.isoformat()}"] if day else sorted((root / tr).glob("date=*"))
        for folder in folders:
            out.extend(sorted(folder.glob(f"{prefix}*.parquet")))
    return [p for p in out if not p.name.startswith(".")]


def read_claims(root: Path, segment: str) -> list[tuple[str, Claim]]:
    """``(tr_id, claim)`` of every finalized file of one journal segment."""
    day_text, stem = segment.split("/", 1)
    out = []
    for tr in sorted(LAYOUTS):
        for path in dataset_files(root, tr, date.fromisoformat(day_text), prefix=stem + "."):
            meta = pq.read_schema(path).metadata or {}
            if _CLAIM_KEY in meta:
                out.append((tr, Claim.from_json(meta[_CLAIM_KEY])))
    return out


def read_table(root: Path, tr_id: str, days: Iterable[date] | None = None) -> pa.Table:
    """Every row of one TR (optionally only some dates) as one table, in journal order."""
    files = []
    if days is None:
        files = dataset_files(root, tr_id)
    else:
        for d in days:
            files += dataset_files(root, tr_id, d)
    if not files:
        return schema_for(tr_id).empty_table()
    table = pa.concat_tables([pq.read_table(p, schema=schema_for(tr_id)) for p in files])
    order = pc.sort_indices(table, [("journal_segment", "ascending"), ("journal_line", "ascending"),
                                    ("frame_index", "ascending")])
    return table.take(order)

