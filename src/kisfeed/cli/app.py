"""The ``kisfeed`` command: one typer app; each command's code lives in its own module."""

from __future__ import annotations

import os
import sys
from typing import Annotated, Protocol, cast

import typer
import typer.main

from .. import __version__
from .common import EXIT_INTERRUPTED, EXIT_USAGE, checked, configure_logging, console, err_console

app = typer.Typer(
    name="kisfeed",
    help="Real-time KRX stock futures and options from KIS: trades, order books, expected prices.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # plain help: paragraphs wrapped at word boundaries, flags without a "<bool>" type
    rich_markup_mode=None,
    epilog="Example: kisfeed demo --seconds 30   (no account needed)",
)


def _print_version(value: bool) -> None:
    if value:
        console.print(__version__)
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", is_eager=True, callback=_print_version, help="Print the kisfeed version and exit."
        ),
    ] = False,
    verbose: Annotated[
        int,
        typer.Option(
            "--verbose",
            "-v",
            count=True,
            show_default=False,
            help="Log to stderr: -v info, -vv debug (secrets are redacted).",
        ),
    ] = 0,
    log_level: Annotated[
        str | None,
        typer.Option(
            "--log-level",
            metavar="LEVEL",
            show_default=False,
            help="Log level on stderr: debug, info, warning or error (default: $KISFEED_LOG, else warning).",
        ),
    ] = None,
) -> None:
    """Real-time KRX stock futures and options from KIS: trades, order books, expected prices."""
    del version  # handled by its eager callback
    level = (
        log_level or {0: None, 1: "info"}.get(verbose, "debug") or os.environ.get("KISFEED_LOG") or "warning"
    )
    configure_logging(level)


@app.command()
def version() -> None:
    """Print the kisfeed version (also: kisfeed --version).

    Example: kisfeed version
    """
    console.print(__version__)


# Each command lives in its own module; they are registered here, in the order --help lists them.
from .bars import bars  # noqa: E402
from .codes import codes  # noqa: E402
from .decode import decode_command  # noqa: E402
from .doctor import doctor  # noqa: E402
from .fleet import fleet_app  # noqa: E402
from .record import record  # noqa: E402
from .sim import sim as _sim_command  # noqa: E402
from .store import export, query, rebuild, replay  # noqa: E402
from .watch import demo, watch  # noqa: E402

# The one-line summaries --help lists (a docstring's first sentence would be cut with "...").
app.command("decode", short_help="Decode captured frames or journal lines into typed fields.")(
    checked(decode_command)
)
app.command("demo", short_help="A tour with no account: simulator, live board, recording.")(checked(demo))
app.command("watch", short_help="A live board of futures and an option chain.")(checked(watch))
app.command("codes", short_help="Find instrument codes by name, expiry, strike, call/put.")(checked(codes))
app.command("doctor", short_help="Check config, credentials, approval, WebSocket, clock.")(checked(doctor))
app.command(
    "sim",
    short_help="Run a local KIS real-time server with a simulated market.",
    epilog="Example: kisfeed sim --port 0 --rest-port 0 --speed 10 --fault drop@30",
)(checked(_sim_command))
# ignore_unknown_options: record's '--tr TR' groups stay among its codes, in order
# (cli/record.py, plan_subscriptions, parses them and refuses any other unknown option)
app.command(
    "record",
    short_help="Record trades, books, expected prices to the journal and Parquet.",
    context_settings={"ignore_unknown_options": True},
)(checked(record))
app.command("query", short_help="Run DuckDB SQL over the dataset.")(checked(query))
app.command("bars", short_help="OHLCV bars of any interval from the recorded trades.")(checked(bars))
app.command("replay", short_help="Re-emit recorded records, paced or as fast as possible.")(checked(replay))
app.command("export", short_help="Export a date range to Parquet or CSV files.")(checked(export))
app.command("rebuild", short_help="Convert journal lines the Parquet dataset lacks.")(checked(rebuild))
app.add_typer(fleet_app, name="fleet", short_help="Feeders on NATS JetStream: many app keys, one stream.")


class _ClickError(Protocol):
    """What ``main`` reads of click's ``ClickException`` (``UsageError`` adds ``ctx``)."""

    exit_code: int

    def format_message(self) -> str: ...


def _click_exception(name: str) -> type[Exception]:
    """Click's exception class ``name``, reached through typer's public BadParameter: typer
    0.12-0.2x runs on the click package, later releases on a copy of it of their own
    (typer._click), so the class is found at run time and ``_ClickError`` says what it has."""
    return next(c for c in typer.BadParameter.__mro__ if c.__name__ == name and issubclass(c, Exception))


_UsageError = _click_exception("UsageError")
_ClickException = _click_exception("ClickException")


def main() -> None:
    """The console script. Click's own refusals (a value that is not a number, a missing argument,
    an unknown option or command) become one line and exit 2, as kisfeed's own checks do,
    instead of click's usage block."""
    command = typer.main.get_command(app)
    try:
        status = command.main(prog_name="kisfeed", standalone_mode=False)
    except _ClickException as error:
        exc = cast(_ClickError, error)  # a class typer's stubs do not name: see _click_exception
        if isinstance(error, _UsageError):
            if type(error).__name__ == "NoArgsIsHelpError":  # bare `kisfeed`: the help is the message
                console.print(exc.format_message(), markup=False)
                sys.exit(EXIT_USAGE)
            ctx = getattr(error, "ctx", None)
            where = ctx.command_path if ctx is not None else "kisfeed"
            err_console.print(
                f"[bold red]error:[/] {exc.format_message()} (see '{where} --help')", markup=True
            )
            sys.exit(EXIT_USAGE)
        err_console.print(f"[bold red]error:[/] {exc.format_message()}")
        sys.exit(exc.exit_code)
    except typer.Abort:  # Ctrl-C while click itself was reading (a prompt)
        err_console.print("interrupted")
        sys.exit(EXIT_INTERRUPTED)
    sys.exit(status if isinstance(status, int) else 0)
