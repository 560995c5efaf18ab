"""The codec's fast path takes a record only where it gives exactly the careful path's values.

``RecordCodec.decode_fast`` (a JSON array read by ``msgspec``'s lax decoder) must either refuse
(``ValueError``, and the careful path decides) or give, field by field, the very values of
``decode_carefully``, the definition: same type, same value, NaN for NaN. One test per trap the
lax reading holds, then generated frames.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kisfeed.schema import CODECS, LAYOUTS, Kind, Record
from kisfeed.schema.records import GROUP

from ..samples import texts

F, O = "H0ZFCNT0", "H0ZOCNT0"


def identical(a: Record, b: Record) -> bool:
    """Every attribute of the same type and value (NaN equal to NaN, the sign of zero kept)."""
    if type(a) is not type(b):
        return False
    for name in a.__struct_fields__:
        x, y = getattr(a, name), getattr(b, name)
        if type(x) is not type(y):
            return False
        if isinstance(x, float):
            if not (math.isnan(x) and math.isnan(y)) and (
                x != y or math.copysign(1, x) != math.copysign(1, y)
            ):
                return False
        elif x != y:
            return False
    return True


def fast(tr: str, fields: list[str], count: int = 1) -> list[Record] | None:
    """The fast path's records, or None where it refuses."""
    codec = CODECS[tr]
    try:
        return codec.decode_fast("^".join(fields), count, len(fields) // count)
    except ValueError:
        return None


def careful(tr: str, fields: list[str], count: int = 1) -> tuple[list[Record], list[Any]]:
    return CODECS[tr].decode_carefully(list(fields), count)


# (TR, field by English name, wire text, does the fast path take it?)
TRAPS = [
    # integers: the lax reading takes an integral float and a value past int64
    (F, "volume", "1630.00", False),
    (F, "volume", "1630.0", False),
    (F, "volume", "1e3", False),
    (F, "volume", "nan", False),
    (F, "volume", str(2**63), False),
    (F, "change", str(-(2**63) - 1), False),
    (F, "volume", str(2**63 - 1), True),
    (F, "change", "-0", True),  # 0 on both paths
    (F, "volume", "007", False),  # the careful path reads 7
    (F, "volume", "null", False),  # None for a type that allows None
    (F, "volume", "", False),  # None on the careful path
    # decimals: exponents, infinities and "null" read as numbers; NaN in any case is NaN
    (O, "price", "1e5", False),
    (O, "price", "1E5", False),
    (O, "price", "inf", False),
    (O, "price", "-Infinity", False),
    (O, "price", "null", False),
    (O, "price", "1" * 400, False),
    (O, "delta", "nan", True),
    (O, "delta", "-nan", True),
    (O, "delta", "NaN", True),
    (O, "price", "-0.00", True),
    (O, "price", "-0", False),  # the lax reading gives 0.0, the definition -0.0
    (O, "volume_rate", "-0", False),  # the last field
    (O, "price", "-0.5", True),
    (O, "price", "0", False),  # no decimal point: refused with "-0"
    (O, "price", "64300", False),
    (O, "price", "5.", False),  # the careful path reads 5.0
    (O, "price", ".5", False),
    (O, "price", "", False),
    # signs: "-0" reads as Sign.NONE, which the definition refuses; "0" is NONE on the careful path
    (F, "change_sign", "-0", False),
    (F, "change_sign", "0", False),
    (F, "vs_open_sign", "-0", False),
    (F, "change_sign", "5.0", False),
    # times: kept as text for TIMES
    (F, "open_time", "000000", True),
    (F, "time", "240000", False),
    (F, "time", "", False),
    # text: JSON's own characters would change the array; the rest is verbatim
    (F, "code", 'A1"612', False),
    (F, "code", "A1\\u0041", False),
    (F, "code", "A1\\", False),
    (F, "code", "A1\x01", False),
    (F, "code", "A\udcff", False),
    (F, "code", "", False),
    (F, "code", "null", True),
    (F, "code", "AE11I2", True),  # capitals in the first field are a code's
    (F, "code", "가나", True),
    (F, "dynamic_limit_flag", "E", False),  # a capital past the first field: refused, never misread
    (F, "dynamic_limit_flag", "", False),
]


@pytest.mark.parametrize(("tr", "name", "text", "taken"), TRAPS, ids=[f"{t[1]}={t[2]!r}" for t in TRAPS])
def test_each_trap_is_refused_or_read_as_the_careful_path_reads_it(tr, name, text, taken):
    wire = texts(tr, **{name: text})
    got = fast(tr, wire)
    assert (got is not None) == taken
    if got is not None:
        records, errors = careful(tr, wire)
        assert not errors and identical(got[0], records[0])


def test_a_short_record_goes_the_careful_way():
    wire = texts(F)[:-3]
    assert fast(F, wire) is None
    (record,), _ = careful(F, wire)
    assert record.missing == 3


def test_a_record_far_wider_than_the_layout_goes_the_careful_way():
    # a reader is built and kept per width: a frame of thousands of fields must not make one
    wire = texts(F) + ["1"] * (LAYOUTS[F].width + 1)
    assert fast(F, wire) is None
    (record,), errors = careful(F, wire)
    assert not errors and len(record.extra) == LAYOUTS[F].width + 1


@pytest.mark.parametrize("count", [1, 3])
def test_extra_fields_are_kept_raw_on_the_fast_path(count):
    wire = (texts(F) + ["x", "", "1.50"]) * count
    got = fast(F, wire, count)
    records, errors = careful(F, wire, count)
    assert got is not None and not errors
    assert all(identical(a, b) for a, b in zip(got, records, strict=True))
    assert got[0].extra == ("x", "", "1.50")


@pytest.mark.parametrize("count", [2, GROUP, GROUP + 1, 3 * GROUP + 5])
def test_frames_of_many_records_are_read_in_groups(count):
    wire = [text for n in range(count) for text in texts(O, last_volume=str(n + 1))]
    got = fast(O, wire, count)
    records, errors = careful(O, wire, count)
    assert got is not None and not errors and len(got) == count
    assert all(identical(a, b) for a, b in zip(got, records, strict=True))


def test_a_bad_record_anywhere_in_a_frame_sends_the_frame_the_careful_way():
    wire = texts(O) * (GROUP + 2)
    wire[(GROUP + 1) * LAYOUTS[O].width + 2] = "1e5"  # the last record's price, past the first group
    assert fast(O, wire, GROUP + 2) is None


VALID = {
    Kind.CODE: st.from_regex(r"[A-C][0-9]{5}([0-9]{3})?", fullmatch=True),
    Kind.TIME: st.builds(
        lambda h, m, s: f"{h:02d}{m:02d}{s:02d}", st.integers(0, 23), st.integers(0, 59), st.integers(0, 59)
    ),
    Kind.INT: st.integers(0, 2**63 - 1).map(str),
    Kind.SIGNED: st.integers(-(2**63), 2**63 - 1).map(str),
    Kind.PRICE: st.integers(0, 10**7).map(str),
    Kind.DECIMAL: st.one_of(
        st.integers(-(10**9), 10**9).map(lambda n: f"{n / 100:.2f}"),
        st.floats(allow_nan=False, allow_infinity=False).map(lambda x: f"{x:.4f}"),
        st.sampled_from(["nan", "-nan", "NaN", "0", "-0", "-0.0", "64300"]),
    ),
    Kind.SIGN: st.sampled_from("12345"),
    Kind.FLAG: st.sampled_from(["Y", "N", "0", "1"]),
}
# What a field may hold instead: the traps above and their pieces.
ODD = st.one_of(
    st.sampled_from([t[2] for t in TRAPS] + ["-", "+5", " 5", "0x10", "1_000", "١٢", "Infinity", "NULL"]),
    st.text(alphabet='0123456789-+.eEnNaAiIuUlL"\\ _', max_size=8),
)


@st.composite
def frames(draw: st.DrawFn) -> tuple[str, int, list[str]]:
    tr = draw(st.sampled_from([F, O]))
    layout = LAYOUTS[tr]
    count = draw(st.sampled_from([1, 1, 2, 3, GROUP + 1]))
    width = layout.width + draw(st.sampled_from([0, 0, 0, 2]))
    odd = draw(st.sampled_from([0, 0, 1, 20]))  # how often a field is odd: never, or 1 in 20
    fields = []
    for _ in range(count):
        for i in range(width):
            kind = layout.fields[i].kind if i < layout.width else Kind.FLAG
            use_odd = odd and draw(st.integers(0, odd - 1)) == 0
            fields.append(draw(ODD if use_odd else VALID[kind]))
    return tr, count, fields


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames())
def test_the_fast_path_agrees_with_the_careful_path_on_generated_frames(case):
    tr, count, fields = case
    got = fast(tr, fields, count)
    records, errors = careful(tr, fields, count)
    if got is None:
        return
    assert not errors, (errors, fields)
    assert len(got) == count
    for a, b in zip(got, records, strict=True):
        assert identical(a, b), (a, b)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from([F, O]), st.data())
def test_the_fast_path_takes_plain_valid_records(tr, data):
    # the fast path must not be a refusal in disguise: valid texts with no capital E/I past the
    # first field, a point in every decimal and no sign 0 are taken
    layout = LAYOUTS[tr]
    fields = [
        data.draw(VALID[f.kind].filter(lambda t: "." in t or "n" in t.lower()))
        if f.kind is Kind.DECIMAL
        else data.draw(VALID[f.kind])
        for f in layout.fields
    ]
    got = fast(tr, fields)
    assert got is not None
    (record,), _ = careful(tr, fields)
    assert identical(got[0], record)
