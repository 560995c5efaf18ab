"""``kisfeed watch`` (the live board) and ``kisfeed demo`` (board + recording on the simulator)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from ..exceptions import ConfigError
from ..instruments import Master
from ..schema import layout_for
from ..schema.master import MasterEntry
from .codes import load_instruments, resolve_codes, simulator_master
from .common import ConfigOption, DataOption, config_from, console, err_console, errors, plural, signals
from .config import Config
from .embedded import connect_arguments, describe_embedded, embedded_config
from .live import LiveResult, run_board, silent_codes

__all__ = ["watch", "demo", "chain_for", "resolve_codes"]


def _underlying(master: Master, name: str) -> tuple[str, str]:
    """(code, name) of the underlying called ``name`` (exact name or code, else a unique match)."""
    pairs = {(e.underlying_code, e.underlying_name) for e in master.entries}
    exact = [p for p in pairs if name in p]
    found = exact or [p for p in pairs if name.casefold() in p[1].casefold()]
    if len(found) != 1:
        hint = ", ".join(sorted(n for _, n in pairs))[:300]
        what = "matches several underlyings" if found else "is not an underlying"
        raise ConfigError(f"{name!r} {what} in {master.source}; known: {hint}")
    return found[0]


DEMO_CHAIN = "삼성전자"
#: Strikes of a chain on the board, nearest the money: their calls and puts and an underlying's
#: futures stay within KIS's 41 registrations per session (reference 3.1), a real chain would not.
CHAIN_STRIKES = 9


def chain_for(master: Master, name: str, strikes: int = CHAIN_STRIKES) -> list[MasterEntry]:
    """The futures of an underlying and the ``strikes`` strikes of its front-expiry option chain
    (calls and puts) nearest the money: the master's ATM strike (column 5), strikes read from its
    행사가 column (an option code does not carry its strike, reference 5.2)."""
    code, _ = _underlying(master, name)
    mine = [e for e in master.entries if e.underlying_code == code and e.tr_id]
    futures = [e for e in mine if e.kind == "future"]
    options = [e for e in mine if e.kind in ("call", "put")]
    front = min((e.expiry_month or "999999" for e in options), default=None)
    chain = [e for e in options if e.expiry_month == front]
    listed = sorted({e.strike for e in chain})
    atm = next((e.strike for e in chain if e.atm == "1"), listed[len(listed) // 2] if listed else 0.0)
    shown = set(sorted(listed, key=lambda k: (abs(k - atm), k))[:strikes])
    return futures + sorted((e for e in chain if e.strike in shown), key=lambda e: (e.strike, e.kind))


def _subscriptions(
    entries: list[MasterEntry], book: MasterEntry | None = None
) -> list[tuple[str, list[str]]]:
    """Each entry on its trade TR; ``book``'s code on its book TR too (one more registration)."""
    by_tr: dict[str, list[str]] = {}
    for entry in entries:
        assert entry.tr_id is not None
        by_tr.setdefault(entry.tr_id, []).append(entry.code)
    if book is not None:
        book_tr = next(t for t in book.tr_ids if layout_for(t).category == "book")
        by_tr.setdefault(book_tr, []).append(book.code)
    trades_first = sorted(by_tr.items(), key=lambda item: (layout_for(item[0]).category != "trade", item[0]))
    return [(tr, list(dict.fromkeys(codes))) for tr, codes in trades_first]


async def _watch(
    config: Config,
    subscriptions: list[tuple[str, list[str]]],
    master: Master,
    seconds: float | None,
    simulated: bool,
    on_frame: Callable[[str, int, int], None] | None = None,
    book: str | None = None,
) -> LiveResult:
    async with connect_arguments(config, simulated) as connect_kwargs:
        return await run_board(
            connect_kwargs=connect_kwargs,
            subscriptions=subscriptions,
            instruments=master.by_code(),
            console=console,
            title="kisfeed · simulator" if simulated else "kisfeed · KIS",
            seconds=seconds,
            on_frame=on_frame,
            book=book,
        )


def _registrations(subscriptions: list[tuple[str, list[str]]]) -> list[tuple[str, str]]:
    return [(tr, code) for tr, codes in subscriptions for code in codes]


SecondsOption = Annotated[float | None, typer.Option(help="Stop after this many seconds (default: Ctrl-C).")]


def watch(
    codes: Annotated[list[str] | None, typer.Argument(help="Instrument codes (see kisfeed codes).")] = None,
    underlying: Annotated[
        str | None, typer.Option(help="Watch an underlying: its futures and option chain.")
    ] = None,
    book: Annotated[
        str | None,
        typer.Option(
            "--book",
            metavar="CODE",
            help="Show this contract's order book beside the board: 10 asks, 10 bids, totals "
            "(H0ZFASP0 / H0ZOASP0; one more registration).",
        ),
    ] = None,
    seconds: SecondsOption = None,
    master: Annotated[Path | None, typer.Option(help="A local fo_stk_code_mts.mst file.")] = None,
    simulator: Annotated[
        bool, typer.Option("--simulator", help="Use the embedded simulator even with credentials.")
    ] = False,
    config_file: ConfigOption = None,
) -> None:
    """A live board: futures (last, change, volume, OI, basis, bid/ask), an option chain (last, IV,
    delta, volume) and the connection status. Real server with credentials, else the simulator.

    \b
    Examples:
      kisfeed watch --underlying 삼성전자
      kisfeed watch A11612 A50612 --seconds 60
      kisfeed watch --underlying 삼성전자 --book A11612
    """
    config = config_from(config_file)
    simulated = simulator or not config.has_credentials
    with errors():
        if simulated:
            err_console.print(
                (
                    "no credentials (KIS_APP_KEY, KIS_APP_SECRET): watching the embedded simulator; "
                    if not simulator
                    else "watching the embedded simulator; "
                )
                + describe_embedded(embedded_config())
            )
            found = simulator_master()
        else:
            found = load_instruments(master)
        if not codes and not underlying and not book:
            raise ConfigError("give instrument codes or --underlying NAME (e.g. --underlying 삼성전자)")
        entries = resolve_codes(found, codes or []) + (chain_for(found, underlying) if underlying else [])
        book_entry = resolve_codes(found, [book])[0] if book else None
        if book_entry is not None and book_entry.code not in {e.code for e in entries}:
            entries.append(book_entry)  # its trades too: the ladder's caption shows the last one
        subscriptions = _subscriptions(entries, book_entry)
        result = asyncio.run(_watch(config, subscriptions, found, seconds, simulated, book=book))
    console.print(
        f"\n{plural(sum(result.records.values()), 'record')} in {result.seconds:.0f} s, "
        f"{plural(result.reconnects, 'reconnect')}, {result.dropped:,} dropped"
    )
    if (line := silent_codes(_registrations(subscriptions), result.seen)) is not None:
        console.print(line, markup=False, highlight=False)
    signals.exit_status()


def demo(
    seconds: SecondsOption = None,
    data: DataOption = None,
    config_file: ConfigOption = None,
) -> None:
    """The five-minute tour, with no account: the embedded simulator, a live board of stock
    futures and one option chain, everything recorded to the data directory; then a summary
    with a ready-to-run query. Stop with Ctrl-C (exit 130 after the summary) or --seconds N.

    Example: kisfeed demo --seconds 30 --data ./kisfeed-data
    """
    from ..store.converter import without_pandas
    from ..store.recorder import Recorder

    config = config_from(config_file, data=data)
    found = simulator_master()
    fronts: dict[str, MasterEntry] = {}
    for e in found.entries:
        if e.market != "stock":  # the tour's stock futures (not the KOSPI200's)
            continue
        if e.kind == "future" and (
            e.underlying_code not in fronts
            or (e.expiry_month or "") < (fronts[e.underlying_code].expiry_month or "")
        ):
            fronts[e.underlying_code] = e
    entries = sorted(fronts.values(), key=lambda e: e.code) + [
        e for e in chain_for(found, DEMO_CHAIN) if e.kind != "future"
    ]
    subscriptions = _subscriptions(entries)
    console.print(
        f"kisfeed demo: embedded simulator, {len(fronts)} stock futures and the {DEMO_CHAIN} "
        f"option chain, recording to {config.data}"
    )
    console.print(describe_embedded(embedded_config()))

    async def run() -> tuple[LiveResult, dict[str, int]]:
        # Converting in this process: the demo's feed is light, and a converter child would hold
        # a second interpreter with pyarrow of its own (issue 13: the demo's memory).
        without_pandas()
        async with Recorder(config.data, convert="thread") as recorder:
            result = await _watch(config, subscriptions, found, seconds, True, on_frame=recorder.on_frame)
        # what reached the dataset, not what the board drew: frames still queued for the board
        # when the run stops are journaled and converted all the same
        return result, recorder.converted.records

    with errors():
        result, written = asyncio.run(run())
    console.print(
        f"\nrecorded {plural(sum(written.values()), 'record')} in {result.seconds:.0f} s "
        f"({', '.join(f'{tr}: {n:,}' for tr, n in sorted(written.items())) or 'none'}) "
        f"to {config.data.resolve()}"
    )
    console.print(
        f"reconnects {result.reconnects}, dropped {result.dropped}, parse errors {result.parse_errors}"
    )
    if (line := silent_codes(_registrations(subscriptions), result.seen)) is not None:
        console.print(line, markup=False, highlight=False)
    console.print("query it:")  # cumulative volume orders each code's trades, even within one frame
    console.print(
        f'  kisfeed query --data {config.data} "SELECT code, count(*) AS trades, max(volume) AS volume, '
        'arg_max(price, volume) AS last FROM futures_trades GROUP BY code ORDER BY code"'
    )
    signals.exit_status()
