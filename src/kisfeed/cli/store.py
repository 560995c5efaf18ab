"""``kisfeed record``, ``rebuild``, ``query``, ``replay`` and ``export``: the data directory.

The data directory (``--data``, default ``./kisfeed-data``) holds the journal and the Parquet
dataset (see ``kisfeed.store``). Recording connects with the client's settings: ``--app-key``/
``--app-secret`` or ``KIS_APP_KEY``/``KIS_APP_SECRET`` (or the config file), endpoints from
``--ws-url``/``--rest-url`` or ``KIS_WS_URL``/``KIS_REST_URL``; without credentials it records
from the embedded simulator and says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from ..exceptions import ConfigError, DataDirectoryInUseError, FeedError, StoreError, UsageError
from ..schema import LAYOUTS
from .common import (
    EXIT_FAILURE,
    EXIT_USAGE,
    ConfigOption,
    DataOption,
    config_from,
    console,
    err_console,
    errors,
    fail,
    plural,
    signals,
)
from .config import Config
from .embedded import connect_arguments, describe_embedded, embedded_config
from .live import silent_codes

if TYPE_CHECKING:  # pyarrow and DuckDB load when a command needs them, not for --help
    from ..store.outages import Outage
    from ..store.recorder import Recorder

__all__ = ["record", "rebuild", "query", "replay", "export", "tr_for_code"]

F, O = "H0ZFCNT0", "H0ZOCNT0"  # noqa: E741 - the two TRs, as in the client tests


def tr_for_code(code: str, tr: str | None = None) -> str:
    """The TR of an instrument code: KIS short codes of stock futures have 6 characters, of
    stock options 9 (reference 5.2); ``--tr`` decides for anything else."""
    if tr is not None:
        if tr not in LAYOUTS:
            raise UsageError(f"--tr {tr!r}: kisfeed records {F} (stock futures) and {O} (stock options)")
        return tr
    if len(code) == 6:
        return F
    if len(code) == 9:
        return O
    raise UsageError(
        f"{code!r}: cannot tell futures (6 characters) from options (9); give --tr {F} or --tr {O}"
    )


def _report_lines(noun: str, what: str, lines: list[str], limit: int = 20) -> None:
    """``3 journal lines skipped (first 20):`` then one indented line each."""
    if not lines:
        return
    err_console.print(
        f"[yellow]{plural(len(lines), noun)} {what}[/]"
        + (f" (first {limit})" if len(lines) > limit else "")
        + ":"
    )
    for line in lines[:limit]:
        err_console.print(f"  {line}", markup=False)


# --- record -------------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def _running(recorder: Recorder) -> AsyncIterator[Recorder]:
    """The recorder, started and then stopped; a background part's failure stays on its
    ``errors`` (``record`` reports each in one line and exits 1) instead of being raised."""
    await recorder.start()
    try:
        yield recorder
    finally:
        try:
            await recorder.stop()
        except StoreError:
            if not recorder.errors:
                raise


def _print_errors(errors: list[StoreError]) -> None:
    for error in errors:
        err_console.print(f"[bold red]error:[/] {error}")


async def _record(
    config: Config,
    subscriptions: dict[str, list[str]],
    simulated: bool,
    seconds: float | None,
    fsync_window: float,
    flush_interval: float,
    status_interval: float,
) -> tuple[set[str], Recorder, float]:
    """Record until ``seconds``, Ctrl-C or SIGTERM; returns the codes that brought a record,
    the recorder and the seconds recorded."""
    import kisfeed

    from ..store.outages import describe_outage
    from ..store.recorder import Recorder

    counts: Counter[str] = Counter()
    seen: set[str] = set()
    stop = signals.stop_event()  # Ctrl-C and SIGTERM stop the run; record() decides the exit code

    def reconnected(outage: Outage) -> None:  # one line per lost session, once it is over
        err_console.print(describe_outage(outage), markup=False, highlight=False)

    async with _running(
        Recorder(
            config.data, fsync_window=fsync_window, flush_interval=flush_interval, on_reconnect=reconnected
        )
    ) as recorder:
        if recorder.recovered.total:
            err_console.print(
                f"restored {recorder.recovered.total:,} records a previous run had journaled "
                f"but not converted"
            )
        async with (
            connect_arguments(config, simulated) as connect_kwargs,
            kisfeed.connect(**connect_kwargs, on_frame=recorder.on_frame, on_event=recorder.on_event) as feed,
        ):
            for tr, codes in subscriptions.items():
                await feed.subscribe(tr, codes)
            total = sum(len(c) for c in subscriptions.values())
            err_console.print(
                f"recording {plural(total, 'code')} to {config.data} "
                f"({'until Ctrl-C' if seconds is None else f'for {seconds:g} s'})"
            )
            started = time.monotonic()  # --seconds counts recording time, not connecting

            async def consume() -> None:  # the consumer only counts: the journal is the record
                while True:
                    for r in await feed.next_batch(10_000):
                        counts[r.tr_id] += 1
                        if r.code:
                            seen.add(r.code)

            consumer = asyncio.create_task(consume())
            deadline = None if seconds is None else started + seconds
            next_status = started + status_interval
            tick = min(0.2, status_interval) if status_interval > 0 else 0.2
            try:
                while not stop.is_set() and not consumer.done() and recorder.error is None:
                    _print_errors(recorder.new_errors())  # a converter failure: the journal goes on
                    now = time.monotonic()
                    if deadline is not None and now >= deadline:
                        break
                    if status_interval > 0 and now >= next_status:
                        s = recorder.stats()
                        err_console.print(
                            f"status frames={s.frames} synced={s.synced} records={sum(counts.values())}",
                            markup=False,
                        )
                        next_status = now + status_interval
                    await asyncio.sleep(tick if deadline is None else max(0.0, min(tick, deadline - now)))
            finally:
                recorded = time.monotonic() - started
                consumer.cancel()
                with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                    await consumer
            err_console.print("stopping: closing the journal and converting the last records…")
            failed = consumer.exception() if consumer.done() and not consumer.cancelled() else None
            if failed is not None:
                raise failed
    return seen, recorder, recorded


def record(
    codes: Annotated[
        list[str],
        typer.Argument(
            help="Instrument codes: 6 characters = stock futures (H0ZFCNT0), 9 = stock options (H0ZOCNT0)."
        ),
    ],
    data: DataOption = None,
    seconds: Annotated[
        float | None, typer.Option(help="Stop after this many seconds (default: Ctrl-C).")
    ] = None,
    tr: Annotated[
        str | None, typer.Option("--tr", help="TR id for every code (default: by code length).")
    ] = None,
    app_key: Annotated[str | None, typer.Option("--app-key", help="App key (default: KIS_APP_KEY).")] = None,
    app_secret: Annotated[
        str | None,
        typer.Option("--app-secret", help="App secret (default: KIS_APP_SECRET).", show_default=False),
    ] = None,
    ws_url: Annotated[
        str | None, typer.Option("--ws-url", help="WebSocket URL (default: KIS_WS_URL).")
    ] = None,
    rest_url: Annotated[
        str | None, typer.Option("--rest-url", help="Approval URL (default: KIS_REST_URL).")
    ] = None,
    fsync_window: Annotated[
        float, typer.Option(help="Seconds of received frames at risk at most (group fsync).")
    ] = 0.1,
    flush_interval: Annotated[
        float, typer.Option(help="Seconds between finalized Parquet files, at most.")
    ] = 5.0,
    status_interval: Annotated[
        float, typer.Option(help="Seconds between status lines on stderr (0: none).")
    ] = 10.0,
    master: Annotated[
        Path | None,
        typer.Option(help="A local fo_stk_code_mts.mst to check the codes against (default: KIS's, cached)."),
    ] = None,
    config_file: ConfigOption = None,
) -> None:
    """Record trades: every received frame to the journal, typed records to Parquet.

    Runs `rebuild` first, so records a killed run journaled but did not convert are restored.
    Codes are checked before connecting: against the simulator's instruments when simulated,
    else against --master or KIS's master file. --seconds counts from the subscription; closing
    the journal and converting the last records take a moment more, announced on stderr.
    Ctrl-C stops with exit 130 after the summary; SIGTERM (systemd) stops with exit 0.

    Example: kisfeed record A11612 B11612007 --data ./kisfeed-data --seconds 3600
    """
    from .codes import master_for_recording, resolve_codes

    config = config_from(
        config_file, data=data, app_key=app_key, app_secret=app_secret, ws_url=ws_url, rest_url=rest_url
    )
    with errors():
        simulated = not config.has_credentials
        if simulated:
            err_console.print(
                "no credentials (KIS_APP_KEY, KIS_APP_SECRET): recording from the embedded simulator; "
                + describe_embedded(embedded_config())
            )
        known = master_for_recording(simulated, master, config.ws_url)
        subscriptions: dict[str, list[str]] = {}
        for code in dict.fromkeys(codes):
            subscriptions.setdefault(tr_for_code(code, tr), []).append(code)
        if known is not None:
            resolve_codes(known, list(dict.fromkeys(codes)))
        try:
            seen, recorder, elapsed = asyncio.run(
                _record(
                    config,
                    subscriptions,
                    simulated,
                    seconds,
                    fsync_window,
                    flush_interval,
                    status_interval,
                )
            )
        except FeedError as exc:
            raise fail(
                f"the feed stopped: {exc}; everything received is in the journal under {config.data}",
                EXIT_FAILURE,
            ) from None
        except DataDirectoryInUseError as exc:
            raise fail(str(exc), EXIT_USAGE) from None
    s = recorder.stats()
    # what reached the dataset (the journal's records, converted), not what the consumer counted:
    # frames still queued when the run stops are journaled and converted all the same
    written = recorder.converted.records
    console.print(
        f"recorded {plural(sum(written.values()), 'record')} in {elapsed:.1f} s "
        f"({', '.join(f'{t}: {n:,}' for t, n in sorted(written.items())) or 'none'})"
    )
    console.print(f"journal: {plural(s.synced, 'frame')}, {s.bytes:,} bytes in {config.data / 'journal'}")
    console.print(
        f"dataset: {plural(recorder.converted.total, 'record')} converted to {config.data.resolve()}"
    )
    console.print(recorder.gaps.summary(), markup=False, highlight=False)
    if (line := silent_codes(codes, seen)) is not None:
        console.print(line, markup=False, highlight=False)
    _report_lines("journal line", "skipped", recorder.converted.bad_lines)
    _report_lines("frame", "not decoded", recorder.converted.errors)
    # Every background failure is one line (those seen while recording were printed then);
    # any of them makes the run a failure, though what the journal holds is intact.
    _print_errors(recorder.new_errors())
    if recorder.errors:
        raise typer.Exit(EXIT_FAILURE)
    signals.exit_status()


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
    _report_lines("journal line", "skipped", report.bad_lines)
    _report_lines("frame", "not decoded", report.errors)


# --- query --------------------------------------------------------------------------------------


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


def query(
    sql: Annotated[str, typer.Argument(help="SQL over the views futures_trades, option_trades and gaps.")],
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
    _report_lines("journal line", "skipped", [str(b) for b in stats.journal.bad])
    _report_lines("frame", "not decoded", stats.errors)


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
