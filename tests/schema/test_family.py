"""The KOSPI200 index and KRX night-session layouts (H0IFCNT0, H0IFASP0, H0IOCNT0, H0IOASP0,
H0MFCNT0, H0MFASP0, H0EUCNT0, H0EUASP0, H0EUANC0) against the official sample's field lists, and
frames built in the official lists' own order decoded by name (issue 16; reference 4.6)."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import pytest

import kisfeed
from kisfeed.exceptions import BookOrderError
from kisfeed.protocol import encode_frame
from kisfeed.schema import (
    LAYOUTS,
    FuturesTrade,
    FuturesTradeRecord,
    IndexFuturesTrade,
    IndexOptionTrade,
    NightFuturesTrade,
    NightOptionTrade,
    OptionTrade,
    OptionTradeRecord,
    layout_for,
    trs_for,
)
from kisfeed.schema.master import parse_master

from ..samples import SAMPLES, frame, texts, values

# The official sample's ``columns`` lists and ``chk_`` labels (koreainvestment/open-trading-api,
# examples_llm/domestic_futureoption, snapshot 885dd4e, 2026-07-09), copied from the project's
# reference folder (shared/spec/family/) so that a lone clone runs them; pinned by SHA-256.
FAMILY = Path(__file__).parents[1] / "data" / "family"
TSV_SHA256 = {
    "H0EUANC0.tsv": "6769e48c20bc1dbaf682f47930eddfd71f33261bfb8459f85ec36af12b449df0",
    "H0EUASP0.tsv": "f84ab765a46329f08d25e1c0f9de2616bb7f31e809b9eb0a9e140ef2348f09ab",
    "H0EUCNT0.tsv": "60632224f5eca76f3843965e611ee88548c0e46af844325ec78d8cce0fb75ff4",
    "H0IFASP0.tsv": "7b0d00156b69bdea9256bdef8d1f9fa090ce2cc7f7745f0f6dd28e942071a310",
    "H0IFCNT0.tsv": "4a94dea5c5cf36e5ab3d21ed52259de76d77f5d1ccf0a849801ac8ac8b423501",
    "H0IOASP0.tsv": "a2ba4e546a07f41cb7d18527b862f721ff37566641428d8ddbb8a3cd6a9477ea",
    "H0IOCNT0.tsv": "62c687a3f174b41d717b69914b908f4d56cd2eeb224eddd1f9602d55fed7a6e5",
    "H0MFASP0.tsv": "5fe1906e8359b743fc6cdf45845923ccaf59a578a8a1042f5c1b2e3be4381575",
    "H0MFCNT0.tsv": "18cde663350789c54c268e47979b177877741b27cdd7d745773fdccc58083a3b",
}
NINE = sorted(name.removesuffix(".tsv") for name in TSV_SHA256)
WIDTHS = {
    "H0IFCNT0": 50,
    "H0IFASP0": 38,
    "H0IOCNT0": 58,
    "H0IOASP0": 38,
    "H0MFCNT0": 49,
    "H0MFASP0": 38,
    "H0EUCNT0": 56,
    "H0EUASP0": 38,
    "H0EUANC0": 8,
}


def official(tr_id: str) -> list[tuple[str, str]]:
    """(KIS code in capitals, Korean label without spaces) of each field of the official list, in
    wire order. The labels' spacing varies between the sample's files (``선물 단축 종목코드``,
    ``선물단축종목코드``); kisfeed writes them without spaces, as the portal pages do."""
    with open(FAMILY / f"{tr_id}.tsv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    assert [int(r["index"]) for r in rows] == list(range(len(rows)))
    return [(r["code"].upper(), r["label_ko"].replace(" ", "")) for r in rows]


def official_frame(tr_id: str, **changes: str) -> str:
    """A frame of the sample record with its fields placed in the OFFICIAL list's order, by KIS
    code: the layout is what is checked, so it must not be what builds the frame."""
    by_kis = {f.kis: text for f, text in zip(layout_for(tr_id).fields, texts(tr_id, **changes))}
    return frame(tr_id, [by_kis[code] for code, _ in official(tr_id)])


@pytest.mark.parametrize("name", sorted(TSV_SHA256))
def test_the_copied_field_lists_are_the_lists_as_copied(name):
    assert hashlib.sha256((FAMILY / name).read_bytes()).hexdigest() == TSV_SHA256[name]


@pytest.mark.parametrize("tr_id", NINE)
def test_layout_is_the_official_list_field_by_field(tr_id):
    layout = layout_for(tr_id)
    assert layout.width == layout.required == WIDTHS[tr_id]
    assert [(f.kis, f.korean) for f in layout.fields] == official(tr_id)


@pytest.mark.parametrize("tr_id", NINE)
def test_a_frame_in_the_official_order_decodes_by_name_and_encodes_back(tr_id):
    wire = official_frame(tr_id)
    (record,) = kisfeed.decode(wire)
    assert type(record).layout is LAYOUTS[tr_id] and record.complete
    assert {name: getattr(record, name) for name in values(tr_id)} == values(tr_id)
    assert encode_frame(tr_id, [record]) == wire


@pytest.mark.parametrize("tr_id", ["H0IFCNT0", "H0MFCNT0"])
def test_the_index_futures_price_is_read_at_index_5_not_2(tr_id):
    # reference 4.6: 2 FUTS_PRDY_VRSS (change), 4 FUTS_PRDY_CTRT, 5 FUTS_PRPR (price); a parser
    # with H0ZFCNT0's positions would read the change, 2.35, as the price
    wire = official_frame(tr_id)
    fields = wire.split("|", 3)[3].split("^")
    assert (fields[2], fields[5]) == ("2.35", "355.25")
    (record,) = kisfeed.decode(wire)
    assert (record.price, record.change, record.change_rate) == (355.25, 2.35, 0.67)
    assert FuturesTrade.layout.by_name["price"].index == 2 and type(record).layout.by_name["price"].index == 5


def test_the_night_futures_trade_lacks_only_the_block_volume():
    index, night = layout_for("H0IFCNT0"), layout_for("H0MFCNT0")
    assert [f.kis for f in index.fields if f.kis != "DSCS_BLTR_ACML_QTY"] == [f.kis for f in night.fields]
    assert [index.by_name[n].index for n in ("block_volume", "dynamic_upper_limit")] == [46, 47]
    assert night.by_name["dynamic_upper_limit"].index == 46 and "block_volume" not in night.by_name
    (record,) = kisfeed.decode(official_frame("H0MFCNT0"))
    assert (record.dynamic_upper_limit, record.dynamic_lower_limit, record.dynamic_limit_flag) == (
        362.35,
        348.15,
        "N",
    )


def test_the_night_option_flag_comes_before_its_lower_limit_and_is_read_by_name():
    night, index = layout_for("H0EUCNT0"), layout_for("H0IOCNT0")
    assert [f.kis for f in night.fields[53:]] == ["DYNM_MXPR", "DYNM_PRC_LIMT_YN", "DYNM_LLAM"]
    assert [f.kis for f in index.fields[55:]] == ["DYNM_MXPR", "DYNM_LLAM", "DYNM_PRC_LIMT_YN"]
    wire = official_frame("H0EUCNT0")
    assert wire.split("^")[-2:] == ["N", "1.45"]  # flag, then the lower limit, on the wire
    (record,) = kisfeed.decode(wire)
    assert (record.dynamic_lower_limit, record.dynamic_limit_flag) == (1.45, "N")
    # a reader that took H0IOCNT0's order would find "N" where a price belongs: a named error
    swapped = wire.rsplit("^", 2)[0] + "^1.45^N"
    with pytest.raises(kisfeed.ParseError):
        kisfeed.decode(swapped)


def test_the_index_option_trade_is_the_stock_one_plus_five_fields():
    stock, index = layout_for("H0ZOCNT0"), layout_for("H0IOCNT0")
    assert [f.kis for f in index.fields[:53]] == [f.kis for f in stock.fields]
    (record,) = kisfeed.decode(official_frame("H0IOCNT0"))
    assert (record.average_volatility, record.block_volume, record.implied_volatility) == (17.85, 40, 31.42)


@pytest.mark.parametrize("tr_id", ["H0IFASP0", "H0IOASP0", "H0MFASP0", "H0EUASP0"])
def test_five_level_books_read_their_levels_in_order(tr_id):
    (record,) = kisfeed.decode(official_frame(tr_id))
    layout = layout_for(tr_id)
    assert (
        layout.depth == 5 and layout.by_name["bid1"].index == 7 and layout.by_name["ask1_count"].index == 12
    )
    sample = values(tr_id)
    assert [level.price for level in record.asks] == [
        sample[f"ask{n}"] for n in range(1, 6) if sample[f"ask{n}"]
    ]
    assert record.bids[0].price == sample["bid1"] and record.total_ask_qty == sum(
        lv.qty for lv in record.asks
    )
    assert all(isinstance(level.price, float) for level in record.asks + record.bids)


def test_a_five_level_book_read_in_the_ten_level_order_is_a_named_error():
    # H0IFASP0's texts placed as H0ZFASP0 would place them (levels contiguous, 10 a side): bids
    # land among the asks, and the book is refused rather than read as nonsense
    by_name = dict(zip((f.name for f in layout_for("H0IFASP0").fields), texts("H0IFASP0")))
    contiguous = [by_name["code"], by_name["time"]]
    contiguous += [by_name[f"ask{n}"] for n in range(1, 6)] + [by_name[f"bid{n}"] for n in range(1, 6)]
    contiguous += [by_name[f.name] for f in layout_for("H0IFASP0").fields[12:]]
    shuffled = contiguous[:4] + contiguous[9:12] + contiguous[4:9] + contiguous[12:]
    with pytest.raises(BookOrderError):
        kisfeed.decode(frame("H0IFASP0", shuffled))


def test_every_tr_has_a_sample_and_a_market():
    assert set(SAMPLES) == set(LAYOUTS)
    assert {tr: LAYOUTS[tr].market for tr in NINE} == {
        tr: "index" if tr[2] == "I" else "night" for tr in NINE
    }


def test_trs_for_each_market():
    assert trs_for("future", "index") == ("H0IFCNT0", "H0IFASP0")
    assert trs_for("put", "index") == trs_for("call", "index") == ("H0IOCNT0", "H0IOASP0")
    assert trs_for("future", "night") == ("H0MFCNT0", "H0MFASP0")
    assert trs_for("call", "night") == ("H0EUCNT0", "H0EUASP0", "H0EUANC0")
    assert trs_for("spread", "index") == ()


def test_a_futures_trade_is_a_futures_trade_whichever_tr_carried_it():
    assert set(FuturesTradeRecord.__args__) == {FuturesTrade, IndexFuturesTrade, NightFuturesTrade}
    assert set(OptionTradeRecord.__args__) == {OptionTrade, IndexOptionTrade, NightOptionTrade}
    for union in (FuturesTradeRecord, OptionTradeRecord):
        classes = union.__args__
        # every name of the stock record but its last fields is on the others too, same kind family
        common = set(classes[0].layout.by_name).intersection(*(c.layout.by_name for c in classes[1:]))
        assert {"code", "time", "price", "change", "volume", "open_interest", "ask1", "bid1"} <= common


def test_the_index_master_gives_index_trs():
    line = "1|A01612|KR4A016C0000|코스피200 F 202612|  |00000.00|1|K2G01P|코스피200"
    line += "\nL|B016W1355|KR4B016W1355|코스피200 위클리 C 202612 355.0|3|00355.00|1|K2G01P|코스피200"
    entries, bad = parse_master(line, "index")
    assert bad == [] and [e.kind for e in entries] == ["future", "call"]
    assert [e.tr_ids for e in entries] == [("H0IFCNT0", "H0IFASP0"), ("H0IOCNT0", "H0IOASP0")]
    (stock,), _ = parse_master(line.splitlines()[0])
    assert stock.tr_ids == ("H0ZFCNT0", "H0ZFASP0", "H0ZFANC0")  # the stock master by default
