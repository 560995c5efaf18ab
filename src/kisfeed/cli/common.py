"""What every command shares: consoles, exit codes, one-line errors, configuration options.

Exit codes: 0 success; 1 a failure while running (server unreachable, refused, I/O error);
2 a usage or configuration error (bad option, unknown code, malformed config, no credentials
where they are needed); 130 interrupted by Ctrl-C (record, watch and demo print their summary
first). SIGTERM asks record, watch and demo for a normal stop: summary, exit 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
import re
import signal
import sys
import types
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TextIO, Union

import typer
from rich.console import Console
from rich.markup import escape
from typer.models import ArgumentInfo, OptionInfo

from ..exceptions import KisfeedError, UsageError
from .config import Config, load_config

__all__ = [
    "console",
    "err_console",
    "fail",
    "errors",
    "EXIT_FAILURE",
    "EXIT_USAGE",
    "EXIT_INTERRUPTED",
    "ConfigOption",
    "DataOption",
    "AppKeyOption",
    "AppSecretOption",
    "WsUrlOption",
    "RestUrlOption",
    "config_from",
    "plural",
    "report_lines",
    "strike_text",
    "signals",
    "Bound",
    "NUMBER_RULES",
    "numeric_options",
    "checked",
    "configure_logging",
    "redact",
]

EXIT_FAILURE, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def fail(message: str, code: int = EXIT_FAILURE) -> typer.Exit:
    """Print a one-line error (never a traceback) and return the Exit to raise. The message is
    text, never markup: a code or path with brackets is printed as given."""
    err_console.print(f"[bold red]error:[/] {escape(message)}")
    return typer.Exit(code)


@contextlib.contextmanager
def errors() -> Iterator[None]:
    """Turn kisfeed's errors into one-line messages and exit codes."""
    try:
        yield
    except UsageError as exc:
        raise fail(str(exc), EXIT_USAGE) from None
    except KisfeedError as exc:
        raise fail(str(exc), EXIT_FAILURE) from None
    except KeyboardInterrupt:
        err_console.print("interrupted")
        raise typer.Exit(EXIT_INTERRUPTED) from None


ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="TOML config file (default: $KISFEED_CONFIG, ./kisfeed.toml, ~/.config/kisfeed/config.toml).",
        show_default=False,
    ),
]
#: The KIS endpoint and credential options of the commands that connect to KIS themselves
#: (``record``, ``fleet feed``); each falls back to its environment variable, then the config file.
AppKeyOption = Annotated[str | None, typer.Option("--app-key", help="App key (default: KIS_APP_KEY).")]
AppSecretOption = Annotated[
    str | None,
    typer.Option("--app-secret", help="App secret (default: KIS_APP_SECRET).", show_default=False),
]
WsUrlOption = Annotated[str | None, typer.Option("--ws-url", help="WebSocket URL (default: KIS_WS_URL).")]
RestUrlOption = Annotated[
    str | None, typer.Option("--rest-url", help="Approval URL (default: KIS_REST_URL).")
]
DataOption = Annotated[
    Path | None,
    typer.Option(
        "--data",
        help="Data directory (default: $KISFEED_DATA, the config's data, ./kisfeed-data).",
        show_default=False,
    ),
]


def config_from(path: Path | None, *, data: Path | None = None, **overrides: Any) -> Config:
    """The configuration, with warnings printed; errors become one-line messages. Its secrets
    are handed to the log redaction before anything can log them."""
    with errors():
        config = load_config(path, data=data, **overrides)
    for key, secret in config.credentials:
        redact.secrets.update((key, secret))
    for warning in config.warnings:
        err_console.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False)
    return config


def plural(n: int, word: str, words: str | None = None) -> str:
    """``1 row``, ``2 rows``: no ``(s)`` in what a user reads."""
    return f"{n:,} {word if n == 1 else (words or word + 's')}"


def strike_text(strike: float) -> str:
    """A strike as a trader reads it: a stock option's in whole won (``66,000``), an index
    option's in points with its half (``362.5``, ``350``; reference 5.1)."""
    return f"{strike:,.0f}" if strike == int(strike) else f"{strike:,.1f}"


def report_lines(noun: str, what: str, lines: list[str], limit: int = 20) -> None:
    """``3 journal lines skipped (first 20):`` then one indented line each, on stderr."""
    if not lines:
        return
    err_console.print(
        f"[yellow]{plural(len(lines), noun)} {what}[/]"
        + (f" (first {limit})" if len(lines) > limit else "")
        + ":"
    )
    for line in lines[:limit]:
        err_console.print(f"  {line}", markup=False)


# --- stopping: Ctrl-C and SIGTERM ---------------------------------------------------------------


class _Signals:
    """SIGINT and SIGTERM as stop requests for a command that runs until stopped (record, watch,
    demo): the command stops cleanly, prints its summary, then ``exit_status`` decides the exit.
    Ctrl-C (SIGINT) is an interruption: ``interrupted`` on stderr, exit 130, as for every command.
    SIGTERM is a normal stop request (systemd, ``kill``): exit 0 after the summary."""

    def __init__(self) -> None:
        self.received: int | None = None

    def stop_event(self) -> asyncio.Event:
        """An event set by SIGINT or SIGTERM, on the running loop (asyncio.run removes the
        handlers when it closes the loop)."""
        self.received = None
        event = asyncio.Event()
        loop = asyncio.get_running_loop()

        def on_signal(number: int) -> None:
            self.received = self.received or number
            event.set()

        for number in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):  # not the main thread
                loop.add_signal_handler(number, on_signal, number)
        return event

    def exit_status(self) -> None:
        """Raise the exit for the stop signal received, if it was Ctrl-C."""
        received, self.received = self.received, None
        if received == signal.SIGINT:
            err_console.print("interrupted")
            raise typer.Exit(EXIT_INTERRUPTED)


signals = _Signals()


# --- numeric options: one rule table, applied to every command ----------------------------------


@dataclass(frozen=True)
class Bound:
    """The values a numeric option accepts: ``low`` (excluded if ``open_low``) to ``high``.
    NaN is never accepted; infinity only where ``high`` is None."""

    low: float
    open_low: bool = False
    high: float | None = None

    def describe(self) -> str:
        if self.high is not None:
            return f"from {self.low:g} to {self.high:g}"
        return f"greater than {self.low:g}" if self.open_low else f"at least {self.low:g}"

    def accepts(self, value: float) -> bool:
        return not (
            math.isnan(value)
            or value < self.low
            or (self.open_low and value == self.low)
            or (self.high is not None and value > self.high)
        )

    def invalid(self) -> str:
        """A value this bound refuses (for tests that walk every option)."""
        return f"{self.low:g}" if self.open_low else f"{self.low - 1:g}"


# Every numeric option of every command, by its long name: a command that adds one adds a rule
# here (tests/cli/test_options.py fails on a numeric option without one).
NUMBER_RULES: dict[str, Bound] = {
    "--seconds": Bound(0, open_low=True),
    "--fsync-window": Bound(0, open_low=True),
    "--flush-interval": Bound(0, open_low=True),
    "--status-interval": Bound(0),  # 0: no status lines
    "--speed": Bound(0, open_low=True),
    "--activity": Bound(0, open_low=True),  # SimConfig.activity
    "--book-interval": Bound(0, open_low=True),  # SimConfig.book_interval
    "--limit": Bound(1),
    "--strike": Bound(0, open_low=True),
    "--port": Bound(0, high=65535),  # 0: a free port
    "--rest-port": Bound(0, high=65535),
    "--seed": Bound(0),
    "--ping-interval": Bound(0, open_low=True),
    "--pong-timeout": Bound(0, open_low=True),
    "--max-registrations": Bound(1),
    "--batch-window": Bound(0),
    "--stale-session": Bound(0),
    "--ack-wait": Bound(1),  # record --from: at least a journal's fsync (fleet.recording)
    "--connect-timeout": Bound(0, open_low=True),  # record/watch --from
    "--greek-decimals": Bound(0, high=10),  # SimConfig.greek_decimals
    "--metrics-port": Bound(0, high=65535),  # 0: a free port (kisfeed fleet feed)
    "--lease-seconds": Bound(1, high=600),  # fleet.FleetSettings.lease_seconds
}
_DEFAULT_BOUND = Bound(0)  # an option without a rule still refuses negatives and NaN


def numeric_options(command: Callable[..., Any]) -> dict[str, tuple[str, Bound, type]]:
    """The int/float options of a command function: parameter name -> (option name, bound, type)."""
    found: dict[str, tuple[str, Bound, type]] = {}
    for name, hint in typing.get_type_hints(command, include_extras=True).items():
        meta: tuple[Any, ...] = ()
        if typing.get_origin(hint) is Annotated:
            hint, *rest = typing.get_args(hint)
            meta = tuple(rest)
        if typing.get_origin(hint) in (Union, types.UnionType):
            hint = next((a for a in typing.get_args(hint) if a is not type(None)), hint)
        if hint not in (int, float):
            continue
        info = next((m for m in meta if isinstance(m, (OptionInfo, ArgumentInfo))), None)
        if isinstance(info, OptionInfo) and info.count:
            continue
        # in Annotated form typer keeps the first declaration in ``default``
        given = (getattr(info, "default", None), *(getattr(info, "param_decls", None) or ()))
        decls = [d for d in given if isinstance(d, str) and d.startswith("--")]
        flag = decls[0] if decls else "--" + name.replace("_", "-")
        found[name] = (flag, NUMBER_RULES.get(flag, _DEFAULT_BOUND), hint)
    return found


def checked(command: Callable[..., Any]) -> Callable[..., Any]:
    """``command`` with its numeric options checked against ``NUMBER_RULES`` before it runs:
    a value out of range is one line and exit 2. The app registers every command through this."""
    numeric = numeric_options(command)

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        for name, (flag, bound, _type) in numeric.items():
            value = kwargs.get(name)
            if value is not None and not bound.accepts(value):
                shown = f"{value:g}" if isinstance(value, float) else str(value)
                raise fail(f"{flag} must be {bound.describe()}, not {shown}", EXIT_USAGE)
        return command(*args, **kwargs)

    return run


# --- logging -------------------------------------------------------------------------------------


class _Redact(logging.Filter):
    """Defence in depth for log lines on stderr: the configured app keys and secrets, and any
    approval key, app key or secret inside a JSON body (subscribe messages carry the approval
    key, reference 2.1; the approval request carries appkey/secretkey, reference 1.3), are
    replaced by ``***`` in the final text, arguments and exception text included."""

    _FIELDS = re.compile(r'("(?:approval_key|appkey|secretkey|appsecret|app_key|app_secret)"\s*:\s*")[^"]*')
    _UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.IGNORECASE)

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def text(self, text: str) -> str:
        for secret in sorted(self.secrets, key=len, reverse=True):
            if secret:
                text = text.replace(secret, "***")
        return self._UUID.sub("***", self._FIELDS.sub(r"\1***", text))

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg, record.args = self.text(message), None
        if record.exc_text:
            record.exc_text = self.text(record.exc_text)
        record.exc_info = None  # the redacted exc_text is what gets printed
        return True


redact = _Redact()


class _Stderr(logging.StreamHandler[TextIO]):
    """A handler on whatever ``sys.stderr`` is when a line is logged (a command run in-process,
    as the tests do, gets a new one each time)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:  # StreamHandler.__init__ assigns it
        pass


_LOG_LEVELS = ("debug", "info", "warning", "error")
_handler: logging.Handler | None = None


def configure_logging(level: str | int) -> None:
    """kisfeed's loggers (``kisfeed.*``) to stderr at ``level``; other libraries stay at warning.
    Every line goes through ``redact``."""
    global _handler
    if isinstance(level, str):
        if level.lower() not in _LOG_LEVELS:
            raise fail(f"log level is one of {', '.join(_LOG_LEVELS)}, not {level!r}", EXIT_USAGE)
        level = logging.getLevelNamesMapping()[level.upper()]
    root = logging.getLogger("kisfeed")
    if _handler is not None:
        root.removeHandler(_handler)
    _handler = _Stderr()
    _handler.addFilter(redact)
    verbose = level < logging.WARNING
    _handler.setFormatter(
        logging.Formatter(
            "%(asctime)s %(levelname)s %(name)s: %(message)s" if verbose else "%(levelname)s: %(message)s"
        )
    )
    root.addHandler(_handler)
    root.setLevel(level)
