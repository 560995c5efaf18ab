"""Frames to columns (``store.columns``): the columnar path reads no text differently from the
protocol (``kinds.parse_value``), places a refused row of a later chunk at its row, and keeps
plain and careful rows in journal order. The field-by-field check of every layout field against
``kinds.WIRE`` over hostile texts, on every path, is tests/schema/test_wire.py."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kisfeed.protocol import decode_frame
from kisfeed.schema import Kind, Sign
from kisfeed.schema.kinds import parse_value as parse_kind
from kisfeed.store.columns import _SUSPICIOUS, FrameRows, _BadRows, _column

from ..samples import frame
from .conftest import DAY, NS0, F, futures

TEXT = st.text(alphabet="0123456789+-.eExXnNaAiIfFuUlL() _١", max_size=9)


def _arrow_reads(text: str, kind: Kind):
    """What the columnar path makes of one text: its value, or None when it leaves it to the
    protocol (or reads it as null)."""
    suspicious = any(c.encode() in _SUSPICIOUS for c in text)
    try:
        col = _column(pa.array([None if text == "" else text], pa.string()), kind, suspicious)
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
    with pytest.raises(_BadRows) as refused:  # the rows the protocol is to decide about
        _column(col, kind, False)
    assert refused.value.mask.tolist() == [False, False, False, False, True, False]
    typed = _column(pa.chunked_array([[good, None], [good]], pa.string()), kind, False)
    assert typed.to_pylist() == [parse_kind(kind, good), None, parse_kind(kind, good)]


def test_plain_and_careful_rows_come_in_journal_order():
    rows = FrameRows(F, "2026-11-20/x", DAY)
    payload = "^".join(futures()).encode()
    counts = np.array([1, 3, 1, 2, 1])
    rows.add_bulk(
        [b"^".join([payload] * c) for c in counts.tolist()[:2]],
        counts[:2],
        np.arange(2) + NS0,
        np.ones(2, dtype=np.int64),
        np.array([1, 2]),
    )
    careful = decode_frame(frame(F, futures(price="1")), trading_date=DAY)
    rows.add_records(careful, 1, 3)  # line 3 lies between the plain lines 2 and 4
    rows.add_bulk(
        [b"^".join([payload] * c) for c in counts.tolist()[2:]],
        counts[2:],
        np.arange(3) + NS0,
        np.ones(3, dtype=np.int64),
        np.array([4, 5, 6]),
    )
    table = rows.table(lambda *a: [])
    assert table.column("journal_line").to_pylist() == [1, 2, 2, 2, 3, 4, 5, 5, 6]
    assert table.column("frame_index").to_pylist() == [0, 0, 1, 2, 0, 0, 0, 1, 0]
