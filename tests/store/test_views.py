"""DuckDB views over a dataset built from frames we wrote: known aggregates, empty views, exports."""

from __future__ import annotations

import csv
from datetime import date, datetime, time

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from kisfeed.cli.app import app
from kisfeed.exceptions import StoreError
from kisfeed.schema import KST
from kisfeed.store import query, rebuild
from kisfeed.store.views import copy_to

from ..samples import frame, texts
from .conftest import FB, FX, NS0, OB, OX, PING, F, O, book_levels, futures, option, write_journal

DAY2_NS = NS0 + 86_400 * 1_000_000_000


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """Day 1: A11612 trades 1+2+3 contracts at 64000/64100/64200, A11703 trades 10 at 50000;
    two option records in one frame; then a futures book (10 asks, 7 bids), an option book (3
    asks, 6 bids) and one of 2 asks and 1 bid, and expected prices: futures, options with 7 fields
    and with 8. Day 2: one A11612 trade."""
    root = tmp_path_factory.mktemp("data")
    day1 = [
        frame(F, futures(code="A11612", price="64000", last_volume="1", time="090001")),
        PING,
        frame(F, futures(code="A11612", price="64100", last_volume="2", time="090002")),
        frame(F, futures(code="A11703", price="50000", last_volume="10", time="090003")),
        frame(F, futures(code="A11612", price="64200", last_volume="3", time="090004")),
        frame(O, option(code="B11612065", price="1250.00"), option(code="B11612065", price="1300.00")),
        frame(FB, texts(FB)),
        frame(OB, texts(OB)),
        frame(OB, book_levels(OB, 2, 1, time="090010")),
        frame(FX, texts(FX)),
        frame(OX, texts(OX)),
        frame(OX, texts(OX, time="154013") + ["17"]),
    ]
    write_journal(root, day1)
    write_journal(
        root,
        [frame(F, futures(code="A11612", price="65000", last_volume="4", time="090000"))],
        start_ns=DAY2_NS,
    )
    rebuild(root)
    return root


def test_views_return_the_known_aggregates(data):
    table = query(
        "SELECT code, count(*) AS trades, sum(last_volume) AS volume, max(price) AS high, "
        "arg_max(price, exchange_time) AS last FROM futures_trades WHERE date = DATE '2026-11-20' "
        "GROUP BY code ORDER BY code",
        root=data,
    )
    assert table.to_pylist() == [
        {"code": "A11612", "trades": 3, "volume": 6, "high": 64200, "last": 64200},
        {"code": "A11703", "trades": 1, "volume": 10, "high": 50000, "last": 50000},
    ]
    days = query("SELECT date, count(*) AS n FROM futures_trades GROUP BY date ORDER BY date", root=data)
    assert days.to_pylist() == [{"date": date(2026, 11, 20), "n": 4}, {"date": date(2026, 11, 21), "n": 1}]
    options = query(
        "SELECT sum(price) AS s, count(*) AS n, min(frame_index) AS i0, max(frame_index) AS i1 "
        "FROM option_trades",
        root=data,
    )
    assert options.to_pylist() == [{"s": 2550.0, "n": 2, "i0": 0, "i1": 1}]


def test_times_and_positions_come_back_typed(data):
    row = query(
        "SELECT time, exchange_time, received_at, session, journal_line FROM futures_trades "
        "WHERE code = 'A11703'",
        root=data,
    ).to_pylist()[0]
    assert row["time"] == time(9, 0, 3)
    assert row["exchange_time"] == datetime(2026, 11, 20, 9, 0, 3, tzinfo=KST)
    assert row["received_at"].timestamp() == pytest.approx((NS0 + 3_000_000) / 1e9)
    assert (row["session"], row["journal_line"]) == (1, 4)


def test_pandas_polars_and_arrow(data):
    sql = "SELECT code, count(*) AS n FROM futures_trades GROUP BY code ORDER BY code"
    assert query(sql, root=data, as_="pandas").to_dict("records") == [
        {"code": "A11612", "n": 4},
        {"code": "A11703", "n": 1},
    ]
    assert query(sql, root=data, as_="polars").to_dicts() == [
        {"code": "A11612", "n": 4},
        {"code": "A11703", "n": 1},
    ]
    assert query(sql, root=data).num_rows == 2


def test_views_over_no_files_are_empty_tables_with_the_columns(tmp_path):
    table = query("SELECT count(*) AS n, max(price) AS p FROM option_trades", root=tmp_path)
    assert table.to_pylist() == [{"n": 0, "p": None}]
    columns = query("SELECT * FROM futures_trades", root=tmp_path).column_names
    assert columns[:3] == ["code", "time", "price"] and "date" in columns and "journal_line" in columns


def test_one_query_reads_both_book_views_whatever_their_wire_orders(data):
    sql = (
        "SELECT code, ask1, bid1, bid7, ask10, total_ask_qty, total_bid_qty_change, "
        "(ask1 > 0)::INT + (ask2 > 0)::INT + (ask3 > 0)::INT + (ask4 > 0)::INT + (ask5 > 0)::INT "
        "+ (ask6 > 0)::INT + (ask7 > 0)::INT + (ask8 > 0)::INT + (ask9 > 0)::INT + (ask10 > 0)::INT AS asks "
        "FROM {} ORDER BY journal_line"
    )
    futures_rows = query(sql.format("futures_books"), root=data).to_pylist()
    option_rows = query(sql.format("option_books"), root=data).to_pylist()
    assert futures_rows == [
        {
            "code": "A11612",
            "ask1": 64400,
            "bid1": 64300,
            "bid7": 63700,
            "ask10": 65300,
            "total_ask_qty": 165,
            "total_bid_qty_change": 7,
            "asks": 10,
        }
    ]
    assert [(r["ask1"], r["bid1"], r["bid7"], r["ask10"], r["asks"]) for r in option_rows] == [
        (1260.0, 1250.0, 0.0, 0.0, 3),
        (1260.0, 1250.0, 0.0, 0.0, 2),
    ]
    # the same columns in the same order: a positional UNION lines up level by level
    union = query(
        "SELECT code, ask6, bid6 FROM (SELECT * FROM futures_books UNION ALL SELECT * FROM option_books) "
        "ORDER BY code",
        root=data,
    ).to_pylist()
    assert union == [
        {"code": "A11612", "ask6": 64900.0, "bid6": 63800.0},
        {"code": "B11612065", "ask6": 0.0, "bid6": 1200.0},
        {"code": "B11612065", "ask6": 0.0, "bid6": 0.0},
    ]


def test_expected_views_hold_the_quantity_when_the_frame_does(data):
    futures_rows = query("SELECT price, change, change_sign, quantity FROM futures_expected", root=data)
    assert futures_rows.to_pylist() == [{"price": 64400, "change": -200, "change_sign": 5, "quantity": 23}]
    option_rows = query(
        "SELECT time, price, session_code, quantity, missing FROM option_expected ORDER BY journal_line",
        root=data,
    )
    assert option_rows.to_pylist() == [
        {"time": time(15, 40, 12), "price": 1260.0, "session_code": "121", "quantity": None, "missing": 0},
        {"time": time(15, 40, 13), "price": 1260.0, "session_code": "121", "quantity": 17, "missing": 0},
    ]


def test_a_bad_query_is_a_clear_error(data):
    with pytest.raises(StoreError, match="query failed"):
        query("SELECT nonsense FROM futures_trades", root=data)


def test_results_to_csv_and_parquet(data, tmp_path):
    sql = "SELECT code, price FROM futures_trades ORDER BY date, journal_segment, journal_line"
    assert copy_to(sql, tmp_path / "out.csv", root=data) == 5
    with open(tmp_path / "out.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["price"] for r in rows] == ["64000", "64100", "50000", "64200", "65000"]
    assert copy_to(sql, tmp_path / "out.parquet", root=data) == 5
    assert pq.read_table(tmp_path / "out.parquet").column("price").to_pylist() == [
        64000,
        64100,
        50000,
        64200,
        65000,
    ]


def test_the_query_command(data, tmp_path):
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "query",
            "--data",
            str(data),
            "SELECT code, sum(last_volume) AS v FROM futures_trades GROUP BY code ORDER BY code",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "A11612" in result.output and "10" in result.output and "2 rows" in result.output
    out = tmp_path / "q.csv"
    result = runner.invoke(
        app, ["query", "--data", str(data), "--out", str(out), "SELECT * FROM option_trades"]
    )
    assert result.exit_code == 0 and "wrote 2 rows" in result.output
    result = runner.invoke(app, ["query", "--data", str(data), "SELECT broken"])
    assert result.exit_code == 1 and "query failed" in result.output


IF, IFB, IO, IOB = "H0IFCNT0", "H0IFASP0", "H0IOCNT0", "H0IOASP0"
MF, MFB, EU, EUB, EUX = "H0MFCNT0", "H0MFASP0", "H0EUCNT0", "H0EUASP0", "H0EUANC0"


@pytest.fixture(scope="module")
def markets(tmp_path_factory):
    """KOSPI200 futures A01612 by day (H0IFCNT0: 355.25, then 355.30) and by night (H0MFCNT0:
    356.10 at 01:30:15), a call B01612355 by day (3.45) and by night (3.50), a stock future
    (A11612, 64000), and each 5-level book: the futures' full, the options' with empty levels."""
    root = tmp_path_factory.mktemp("markets")
    write_journal(
        root,
        [
            frame(IF, texts(IF), texts(IF, price="355.30", time="100513", volume="154322")),
            frame(F, futures(code="A11612", price="64000")),
            frame(IO, texts(IO)),
            frame(IFB, texts(IFB)),
            frame(IOB, book_levels(IOB, 2, 4)),
            frame(MFB, texts(MFB)),
            frame(EUB, texts(EUB)),
            frame(EUX, texts(EUX)),
        ],
    )
    write_journal(
        root,
        [frame(MF, texts(MF, price="356.10")), frame(EU, texts(EU, price="3.50"))],
        start_ns=DAY2_NS - 8 * 3_600 * 1_000_000_000,  # 2026-11-21 01:00: the night session
        name="night",
    )
    rebuild(root)
    return root


def test_index_and_night_prices_are_points_read_by_name(markets):
    rows = query(
        "SELECT 'day' AS s, code, price, market_basis, block_volume FROM index_futures_trades "
        "UNION ALL BY NAME SELECT 'night' AS s, code, price, market_basis, NULL FROM night_futures_trades "
        "ORDER BY s, price",
        root=markets,
    ).to_pylist()
    assert [(r["s"], r["code"], r["price"], r["market_basis"]) for r in rows] == [
        ("day", "A01612", 355.25, 1.87),
        ("day", "A01612", 355.30, 1.87),
        ("night", "A01612", 356.10, 1.87),
    ]
    assert [r["block_volume"] for r in rows] == [120, 120, None]  # H0IFCNT0 alone carries it
    options = query(
        "SELECT price, implied_volatility, average_volatility, dynamic_limit_flag FROM index_option_trades "
        "UNION ALL BY NAME SELECT price, implied_volatility, NULL, dynamic_limit_flag FROM night_option_trades "
        "ORDER BY price",
        root=markets,
    ).to_pylist()
    assert [(r["price"], r["average_volatility"], r["dynamic_limit_flag"]) for r in options] == [
        (3.45, 17.85, "N"),
        (3.5, None, "N"),  # H0EUCNT0's flag, read by name before its lower limit on the wire
    ]
    expected = query("SELECT code, price, quantity FROM night_option_expected", root=markets).to_pylist()
    assert expected == [{"code": "B01612355", "price": 3.4, "quantity": 12}]


def test_the_5_level_books_line_up_with_each_other(markets):
    rows = query(
        "SELECT * FROM (SELECT * FROM index_futures_books UNION ALL SELECT * FROM night_futures_books "
        "UNION ALL SELECT * FROM index_option_books UNION ALL SELECT * FROM night_option_books) "
        "ORDER BY code, journal_line",
        root=markets,
    ).to_pylist()
    assert [(r["code"], r["ask1"], r["ask3"], r["ask5"], r["bid4"]) for r in rows] == [
        ("A01612", 355.30, 355.40, 355.50, 355.10),
        ("A01612", 355.30, 355.40, 0.0, 355.10),  # night: 3 asks
        ("B01612340", 12.05, 0.0, 0.0, 11.85),  # 2 asks, 4 bids
        ("B01612355", 3.46, 0.0, 0.0, 3.42),
    ]
    assert "ask6" not in rows[0]


def test_all_futures_trades_is_every_market_with_its_tr(markets):
    rows = query(
        "SELECT tr_id, code, price, block_volume, exchange_time FROM all_futures_trades ORDER BY received_at",
        root=markets,
    ).to_pylist()
    assert [(r["tr_id"], r["code"], r["price"], r["block_volume"]) for r in rows] == [
        (IF, "A01612", 355.25, 120),
        (IF, "A01612", 355.30, 120),
        (F, "A11612", 64000.0, None),  # KRW as DOUBLE beside the points
        (MF, "A01612", 356.10, None),
    ]
    assert rows[-1]["exchange_time"] == datetime(2026, 11, 21, 1, 30, 15, tzinfo=KST)
    day_and_night = query(
        "SELECT count(*) AS n, max(price) AS p FROM all_futures_trades WHERE code = 'A01612'", root=markets
    )
    assert day_and_night.to_pylist() == [{"n": 3, "p": 356.10}]
    options = query("SELECT tr_id, price FROM all_option_trades ORDER BY price", root=markets).to_pylist()
    assert options == [{"tr_id": IO, "price": 3.45}, {"tr_id": EU, "price": 3.5}]
