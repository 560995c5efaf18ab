"""Frames to columns (``store.columns``): plain and careful rows in journal order, records of
either width of a layout with optional fields, and a book out of order left to the protocol.
The casts themselves: test_casts.py."""

from __future__ import annotations

import numpy as np
import pytest

from kisfeed.exceptions import BookOrderError
from kisfeed.protocol import decode_frame, decode_frame_lenient
from kisfeed.schema import LAYOUTS
from kisfeed.store.columns import FrameRows
from kisfeed.store.records import table_records

from ..samples import frame, texts
from .conftest import DAY, FB, NS0, OB, OX, F, assert_same_records, book_levels, futures


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


def _rows(tr: str, payloads: list[list[list[str]]]) -> tuple[FrameRows, list[int]]:
    """A ``FrameRows`` of frames given as records of field texts, one frame per line from 1, and
    the list that collects the lines the protocol was asked about (the careful way)."""
    rows = FrameRows(tr, "2026-11-20/x", DAY)
    counts = np.array([len(records) for records in payloads])
    rows.add_bulk(
        ["^".join("^".join(r) for r in records).encode() for records in payloads],
        counts,
        np.arange(len(payloads)) + NS0,
        np.ones(len(payloads), dtype=np.int64),
        np.arange(1, len(payloads) + 1),
    )
    return rows, []


def _careful(tr: str, asked: list[int]):
    """The converter's ``decode_slow``: the protocol's records of a refused frame."""

    def decode(payload: bytes, count: int, ns: int, line: int):
        asked.append(line)
        text = f"0|{tr}|{count:03d}|{payload.decode()}"
        return decode_frame_lenient(text, trading_date=DAY, received_ns=ns)[0]

    return decode


def _live(tr: str, payloads: list[list[list[str]]]):
    """What the live feed delivers for the same frames (journal order, refused records left out)."""
    out = []
    for i, records in enumerate(payloads):
        out += decode_frame_lenient(frame(tr, *records), trading_date=DAY, received_ns=NS0 + i)[0]
    return out


def test_option_expected_records_of_7_and_8_fields_take_the_columnar_path():
    seven = texts(OX)
    frames = [[seven], [seven + ["41"]], [seven, seven], [seven + ["1"], seven + ["2"]], [seven]]
    rows, asked = _rows(OX, frames)
    table = rows.table(_careful(OX, asked))
    assert asked == []  # every width the layout allows is read in bulk
    assert table.column("quantity").to_pylist() == [None, 41, None, None, 1, 2, None]
    assert table.column("missing").to_pylist() == [0] * 7  # 7 of 8 is complete (Layout.required)
    assert table.column("frame_index").to_pylist() == [0, 0, 0, 1, 0, 1, 0]
    assert_same_records(table_records(table), _live(OX, frames))


def test_option_expected_records_wider_or_shorter_go_the_protocols_way_kept_as_it_keeps_them():
    seven = texts(OX)
    frames = [[seven], [seven + ["41", "X"]], [seven[:6]], [seven + ["3"]]]
    rows, asked = _rows(OX, frames)
    table = rows.table(_careful(OX, asked))
    assert asked == [2, 3]
    records = table_records(table)
    assert [r.extra for r in records] == [(), ("X",), (), ()]
    assert [r.missing for r in records] == [0, 0, 1, 0]
    assert_same_records(records, _live(OX, frames))


@pytest.mark.parametrize("tr", [FB, OB])
def test_a_book_out_of_order_is_left_to_the_protocol_which_refuses_it(tr):
    good = texts(tr)
    by_name = dict(zip((f.name for f in LAYOUTS[tr].fields), good))
    swapped = dict(by_name, ask2=by_name["ask3"], ask3=by_name["ask2"])  # asks not rising
    bad = [swapped[f.name] for f in LAYOUTS[tr].fields]
    frames = [[good], [bad], [book_levels(tr, 0, 0)], [good, bad]]
    rows, asked = _rows(tr, frames)
    table = rows.table(_careful(tr, asked))
    assert asked == [2, 4]  # the frames holding a book out of order
    with pytest.raises(BookOrderError):
        decode_frame(frame(tr, bad), trading_date=DAY)
    assert table.column("journal_line").to_pylist() == [1, 3, 4]  # its good neighbour kept
    records = table_records(table)
    assert records[1].asks == records[1].bids == ()  # an empty book is a row, not an error
    assert_same_records(records, _live(tr, frames))
