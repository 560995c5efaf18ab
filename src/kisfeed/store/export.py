"""Export a date range of the dataset to one Parquet or CSV file per TR.

Files are named ``<view>_<from>_<to>.<csv|parquet>`` (e.g. ``futures_trades_2026-11-20_2026-11-21.csv``)
in the output directory, rows in journal order, columns in the view's order (``catalog``: the
two book TRs alike). CSV writes ``extra`` as its ``^``-joined wire
text and timestamps in ISO form with their +09:00 offset; Parquet keeps the dataset's types and
field metadata. Each file is written under a temporary name and renamed when complete.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Literal

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from ..exceptions import StoreError, UsageError
from ..schema import LAYOUTS
from .catalog import view_columns
from .dataset import TABLES, dataset_files, require_data_dir, schema_for

__all__ = ["export", "plan", "ExportPlan"]

Format = Literal["parquet", "csv"]


@dataclass(frozen=True)
class ExportPlan:
    tr_id: str
    files: list[Path]
    rows: int
    out: Path


def plan(
    root: str | Path, start: date, end: date, fmt: Format, out: str | Path, trs: Iterable[str] | None = None
) -> list[ExportPlan]:
    """What ``export`` will write: per TR, the input files, their row count and the output."""
    if fmt not in ("parquet", "csv"):
        raise UsageError(f"format must be parquet or csv, not {fmt!r}")
    if end < start:
        raise UsageError(f"--to {end} is before --from {start}")
    root, out = require_data_dir(root), Path(out)
    plans = []
    for tr in sorted(trs or LAYOUTS):
        if tr not in LAYOUTS:
            raise UsageError(f"unknown TR {tr!r}; known: {', '.join(sorted(LAYOUTS))}")
        files = [
            f for n in range((end - start).days + 1) for f in dataset_files(root, tr, start + timedelta(n))
        ]
        rows = sum(pq.read_metadata(f).num_rows for f in files)
        plans.append(ExportPlan(tr, files, rows, out / f"{TABLES[tr]}_{start}_{end}.{fmt}"))
    return plans


def _for_csv(table: pa.Table) -> pa.Table:
    extra = table.column("extra")
    joined = pc.binary_join(extra, "^")
    return table.set_column(table.schema.get_field_index("extra"), "extra", joined)


def export(plans: list[ExportPlan], *, progress: Callable[[int], None] | None = None) -> list[Path]:
    """Write each plan's rows to its output file; ``progress(rows)`` after every input file."""
    written = []
    for p in plans:
        partial = p.out.with_name("." + p.out.name + ".tmp")
        try:
            p.out.parent.mkdir(parents=True, exist_ok=True)
            stored = schema_for(p.tr_id)
            names = view_columns(p.tr_id)[:-1]  # the view's columns but its partition's date
            schema = pa.schema([stored.field(n) for n in names], metadata=stored.metadata)
            csv = p.out.suffix == ".csv"
            writer = (
                pcsv.CSVWriter(partial, _for_csv(pa.Table.from_batches([], schema)).schema)
                if csv
                else pq.ParquetWriter(partial, schema, compression="zstd")
            )
            with writer:
                for f in p.files:
                    table = pq.read_table(f, schema=stored).select(names)
                    writer.write_table(_for_csv(table) if csv else table)
                    if progress:
                        progress(table.num_rows)
            os.replace(partial, p.out)
        except OSError as exc:
            partial.unlink(missing_ok=True)
            raise StoreError(f"cannot write {p.out}: {exc.strerror or exc}") from exc
        written.append(p.out)
    return written
