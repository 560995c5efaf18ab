"""``kisfeed query`` output, in a subprocess with a fixed terminal width: every value whole,
numbers right-aligned, a vertical layout when a table cannot fit, and each --format parseable."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kisfeed.store import Converter

from ..conftest import seconds
from ..store.conftest import mixed_frames, write_journal

WIDE = "SELECT * FROM futures_trades ORDER BY received_at, frame_index LIMIT 3"


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("data")
    write_journal(root, mixed_frames(30))
    Converter(root).rebuild()
    return root


def kisfeed(data: Path, *args: str, columns: int = 100) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KIS_", "KISFEED_"))}
    env["COLUMNS"] = str(columns)
    done = subprocess.run(
        [sys.executable, "-m", "kisfeed", "query", "--data", str(data), *args],
        capture_output=True,
        text=True,
        timeout=seconds(60),
        env=env,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    return done


def _values(data: Path) -> list[dict]:
    return [json.loads(line) for line in kisfeed(data, WIDE, "--format", "json").stdout.splitlines()]


@pytest.mark.parametrize("columns", [100, 60])
def test_a_wide_result_falls_back_to_one_line_per_field_with_every_value_whole(data, columns):
    done = kisfeed(data, WIDE, columns=columns)
    lines = done.stdout.splitlines()
    assert all(len(line) <= columns or " : " in line for line in lines)
    rows = _values(data)
    assert len(rows) == 3
    fields = [line for line in lines if " : " in line]
    assert len(fields) == 3 * len(rows[0])  # one line per field per row, none left out
    for row, block in zip(rows, done.stdout.split("-- row ")[1:]):
        for name in ("price", "volume", "open_interest", "frame_index"):
            assert f"{name} " in block and f": {row[name]}\n" in block, (name, block)
    assert "…" not in done.stdout
    assert "3 rows" in done.stdout and "do not fit" in done.stdout


@pytest.mark.parametrize("columns", [100, 60])
def test_a_table_that_fits_right_aligns_numbers_and_cuts_nothing(data, columns):
    sql = "SELECT code, count(*) AS trades, max(volume) AS volume, max(price) AS price FROM futures_trades GROUP BY code"
    done = kisfeed(data, sql, columns=columns)
    header, rule, row, footer = done.stdout.splitlines()
    assert header.split() == ["code", "trades", "volume", "price"] and set(rule) <= {"─", " "}
    _code, trades, volume, price = row.split()
    expected = _values_of(data, sql)
    assert (trades, volume, price) == tuple(str(expected[k]) for k in ("trades", "volume", "price"))
    assert row.endswith(price) and len(row) == len(header) == len(rule)  # the last column is right-aligned
    assert header.index("volume") + len("volume") == row.index(volume) + len(volume)
    assert footer == "1 row"


def _values_of(data: Path, sql: str) -> dict:
    (line,) = kisfeed(data, sql, "--format", "json").stdout.splitlines()
    return json.loads(line)


def test_csv_and_json_and_line_formats_parse(data):
    rows = _values(data)
    assert rows[0]["code"] and isinstance(rows[0]["price"], int)
    as_csv = list(csv.DictReader(io.StringIO(kisfeed(data, WIDE, "--format", "csv").stdout)))
    assert [r["price"] for r in as_csv] == [str(r["price"]) for r in rows]
    assert list(as_csv[0]) == list(rows[0])
    line = kisfeed(data, WIDE, "--format", "line", columns=200)
    assert line.stdout.count("-- row ") == 3
    assert "rows" not in line.stdout and "3 rows" in line.stderr  # the count stays off a parsed stdout


def test_an_unknown_format_is_a_usage_error(data):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KIS_", "KISFEED_"))}
    done = subprocess.run(
        [sys.executable, "-m", "kisfeed", "query", "--data", str(data), "SELECT 1", "--format", "xml"],
        capture_output=True,
        text=True,
        timeout=seconds(60),
        env=env,
    )
    assert done.returncode == 2 and "--format is table, csv, json, line, not 'xml'" in done.stderr
