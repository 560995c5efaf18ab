"""The simulator writes each record from its layout (``contracts.record_text``)."""

from __future__ import annotations

import math
from datetime import date

import pytest

import kisfeed
from kisfeed.protocol import encode_frame
from kisfeed.schema.kinds import format_value, parse_value
from kisfeed.schema.layouts import FUTURES_TRADE, OPTION_TRADE, Layout
from kisfeed.sim.contracts import BUY, Contract, Quote
from kisfeed.sim.instruments import UNDERLYINGS, Instrument
from kisfeed.sim.wire import STR_KINDS, record_text


def _contracts() -> list[tuple[Layout, dict[str, object]]]:
    quote = Quote(64_400, 64_300, 3, 4, 30, 40)
    fut = Contract(
        Instrument("A11612", "future", UNDERLYINGS[0], date(2026, 12, 10), 1, None), 64_000, 10, 10
    )
    opt = Contract(
        Instrument("B11612007", "call", UNDERLYINGS[0], date(2026, 12, 10), 1, 70_000), 500, 10, 10
    )
    fut.record_print("090000", 64_300, 2, BUY, 1)
    opt.record_print("090000", 510, 2, BUY, 1)
    futures = fut.futures_fields(
        "090001", 64_300, 2, 1, spot=64_000, theo=64_211.237, near=64_300, far=64_500,
        quote=quote, limits=(83_200, 44_800), dynamic=(0, 0, "0"),
    )  # fmt: skip
    option = opt.option_fields(
        "090001", 510, 2, 1, spot=64_000, theo=0.0, greeks=(0.51, 0.00001, 12.3, -8.9, -1.0),
        greek_decimals=4, implied_vol=math.nan, hist_vol=28.114, quote=quote,
    )  # fmt: skip
    return [(FUTURES_TRADE, futures), (OPTION_TRADE, option)]


@pytest.mark.parametrize(("layout", "values"), _contracts(), ids=lambda x: getattr(x, "tr_id", ""))
def test_every_field_of_the_layout_is_written_and_decodes_to_the_value_set(
    layout: Layout, values: dict[str, object]
) -> None:
    assert set(values) == {f.name for f in layout.fields}  # the model sets every field, nothing else
    text = record_text(layout, values)
    assert len(text.split("^")) == layout.width
    (record,) = kisfeed.decode(encode_frame(layout.tr_id, [text.split("^")]))
    assert record.complete
    for f in layout.fields:
        value = values[f.name]
        expected = parse_value(f.kind, value) if isinstance(value, str) else value
        got = getattr(record, f.name)
        if isinstance(expected, float) and math.isnan(expected):
            assert math.isnan(got), f.name
        else:
            assert got == expected, f.name


def test_a_missing_field_is_an_error_that_names_it() -> None:
    layout, values = _contracts()[0]
    del values["spread"]
    with pytest.raises(KeyError, match="H0ZFCNT0: no value for field 'spread'"):
        record_text(layout, values)


def test_decimals_are_written_as_the_wire_carries_them() -> None:
    """Two decimals, whole-won values with ``.00``, never ``-0.00``; Greeks as given."""
    layout, values = _contracts()[1]
    fields = dict(zip([f.name for f in layout.fields], record_text(layout, values).split("^"), strict=True))
    assert fields["price"] == "510.00"
    assert fields["theoretical_price"] == "0.00"
    assert fields["disparity_rate"] == "nan"  # theo 0 (ref 2.5)
    assert fields["implied_volatility"] == "nan"
    assert fields["historical_volatility"] == "28.11"
    assert fields["gamma"] == "0.0000"
    assert fields["delta"] == "0.5100"


@pytest.mark.parametrize("value", [0, -300, 64_300, 2**63 - 1, "A11612", "Y"])
def test_the_str_kinds_are_written_by_format_value_as_str(value: object) -> None:
    for kind in STR_KINDS:
        assert format_value(kind, value) == str(value)
