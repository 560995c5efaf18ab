"""Live records as a frame with the dataset's types: ``kisfeed.to_frame(records, as_="pandas")``.

A batch of records from a feed (or ``kisfeed.decode``) becomes the columns the dataset stores
for them (``dataset.schema_for``: every layout field, in its view's order (``catalog``), then ``extra``, ``missing``,
``trading_date``, ``exchange_time`` and ``received_at``), read back through DuckDB as
``kisfeed.store.query`` reads Parquet. So a live batch and a query of the same records give the
same column names and dtypes, in Arrow, pandas or polars (DuckDB reads ``time32[ms]`` as
``time64[us]`` and a ``timestamp[ms]`` as ``timestamp[us]``; both paths do).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import Any, Literal

import pyarrow as pa

from ..exceptions import UsageError
from ..schema import Record
from .catalog import field_order
from .dataset import TZ, schema_for
from .records import layout_columns

__all__ = ["FRAME_COLUMNS", "records_to_arrow", "to_frame"]

#: The dataset's columns a record carries besides its layout fields (no journal position).
FRAME_COLUMNS = ("extra", "missing", "trading_date", "exchange_time", "received_at")


def records_to_arrow(records: Iterable[Record], tr_id: str | None = None) -> pa.Table:
    """Records of one TR as an Arrow table typed as the dataset's Parquet files are
    (``schema_for``); columns as ``FRAME_COLUMNS`` says, every one nullable. ``tr_id`` names the
    TR when ``records`` may be empty."""
    records = list(records)
    trs = sorted({r.tr_id for r in records} | ({tr_id} if tr_id else set()))
    if len(trs) != 1:
        if not trs:
            raise UsageError("no records and no tr_id: nothing says which columns the frame has")
        raise UsageError(
            f"records of {' and '.join(trs)}: make one frame per TR, e.g. "
            f"[r for r in records if r.tr_id == {trs[0]!r}]"
        )
    schema = schema_for(trs[0])
    # Per record, not per batch as in the store (a batch may cross KST midnight).
    meta: dict[str, list[Any]] = {
        "extra": [list(r.extra) for r in records],
        "missing": [r.missing for r in records],
        "trading_date": [r.trading_date for r in records],
        "exchange_time": [r.exchange_time for r in records],
    }
    wire = layout_columns(trs[0], records)
    columns = {name: wire[name] for name in field_order(trs[0])}  # as the view lists them (catalog)
    columns.update((name, pa.array(values, schema.field(name).type)) for name, values in meta.items())
    received = pa.array([r.received_ns for r in records], pa.int64())
    columns["received_at"] = received.cast(schema.field("received_at").type)
    fields = [schema.field(name).with_nullable(True) for name in columns]
    return pa.Table.from_arrays(list(columns.values()), schema=pa.schema(fields, metadata=schema.metadata))


def to_frame(
    records: Iterable[Record],
    as_: Literal["arrow", "pandas", "polars"] = "arrow",
    *,
    tr_id: str | None = None,
) -> Any:
    """Records of one TR as an Arrow table, a pandas DataFrame or a polars DataFrame, with the
    dtypes ``kisfeed.store.query(..., as_=...)`` gives the same columns (module docstring).

    ``pd.DataFrame([r.to_dict() for r in records])`` works too, with object columns."""
    if as_ not in ("arrow", "pandas", "polars"):
        raise UsageError(f"as_ must be 'arrow', 'pandas' or 'polars', not {as_!r}")
    module = None  # the frame library, imported first: a missing one is a usage error
    if as_ != "arrow":  # pandas and polars are optional (the test extra has them)
        try:
            module = importlib.import_module(as_)
        except ImportError:
            raise UsageError(f"{as_} is not installed: pip install {as_} (or use as_='arrow')") from None
    table = _as_queried(records_to_arrow(records, tr_id))
    if module is None:
        return table
    if as_ == "pandas":
        return table.to_pandas()
    return module.from_arrow(table)


def _as_queried(table: pa.Table) -> pa.Table:
    """``table`` as DuckDB reads it back, in the time zone ``store.query`` sets."""
    import duckdb

    from .views import arrow_result

    con = duckdb.connect()
    try:
        con.execute(f"SET TimeZone = '{TZ}'")
        return arrow_result(con.from_arrow(table)).replace_schema_metadata(table.schema.metadata)
    finally:
        con.close()
