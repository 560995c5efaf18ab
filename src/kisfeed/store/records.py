"""Typed records and the dataset's tables: the columns of records the protocol decoded (the
converter's careful path, ``to_frame``), the journal columns every row has, and rows back into
records."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..schema import KST, RECORD_TYPES, Kind, Record, Sign, layout_for
from .dataset import ARROW_TYPES, TZ, schema_for

__all__ = ["meta_columns", "layout_columns", "records_table", "table_records"]

_EPOCH = date(1970, 1, 1)  # Arrow's date32 counts days from it


def meta_columns(
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


def layout_columns(tr_id: str, records: Sequence[Record]) -> dict[str, pa.Array]:
    """The layout fields of typed records as the dataset's columns (an empty code or flag is
    null, as on the bulk path): what the store's slow path and ``to_frame`` share."""
    columns: dict[str, pa.Array] = {}
    for f in layout_for(tr_id).fields:
        values = [getattr(r, f.name) for r in records]
        if f.kind is Kind.CODE or f.kind is Kind.FLAG:
            values = [v if v != "" else None for v in values]
        columns[f.name] = pa.array(values, ARROW_TYPES[f.kind])
    return columns


def records_table(
    tr_id: str, segment: str, records: Sequence[Record], positions: Sequence[tuple[int, int, int]]
) -> pa.Table:
    """Typed records (one TR, one segment) as a table; ``positions`` holds each record's
    ``(journal line, index in frame, session)``. The slow path of the converter."""
    columns = layout_columns(tr_id, records)
    day = records[0].trading_date if records else _EPOCH
    ns = np.array([r.received_ns or 0 for r in records], dtype=np.int64)
    meta = meta_columns(
        day,  # type: ignore[arg-type]  # the converter decodes with a trading date: never None here
        columns["time"],
        ns,
        np.array([p[2] for p in positions], dtype=np.int32),
        segment,
        np.array([p[0] for p in positions], dtype=np.int64),
        np.array([p[1] for p in positions], dtype=np.int16),
        extra=pa.array([list(r.extra) for r in records], pa.list_(pa.string())),
        missing=np.array([r.missing for r in records], dtype=np.int8),
    )
    return pa.table({**columns, **meta}, schema=schema_for(tr_id))


def table_records(table: pa.Table, tr_id: str | None = None) -> list[Record]:
    """Rows of a dataset table back into typed records of its TR (``FuturesTrade``,
    ``OptionBook``, ``OptionExpected``, ...; columns read by name, so a table in a view's order
    reads as well as one in wire order): the inverse of the conversion, for checks and for code
    that wants records."""
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
