"""The ``kisfeed`` command (typer + rich). Thin: it parses arguments and calls the library."""

from __future__ import annotations

from .app import app, main

__all__ = ["app", "main"]
