"""``kisfeed codes``: find instrument codes in the KIS futures/options masters: the stock
master ``fo_stk_code_mts.mst`` and the index master ``fo_idx_code_mts.mst`` (reference 5.4)."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from ..auth import REAL_WS_URL
from ..exceptions import ConfigError, KisfeedError
from ..instruments import Master, download_masters, merge, read_master, search, underlying_of
from ..schema import layout_for
from ..schema.master import MasterEntry
from .common import EXIT_USAGE, console, err_console, errors, fail, plural, strike_text

__all__ = [
    "codes",
    "load_instruments",
    "simulator_master",
    "resolve_codes",
    "check_registrations",
    "master_for_recording",
]


def simulator_master() -> Master:
    """The embedded simulator's universe, in the master format: its stock master (futures
    spreads included), its index master (the KOSPI200 products, on the index TRs) and its night
    masters (their night contracts, on the night TRs), as the simulator serves them."""
    from ..sim import Simulator
    from ..sim.index import index_master_entries
    from ..sim.instruments import master_entries
    from ..sim.night import night_master_entries
    from .embedded import embedded_config

    universe = Simulator(embedded_config()).instruments
    day = [i for i in universe if layout_for(i.tr_id).market == "index"]  # not the night contracts
    entries = master_entries(universe) + index_master_entries(day) + night_master_entries(universe)
    return Master(entries, "the simulator's instruments (kisfeed sim)")


def load_instruments(master_file: Path | list[Path] | None, *, offline: bool = False) -> Master:
    """The master files given by the user, else KIS's stock and index masters (cached, downloaded
    when online; one that cannot be had is a note), else the simulator's own, saying which."""
    if isinstance(master_file, Path):
        master_file = [master_file]
    if master_file:
        return merge([read_master(path) for path in master_file])
    if not offline:
        try:
            found = download_masters()
            for why in found.missing:
                err_console.print(f"[yellow]note:[/] a KIS master is unavailable ({why})", highlight=False)
            return found
        except (KisfeedError, OSError) as exc:
            err_console.print(
                f"[yellow]note:[/] KIS master unavailable ({exc}); "
                "showing the simulator's instruments instead"
            )
    return simulator_master()


def resolve_codes(master: Master, codes: list[str]) -> list[MasterEntry]:
    """The entries of ``codes``; an unknown code or a spread is a ConfigError (exit 2) naming
    the codes, where they were looked up and the closest known codes. The one check of codes
    for every command (watch, record)."""
    known = master.by_code()
    unknown = [c for c in codes if c not in known]
    if unknown:
        close = sorted({m for c in unknown for m in difflib.get_close_matches(c, known, n=3, cutoff=0.7)})
        raise ConfigError(
            f"unknown instrument code{'s' if len(unknown) > 1 else ''} {', '.join(unknown)} "
            f"in {master.source}"
            + (f"; close: {', '.join(close)}" if close else "")
            + "; find codes with: kisfeed codes QUERY"
        )
    entries = [known[c] for c in codes]
    spreads = [e.code for e in entries if e.tr_id is None]
    if spreads:
        raise ConfigError(f"{', '.join(spreads)}: spreads have no real-time trade TR in kisfeed")
    return entries


def check_registrations(entries: list[MasterEntry], subscriptions: dict[str, list[str]]) -> None:
    """Refuse (ConfigError, exit 2) a code placed on a TR its instrument has not (a futures code
    on an option TR): the master's kind decides where the code's form cannot. A code listed by
    several masters (a KOSPI200 contract in the index master and a night master) may go on the
    TRs of any of them."""
    by_code: dict[str, list[MasterEntry]] = {}
    for e in entries:
        by_code.setdefault(e.code, []).append(e)
    for tr_id, codes in subscriptions.items():
        for code in codes:
            listed = by_code.get(code)
            if listed and not any(tr_id in e.tr_ids for e in listed):
                trs = list(dict.fromkeys(t for e in listed for t in e.tr_ids))
                raise ConfigError(
                    f"{code} is a {listed[0].kind} ({listed[0].underlying_name}): it can be subscribed "
                    f"on {', '.join(trs)}, not {tr_id}"
                )


def master_for_recording(
    simulated: bool, master_file: Path | None, ws_url: str | None = None
) -> Master | None:
    """Where ``record`` checks its codes: the simulator's universe when simulated, else the
    given master file, else KIS's master (cached, or downloaded) when the server is KIS's own.
    None when the server is another one (a ``kisfeed sim`` at ``--ws-url``, whose universe is
    not KIS's), or KIS's master cannot be had: then only the code's form is checked and the
    server answers for the rest (OPSP8992), since a recorder must not refuse a real code only
    because the master server is down."""
    if master_file is not None:
        return read_master(master_file)
    if simulated:
        return simulator_master()
    if ws_url not in (None, REAL_WS_URL):
        return None
    try:
        return download_masters()
    except (KisfeedError, OSError) as exc:
        err_console.print(
            f"[yellow]note:[/] KIS master unavailable ({exc}); codes are checked by the server",
            highlight=False,
        )
        return None


def codes(
    query: Annotated[
        str, typer.Argument(help="Underlying name or code, or part of an instrument code.")
    ] = "",
    underlying: Annotated[
        str | None,
        typer.Option(help="Exactly this underlying, by name or code (KOSPI200, 코스피200, K200 alike)."),
    ] = None,
    expiry: Annotated[str | None, typer.Option(help="Expiry month, YYYYMM or YYYY-MM.")] = None,
    strike: Annotated[float | None, typer.Option(help="Strike price (options).")] = None,
    kind: Annotated[str | None, typer.Option("--type", help="future, call, put or spread.")] = None,
    master: Annotated[
        list[Path] | None,
        typer.Option(help="A local master file (fo_stk_code_mts.mst, fo_idx_code_mts.mst). Repeatable."),
    ] = None,
    offline: Annotated[bool, typer.Option("--offline", help="Do not download the KIS masters.")] = False,
) -> None:
    """Find instruments by underlying name or code, expiry, strike and call/put, in KIS's stock
    and index futures/options masters; for each, the TRs it can be subscribed on (trades, order
    book, expected price).

    \b
    Examples:
      kisfeed codes 삼성전자 --type call --expiry 202612
      kisfeed codes KOSPI200 --type future
      kisfeed codes --underlying 코스피200 --type put
      kisfeed codes --master fo_stk_code_mts.mst SK
    """
    if kind is not None and kind not in ("future", "call", "put", "spread"):
        raise fail(f"--type is future, call, put or spread, not {kind!r}", EXIT_USAGE)
    with errors():
        found = load_instruments(master, offline=offline)
        if underlying is not None:
            code, _ = underlying_of(found, underlying)
            found = Master(
                [e for e in found.entries if e.underlying_code == code], found.source, found.skipped
            )
        matches = search(found, query, expiry=expiry, strike=strike, kind=kind)
    console.print(
        f"source: {found.source}"
        + (f" ({plural(found.skipped, 'unreadable line')} skipped)" if found.skipped else "")
    )
    if not matches:
        raise fail(
            f"no instrument matches {query!r}"
            + (" with those filters" if expiry or strike or kind or underlying else "")
            + "; try a shorter query or kisfeed codes without arguments",
            EXIT_USAGE,
        )
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, 0))  # compact
    # Every TR the code can be subscribed on (reference 4.5, 4.6): TR its trades, then its book
    # and its expected price, at the end so that the columns before keep their place. A night
    # master's rows carry the night TRs (H0MF*/H0EU*).
    for column in ("code", "TR", "kind", "underlying", "stock", "expiry", "strike", "book", "expected"):
        table.add_column(column, justify="right" if column == "strike" else "left", no_wrap=True)
    for e in matches:
        trs = {layout_for(t).category: t for t in e.tr_ids}
        table.add_row(
            e.code,
            trs.get("trade", "-"),
            e.kind,
            e.underlying_name,
            e.underlying_code,
            e.expiry_month or "-",
            strike_text(e.strike) if e.strike else "",
            trs.get("book", "-"),
            trs.get("expected", "-"),
        )
    # one line per instrument, every value whole: wider than the terminal rather than cut
    natural = Measurement.get(console, console.options.update_width(1_000_000), table).maximum
    if natural <= console.width:
        console.print(table)
    else:  # rich would cut values to the terminal's width: its lines at their own, unwrapped
        for line in console.render_lines(table, console.options.update_width(natural), pad=False):
            console.print(Text.assemble(*((s.text, s.style or "") for s in line)), soft_wrap=True)
    console.print(plural(len(matches), "instrument"))
