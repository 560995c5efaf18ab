"""``kisfeed codes``: find instrument codes in the KIS stock futures/options master."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from ..exceptions import KisfeedError
from ..instruments import Master, download_master, read_master, search
from .common import EXIT_USAGE, console, err_console, errors, fail

__all__ = ["codes", "load_instruments", "simulator_master"]

def simulator_master() -> Master:
    """The embedded simulator's universe, in the master format."""
    from ..sim import Simulator
    from ..sim.instruments import master_entry

    return Master([master_entry(i) for i in Simulator().instruments], "the simulator's instruments (kisfeed sim)")

def load_instruments(master_file: Path | None, *, offline: bool = False) -> Master:
    """A master file given by the user, else KIS's (cached, downloaded when online), else the
    simulator's own, saying which."""
    if master_file is not None:
        return read_master(master_file)
    if not offline:
        try:
            return download_master()
        except (KisfeedError, OSError) as exc:
            err_console.print(f"[yellow]note:[/] KIS master unavailable ({exc}); "
                              "showing the simulator's instruments instead")
    return simulator_master()

def codes(
    query: Annotated[str, typer.Argument(help="Underlying name or code, or part of an instrument code.")] = "",
    expiry: Annotated[Optional[str], typer.Option(help="Expiry month, YYYYMM or YYYY-MM.")] = None,
    strike: Annotated[Optional[float], typer.Option(help="Strike price (options).")] = None,
    kind: Annotated[Optional[str], typer.Option("--type", help="future, call, put or spread.")] = None,
    master: Annotated[Optional[Path], typer.Option(help="A local fo_stk_code_mts.mst file.")] = None,
    offline: Annotated[bool, typer.Option("--offline", help="Do not download the KIS master.")] = False,
) -> None:
    """Find instruments by underlying name or code, expiry, strike and call/put.

    Examples: kisfeed codes 삼성전자 --type call --expiry 202612 ·
    kisfeed codes 005930 --type future · kisfeed codes --master fo_stk_code_mts.mst SK
    """
    if kind is not None and kind not in ("future", "call", "put", "spread"):
        raise fail(f"--type is future, call, put or spread, not {kind!r}", EXIT_USAGE)
    with errors():
        found = load_instruments(master, offline=offline)
        matches = search(found, query, expiry=expiry, strike=strike, kind=kind)
    console.print(f"source: {found.source}" + (f" ({found.skipped} unreadable lines skipped)" if found.skipped else ""))
    if not matches:
        raise fail(f"no instrument matches {query!r}" + (" with those filters" if expiry or strike or kind else "")
                   + "; try a shorter query or kisfeed codes without arguments", EXIT_USAGE)
    table = Table(show_edge=False)
    for column in ("code", "TR", "kind", "underlying", "stock", "expiry", "strike"):
        table.add_column(column, justify="right" if column == "strike" else "left", no_wrap=True)
    for e in matches:
        table.add_row(e.code, e.tr_id or "-", e.kind, e.underlying_name, e.underlying_code,
                      e.expiry_month or "-", f"{e.strike:,.0f}" if e.strike else "")
    console.print(table)
    console.print(f"{len(matches)} instrument(s)")
