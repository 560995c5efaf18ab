"""The ``kisfeed`` command: one typer app; each command's code lives in its own module."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer
from rich.table import Table

from .. import __version__
from ..exceptions import KisfeedError
from ..protocol import decode
from .common import EXIT_USAGE, console, err_console, fail

app = typer.Typer(
    name="kisfeed",
    help="Real-time KRX stock futures (H0ZFCNT0) and options (H0ZOCNT0) from KIS.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
@app.command()
def version() -> None:
    """Print the kisfeed version."""
    console.print(__version__)


@app.command("decode")
def decode_command(
    frame: Annotated[Optional[str], typer.Argument(help="A data frame; read from stdin when omitted.")] = None,
    keys: Annotated[str, typer.Option(help="Key style: english, kis or korean.")] = "english",
) -> None:
    """Decode captured data frames (one per line) into typed fields.

    Example: kisfeed decode '0|H0ZFCNT0|001|A11612^090001^...'
    """
    lines = [frame] if frame is not None else [line.rstrip("\n") for line in sys.stdin if line.strip()]
    status = 0
    for line in lines:
        try:
            records = decode(line)
        except KisfeedError as exc:
            err_console.print(f"[bold red]error:[/] {exc}", highlight=False)
            status = 1
            continue
        for rec in records:
            try:
                fields = rec.to_dict(keys=keys)  # type: ignore[arg-type]
            except ValueError as exc:
                raise fail(str(exc), EXIT_USAGE) from None
            table = Table(title=f"{rec.tr_id} {rec.code}", show_header=False)
            for name, value in fields.items():
                table.add_row(name, "" if value is None else str(value))
            if rec.extra:
                table.add_row("(extra)", "^".join(rec.extra))
            if rec.missing:
                table.add_row("(missing)", f"{rec.missing} fields absent")
            console.print(table)
    raise typer.Exit(status)


# Each command lives in its own module; they are registered here, in the order --help lists them.
from .codes import codes  # noqa: E402
from .doctor import doctor  # noqa: E402
from .sim import sim as _sim_command  # noqa: E402
from .store import export, query, rebuild, record, replay  # noqa: E402
from .watch import demo, watch  # noqa: E402

app.command("demo")(demo)
app.command("watch")(watch)
app.command("codes")(codes)
app.command("doctor")(doctor)
app.command("sim")(_sim_command)
app.command("record")(record)
app.command("query")(query)
app.command("replay")(replay)
app.command("export")(export)
app.command("rebuild")(rebuild)


def main() -> None:
    app()
