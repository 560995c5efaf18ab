"""``kisfeed bars``: OHLCV bars from the recorded trades (``kisfeed.store.bars``)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from ..exceptions import StoreError
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
)

__all__ = ["bars"]


def _shown(row: dict[str, Any], fmt: str) -> dict[str, Any]:
    """A bar as printed: for a reader (table, line) the VWAP to 4 decimals, which is finer than
    any tick (KOSPI200 0.01 points, reference 4.6); csv, json and --parquet keep every digit."""
    if fmt in ("table", "line") and row["vwap"] is not None:
        return row | {"vwap": round(row["vwap"], 4)}
    return row


def bars(
    interval: Annotated[
        str, typer.Option(help="Bar length: a whole number and s, m, h or d (5s, 1m, 15m, 1h, 1d).")
    ] = "1m",
    code: Annotated[list[str] | None, typer.Option("--code", help="Only this code (repeatable).")] = None,
    day: Annotated[
        list[str] | None,
        typer.Option("--date", help="Only this trading date, YYYY-MM-DD: the views' date (repeatable)."),
    ] = None,
    tr: Annotated[list[str] | None, typer.Option("--tr", help="Only this trade TR (repeatable).")] = None,
    view: Annotated[
        list[str] | None,
        typer.Option(
            "--view", help="Only this trade view: index_futures_trades, all_futures_trades... (repeatable)."
        ),
    ] = None,
    parquet: Annotated[
        Path | None, typer.Option("--parquet", help="Write the bars to this Parquet file instead.")
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", help="stdout format: table, csv, json (one object per line) or line.")
    ] = "table",
    data: DataOption = None,
    config_file: ConfigOption = None,
) -> None:
    """OHLCV bars of any interval from the recorded trades of every trade TR (stock, index,
    night), per TR and code: open, high, low, close of the price, volume (the sum of the trades'
    last_volume), trade count, VWAP, missed_volume (contracts the cumulative volume says traded
    in a reconnect gap) and gap (the bar overlaps an interval the recording missed the code in).
    An interval without a trade has no bar. Bars are aligned on KST
    midnight and placed by trade time, so a night session crossing midnight bars in order.

    \b
    Examples:
      kisfeed bars --interval 1m --code A11612
      kisfeed bars --interval 5s --view index_futures_trades --view futures_trades
      kisfeed bars --interval 1h --tr H0ZFCNT0 --parquet bars.parquet
    """
    from ..store.bars import bars as make_bars
    from ..store.dataset import dataset_days, write_parquet
    from .output import FORMATS, is_format, write_rows

    if not is_format(fmt):
        raise fail(f"--format is {', '.join(FORMATS)}, not {fmt!r}", EXIT_USAGE)
    config = config_from(config_file, data=data)
    with errors():
        result = make_bars(config.data, interval, trs=tr, views=view, codes=code, days=day)
        if not result.table.num_rows:
            held = dataset_days(config.data)
            raise StoreError(
                f"no bars: no priced trade under {config.data} for these filters ("
                + (f"it holds {held[0]} to {held[-1]}" if held else "it holds no Parquet files yet")
                + (f"; {plural(result.unpriced, 'trade')} without a price" if result.unpriced else "")
                + ")"
            )
        if parquet is not None:
            write_parquet(result.table, parquet)
    table = result.table
    if parquet is None:
        try:
            write_rows(
                sys.stdout,
                fmt,
                table.column_names,
                [tuple(_shown(r, fmt).values()) for r in table.to_pylist()],
                console.width,
            )
            sys.stdout.flush()
        except BrokenPipeError:  # `kisfeed bars ... | head`
            return
    summary = f"{plural(table.num_rows, 'bar')} of {interval.strip()} from {plural(result.rows, 'trade')}" + (
        f" → {parquet}" if parquet is not None else ""
    )
    notes = [
        f"{plural(result.duplicates, 'duplicate trade')} counted once" if result.duplicates else "",
        f"{plural(result.unpriced, 'trade')} without a price left out" if result.unpriced else "",
    ]
    missed = sum(table.column("missed_volume").to_pylist())
    if missed:
        notes.append(f"{missed:,} contracts traded in gaps the recording missed (missed_volume)")
    in_gaps = sum(table.column("gap").to_pylist())
    if in_gaps:
        notes.append(f"{plural(in_gaps, 'bar')} overlapping a recording gap (gap)")
    notes = [n for n in notes if n]
    (console if parquet is not None or fmt == "table" else err_console).print(
        summary + ("; " + "; ".join(notes) if notes else "")
    )
