"""The book and expected-price layouts (H0ZFASP0, H0ZOASP0, H0ZFANC0, H0ZOANC0) against the
official sample's field lists, and what decoding makes of their frames (issue 15)."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import pytest

import kisfeed
from kisfeed.exceptions import BookOrderError, ParseError
from kisfeed.protocol import decode_frame_lenient, encode_frame
from kisfeed.schema import (
    LAYOUTS,
    FuturesBook,
    FuturesExpected,
    Level,
    OptionBook,
    OptionExpected,
    Sign,
    layout_for,
    trs_for,
)

from ..samples import frame, texts, values

# The official sample's ``columns`` lists and ``chk_`` labels (koreainvestment/open-trading-api,
# examples_llm/domestic_futureoption, snapshot 885dd4e, 2026-07-09), one TSV per TR, copied from
# the project's reference folder (shared/spec/family/) into tests/data so that a lone clone runs
# them. Pinned by SHA-256: a new copy must be deliberate.
FAMILY = Path(__file__).parents[1] / "data" / "family"
TSV_SHA256 = {
    "H0ZFANC0.tsv": "85f4fbe62d0292e272f2e5cdeaeb793d45da91b2dd9b591180c5bba8b2c12892",
    "H0ZFASP0.tsv": "16756837a2bebc618ac5343d5f22f132776c56b2ac647ee5812ba9056663164c",
    "H0ZOANC0.tsv": "ec2c729a8ff2cc4dd8e575f54fae11c0ee0b2dcc42e8827c8a11fe76c1fe8f62",
    "H0ZOASP0.tsv": "59336cb4a888602be0c59c53cb072a4baac625a9d940f188441dd082ebc0ced1",
}


def official(tr_id: str) -> list[tuple[str, str]]:
    """(KIS code in capitals, Korean label) of each field of the official list, in wire order."""
    with open(FAMILY / f"{tr_id}.tsv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    assert [int(r["index"]) for r in rows] == list(range(len(rows)))
    return [(r["code"].upper(), r["label_ko"]) for r in rows]


@pytest.mark.parametrize("name", sorted(TSV_SHA256))
def test_the_copied_field_lists_are_the_lists_as_copied(name):
    assert hashlib.sha256((FAMILY / name).read_bytes()).hexdigest() == TSV_SHA256[name]


@pytest.mark.parametrize(
    "tr_id, width, required",
    [("H0ZFASP0", 68, 68), ("H0ZOASP0", 68, 68), ("H0ZFANC0", 8, 8), ("H0ZOANC0", 8, 7)],
)
def test_layout_is_the_official_list_field_by_field(tr_id, width, required):
    layout = layout_for(tr_id)
    assert (layout.width, layout.required) == (width, required)
    # H0ZOANC0's official list stops at 7; its 8th (ANTC_CNQN) is H0ZFANC0's, optional
    assert [(f.kis, f.korean) for f in layout.fields][: len(official(tr_id))] == official(tr_id)
    assert [f.index for f in layout.fields] == list(range(width))


def test_the_optional_eighth_expected_field_is_the_futures_one():
    assert OptionExpected.layout.fields[7].kis == FuturesExpected.layout.fields[7].kis == "ANTC_CNQN"


def test_both_books_name_the_same_fields_in_different_wire_orders():
    futures, option = FuturesBook.layout, OptionBook.layout
    assert sorted(f.name for f in futures.fields) == sorted(f.name for f in option.fields)
    assert (futures.depth, option.depth) == (10, 10)
    # reference 4.5: futures contiguous (bid1 at 12), options 1-5 + totals + 6-10 (bid1 at 7)
    assert (futures.by_name["bid1"].index, option.by_name["bid1"].index) == (12, 7)
    assert (futures.by_name["total_ask_count"].index, option.by_name["total_ask_count"].index) == (62, 32)
    assert (futures.by_name["ask6"].index, option.by_name["ask6"].index) == (7, 38)
    assert (
        futures.by_name["ask1"].kind.python_type is int and option.by_name["ask1"].kind.python_type is float
    )


def test_trs_for_each_instrument_kind():
    assert trs_for("future") == ("H0ZFCNT0", "H0ZFASP0", "H0ZFANC0")
    assert trs_for("call") == trs_for("put") == ("H0ZOCNT0", "H0ZOASP0", "H0ZOANC0")
    assert trs_for("spread") == ()
    assert {layout.category for layout in LAYOUTS.values()} == {"trade", "book", "expected"}


@pytest.mark.parametrize("tr_id", ["H0ZFASP0", "H0ZOASP0", "H0ZFANC0", "H0ZOANC0"])
def test_a_sample_decodes_to_its_values_and_encodes_back(tr_id):
    wire = frame(tr_id, texts(tr_id))
    (record,) = kisfeed.decode(wire)
    assert type(record).layout is LAYOUTS[tr_id] and record.complete
    assert {name: getattr(record, name) for name in values(tr_id)} == values(tr_id)
    assert encode_frame(tr_id, [record]) == wire


def test_book_levels_are_ordered_sequences_that_stop_at_the_first_empty_level():
    (futures,) = kisfeed.decode(frame("H0ZFASP0", texts("H0ZFASP0")))
    assert len(futures.asks) == 10 and len(futures.bids) == 7  # the sample's 3 lowest bids are empty
    assert futures.asks[0] == Level(64400, 3, 1) and futures.bids[0] == Level(64300, 4, 1)
    assert futures.bids[-1] == Level(63700, 22, 7)
    assert futures.total_ask_qty == sum(level.qty for level in futures.asks)
    (option,) = kisfeed.decode(frame("H0ZOASP0", texts("H0ZOASP0")))
    # levels 6-10 come from after the totals on the wire (reference 4.5)
    assert [level.price for level in option.asks] == [1260.0, 1270.0, 1280.0]
    assert [level.price for level in option.bids] == [1250.0, 1240.0, 1230.0, 1220.0, 1210.0, 1200.0]
    assert option.bids[5] == Level(1200.0, 19, 6)


def test_an_empty_book_has_no_levels():
    blank = {f"{side}{n}": "0" for side in ("ask", "bid") for n in range(1, 11)}
    (record,) = kisfeed.decode(frame("H0ZFASP0", texts("H0ZFASP0", **blank)))
    assert record.asks == () and record.bids == ()


def _legacy_order(tr_id: str) -> list[str]:
    """The sample book's texts written in the 5-level order (levels 1-5, totals, 6-10) that the
    legacy sample reads H0ZFASP0 in: what a frame looks like if that sample is right."""
    by_name = dict(zip((f.name for f in LAYOUTS[tr_id].fields), texts(tr_id)))
    return [by_name[f.name] for f in OptionBook.layout.fields]


def test_a_futures_book_in_the_legacy_order_is_a_named_error_not_nonsense():
    wire = frame("H0ZFASP0", _legacy_order("H0ZFASP0"))
    with pytest.raises(BookOrderError, match="out of order") as caught:
        kisfeed.decode(wire)
    assert caught.value.tr_id == "H0ZFASP0" and caught.value.record_index == 0
    assert isinstance(caught.value, ParseError)
    # the other records of a frame still arrive, the bad one is counted as one error
    good = texts("H0ZFASP0")
    records, errors = decode_frame_lenient(frame("H0ZFASP0", good, _legacy_order("H0ZFASP0"), good))
    assert len(records) == 2 and [e.record_index for e in errors] == [1]


@pytest.mark.parametrize(
    "changes",
    [
        {"ask2": "64400"},  # a level repeated: not rising
        {"ask3": "64300"},  # below the level before
        {"bid2": "64400"},  # a bid above the best bid
        {"ask5": "0"},  # an empty level with prices after it
        {"bid1": "0"},  # the best bid empty, the next ones not
    ],
)
def test_a_book_whose_levels_are_out_of_order_is_refused_on_both_paths(changes):
    for careful in (False, True):
        wire = texts("H0ZFASP0", **changes)
        if careful:  # an empty total sends the record the field-by-field way
            wire[LAYOUTS["H0ZFASP0"].by_name["total_ask_count"].index] = ""
        with pytest.raises(BookOrderError):
            kisfeed.decode(frame("H0ZFASP0", wire))


@pytest.mark.parametrize("price", ["nan", "-1260.00"])
def test_an_option_book_with_a_nan_or_falling_price_is_refused(price):
    with pytest.raises(BookOrderError):
        kisfeed.decode(frame("H0ZOASP0", texts("H0ZOASP0", ask2=price)))


def test_option_expected_prices_parse_by_width():
    seven = texts("H0ZOANC0")
    (short,) = kisfeed.decode(frame("H0ZOANC0", seven))
    assert short.complete and short.quantity is None and short.extra == ()
    (full,) = kisfeed.decode(frame("H0ZOANC0", [*seven, "41"]))
    assert full.complete and full.quantity == 41
    (wider,) = kisfeed.decode(frame("H0ZOANC0", [*seven, "41", "X"]))
    assert wider.quantity == 41 and wider.extra == ("X",)
    (shorter,) = kisfeed.decode(frame("H0ZOANC0", seven[:6]))
    assert not shorter.complete and shorter.missing == 1 and shorter.session_code is None
    # two 7-field records in one frame: the width is the fields over the count (reference 2.4)
    assert [r.price for r in kisfeed.decode(frame("H0ZOANC0", seven, seven))] == [1260.0, 1260.0]
    assert encode_frame("H0ZOANC0", [short]) == frame("H0ZOANC0", seven)


def test_expected_fields_are_read_in_their_own_order():
    (record,) = kisfeed.decode(frame("H0ZFANC0", texts("H0ZFANC0")))
    # ANTC_CNTG_VRSS (3) before its sign (4): the reverse of the trade TRs' PRDY_VRSS_SIGN, PRDY_VRSS
    assert (record.change, record.change_sign, record.session_code, record.quantity) == (
        -200,
        Sign.DOWN,
        "311",
        23,
    )
    with pytest.raises(ParseError) as caught:
        kisfeed.decode(frame("H0ZFANC0", texts("H0ZFANC0", change_sign="-200")))
    assert caught.value.field_index == 4
