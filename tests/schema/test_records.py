"""The codec's fast path takes a record only where it gives exactly the careful path's values.

``RecordCodec.decode_fast`` must either refuse (``ValueError``, and the careful path decides) or
give, field by field, the very values of ``decode_carefully``, the definition: same type, same
value, NaN for NaN. Each of its engines is held to it (``records.ENGINES``: ``_fields.split``
in C, and a JSON array read by ``msgspec``'s lax decoder): one test per trap either reading
holds, then generated frames.
"""

from __future__ import annotations

import math
import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kisfeed.schema import CODECS, LAYOUTS, Kind, Record, records
from kisfeed.schema.records import GROUP, RECORD_TYPES, RecordCodec

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


ENGINES = records.ENGINES  # both where the extension is built, as it must be (the next test)
_CODECS = {(tr, engine): RecordCodec(RECORD_TYPES[tr], engine) for tr in (F, O) for engine in ENGINES}
every_engine = pytest.mark.parametrize("engine", ENGINES)


def test_the_extension_is_built():
    # CI installs with a C compiler (setup.py): it must test the C reader, not run msgspec's
    # unseen; a machine without one passes the rest with the msgspec engine alone
    assert records.ENGINES == ("c", "msgspec"), "kisfeed.schema._fields was not built"
    pure = os.environ.get("KISFEED_PURE", "") not in ("", "0")
    assert ("msgspec" if pure else "c") == records.ENGINE


def fast(tr: str, fields: list[str], count: int = 1, engine: str = records.ENGINE) -> list[Record] | None:
    """The fast path's records by ``engine``, or None where it refuses."""
    codec = _CODECS[tr, engine]
    try:
        return codec.decode_fast("^".join(fields), count, len(fields) // count)
    except ValueError:
        return None


def careful(tr: str, fields: list[str], count: int = 1) -> tuple[list[Record], list[Any]]:
    return CODECS[tr].decode_carefully(list(fields), count)


BOTH, C, MSGSPEC, NEITHER = {"c", "msgspec"}, {"c"}, {"msgspec"}, set()
# (TR, field by English name, wire text, the engines that take it). What C refuses though
# parse_value reads it is its choice (_fields.c: NaN, ".5", an empty field); what it takes that
# msgspec refused is what its reading by kind needs no screen for.
TRAPS = [
    # integers: the lax reading takes an integral float and a value past int64
    (F, "volume", "1630.00", NEITHER),
    (F, "volume", "1630.0", NEITHER),
    (F, "volume", "1e3", NEITHER),
    (F, "volume", "nan", NEITHER),
    (F, "volume", str(2**63), NEITHER),
    (F, "change", str(-(2**63) - 1), NEITHER),
    (F, "volume", str(2**63 - 1), BOTH),
    (F, "change", str(-(2**63)), BOTH),
    (F, "change", "-0", BOTH),  # 0 on both paths
    (F, "volume", "007", C),  # the careful path reads 7
    (F, "volume", "null", NEITHER),  # None for a type that allows None
    (F, "volume", "", NEITHER),  # None on the careful path
    (F, "volume", "1_000", NEITHER),
    (F, "volume", "+5", NEITHER),
    (F, "volume", "١٢", NEITHER),
    # decimals: exponents, infinities and "null" read as numbers; NaN in any case is NaN
    (O, "price", "1e5", NEITHER),
    (O, "price", "1E5", NEITHER),
    (O, "price", "inf", NEITHER),
    (O, "price", "-Infinity", NEITHER),
    (O, "price", "null", NEITHER),
    (O, "price", "1" * 400, NEITHER),
    (O, "delta", "nan", MSGSPEC),
    (O, "delta", "-nan", MSGSPEC),
    (O, "delta", "NaN", MSGSPEC),
    (O, "price", "-0.00", BOTH),
    (O, "price", "-0", C),  # the lax reading gives 0.0, the definition -0.0
    (O, "volume_rate", "-0", C),  # the last field
    (O, "price", "-0.5", BOTH),
    (O, "price", "0", C),  # no decimal point: msgspec refuses it with "-0"
    (O, "price", "64300", C),
    (O, "price", "5.", C),  # the careful path reads 5.0
    (O, "price", ".5", NEITHER),
    (O, "price", "-.5", NEITHER),
    (O, "price", "1.2.3", NEITHER),
    (O, "price", "0.1" + "0" * 61, MSGSPEC),  # longer than C's buffer: the careful path reads it
    (O, "price", "0.1" + "0" * 60, BOTH),  # as long as it holds
    (O, "price", "9007199254740993.5", BOTH),  # past 2**53: C's exact shortcut does not hold
    (O, "price", "0.30000000000000004", BOTH),
    (O, "price", "1.5", BOTH),
    (O, "price", "", NEITHER),
    # signs: "-0" reads as Sign.NONE, which the definition refuses; "0" is NONE on the careful path
    (F, "change_sign", "-0", NEITHER),
    (F, "change_sign", "0", C),
    (F, "vs_open_sign", "-0", NEITHER),
    (F, "change_sign", "5.0", NEITHER),
    (F, "change_sign", "6", NEITHER),
    # times: kept as text for TIMES
    (F, "open_time", "000000", BOTH),
    (F, "time", "240000", NEITHER),
    (F, "time", "", NEITHER),
    # text: JSON's own characters would change msgspec's array; the rest is verbatim
    (F, "code", 'A1"612', C),
    (F, "code", "A1\\u0041", C),
    (F, "code", "A1\\", C),
    (F, "code", "A1\x01", C),
    (F, "code", "A\udcff", C),
    (F, "code", "", NEITHER),
    (F, "code", "null", BOTH),
    (F, "code", "AE11I2", BOTH),  # capitals in the first field are a code's
    (F, "code", "가나", BOTH),
    (F, "code", "\U0001f600", BOTH),  # a 4-byte string
    (F, "dynamic_limit_flag", "E", C),  # a capital past the first field: msgspec refuses, never misreads
    (F, "dynamic_limit_flag", "", NEITHER),
]


@every_engine
@pytest.mark.parametrize(("tr", "name", "text", "taken"), TRAPS, ids=[f"{t[1]}={t[2]!r}" for t in TRAPS])
def test_each_trap_is_refused_or_read_as_the_careful_path_reads_it(tr, name, text, taken, engine):
    wire = texts(tr, **{name: text})
    got = fast(tr, wire, engine=engine)
    assert (got is not None) == (engine in taken)
    if got is not None:
        records, errors = careful(tr, wire)
        assert not errors and identical(got[0], records[0])


@every_engine
def test_a_short_record_goes_the_careful_way(engine):
    wire = texts(F)[:-3]
    assert fast(F, wire, engine=engine) is None
    (record,), _ = careful(F, wire)
    assert record.missing == 3


@every_engine
def test_a_record_far_wider_than_the_layout_goes_the_careful_way(engine):
    # a reader is built and kept per width: a frame of thousands of fields must not make one
    wire = texts(F) + ["1"] * (LAYOUTS[F].width + 1)
    assert fast(F, wire, engine=engine) is None
    (record,), errors = careful(F, wire)
    assert not errors and len(record.extra) == LAYOUTS[F].width + 1


@every_engine
@pytest.mark.parametrize("count", [1, 3])
def test_extra_fields_are_kept_raw_on_the_fast_path(count, engine):
    wire = (texts(F) + ["x", "", "1.50"]) * count
    got = fast(F, wire, count, engine)
    records, errors = careful(F, wire, count)
    assert got is not None and not errors
    assert all(identical(a, b) for a, b in zip(got, records, strict=True))
    assert got[0].extra == ("x", "", "1.50") and type(got[-1].extra) is tuple


@every_engine
@pytest.mark.parametrize("count", [2, GROUP, GROUP + 1, 3 * GROUP + 5])
def test_frames_of_many_records_are_read_in_groups(count, engine):
    wire = [text for n in range(count) for text in texts(O, last_volume=str(n + 1))]
    got = fast(O, wire, count, engine)
    records, errors = careful(O, wire, count)
    assert got is not None and not errors and len(got) == count
    assert all(identical(a, b) for a, b in zip(got, records, strict=True))


@every_engine
def test_a_bad_record_anywhere_in_a_frame_sends_the_frame_the_careful_way(engine):
    wire = texts(O) * (GROUP + 2)
    wire[(GROUP + 1) * LAYOUTS[O].width + 2] = "1e5"  # the last record's price, past the first group
    assert fast(O, wire, GROUP + 2, engine) is None


@every_engine
def test_a_frame_of_the_wrong_field_count_is_refused(engine):
    # decode_fast is told count and width: a payload of another field count must not shift them
    wire = texts(O) * 2
    payload = "^".join(wire)
    width = LAYOUTS[O].width
    for wrong in (payload + "^1", payload.rsplit("^", 1)[0]):
        with pytest.raises(ValueError):
            _CODECS[O, engine].decode_fast(wrong, 2, width)


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


@every_engine
@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames())
def test_the_fast_path_agrees_with_the_careful_path_on_generated_frames(engine, case):
    tr, count, fields = case
    got = fast(tr, fields, count, engine)
    records, errors = careful(tr, fields, count)
    if got is None:
        return
    assert not errors, (errors, fields)
    assert len(got) == count
    for a, b in zip(got, records, strict=True):
        assert identical(a, b), (a, b)


def _plain_decimal(engine: str) -> Any:
    """Valid decimal texts that ``engine`` takes: msgspec a point in every one (or NaN), C no
    NaN and no text longer than its buffer (_fields.c; f"{1e300:.4f}" is 306 characters)."""
    if engine == "msgspec":
        return VALID[Kind.DECIMAL].filter(lambda t: "." in t or "n" in t.lower())
    return VALID[Kind.DECIMAL].filter(lambda t: "n" not in t.lower() and len(t) <= 63)


@every_engine
@settings(max_examples=100, deadline=None)
@given(st.sampled_from([F, O]), st.data())
def test_the_fast_path_takes_plain_valid_records(engine, tr, data):
    # the fast path must not be a refusal in disguise: valid texts with no capital E/I past the
    # first field and no sign 0 are taken, and decimals of the forms the engine reads
    layout = LAYOUTS[tr]
    fields = [
        data.draw(_plain_decimal(engine)) if f.kind is Kind.DECIMAL else data.draw(VALID[f.kind])
        for f in layout.fields
    ]
    got = fast(tr, fields, engine=engine)
    assert got is not None
    (record,), _ = careful(tr, fields)
    assert identical(got[0], record)
