"""Field texts to typed columns (``store.casts``): the columnar path reads no text differently
from the protocol (``kinds.parse_value``), places a refused row of a later chunk at its row, and
refuses exactly the books the protocol refuses (``schema.records.book_order``), 10-level and
5-level alike. The
field-by-field check of every layout field against ``kinds.WIRE`` over hostile texts, on every
path, is tests/schema/test_wire.py."""

from __future__ import annotations

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kisfeed.schema import LAYOUTS, Kind, Sign
from kisfeed.schema.kinds import parse_value as parse_kind
from kisfeed.schema.records import book_order
from kisfeed.store.casts import SUSPICIOUS, BadRows, book_disorder, cast_column

TEXT = st.text(alphabet="0123456789+-.eExXnNaAiIfFuUlL() _١", max_size=9)


def _arrow_reads(text: str, kind: Kind):
    """What the columnar path makes of one text: its value, or None when it leaves it to the
    protocol (or reads it as null)."""
    suspicious = any(c.encode() in SUSPICIOUS for c in text)
    try:
        col = cast_column(pa.array([None if text == "" else text], pa.string()), kind, suspicious)
    except Exception:
        return None
    return col.to_pylist()[0]


@settings(max_examples=400, deadline=None)
@given(TEXT, st.sampled_from([Kind.INT, Kind.SIGNED, Kind.PRICE, Kind.DECIMAL, Kind.TIME, Kind.SIGN]))
def test_the_columnar_path_reads_nothing_the_protocol_reads_differently(text, kind):
    value = _arrow_reads(text, kind)
    if value is None:
        return
    expected_value = parse_kind(kind, text)  # raises if the protocol refuses what Arrow took
    if kind is Kind.DECIMAL and expected_value != expected_value:
        assert value != value
    elif kind is Kind.SIGN:
        assert Sign(value) == expected_value
    else:
        assert value == expected_value, (text, value, expected_value)


@pytest.mark.parametrize("kind, good, bad", [(Kind.TIME, "091500", "250000"), (Kind.SIGN, "2", "7")])
def test_a_refused_value_in_a_later_chunk_is_placed_at_its_row(kind, good, bad):
    col = pa.chunked_array([[good, None], [good, good, bad, None]], pa.string())
    with pytest.raises(BadRows) as refused:  # the rows the protocol is to decide about
        cast_column(col, kind, False)
    assert refused.value.mask.tolist() == [False, False, False, False, True, False]
    typed = cast_column(pa.chunked_array([[good, None], [good]], pa.string()), kind, False)
    assert typed.to_pylist() == [parse_kind(kind, good), None, parse_kind(kind, good)]


def _prices(decimal: bool, depth: int):
    """``depth`` prices of a book side: mostly a rising or falling ladder with empty levels at its
    end, now and then anything (a repeat, a 0 or null among prices, a NaN, a negative price)."""
    any_price = st.one_of(
        st.sampled_from([0, None, 5, -5, 100, 101]),
        st.floats(allow_infinity=False) if decimal else st.integers(-(2**62), 2**62),
    )
    ladder = st.tuples(st.integers(0, depth), st.booleans()).map(
        lambda t: [(100 + n if t[1] else 100 - n) if n < t[0] else 0 for n in range(depth)]
    )
    return st.one_of(
        ladder,
        st.lists(any_price, min_size=depth, max_size=depth),
        st.lists(st.sampled_from([0, 1, 2, 3]), min_size=depth, max_size=depth),
    )


BOOKS = [tr for tr, layout in LAYOUTS.items() if layout.category == "book"]


def test_every_book_tr_is_checked_and_index_and_night_books_are_5_levels_of_points():
    assert len(BOOKS) == 6
    for tr in BOOKS:
        layout = LAYOUTS[tr]
        assert book_order(layout) is not None
        assert layout.depth == (10 if layout.market == "stock" else 5)
        if layout.market != "stock":  # KOSPI200 points with two decimals, futures and options
            assert layout.by_name["ask1"].kind is Kind.DECIMAL


@settings(max_examples=500, deadline=None)
@given(st.sampled_from(BOOKS), st.data())
def test_book_disorder_refuses_exactly_the_books_book_order_refuses(tr, data):
    layout = LAYOUTS[tr]
    decimal = layout.by_name["ask1"].kind is Kind.DECIMAL
    rows = [
        {
            f"{side}{n + 1}": p
            for side in ("ask", "bid")
            for n, p in enumerate(data.draw(_prices(decimal, layout.depth)))
        }
        for _ in range(data.draw(st.integers(1, 4)))
    ]
    if decimal:
        rows = [{k: None if v is None else float(v) for k, v in row.items()} for row in rows]
    kind_type = pa.float64() if decimal else pa.int64()
    columns = {name: pa.array([row[name] for row in rows], kind_type) for name in rows[0]}
    columns["code"] = pa.array(["x"] * len(rows))
    ordered = book_order(layout)
    assert ordered is not None
    want = [not ordered([row.get(f.name) for f in layout.fields]) for row in rows]
    assert book_disorder(columns, layout).tolist() == want


@pytest.mark.parametrize("tr", ["H0ZOASP0", "H0IFASP0", "H0EUASP0"])
def test_a_lone_nan_best_price_is_disorder_as_for_book_order(tr):
    layout = LAYOUTS[tr]
    columns = {
        f"{side}{n}": pa.array([0.0, 0.0]) for side in ("ask", "bid") for n in range(1, layout.depth + 1)
    }
    columns["ask1"] = pa.array([float("nan"), 1.5])  # nothing after it to compare it with
    columns["code"] = pa.array(["x", "y"])
    assert book_disorder(columns, layout).tolist() == [True, False]


@pytest.mark.parametrize("tr", ["H0IFASP0", "H0IOASP0", "H0MFASP0", "H0EUASP0"])
def test_a_5_level_book_is_judged_on_its_5_levels_only(tr):
    # prices 355.30 > 355.25 > ...: a fine book; the same with level 5's ask below level 4's is not
    layout = LAYOUTS[tr]
    good = {f"ask{n}": 355.0 + 0.05 * n for n in range(1, 6)} | {
        f"bid{n}": 355.0 - 0.05 * n for n in range(1, 6)
    }
    bad = good | {"ask5": good["ask4"] - 0.05}
    columns = {name: pa.array([good[name], bad[name]]) for name in good}
    columns["code"] = pa.array(["x", "y"])
    assert book_disorder(columns, layout).tolist() == [False, True]
    ordered = book_order(layout)
    assert ordered is not None
    assert [ordered([row.get(f.name) for f in layout.fields]) for row in (good, bad)] == [True, False]
