"""Query results on stdout: a table that never cuts a value, CSV, JSON lines, or one line per field.

``table`` right-aligns numeric columns and prints every value whole; when the columns cannot fit
the terminal it falls back to the vertical ``line`` layout (like psql's ``\\x``) instead of
squeezing or wrapping cells. ``json`` is JSON Lines: one object per row, each line parseable with
``json.loads`` (streams well, and ``jq``/``pandas.read_json(lines=True)`` read it).
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import json
import math
from collections.abc import Iterable, Sequence
from typing import Any, Literal, TextIO, TypeGuard, get_args

from rich.cells import cell_len

__all__ = ["FORMATS", "Format", "is_format", "write_rows", "table_fits"]

Format = Literal["table", "csv", "json", "line"]
FORMATS: tuple[Format, ...] = get_args(Format)
GAP = "  "  # between table columns


def is_format(text: str) -> TypeGuard[Format]:
    """Whether ``text`` (a ``--format`` value) names one of ``FORMATS``."""
    return text in FORMATS


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, decimal.Decimal)) and not isinstance(value, bool)


def _text(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()
    return str(value)


def _json_value(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no NaN or infinity
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    return value


def _pad(text: str, width: int, right: bool) -> str:
    space = " " * (width - cell_len(text))
    return space + text if right else text + space


def _widths(columns: Sequence[str], cells: list[list[str]]) -> list[int]:
    return [max([cell_len(name)] + [cell_len(row[i]) for row in cells]) for i, name in enumerate(columns)]


def table_fits(columns: Sequence[str], rows: Sequence[Sequence[Any]], width: int) -> bool:
    """Whether the whole-value table is at most ``width`` cells wide."""
    cells = [[_text(v) for v in row] for row in rows]
    return sum(_widths(columns, cells)) + len(GAP) * (len(columns) - 1) <= width


def _table(out: TextIO, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    cells = [[_text(v) for v in row] for row in rows]
    widths = _widths(columns, cells)
    numeric = [
        bool(rows)
        and all(_is_number(row[i]) or row[i] is None for row in rows)
        and any(_is_number(row[i]) for row in rows)
        for i in range(len(columns))
    ]
    out.write(GAP.join(_pad(n, w, r) for n, w, r in zip(columns, widths, numeric)).rstrip() + "\n")
    out.write(GAP.join("─" * w for w in widths) + "\n")
    for row in cells:
        out.write(GAP.join(_pad(c, w, r) for c, w, r in zip(row, widths, numeric)).rstrip() + "\n")


def _lines(out: TextIO, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    width = max((cell_len(n) for n in columns), default=0)
    for number, row in enumerate(rows, 1):
        out.write(f"-- row {number} --\n")
        for name, value in zip(columns, row):
            out.write(f"{_pad(name, width, False)} : {_text(value)}\n")


def write_rows(
    out: TextIO, fmt: Format, columns: Sequence[str], rows: Iterable[Sequence[Any]], width: int
) -> bool:
    """Write ``rows`` in ``fmt``; returns False when a table did not fit ``width`` and was
    written one line per field instead."""
    rows = list(rows)
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([["" if v is None else _text(v) for v in row] for row in rows])
    elif fmt == "json":
        for row in rows:
            out.write(
                json.dumps({c: _json_value(v) for c, v in zip(columns, row)}, ensure_ascii=False) + "\n"
            )
    elif fmt == "line":
        _lines(out, columns, rows)
    elif table_fits(columns, rows, width):
        _table(out, columns, rows)
    else:
        _lines(out, columns, rows)
        return False
    return True
