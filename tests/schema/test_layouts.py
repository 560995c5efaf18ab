"""The layouts against the KIS spec pages, and the records built from them."""

from __future__ import annotations

import hashlib
import re
from datetime import date, time
from pathlib import Path

import msgspec
import pytest

from kisfeed.exceptions import UnknownTRError
from kisfeed.schema import (
    FUTURES_TRADE,
    LAYOUTS,
    OPTION_TRADE,
    FuturesTrade,
    Kind,
    OptionTrade,
    Sign,
    layout_for,
)

# The KIS portal's spec pages (주식선물 실시간체결가 [실시간-029], 주식옵션 실시간체결가 [실시간-044]),
# copied verbatim from the project's seed specs (shared/spec/ in the workspace the project was
# started from) into tests/data, so that the suite runs from a lone clone. Their SHA-256 is
# pinned: an edit to a copy must be deliberate (a new page from the portal), never a drift.
DATA = Path(__file__).parents[1] / "data"
SPEC_FILES = {
    "H0ZFCNT0": "stock-futures-trades-H0ZFCNT0.txt",
    "H0ZOCNT0": "stock-options-trades-H0ZOCNT0.txt",
}
SPEC_SHA256 = {
    "stock-futures-trades-H0ZFCNT0.txt": "5da65efdfa0ab1022312ae090f0da91bb34935f846f43b9c750449e1ee16e642",
    "stock-options-trades-H0ZOCNT0.txt": "2e5e9e9e9daba032fc6237b15e7b2e2f0a5ed445687d45ded8f70695c84939bd",
}
ROW = re.compile(r"^\|?\s*([A-Z][A-Z0-9_]+)\s*\|\s*([^|]+?)\s*\|")


def spec_fields(tr_id: str) -> list[tuple[str, str]]:
    """(KIS code, Korean label) rows of the spec page's response body, in order."""
    text = (DATA / SPEC_FILES[tr_id]).read_text(encoding="utf-8")
    response = text.split("## 응답", 1)[1].split("## 예시", 1)[0]
    return [m.groups() for line in response.splitlines() if (m := ROW.match(line))]


@pytest.mark.parametrize("tr_id, width", [("H0ZFCNT0", 49), ("H0ZOCNT0", 53)])
def test_layout_matches_the_spec_page_field_by_field(tr_id, width):
    layout = LAYOUTS[tr_id]
    assert layout.width == width
    assert [(f.kis, f.korean) for f in layout.fields] == spec_fields(tr_id)
    assert [f.index for f in layout.fields] == list(range(width))


@pytest.mark.parametrize("name", sorted(SPEC_FILES.values()))
def test_the_copied_spec_pages_are_the_pages_as_copied(name):
    assert hashlib.sha256((DATA / name).read_bytes()).hexdigest() == SPEC_SHA256[name]


def test_english_names_are_unique_identifiers():
    for layout in LAYOUTS.values():
        names = [f.name for f in layout.fields]
        assert len(set(names)) == len(names)
        assert all(n.isidentifier() and n.islower() for n in names)


def test_kinds_follow_the_reference_formats():
    def kinds(layout, kis_codes):
        return {layout.by_name[n].kind for n in (f.name for f in layout.fields if f.kis in kis_codes)}

    hours = {"BSOP_HOUR", "OPRC_HOUR", "HGPR_HOUR", "LWPR_HOUR"}
    signs = {"PRDY_VRSS_SIGN", "OPRC_VRSS_PRPR_SIGN", "HGPR_VRSS_PRPR_SIGN", "LWPR_VRSS_PRPR_SIGN"}
    for layout in (FUTURES_TRADE, OPTION_TRADE):
        assert kinds(layout, hours) == {Kind.TIME}
        assert kinds(layout, signs) == {Kind.SIGN}
        assert [f.kind for f in layout.fields if f.kind is Kind.TIME].__len__() == 4
    # futures prices are whole won, option premiums carry 2 decimals (reference 4.4)
    assert FUTURES_TRADE.by_name["price"].kind is Kind.PRICE
    assert OPTION_TRADE.by_name["price"].kind is Kind.DECIMAL
    assert FUTURES_TRADE.by_name["change"].kind is Kind.SIGNED
    assert FUTURES_TRADE.by_name["dynamic_limit_flag"].kind is Kind.FLAG


def test_record_types_have_the_layout_fields_then_metadata():
    assert FuturesTrade.__struct_fields__[:49] == tuple(f.name for f in FUTURES_TRADE.fields)
    assert OptionTrade.__struct_fields__[53:] == ("extra", "missing", "trading_date", "received_ns")
    assert FuturesTrade.layout is FUTURES_TRADE and OptionTrade.layout is OPTION_TRADE


def test_sign_codes():
    assert [(s.value, s.name) for s in Sign][1:] == [
        (1, "LIMIT_UP"),
        (2, "UP"),
        (3, "UNCHANGED"),
        (4, "LIMIT_DOWN"),
        (5, "DOWN"),
    ]


def test_records_convert_to_builtins_for_json():
    record = FuturesTrade(
        code="A11612", time=time(9, 0, 1), price=64300, change_sign=Sign.UP, trading_date=date(2026, 11, 20)
    )
    assert msgspec.to_builtins(record)[:4] == ["A11612", "09:00:01", 64300, 2]


def test_layout_for_unknown_tr():
    with pytest.raises(UnknownTRError):
        layout_for("H0CFCNT0")  # commodity futures: a real TR of the family, without a layout here
