"""``kisfeed rebuild``, ``query``, ``replay`` and ``export``: the data directory (``record``,
which fills it, is in ``cli/record.py``).

The data directory (``--data``, default ``./kisfeed-data``) holds the journal and the Parquet
dataset (see ``kisfeed.store``).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from ..exceptions import ConfigError, StoreError, UsageError
from .common import (
    EXIT_USAGE,
    ConfigOption,
    DataOption,
    config_from,
    console,
    err_console,
    errors,
    fail,
    plural,
    report_lines,
)

__all__ = ["rebuild", "query", "replay", "export"]


# --- rebuild ------------------------------------------------------------------------------------


def rebuild(
    data: DataOption = None,
    config_file: ConfigOption = None,
) -> None:
    """Convert every journal line the Parquet dataset lacks (after a crash or deleted files).

    Never duplicates: each Parquet file records the journal lines it covers.

    Example: kisfeed rebuild --data ./kisfeed-data
    """
    from ..store.converter import Converter

    config = config_from(config_file, data=data)
    with errors():
        if not (config.data / "journal").is_dir():
            raise ConfigError(f"no journal under {config.data}")
        report = Converter(config.data).rebuild()
    console.print(
        f"rebuilt {plural(report.total, 'record')} "
        f"({', '.join(f'{t}: {n:,}' for t, n in sorted(report.records.items())) or 'nothing missing'}) "
        f"from {plural(report.segments, 'segment')}; "
        f"{plural(report.files, 'file')} written, {report.sealed:,} compressed"
    )
    report_lines("journal line", "skipped", report.bad_lines)
    report_lines("frame", "not decoded", report.errors)


# --- query --------------------------------------------------------------------------------------


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


def query(
    sql: Annotated[
        str,
        typer.Argument(
            help="SQL over the dataset's views: one per TR (futures_trades, index_option_books, ...), all_futures_trades / all_option_trades, gaps (docs/store-columns.md)."
        ),
    ],
    data: DataOption = None,
    out: Annotated[Path | None, typer.Option(help="Write the result to a .csv or .parquet file.")] = None,
    limit: Annotated[int, typer.Option(help="Rows to print at most.")] = 100,
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            help="stdout format: table (falls back to line when too wide), csv, json (one object "
            "per line) or line (one 'column : value' line per field).",
        ),
    ] = "table",
    config_file: ConfigOption = None,
) -> None:
    """Run DuckDB SQL over the dataset and print it (or write --out FILE.csv|.parquet).

    Tables right-align numbers and never cut a value: a result too wide for the terminal is
    printed one line per field instead. The row count goes to stderr except for --format table.

    \b
    Examples:
      kisfeed query "SELECT code, count(*), max(volume) FROM futures_trades GROUP BY code"
      kisfeed query "SELECT * FROM futures_trades LIMIT 3" --format line
    """
    import sys

    from ..store.views import copy_to
    from ..store.views import query as run_query
    from .output import FORMATS, is_format, write_rows

    if not is_format(fmt):
        raise fail(f"--format is {', '.join(FORMATS)}, not {fmt!r}", EXIT_USAGE)
    config = config_from(config_file, data=data)
    with errors():
        if out is not None:
            rows = copy_to(sql, out, root=config.data)
            console.print(f"wrote {plural(rows, 'row')} to {out}")
            return
        table = run_query(sql, root=config.data)
    shown = table.slice(0, limit).to_pylist()
    try:
        fitted = write_rows(
            sys.stdout,
            fmt,
            table.column_names,
            [tuple(r.values()) for r in shown],
            console.width,
        )
        sys.stdout.flush()
    except BrokenPipeError:  # `kisfeed query ... | head`
        return
    more = table.num_rows - len(shown)
    footer = plural(table.num_rows, "row") + (f" ({more:,} not shown; --limit or --out)" if more else "")
    if not fitted:
        footer += f"; {len(table.column_names)} columns do not fit {console.width}: one line per field"
    (console if fmt == "table" else err_console).print(footer)


# --- replay -------------------------------------------------------------------------------------


@dataclass
class _Seen:
    """One code's records in ``replay --summary``: how many, the first and last trade times."""

    first: datetime | None
    last: datetime | None
    records: int = 0


def replay(
    journals: Annotated[
        list[Path], typer.Argument(help="Journal segments or directories (a data dir works too).")
    ],
    speed: Annotated[
        float | None, typer.Option(help="Recorded pace × N (default: as fast as possible).")
    ] = None,
    summary: Annotated[bool, typer.Option("--summary", help="Print only a summary per code.")] = False,
) -> None:
    """Re-emit the recorded records through the live feed's typed iterator: a header line, then
    one tab-separated line each (time, TR, code, price, last volume, volume); or a summary.

    Example: kisfeed replay ./kisfeed-data --speed 10
    """
    from ..store.journal import segments
    from ..store.playback import ReplayStats
    from ..store.playback import replay as run_replay

    with errors():  # a wrong path is the caller's: exit 2, not a replay of nothing
        for path in journals:
            if not path.exists():
                raise UsageError(f"no journal at {path}: no such file or directory")
        if not segments(*journals):
            raise UsageError(f"no journal segments under {', '.join(map(str, journals))}")
    stats = ReplayStats()
    per_code: dict[tuple[str, str | None], _Seen] = {}

    async def run() -> None:
        if not summary:  # the header names the columns of the lines below (tab-separated)
            print("time\ttr_id\tcode\tprice\tlast_volume\tvolume", flush=True)
        async for record in run_replay(*journals, speed=speed, stats=stats):
            r, at = record, record.exchange_time
            if summary:
                seen = per_code.setdefault((r.tr_id, r.code), _Seen(at, at))
                seen.records += 1
                seen.last = at or seen.last  # None: a 000000 trade time (not set)
            else:  # by name, so a TR without one of these fields prints None there
                v = r.to_dict()
                print(
                    f"{_cell(at)}\t{r.tr_id}\t{r.code}\t{v.get('price')}\t{v.get('last_volume')}\t{v.get('volume')}"
                )

    with errors():
        try:
            asyncio.run(run())
        except BrokenPipeError:  # `kisfeed replay ... | head`
            return
    if summary:
        view = Table("TR", "code", "records", "first", "last")
        for (tr_id, code), seen in sorted(per_code.items(), key=lambda item: (item[0][0], item[0][1] or "")):
            view.add_row(tr_id, _cell(code), f"{seen.records:,}", _cell(seen.first), _cell(seen.last))
        console.print(view)
    err_console.print(
        f"{plural(stats.records, 'record')} from {plural(stats.frames, 'frame')} "
        f"in {plural(stats.journal.segments, 'segment')}"
    )
    report_lines("journal line", "skipped", [str(b) for b in stats.journal.bad])
    report_lines("frame", "not decoded", stats.errors)


# --- export -------------------------------------------------------------------------------------


def _date(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{option} takes a date such as 2026-11-20, not {text!r}") from None


def export(
    start: Annotated[str, typer.Option("--from", help="First trading date (YYYY-MM-DD).")],
    end: Annotated[str, typer.Option("--to", help="Last trading date (YYYY-MM-DD), included.")],
    out: Annotated[Path, typer.Option(help="Output directory: one file per TR.")],
    fmt: Annotated[str, typer.Option("--format", help="parquet or csv.")] = "parquet",
    tr: Annotated[list[str] | None, typer.Option("--tr", help="Only this TR (repeatable).")] = None,
    data: DataOption = None,
    config_file: ConfigOption = None,
) -> None:
    """Export a date range to Parquet or CSV, one file per TR, with a progress bar.

    Example: kisfeed export --from 2026-11-20 --to 2026-11-27 --out ./export --format csv
    """
    from ..store.dataset import dataset_days
    from ..store.export import export as run_export
    from ..store.export import plan

    config = config_from(config_file, data=data)
    with errors():
        first, last = _date(start, "--from"), _date(end, "--to")
        planned = plan(config.data, first, last, fmt, out, tr)  # type: ignore[arg-type]  # --format is a str: plan() refuses all but parquet and csv
        # A TR with no rows in the range gets no file (an empty file reads as "exported");
        # nothing at all is a failure, so that a script notices (issue 11, item 5).
        plans = [p for p in planned if p.rows]
        if not plans:
            days = dataset_days(config.data)
            held = f"it holds {days[0]} to {days[-1]}" if days else "it holds no Parquet files yet"
            raise StoreError(
                f"nothing to export: no rows from {first} to {last} under {config.data} "
                f"({held}); no file written"
            )
        total = sum(p.rows for p in plans)
        columns = (TextColumn("exporting"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
        with Progress(*columns, console=err_console, transient=False) as progress:
            task = progress.add_task("export", total=total)
            written = run_export(plans, progress=lambda n: progress.advance(task, n))
    for p, path in zip(plans, written):
        console.print(f"{p.tr_id}: {p.rows:,} rows → {path}")
    for p in planned:
        if not p.rows:
            console.print(f"{p.tr_id}: no rows from {first} to {last}; no file written")
