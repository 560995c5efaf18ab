"""The ``kisfeed`` command: one typer app; each command's code lives in its own module."""

from __future__ import annotations

import typer

from .. import __version__
from .common import console

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


# Each command lives in its own module; they are registered here, in the order --help lists them.
from .codes import codes  # noqa: E402
from .decode import decode_command  # noqa: E402
from .doctor import doctor  # noqa: E402
from .sim import sim as _sim_command  # noqa: E402
from .store import export, query, rebuild, record, replay  # noqa: E402
from .watch import demo, watch  # noqa: E402

app.command("decode")(decode_command)
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
