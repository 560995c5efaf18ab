"""``kisfeed bars`` on a recording made through the real journal and rebuild: the table, the
Parquet file (the library's bars, whole), the filters and the one-line refusals."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from kisfeed.cli.app import app
from kisfeed.store.bars import bars

from ..store.conftest import F, O, journal, kst_ns, trade

runner = CliRunner()


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    journal(
        root,
        [
            (trade("A11612", "090001", "64000", 1, 1), kst_ns(20, 9, 0, 1, 100)),
            (trade("A11612", "090030", "64200", 2, 3), kst_ns(20, 9, 0, 30, 100)),
            (trade("A11612", "090110", "64100", 3, 6), kst_ns(20, 9, 1, 10, 100)),
            (trade("B11612065", "090002", "1250.00", 5, 5, tr=O), kst_ns(20, 9, 0, 2, 100)),
        ],
    )
    return root


def run(data, *args: str):
    return runner.invoke(app, ["bars", "--data", str(data), *args], env={"COLUMNS": "200"})


def test_a_table_of_bars_per_tr_and_code(data):
    result = run(data, "--interval", "1m")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == [
        "tr_id",
        "code",
        "start",
        "open",
        "high",
        "low",
        "close",
        "volume",
        "trades",
        "vwap",
        "missed_volume",
        "gap",
    ]
    body = [line.split() for line in lines[2:] if line.startswith("H0")]
    assert [(r[0], r[1], r[3]) for r in body] == [
        (F, "A11612", "09:00:00+09:00"),
        (F, "A11612", "09:01:00+09:00"),
        (O, "B11612065", "09:00:00+09:00"),
    ]
    assert lines[-1] == "3 bars of 1m from 4 trades"
    assert body[0][-3] == "64133.3333"  # (64000 + 2 × 64200) / 3 to 4 decimals; csv and json keep every digit
    csv_rows = run(data, "--interval", "1m", "--format", "csv").stdout.splitlines()
    assert csv_rows[1].split(",")[-3] == str((64000 + 2 * 64200) / 3)


def test_json_lines_with_the_filters(data):
    result = run(
        data,
        "--interval",
        "1h",
        "--format",
        "json",
        "--view",
        "futures_trades",
        "--code",
        "A11612",
        "--date",
        "2026-11-20",
    )
    assert result.exit_code == 0, result.output
    (row,) = [json.loads(line) for line in result.stdout.splitlines()]
    assert (row["open"], row["high"], row["low"], row["close"], row["volume"], row["trades"]) == (
        64000,
        64200,
        64000,
        64100,
        6,
        3,
    )
    assert row["start"] == "2026-11-20T09:00:00+09:00"


def test_parquet_holds_the_librarys_bars(data, tmp_path):
    out = tmp_path / "out" / "bars.parquet"
    result = run(data, "--interval", "30s", "--tr", F, "--parquet", str(out))
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"3 bars of 30s from 3 trades → {out}"
    assert pq.read_table(out).equals(bars(data, "30s", trs=[F]).table)
    assert [p.name for p in out.parent.iterdir()] == ["bars.parquet"]


@pytest.mark.parametrize(
    "args, line",
    [
        (["--interval", "0m"], "error: --interval must be positive, not '0m'"),
        (["--interval", "-5s"], "error: --interval must be positive, not '-5s'"),
        (["--interval", "five"], "error: --interval is a whole number and a unit s, m, h or d"),
        (["--interval", "7m"], "error: --interval must divide a day"),
        (["--tr", "H0ZFASP0"], "error: H0ZFASP0 (futures_books) holds books, not trades"),
        (["--view", "nope"], "error: unknown view 'nope'"),
        (["--date", "2026-02-30"], "error: --date takes a date such as 2026-11-20, not '2026-02-30'"),
        (["--format", "xml"], "error: --format is table, csv, json, line, not 'xml'"),
    ],
)
def test_wrong_options_are_one_line_and_exit_2(data, args, line):
    result = run(data, *args)
    assert result.exit_code == 2, result.output
    assert result.output.startswith(line) and len(result.output.strip().splitlines()) == 1, result.output


def test_no_trade_for_the_filters_is_a_failure_that_says_what_the_data_holds(data, tmp_path):
    result = run(data, "--code", "A99999")
    assert result.exit_code == 1
    assert (
        "no bars: no priced trade under" in result.output
        and "it holds 2026-11-20 to 2026-11-20" in result.output
    )
    out = tmp_path / "none.parquet"
    assert run(data, "--code", "A99999", "--parquet", str(out)).exit_code == 1 and not out.exists()


def test_a_data_directory_that_does_not_exist_is_a_usage_error(tmp_path):
    result = run(tmp_path / "nope")
    assert result.exit_code == 2 and "no data directory at" in result.output
