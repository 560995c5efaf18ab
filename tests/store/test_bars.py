"""OHLCV bars from recorded trades (``store.bars``): frames we write through the real journal and
rebuild, with known receive times, and the bars they must make: known OHLCV, absent bars, a session
crossing midnight, a duplicate recording, a reconnect gap, trades without a price, the filters and
the interval rules."""

from __future__ import annotations

from datetime import date, datetime

import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kisfeed.exceptions import StoreError, UsageError
from kisfeed.schema import KST
from kisfeed.store import query, read_table, rebuild, table_records
from kisfeed.store.bars import BAR_COLUMNS, bars, parse_interval, trade_trs
from kisfeed.store.dataset import write_parquet
from kisfeed.store.gaps import end_note, start_note
from kisfeed.store.journal import NOTE_SESSION
from kisfeed.store.writer import JournalWriter

from .conftest import FB, F, O, journal, kst_ns, record_from_simulator, trade

MF = "H0MFCNT0"  # KRX night futures


def rows(result) -> list[dict]:
    return result.table.to_pylist()


@pytest.fixture(scope="module")
def day(tmp_path_factory):
    """A11612: 09:00:01 64000×1, 09:00:30 64200×2, 09:00:59 63900×4 (cum 7), none in 09:01,
    09:02:10 64100×3 (cum 10); A11703 09:00:05 50000×10. B11612065 (option) 09:00:02 1250.00×5."""
    root = tmp_path_factory.mktemp("day")
    journal(
        root,
        [
            (trade("A11612", "090001", "64000", 1, 1), kst_ns(20, 9, 0, 1, 100)),
            (trade("B11612065", "090002", "1250.00", 5, 5, tr=O), kst_ns(20, 9, 0, 2, 100)),
            (trade("A11703", "090005", "50000", 10, 10), kst_ns(20, 9, 0, 5, 100)),
            (trade("A11612", "090030", "64200", 2, 3), kst_ns(20, 9, 0, 30, 100)),
            (trade("A11612", "090059", "63900", 4, 7), kst_ns(20, 9, 0, 59, 100)),
            (trade("A11612", "090210", "64100", 3, 10), kst_ns(20, 9, 2, 10, 100)),
        ],
    )
    return root


def test_known_ohlcv_and_no_bar_where_nobody_traded(day):
    result = bars(day, "1m", codes=["A11612"])
    assert result.table.column_names == list(BAR_COLUMNS)
    assert [
        (r["start"], r["open"], r["high"], r["low"], r["close"], r["volume"], r["trades"])
        for r in rows(result)
    ] == [
        (datetime(2026, 11, 20, 9, 0, tzinfo=KST), 64000, 64200, 63900, 63900, 7, 3),
        (datetime(2026, 11, 20, 9, 2, tzinfo=KST), 64100, 64100, 64100, 64100, 3, 1),  # 09:01: no bar
    ]
    assert rows(result)[0]["vwap"] == pytest.approx((64000 + 2 * 64200 + 4 * 63900) / 7)
    assert (result.rows, result.duplicates, result.unpriced) == (4, 0, 0)


def test_every_trade_tr_and_code_has_its_own_bars(day):
    result = bars(day, "1h")
    assert [(r["tr_id"], r["code"], r["volume"], r["trades"]) for r in rows(result)] == [
        (F, "A11612", 10, 4),
        (F, "A11703", 10, 1),
        (O, "B11612065", 5, 1),
    ]
    assert [r["open"] for r in rows(result)] == [64000, 50000, 1250.0]


def test_intervals_of_seconds_and_a_whole_day(day):
    five = bars(day, "5s", codes=["A11612"])
    assert [r["start"].time().isoformat() for r in rows(five)] == [
        "09:00:00",
        "09:00:30",
        "09:00:55",
        "09:02:10",
    ]
    whole = bars(day, "1d", views=["futures_trades"])
    assert [(r["code"], r["start"]) for r in rows(whole)] == [
        ("A11612", datetime(2026, 11, 20, tzinfo=KST)),
        ("A11703", datetime(2026, 11, 20, tzinfo=KST)),
    ]


def test_a_union_view_names_its_trs(day):
    assert {r["tr_id"] for r in rows(bars(day, "1h", views=["all_option_trades"]))} == {O}
    assert {r["code"] for r in rows(bars(day, "1h", views=["all_futures_trades"]))} == {"A11612", "A11703"}


def test_filters_by_tr_view_code_and_date(day):
    assert {r["tr_id"] for r in rows(bars(day, "1m", trs=[O]))} == {O}
    assert {r["code"] for r in rows(bars(day, "1m", views=["futures_trades"], codes=["A11703"]))} == {
        "A11703"
    }
    assert bars(day, "1m", days=["2026-11-21"]).table.num_rows == 0
    assert bars(day, "1m", days=[date(2026, 11, 20)], codes=["A11703"]).table.num_rows == 1


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"trs": [FB]}, "holds books, not trades"),
        ({"views": ["futures_books"]}, "holds books, not trades"),
        ({"trs": ["H0XXCNT0"]}, "unknown TR 'H0XXCNT0'"),
        ({"views": ["trades"]}, "unknown view 'trades'"),
        ({"days": ["2026-13-01"]}, "--date takes a date such as 2026-11-20"),
    ],
)
def test_wrong_filters_are_usage_errors(day, kwargs, message):
    with pytest.raises(UsageError, match=message):
        bars(day, "1m", **kwargs)


@pytest.mark.parametrize(
    "text, seconds",
    [
        ("1s", 1),
        ("5s", 5),
        ("1m", 60),
        ("15m", 900),
        ("1h", 3600),
        ("4h", 14400),
        ("1d", 86400),
        (" 2M ", 120),
    ],
)
def test_intervals_that_divide_a_day(text, seconds):
    assert parse_interval(text) == seconds


@pytest.mark.parametrize(
    "text, message",
    [
        ("0m", "must be positive"),
        ("-1m", "must be positive"),
        ("0s", "must be positive"),
        ("1", "whole number and a unit"),
        ("m", "whole number and a unit"),
        ("1.5m", "whole number and a unit"),
        ("1w", "whole number and a unit"),
        ("abc", "whole number and a unit"),
        ("", "whole number and a unit"),
        ("7m", "must divide a day"),
        ("2d", "must divide a day"),
        ("1000000000000000000000h", "must divide a day"),
    ],
)
def test_zero_negative_and_garbage_intervals_are_one_line_usage_errors(text, message):
    with pytest.raises(UsageError, match=message) as refused:
        parse_interval(text)
    assert "\n" not in str(refused.value)


def test_a_night_session_crossing_midnight_bars_by_trade_time_not_by_receive_day(tmp_path):
    # The KRX night session runs 18:00-06:00 (since 2025-06-09). A trade stamped 23:59:59 that
    # arrives after midnight is in the next day's journal segment, whose date would put it at
    # 23:59:59 of the NEXT day (exchange_time): the bars place it before midnight.
    journal(
        tmp_path,
        [
            (trade("A01612", "235958", "355.25", 1, 101, MF), kst_ns(20, 23, 59, 58, 300)),
            (trade("A01612", "235959", "355.30", 2, 103, MF), kst_ns(21, 0, 0, 0, 200)),
            (trade("A01612", "000000", "355.40", 4, 107, MF), kst_ns(21, 0, 0, 0, 300)),  # "not set": receipt
            (trade("A01612", "000001", "355.35", 3, 110, MF), kst_ns(21, 0, 0, 1, 100)),
        ],
    )
    result = bars(tmp_path, "1m")
    assert [(r["start"], r["open"], r["close"], r["volume"], r["trades"]) for r in rows(result)] == [
        (datetime(2026, 11, 20, 23, 59, tzinfo=KST), 355.25, 355.30, 3, 2),
        (datetime(2026, 11, 21, 0, 0, tzinfo=KST), 355.40, 355.35, 7, 2),
    ]
    assert {r["tr_id"] for r in rows(result)} == {MF}
    stamped = query("SELECT max(exchange_time) AS t FROM night_futures_trades", root=tmp_path).to_pylist()
    assert stamped == [{"t": datetime(2026, 11, 21, 23, 59, 59, tzinfo=KST)}]  # what the bars must not use
    assert [r["missed_volume"] for r in rows(result)] == [0, 0]
    # both days' partitions hold its rows: --date of one day gives that day's rows only
    assert [r["trades"] for r in rows(bars(tmp_path, "1m", days=["2026-11-21"]))] == [1, 2]


def test_trades_of_one_second_open_and_close_in_the_order_of_their_cumulative_volume(tmp_path):
    journal(
        tmp_path,
        [  # received in the other order (two records of one second)
            (trade("A01612", "100001", "355.30", 2, 12, "H0IFCNT0"), kst_ns(20, 10, 0, 1, 100)),
            (trade("A01612", "100001", "355.25", 1, 10, "H0IFCNT0"), kst_ns(20, 10, 0, 1, 200)),
        ],
    )
    (bar,) = rows(bars(tmp_path, "1m", views=["index_futures_trades"]))
    assert (bar["open"], bar["close"], bar["volume"], bar["missed_volume"]) == (355.25, 355.30, 3, 0)


def test_a_trade_recorded_twice_is_counted_once(tmp_path):
    frames = [
        (trade("A11612", "090001", "64000", 1, 1), kst_ns(20, 9, 0, 1, 100)),
        (
            trade("A11612", "090002", "64000", 1, 2),
            kst_ns(20, 9, 0, 2, 100),
        ),  # same price and size: not a duplicate
    ]
    journal(tmp_path, frames, name="main")
    journal(tmp_path, [(text, ns + 5_000_000) for text, ns in frames], name="backup")  # a second recorder
    result = bars(tmp_path, "1m")
    assert [(r["volume"], r["trades"]) for r in rows(result)] == [(2, 2)]
    assert (result.rows, result.duplicates) == (4, 2)


def test_a_gap_leaves_the_volume_to_the_trades_received_and_says_what_it_missed(tmp_path):
    journal(
        tmp_path,
        [
            (trade("A11612", "090001", "64000", 1, 1), kst_ns(20, 9, 0, 1, 100)),
            # a reconnect: trades of 09:00:02-09:01:09 never arrived; the counter says 20 contracts
            (trade("A11612", "090110", "64500", 2, 23), kst_ns(20, 9, 1, 10, 100)),
            (trade("A11612", "090111", "64400", 1, 24), kst_ns(20, 9, 1, 11, 100)),
        ],
    )
    assert [(r["volume"], r["missed_volume"]) for r in rows(bars(tmp_path, "1m"))] == [(1, 0), (3, 20)]


def test_missed_volume_stays_within_a_session(tmp_path):
    journal(
        tmp_path,
        [  # day 1 closes at a cumulative 5; day 2's first trade seen is at 9 (traded before we looked)
            (trade("A11612", "153000", "64000", 5, 5), kst_ns(20, 15, 30, 0, 100)),
            (trade("A11612", "100000", "64100", 1, 9), kst_ns(21, 10, 0, 0, 100)),
            # the night session: 23:59 and 00:01 are one session, a gap across midnight is seen
            (trade("A01612", "235900", "355.00", 1, 1, MF), kst_ns(21, 23, 59, 0, 100)),
            (trade("A01612", "000100", "355.05", 1, 4, MF), kst_ns(22, 0, 1, 0, 100)),
        ],
    )
    got = [(r["code"], r["start"].day, r["missed_volume"]) for r in rows(bars(tmp_path, "1h"))]
    assert got == [("A01612", 21, 0), ("A01612", 22, 2), ("A11612", 20, 0), ("A11612", 21, 0)]


def test_a_bar_that_overlaps_a_gap_says_so(tmp_path):
    # the recorder journals a reconnect as notes (store.gaps): A11612 not received 09:00:40-09:01:10
    start, end = kst_ns(20, 9, 0, 40), kst_ns(20, 9, 1, 10)
    with JournalWriter(tmp_path) as writer:
        writer.append(trade("A11612", "090001", "64000", 1, 1), kst_ns(20, 9, 0, 1, 100), 1)
        writer.append(trade("A11703", "090002", "50000", 1, 1), kst_ns(20, 9, 0, 2, 100), 1)
        writer.append(start_note(1, start, "closed by the server", [(F, "A11612")]), start, NOTE_SESSION)
        writer.append(end_note(1, (F, "A11612"), start, end, "closed by the server", 2), end, NOTE_SESSION)
        writer.append(trade("A11612", "090111", "64100", 2, 6), kst_ns(20, 9, 1, 11, 100), 2)
        writer.append(trade("A11612", "090230", "64200", 1, 7), kst_ns(20, 9, 2, 30, 100), 2)
        writer.append(trade("A11703", "090130", "50100", 1, 2), kst_ns(20, 9, 1, 30, 100), 2)
    rebuild(tmp_path)
    got = [(r["code"], r["start"].minute, r["gap"], r["missed_volume"]) for r in rows(bars(tmp_path, "1m"))]
    assert got == [
        ("A11612", 0, True, 0),  # 09:00:40-09:01:00 lost: its close may not be the minute's
        ("A11612", 1, True, 3),  # 6 - 1 - 2: three contracts traded in the gap
        ("A11612", 2, False, 0),
        ("A11703", 0, False, 0),  # another code, received all along
        ("A11703", 1, False, 0),
    ]


def test_a_trade_without_a_price_makes_no_bar_and_is_counted(tmp_path):
    journal(
        tmp_path,
        [
            (trade("B11612065", "090001", "nan", 1, 1, tr=O), kst_ns(20, 9, 0, 1, 100)),
            (trade("B11612065", "090002", "1250.00", 2, 3, tr=O), kst_ns(20, 9, 0, 2, 100)),
        ],
    )
    result = bars(tmp_path, "1m")
    assert [(r["open"], r["volume"], r["trades"]) for r in rows(result)] == [(1250.0, 2, 1)]
    assert (result.rows, result.unpriced) == (2, 1)


def test_no_trades_is_an_empty_table_with_the_columns(tmp_path):
    result = bars(tmp_path, "1m")
    assert result.table.num_rows == 0 and result.table.column_names == list(BAR_COLUMNS)
    assert set(trade_trs()) >= {F, O}


def test_parquet_is_written_whole_or_not_at_all(day, tmp_path):
    table = bars(day, "1m").table
    out = tmp_path / "bars.parquet"
    write_parquet(table, out)
    assert pq.read_table(out).equals(table)
    write_parquet(table.slice(0, 1), out)  # replaced whole
    assert pq.read_table(out).num_rows == 1
    (tmp_path / "file").write_text("x")
    with pytest.raises(StoreError, match="cannot write"):
        write_parquet(table, tmp_path / "file" / "bars.parquet")  # its folder cannot be made
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bars.parquet", "file"]  # no temporary left


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["A01612", "A01703"]),
            # seconds from midnight 2026-11-20/21; not midnight itself, whose 000000 reads as
            # "not set" and bars at its receipt (test_a_night_session_crossing_midnight_...)
            st.one_of(st.integers(-3, 2), st.integers(-300, 300)).filter(bool),
            st.integers(0, 40),  # price in ticks of 0.05 above 355.00
            st.integers(1, 5),  # contracts
            st.integers(0, 2_500),  # ms between the trade and its receipt
        ),
        min_size=1,
        max_size=30,
    ),
    st.sampled_from(["1s", "5s", "1m", "5m"]),
)
def test_bars_match_a_plain_reckoning_of_the_same_trades(tmp_path_factory, trades, interval):
    root = tmp_path_factory.mktemp("reckoning")
    midnight = int(datetime(2026, 11, 21, tzinfo=KST).timestamp())
    trades = sorted(trades, key=lambda t: t[1])  # the exchange's order; cumulative volume follows it
    cumulative: dict[str, int] = {}
    frames, kept = [], []
    for code, offset, ticks, size, latency in trades:
        cumulative[code] = cumulative.get(code, 0) + size
        at = midnight + offset
        hhmmss = datetime.fromtimestamp(at, KST).strftime("%H%M%S")
        price = f"{355 + ticks * 0.05:.2f}"
        text = trade(code, hhmmss, price, size, cumulative[code], MF)
        frames.append((text, at * 1_000_000_000 + latency * 1_000_000))
        kept.append((code, at, float(price), size))
    journal(root, sorted(frames, key=lambda f: f[1]))  # received in receipt order, across midnight
    width = parse_interval(interval)
    want: dict[tuple[str, int], list[tuple[float, int]]] = {}
    for code, at, price, size in kept:  # in exchange order
        want.setdefault((code, at - at % width), []).append((price, size))
    expected = [
        (
            code,
            start,
            ps[0][0],
            max(p for p, _ in ps),
            min(p for p, _ in ps),
            ps[-1][0],
            sum(s for _, s in ps),
            len(ps),
        )
        for (code, start), ps in sorted(want.items())
    ]
    got = [
        (
            r["code"],
            int(r["start"].timestamp()),
            r["open"],
            r["high"],
            r["low"],
            r["close"],
            r["volume"],
            r["trades"],
        )
        for r in rows(bars(root, interval))
    ]
    assert got == expected


async def test_bars_of_a_simulator_recording_equal_its_trades_reckoned_by_hand(tmp_path):
    # stock futures and options recorded over real sockets (several records per frame); one
    # session without a reconnect, so the cumulative volume misses nothing
    _, sent, _ = await record_from_simulator(tmp_path, 400, speed=120.0, batch_window=1.0)
    assert list(sent) == [1]
    data = tmp_path / "data"
    want: dict[tuple[str, str, int], list[tuple[float, int]]] = {}
    for tr in (F, O):
        table = read_table(data, tr)
        ordered = []
        for r in table_records(table, tr):
            received = r.received_ns // 1_000_000_000
            day = datetime.fromtimestamp(received, KST).date()
            at = int(datetime.combine(day, r.time, KST).timestamp())
            at += 86_400 * ((at - received < -43_200) - (at - received > 43_200))  # the nearest day
            ordered.append((at, r.volume, r))
        for at, _, r in sorted(ordered, key=lambda t: t[:2]):
            want.setdefault((tr, r.code, at - at % 60), []).append((r.price, r.last_volume))
    expected = [
        (
            tr,
            code,
            start,
            ps[0][0],
            max(p for p, _ in ps),
            min(p for p, _ in ps),
            ps[-1][0],
            sum(s for _, s in ps),
        )
        for (tr, code, start), ps in sorted(want.items())
    ]
    result = bars(data, "1m")
    got = [
        (
            r["tr_id"],
            r["code"],
            int(r["start"].timestamp()),
            r["open"],
            r["high"],
            r["low"],
            r["close"],
            r["volume"],
        )
        for r in rows(result)
    ]
    assert got == expected and len(got) >= 2
    assert {r["missed_volume"] for r in rows(result)} == {0}
    assert (result.duplicates, result.unpriced) == (0, 0)
