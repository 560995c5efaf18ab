"""Export a date range to one Parquet or CSV file per TR."""

from __future__ import annotations

import csv

import pyarrow.parquet as pq
from typer.testing import CliRunner

from kisfeed.cli.app import app
from kisfeed.schema import LAYOUTS
from kisfeed.store import TABLES, read_table, rebuild
from kisfeed.store.catalog import view_columns

from ..samples import frame
from .conftest import NS0, F, O, edge_frames, futures, mixed_frames, write_journal

DAY_NS = 86_400 * 1_000_000_000


def make(tmp_path):
    root = tmp_path / "data"
    for d in range(3):  # 2026-11-20, -21, -22
        write_journal(
            root, mixed_frames(40) + [frame(F, futures(code=f"A1161{d}"))], start_ns=NS0 + d * DAY_NS
        )
    rebuild(root)
    return root


def test_export_parquet_of_a_date_range(tmp_path):
    root = make(tmp_path)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app,
        [
            "export",
            "--data",
            str(root),
            "--from",
            "2026-11-21",
            "--to",
            "2026-11-22",
            "--format",
            "parquet",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    futures_file = out / "futures_trades_2026-11-21_2026-11-22.parquet"
    table = pq.read_table(futures_file)
    days = sorted(set(table.column("trading_date").cast("string").to_pylist()))
    assert days == ["2026-11-21", "2026-11-22"]
    want = [r for r in read_table(root, F).to_pylist() if str(r["trading_date"]) in days]
    assert table.to_pylist() == want  # every row of those days, in journal order
    assert set(table.column("code").to_pylist()) >= {"A11611", "A11612"}
    assert table.schema.field("price").metadata[b"kis"] == b"STCK_PRPR"
    assert (out / "option_trades_2026-11-21_2026-11-22.parquet").exists()
    assert "rows" in result.output


def test_export_csv_of_one_tr(tmp_path):
    root = make(tmp_path)
    out = tmp_path / "csv"
    result = CliRunner().invoke(
        app,
        [
            "export",
            "--data",
            str(root),
            "--from",
            "2026-11-20",
            "--to",
            "2026-11-20",
            "--format",
            "csv",
            "--tr",
            O,
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert [p.name for p in out.iterdir()] == ["option_trades_2026-11-20_2026-11-20.csv"]
    with open(out / "option_trades_2026-11-20_2026-11-20.csv") as f:
        rows = list(csv.DictReader(f))
    table = read_table(root, O)
    day1 = [r for r in table.to_pylist() if str(r["trading_date"]) == "2026-11-20"]
    assert len(rows) == len(day1)
    assert [r["code"] for r in rows] == [r["code"] for r in day1]
    assert rows[0]["exchange_time"].startswith("2026-11-20")


def test_export_refuses_a_backwards_range(tmp_path):
    result = CliRunner().invoke(
        app,
        [
            "export",
            "--data",
            str(tmp_path),
            "--from",
            "2026-11-21",
            "--to",
            "2026-11-20",
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert result.exit_code == 2 and "before" in result.output


def _nan_free(table) -> list[dict]:
    """The rows, NaN as a string so that equal rows compare equal."""
    return [{k: "nan" if v != v else v for k, v in row.items()} for row in table.to_pylist()]


def test_export_of_books_and_expected_prices_in_their_views_order(tmp_path):
    root = tmp_path / "data"
    write_journal(root, edge_frames() + mixed_frames(20, books=True))
    rebuild(root)
    out = tmp_path / "out"
    for fmt in ("parquet", "csv"):
        args = ["export", "--data", str(root), "--from", "2026-11-20", "--to", "2026-11-20"]
        result = CliRunner().invoke(app, [*args, "--format", fmt, "--out", str(out)])
        assert result.exit_code == 0, result.output
    for tr, view in TABLES.items():
        stored = read_table(root, tr)
        exported = pq.read_table(out / f"{view}_2026-11-20_2026-11-20.parquet")
        names = view_columns(tr)[:-1]  # the view's columns but its partition's date
        assert exported.column_names == names
        assert _nan_free(exported) == _nan_free(stored.select(names))  # every row, journal order
        assert exported.schema.field("code").metadata[b"kis"] == LAYOUTS[tr].fields[0].kis.encode()
        with open(out / f"{view}_2026-11-20_2026-11-20.csv") as f:
            rows = list(csv.DictReader(f))
        assert list(rows[0]) == names and len(rows) == stored.num_rows
    books = pq.read_table(out / "option_books_2026-11-20_2026-11-20.parquet")
    assert books.column_names[2:5] == ["ask1", "ask2", "ask3"]  # not the wire's levels-1-5 block
    expected_options = pq.read_table(out / "option_expected_2026-11-20_2026-11-20.parquet")
    assert expected_options.column("quantity").to_pylist()[:2] == [None, 41]
