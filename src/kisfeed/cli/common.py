"""What every command shares: consoles, exit codes, one-line errors, configuration options.

Exit codes: 0 success; 1 a failure while running (server unreachable, refused, I/O error);
2 a usage or configuration error (bad option, unknown code, malformed config, no credentials
where they are needed); 130 interrupted by Ctrl-C.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated, Iterator, Optional

import typer
from rich.console import Console

from ..config import Config, load_config
from ..exceptions import KisfeedError, UsageError

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
    "config_from",
]

EXIT_FAILURE, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def fail(message: str, code: int = EXIT_FAILURE) -> typer.Exit:
    """Print a one-line error (never a traceback) and return the Exit to raise."""
    err_console.print(f"[bold red]error:[/] {message}")
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
    Optional[Path],
    typer.Option("--config", help="TOML config file (default: $KISFEED_CONFIG, ./kisfeed.toml, "
                                  "~/.config/kisfeed/config.toml).", show_default=False),
]
DataOption = Annotated[
    Optional[Path],
    typer.Option("--data", help="Data directory (default: $KISFEED_DATA, the config's data, ./kisfeed-data).",
                 show_default=False),
]


def config_from(path: Path | None, *, data: Path | None = None) -> Config:
    """The configuration, with warnings printed; errors become one-line messages."""
    with errors():
        config = load_config(path, data=data)
    for warning in config.warnings:
        err_console.print(f"[yellow]warning:[/] {warning}")
    return config
