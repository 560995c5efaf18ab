"""DuckDB over the Parquet dataset: one view per TR, plain SQL.

::

    kisfeed.store.query("SELECT code, count(*) FROM futures_trades GROUP BY code", root="kisfeed-data")

Views (docs/store-columns.md lists every column: ``catalog.markdown()``):

``futures_trades``   H0ZFCNT0 (주식선물 실시간체결가)
``option_trades``    H0ZOCNT0 (주식옵션 실시간체결가)
``futures_books``    H0ZFASP0 (주식선물 실시간호가, 10 levels)
``option_books``     H0ZOASP0 (주식옵션 실시간호가, 10 levels; columns in ``futures_books``' order)
``futures_expected`` H0ZFANC0 (주식선물 실시간예상체결, single-price auctions)
``option_expected``  H0ZOANC0 (주식옵션 실시간예상체결; ``quantity`` null when the frame had 7 fields)
``index_futures_trades`` ... ``index_option_books``  H0IFCNT0, H0IOCNT0, H0IFASP0, H0IOASP0
                     (KOSPI200 지수선물/옵션: prices in points, books of 5 levels)
``night_futures_trades`` ... ``night_option_expected``  H0MFCNT0, H0MFASP0, H0EUCNT0, H0EUASP0,
                     H0EUANC0 (KRX 야간선물/옵션)
``all_futures_trades``, ``all_option_trades``  the trades of one product from every market, with
                     ``tr_id`` (``catalog.UNION_VIEWS``): a futures trade is a futures trade
``gaps``             where the data is incomplete: one row per interval in which a subscribed
                     code was not received (a reconnect, a refused registration), with
                     ``session_id, tr_id, code, start, "end", seconds, reason,
                     journal_segment`` (``kisfeed.store.gaps``; ``end`` is an SQL keyword:
                     write ``"end"``; ``seconds`` is its length, null while it is open)

Each TR's view reads ``<root>/<tr_id>/date=*/*.parquet`` with hive partitioning, so it also has
a ``date`` column (the trading date) that DuckDB uses to skip whole days. A view over no files
yet is an empty table with the right columns; a ``root`` that is not a data directory is a
``ConfigError``. Timestamps are shown in Asia/Seoul.

::

    SELECT g.code, g.start, g."end", g.reason FROM gaps g WHERE g.code = 'A11612'
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, overload

import duckdb
import pyarrow as pa

from ..exceptions import StoreError, UsageError
from .catalog import UNION_VIEWS, union_columns, union_trs, view_columns
from .dataset import TABLES, dataset_files, empty_table, require_data_dir
from .gaps import GAP_COLUMNS, GAPS_DIR, empty_gaps, gap_files

if TYPE_CHECKING:
    import polars

__all__ = ["connect", "query", "copy_to", "arrow_result", "sql_text", "VIEWS"]

#: View name → TR id.
VIEWS: dict[str, str] = {view: tr for tr, view in TABLES.items()}


def sql_text(text: str) -> str:
    """``text`` as an SQL string literal (quotes doubled)."""
    return "'" + text.replace("'", "''") + "'"


def connect(root: str | Path = "kisfeed-data") -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with the dataset's views defined. A ``root`` that is not a
    data directory is a ``ConfigError`` (a view over a mistyped path would read as no rows)."""
    root = require_data_dir(root)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'Asia/Seoul'")
    for view, tr in VIEWS.items():
        columns = ", ".join(f'"{name}"' for name in view_columns(tr))  # the view's order (catalog)
        if dataset_files(root, tr):
            pattern = str(root / tr / "date=*" / "*.parquet")
            # Hidden temporary files (".name.parquet.tmp") never match: readers see whole files only.
            con.execute(
                f"CREATE VIEW {view} AS SELECT {columns} FROM read_parquet({sql_text(pattern)}, "
                f"hive_partitioning = true, hive_types = {{'date': DATE}}, union_by_name = true)"
            )
        else:
            empty = empty_table(tr).append_column("date", pa.array([], pa.date32()))
            con.register(f"_{view}_empty", empty)
            con.execute(f"CREATE VIEW {view} AS SELECT {columns} FROM _{view}_empty")
    for view in UNION_VIEWS:  # over the views above: BY NAME, a TR's missing columns are null
        parts = " UNION ALL BY NAME ".join(
            f"SELECT {sql_text(tr)} AS tr_id, * FROM {TABLES[tr]}" for tr in union_trs(view)
        )
        columns = ", ".join(f'"{name}"' for name in union_columns(view))
        con.execute(f"CREATE VIEW {view} AS SELECT {columns} FROM ({parts})")
    _gaps_view(con, root)
    return con


def _gaps_view(con: duckdb.DuckDBPyConnection, root: Path) -> None:
    """The view ``gaps``. A gap open across KST midnight has a row in the files of both days'
    segments: the one that saw its end (``closed``) wins over one cut by its segment's end."""
    # The duration as a number: DuckDB cannot subtract two TIMESTAMPTZ_NS.
    columns = ", ".join(f'"{c}"' for c in GAP_COLUMNS).replace(
        '"end", ', '"end", (epoch_ns("end") - epoch_ns(start)) / 1e9 AS seconds, '
    )
    if not gap_files(root):
        con.register("_gaps_empty", empty_gaps())
        con.execute(f"CREATE VIEW gaps AS SELECT {columns} FROM _gaps_empty")
        return
    pattern = str(root / GAPS_DIR / "date=*" / "*.parquet")
    con.execute(
        f"CREATE VIEW gaps AS SELECT {columns} FROM read_parquet({sql_text(pattern)}, hive_partitioning = false) "
        f"QUALIFY row_number() OVER (PARTITION BY session_id, tr_id, code, start "
        f"ORDER BY CASE state WHEN 'closed' THEN 0 WHEN 'cut' THEN 1 ELSE 2 END) = 1 "
        f"ORDER BY start, tr_id, code"
    )


@overload
def query(sql: str, *, root: str | Path = ..., as_: Literal["arrow"] = ...) -> pa.Table: ...
@overload
def query(sql: str, *, root: str | Path = ..., as_: Literal["polars"]) -> polars.DataFrame: ...
@overload
def query(sql: str, *, root: str | Path = ..., as_: Literal["pandas"]) -> Any: ...  # pandas ships no types


def query(
    sql: str,
    *,
    root: str | Path = "kisfeed-data",
    as_: Literal["arrow", "pandas", "polars"] = "arrow",
) -> Any:
    """Run ``sql`` over the dataset under ``root``; the result as an Arrow table, a pandas
    DataFrame or a polars DataFrame."""
    if as_ not in ("arrow", "pandas", "polars"):
        raise UsageError(f"as_ must be 'arrow', 'pandas' or 'polars', not {as_!r}")
    con = connect(root)
    try:
        table = arrow_result(con.sql(sql))
    except duckdb.Error as exc:
        raise StoreError(f"query failed: {exc}") from None
    finally:
        con.close()
    if as_ == "pandas":
        return table.to_pandas()
    if as_ == "polars":
        import polars as pl  # optional: pip install polars

        return pl.from_arrow(table)
    return table


def arrow_result(relation: duckdb.DuckDBPyRelation | None) -> pa.Table:
    """A relation's rows as an Arrow table (``to_arrow_table`` in newer DuckDB, ``arrow`` in
    older); an empty table for a statement that returns no rows."""
    if relation is None:
        return pa.table({})
    fetch = getattr(relation, "to_arrow_table", None) or relation.arrow
    return fetch()


def copy_to(sql: str, out: Path, *, root: str | Path = "kisfeed-data") -> int:
    """Write the result of ``sql`` to ``out`` (``.csv`` or ``.parquet``); returns the row count."""
    suffix = out.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise UsageError(f"--out must end in .csv or .parquet, not {out.name!r}")
    con = connect(root)
    try:
        fmt = "CSV, HEADER" if suffix == ".csv" else "PARQUET, COMPRESSION ZSTD"
        rows = con.execute(f"COPY ({sql}) TO {sql_text(str(out))} (FORMAT {fmt})").fetchone()
    except duckdb.Error as exc:
        raise StoreError(f"query failed: {exc}") from None
    finally:
        con.close()
    return int(rows[0]) if rows else 0
