"""The Parquet dataset: typed records per TR, partitioned by trading date, derived from the journal.

Layout::

    <root>/<tr_id>/date=<YYYY-MM-DD>/<segment stem>.<first line>-<last line>.parquet

e.g. ``kisfeed-data/H0ZFCNT0/date=2026-11-20/090001.123456789-4242.0000000001-0000052113.parquet``
holds the H0ZFCNT0 records of journal lines 1–52113 of segment
``2026-11-20/090001.123456789-4242``. Files are written under a hidden temporary name, fsynced
and renamed into place, so a reader never sees half a file (issue 5, part 2). The range a file
covers is also in its footer, as JSON under the key ``kisfeed.journal``
(``pyarrow.parquet.read_metadata(path).metadata``): it is what ``rebuild`` goes by.

One directory per TR: the trades (stock H0ZFCNT0, H0ZOCNT0; KOSPI200 index H0IFCNT0, H0IOCNT0;
KRX night H0MFCNT0, H0EUCNT0), the order books (H0ZFASP0, H0ZOASP0 of 10 levels; H0IFASP0,
H0IOASP0, H0MFASP0, H0EUASP0 of 5) and the expected prices (H0ZFANC0, H0ZOANC0, H0EUANC0). A
frame the protocol refuses (a malformed field, a book whose prices are out of order:
``BookOrderError``) has no row; the journal keeps it and ``rebuild`` reports it with its line
(``ConvertReport.errors``).

Columns, in this order (names are the layouts' English names, ``kisfeed.schema.layouts``; every
view's columns, generated from the layouts: docs/store-columns.md):

==================== ============================== ==============================================
column               Arrow type                     meaning
==================== ============================== ==============================================
*layout fields*      by kind (below)                every field of the TR, wire order; KIS code,
                                                    Korean label, kind and wire index are the
                                                    field's Parquet metadata (``kis``, ``korean``,
                                                    ``kind``, ``index``)
``extra``            list<string>                   fields past the documented layout, raw
``missing``          int8                           required fields the frame did not carry
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

Journal frames become these columns in ``columns.py`` (records the protocol decoded: ``records.py``).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import IO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..exceptions import ConfigError, StoreError
from ..schema import LAYOUTS, Kind, layout_for
from .journal import fsync_dir

__all__ = [
    "TABLES",
    "ARROW_TYPES",
    "Claim",
    "schema_for",
    "MEMORY_POOL",
    "DatasetFile",
    "dataset_files",
    "empty_table",
    "read_claims",
    "read_table",
    "require_data_dir",
    "dataset_days",
    "write_parquet",
]

#: DuckDB view name of each TR's table (``views``; their columns: docs/store-columns.md).
TABLES: dict[str, str] = {
    "H0ZFCNT0": "futures_trades",
    "H0ZOCNT0": "option_trades",
    "H0ZFASP0": "futures_books",
    "H0ZOASP0": "option_books",
    "H0ZFANC0": "futures_expected",
    "H0ZOANC0": "option_expected",
    "H0IFCNT0": "index_futures_trades",
    "H0IOCNT0": "index_option_trades",
    "H0IFASP0": "index_futures_books",
    "H0IOASP0": "index_option_books",
    "H0MFCNT0": "night_futures_trades",
    "H0MFASP0": "night_futures_books",
    "H0EUCNT0": "night_option_trades",
    "H0EUASP0": "night_option_books",
    "H0EUANC0": "night_option_expected",
}

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


def _build_schema(tr_id: str) -> pa.Schema:
    layout = layout_for(tr_id)
    fields = [
        pa.field(
            f.name,
            ARROW_TYPES[f.kind],
            metadata={"kis": f.kis, "korean": f.korean, "kind": f.kind.value, "index": str(f.index)},
        )
        for f in layout.fields
    ]
    return pa.schema(
        fields + list(META_FIELDS),
        metadata={"kisfeed.tr_id": tr_id, "kisfeed.layout": f"{layout.korean} ({layout.english})"},
    )


_SCHEMAS = {tr: _build_schema(tr) for tr in LAYOUTS}
# Columns that take a new value at nearly every trade (receive and trade times, running
# counters, the row's line): a dictionary there is built, overflows and is dropped, work for
# nothing; zstd alone stores them smaller. Every other column keeps one.
_UNIQUE = {
    "time",
    "volume",
    "turnover",
    "sell_trades",
    "buy_trades",
    "sell_volume",
    "buy_volume",
    "theoretical_price",
    "exchange_time",
    "received_at",
    "journal_line",
}
_DICTIONARY = {tr: [n for n in schema.names if n not in _UNIQUE] for tr, schema in _SCHEMAS.items()}
# Min/max statistics only where a query filters or orders (DuckDB skips row groups by them): on
# every column they cost rebuild time for ranges nobody asks about (benchmarks/record.py).
_STATISTICS = [
    "code",
    "time",
    "trading_date",
    "exchange_time",
    "received_at",
    "session",
    "journal_segment",
    "journal_line",
    "frame_index",
]

_ROW_GROUP = 256 * 1024


def _conversion_pool() -> pa.MemoryPool:
    """The Arrow memory pool conversion allocates from: jemalloc where pyarrow has it. Its
    default on Linux, mimalloc, spends rebuild's time in page faults and madvise, handing back
    memory that the next table asks for again. A pool the user chose with
    ARROW_DEFAULT_MEMORY_POOL is kept."""
    if os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        return pa.default_memory_pool()
    try:
        return pa.jemalloc_memory_pool()
    except NotImplementedError:  # a pyarrow built without it
        return pa.default_memory_pool()


MEMORY_POOL = _conversion_pool()


def empty_table(tr_id: str) -> pa.Table:
    """A table of no rows with the TR's schema. (``Schema.empty_table()`` imports pandas, holding
    the GIL, the first time, and is slow every time after.)"""
    return pa.Table.from_batches([], schema_for(tr_id))


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
        return json.dumps(
            {"segment": self.segment, "first_line": self.first, "last_line": self.last, "trs": self.trs},
            sort_keys=True,
        ).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Claim:
        obj = json.loads(data)
        return cls(
            obj["segment"],
            int(obj["first_line"]),
            int(obj["last_line"]),
            {k: int(v) for k, v in obj["trs"].items()},
        )

    @property
    def stem(self) -> str:
        return f"{self.segment.split('/', 1)[1]}.{self.first:010d}-{self.last:010d}"


# --- files ----------------------------------------------------------------------------------------


class DatasetFile:
    """One dataset file, written a table (a row group) at a time as the converter makes them, so
    that a batch never sits whole in memory: ``write`` appends, ``close(claim)`` finalizes (the
    claim into the footer, fsync, rename into place, fsync the directory), ``discard`` drops it.
    Until it is closed it is a hidden temporary file, which the next converter removes; a crash
    leaves either the whole file or none (issue 5, part 2)."""

    def __init__(self, root: Path, tr_id: str, day: date, name: str) -> None:
        self.tr_id = tr_id
        self.folder = root / tr_id / f"date={day.isoformat()}"
        self.partial = self.folder / f".{name}.parquet.tmp"
        self.rows = 0
        self._file: IO[bytes] | None = None
        self._writer: pq.ParquetWriter | None = None

    def write(self, table: pa.Table) -> None:
        if not table.num_rows:
            return
        try:
            if self._writer is None:
                self.folder.mkdir(parents=True, exist_ok=True)
                self._file = open(self.partial, "wb")
                self._writer = pq.ParquetWriter(
                    self._file,
                    schema_for(self.tr_id),
                    compression="zstd",
                    compression_level=1,
                    use_dictionary=_DICTIONARY[self.tr_id],
                    write_statistics=_STATISTICS,
                    memory_pool=MEMORY_POOL,
                )
            self._writer.write_table(table, row_group_size=_ROW_GROUP)
        except OSError as exc:
            self.discard()
            raise StoreError(f"cannot write {self.partial}: {exc.strerror or exc}") from exc
        self.rows += table.num_rows

    def close(self, claim: Claim) -> Path | None:
        """Finalize the file under its claim's name; None if nothing was written."""
        if self._writer is None or self._file is None:
            return None
        target = self.folder / f"{claim.stem}.parquet"
        try:
            self._writer.add_key_value_metadata({_CLAIM_KEY: claim.to_json()})
            self._writer.close()
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            os.replace(self.partial, target)
            fsync_dir(self.folder)
        except OSError as exc:
            self.discard()
            raise StoreError(f"cannot write {target}: {exc.strerror or exc}") from exc
        self._writer = self._file = None
        return target

    def discard(self) -> None:
        for close in (self._writer and self._writer.close, self._file and self._file.close):
            try:
                if close:
                    close()
            except (OSError, pa.ArrowException):
                pass
        self._writer = self._file = None
        try:
            self.partial.unlink(missing_ok=True)
        except OSError:  # its folder cannot be made (a file in its way): the write says why
            pass


def require_data_dir(root: str | Path) -> Path:
    """``root`` if it is a directory; else a ``ConfigError`` naming it, so that a mistyped
    ``--data`` is not read as an empty dataset (issue 11, item 5). An empty directory is a data
    directory with nothing recorded yet."""
    root = Path(root)
    if not root.is_dir():
        raise ConfigError(f"no data directory at {root}" + (" (it is a file)" if root.exists() else ""))
    return root


def dataset_days(root: Path) -> list[date]:
    """The trading dates that have finalized files."""
    days = {
        folder.name.removeprefix("date=")
        for tr in LAYOUTS
        for folder in (root / tr).glob("date=*")
        if any(not p.name.startswith(".") for p in folder.glob("*.parquet"))
    }
    return sorted(date.fromisoformat(d) for d in days)


def dataset_files(
    root: Path, tr_id: str | None = None, day: date | None = None, prefix: str = ""
) -> list[Path]:
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
            meta = pq.read_metadata(path).metadata or {}  # the footer's key-value pairs
            if _CLAIM_KEY in meta:
                out.append((tr, Claim.from_json(meta[_CLAIM_KEY])))
    return out


def read_table(root: Path, tr_id: str) -> pa.Table:
    """Every row of one TR as one table, in journal order."""
    files = dataset_files(root, tr_id)
    if not files:
        return empty_table(tr_id)
    table = pa.concat_tables([pq.read_table(p, schema=schema_for(tr_id)) for p in files])
    order = pc.sort_indices(
        table, [("journal_segment", "ascending"), ("journal_line", "ascending"), ("frame_index", "ascending")]
    )
    return table.take(order)


def write_parquet(table: pa.Table, out: Path) -> None:
    """Write ``table`` to ``out`` whole or not at all: a hidden temporary file beside it, fsynced
    and renamed over it, so that a reader (or a crash) never sees half a file."""
    partial = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with open(partial, "wb") as f:
            pq.write_table(table, f, compression="zstd")
            f.flush()
            os.fsync(f.fileno())
        os.replace(partial, out)
        fsync_dir(out.parent)
    except OSError as exc:
        try:
            partial.unlink(missing_ok=True)
        except OSError:  # its folder cannot be made (a file in its way): the error says why
            pass
        raise StoreError(f"cannot write {out}: {exc.strerror or exc}") from exc
