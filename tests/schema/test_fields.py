"""``_fields.split``, the C reader of the decode fast path, against the definition.

For every field it either gives exactly what ``kinds.parse_value`` gives (same type, same value,
a float's sign of zero included) or refuses the payload with ``ValueError``: never a text the
definition refuses, never another value. What it takes is written out here (``TAKES``) so that
a refusal in disguise fails as surely as a misreading. Then its argument errors, every string
width, and a loop that would show a reference leaked per call.
"""

from __future__ import annotations

import math
import operator
import os
import re
import struct
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kisfeed.schema import LAYOUTS, Kind, Sign
from kisfeed.schema.kinds import INT64, parse_value
from kisfeed.schema.records import _side_in_order

from ..samples import texts
from .test_wire import HOSTILE

# Skipped where the extension was not built, and then test_records' test_the_extension_is_built fails
_fields = pytest.importorskip("kisfeed.schema._fields")
split, in_order = _fields.split, _fields.in_order
SIGNS = tuple(Sign)
#: The kind each byte stands for; "x" (a field past the layout) has none: its text is its value.
KINDS = {"c": Kind.CODE, "f": Kind.FLAG, "t": Kind.TIME, "i": Kind.INT, "d": Kind.DECIMAL, "s": Kind.SIGN}
#: What split takes, by kind byte (_fields.c): a subset of kinds.WIRE.
TAKES = {
    "c": lambda t: t != "",
    "f": lambda t: t != "",
    "t": lambda t: t != "",
    "x": lambda t: True,
    "i": lambda t: re.fullmatch(r"-?[0-9]+", t) is not None and INT64[0] <= int(t) <= INT64[1],
    "d": lambda t: re.fullmatch(r"-?[0-9]+(\.[0-9]*)?", t) is not None and len(t) <= 63,
    "s": lambda t: re.fullmatch(r"[0-5]", t) is not None,
}


def layout_codes(tr: str) -> str:
    """The kind bytes of a TR's fields (INT, SIGNED and PRICE are all "i")."""
    byte = {kind: code for code, kind in KINDS.items()} | {Kind.SIGNED: "i", Kind.PRICE: "i"}
    return "".join(byte[f.kind] for f in LAYOUTS[tr].fields)


def definition(code: str, text: str) -> Any:
    """The value split must give for ``text`` as kind ``code``: ``parse_value``'s, but a time's
    text itself (records._reader maps it through ``TIMES``, which refuses a bad one)."""
    if code in "xt":
        return text
    return parse_value(KINDS[code], text)


def same(x: Any, y: Any) -> bool:
    """Same type and value; for floats the same bits (NaN aside: split gives none)."""
    if type(x) is not type(y):
        return False
    if isinstance(x, float):
        return struct.pack("<d", x) == struct.pack("<d", y)
    return bool(x == y)


def check(fields: list[tuple[str, str]]) -> None:
    """split refuses exactly where a field is not in ``TAKES``, and reads the rest by the definition."""
    codes = "".join(code for code, _ in fields).encode()
    payload = "^".join(text for _, text in fields)
    if not all(TAKES[code](text) for code, text in fields):
        with pytest.raises(ValueError):
            split(payload, codes, SIGNS)
        return
    got = split(payload, codes, SIGNS)
    assert type(got) is list and len(got) == len(fields)
    for (code, text), value in zip(fields, got):
        want = definition(code, text)  # raises if split took a text the definition refuses
        assert same(value, want), (code, text, value, want)
        if isinstance(value, float):
            assert math.copysign(1, value) == math.copysign(1, float(text))


@pytest.mark.parametrize("text", HOSTILE, ids=repr)
@pytest.mark.parametrize("code", list(TAKES))
def test_each_hostile_text_as_each_kind(code, text):
    check([(code, text)])
    check([("c", "A11612"), (code, text), ("i", "5")])  # inside a payload, not only whole


def test_the_forms_the_brief_names():
    # int: leading zeros and -0 as int() reads them; the int64 bounds exactly
    assert split("007^-0^9223372036854775807^-9223372036854775808", b"iiii", SIGNS) == [
        7,
        0,
        2**63 - 1,
        -(2**63),
    ]
    for text in ("9223372036854775808", "-9223372036854775809", "+5", " 5", "5 ", "1_000", "١٢", "-", ""):
        with pytest.raises(ValueError):
            split(text, b"i", SIGNS)
    # decimal: -0.00 keeps its sign; NaN, ".5" and the like go the careful way
    (zero,) = split("-0.00", b"d", SIGNS)
    assert zero == 0 and math.copysign(1, zero) == -1
    for text in ("nan", "-nan", "NaN", ".5", "-.5", ".", "1e5", "inf", "1.2.3", "0x10", "1" * 64):
        with pytest.raises(ValueError):
            split(text, b"d", SIGNS)
    # sign: the Sign member itself, 0 as NONE
    assert split("0^5", b"ss", SIGNS) == [Sign.NONE, Sign.DOWN]
    assert split("0", b"s", SIGNS)[0] is Sign.NONE
    # text: anything but empty, verbatim; an extra field may be empty
    assert split('A"1\\^가^^x', b"ccxx", SIGNS) == ['A"1\\', "가", "", "x"]


@pytest.mark.parametrize("wide", ["", "é", "가", "\U0001f600"], ids=["ascii", "latin-1", "ucs-2", "ucs-4"])
def test_every_string_width(wide):
    fields = [texts(tr) for tr in ("H0ZFCNT0", "H0ZOCNT0")]
    for tr, wire in zip(("H0ZFCNT0", "H0ZOCNT0"), fields):
        wire[0] += wide  # the code: the whole payload is then of that width
        codes = layout_codes(tr)
        check(list(zip(codes, wire)))
        bad = list(zip(codes, wire))
        bad[2] = ("i", "1" + wide) if wide else ("i", "1x")  # a wide char after a digit
        check(bad)


@pytest.mark.parametrize("wide", ["é", "가", "\U0001f600", "\u0130", "\u0660"])
def test_a_wide_character_whose_low_byte_is_a_digit_is_no_digit(wide):
    # U+0130's low byte is 0x30, '0'; U+0660 is ARABIC-INDIC DIGIT ZERO: neither is a digit here
    for code in "ids":
        for text in (wide, "1" + wide, "-" + wide, "1." + wide):
            with pytest.raises(ValueError):
                split(text, code.encode(), SIGNS)
    for text in ("\u0130", "\u0130\u0130\u0130\u0130\u0130\u0130"):
        with pytest.raises(ValueError):
            split(text, b"d", SIGNS)


def test_a_payload_of_another_field_count_is_refused():
    for payload, codes in (
        ("1^2", b"i"),
        ("1", b"ii"),
        ("", b"cc"),
        ("^", b"x"),
        ("a^b^c", b"cc"),
        ("", b""),
    ):
        with pytest.raises(ValueError):
            split(payload, codes, SIGNS)
    assert split("", b"x", SIGNS) == [""] and split("^", b"xx", SIGNS) == ["", ""]


@pytest.mark.parametrize(
    "args",
    [
        (),
        ("1",),
        ("1", b"i"),
        ("1", b"i", SIGNS, None),
        (1, b"i", SIGNS),
        (b"1", b"i", SIGNS),
        ("1", "i", SIGNS),
        ("1", bytearray(b"i"), SIGNS),
        ("1", memoryview(b"i"), SIGNS),
        ("1", b"i", list(SIGNS)),
        ("1", b"i", SIGNS[:5]),
        ("1", b"i", (*SIGNS, Sign.NONE)),
        ("1", b"i", None),
        ("1", b"q", SIGNS),  # no such kind: the caller's bug, not the wire's
        ("1", b"\0", SIGNS),
    ],
    ids=repr,
)
def test_argument_errors_are_type_errors(args):
    with pytest.raises(TypeError):
        split(*args)


FIELD_TEXTS = st.one_of(
    st.text(alphabet='0123456789-.eEnNaAiIxX +_"\\é가\U0001f600\u0130\u0660', max_size=8),
    st.text(alphabet="0123456789-.", max_size=25),
    st.sampled_from(HOSTILE),
)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(list(TAKES)), FIELD_TEXTS), min_size=1, max_size=60))
def test_generated_payloads_are_read_as_the_definition_reads_them(fields):
    check(fields)


@settings(max_examples=500, deadline=None)
@given(
    st.one_of(
        st.from_regex(r"-?[0-9]{1,22}(\.[0-9]{0,22})?", fullmatch=True),
        st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12).flatmap(
            lambda x: st.integers(0, 20).map(lambda n: f"{x:.{n}f}")
        ),
        # round numbers of 15 and 16 digits: where split's exact shortcut ends
        st.integers(0, 10**16).flatmap(
            lambda n: st.integers(0, 16).map(lambda k: f"{n}"[:-k] + "." + f"{n}"[-k:] if k else f"{n}")
        ),
    )
)
def test_a_decimal_has_the_bits_float_gives(text):
    check([("d", text)])


def _rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="reads RSS from /proc")
def test_no_reference_is_leaked_on_any_path():
    # no sys.gettotalrefcount on a release build: a leak of one object a call would show as
    # megabytes of RSS over these calls (a list of 49 values: tens of them)
    wire = texts("H0ZOCNT0")
    codes = layout_codes("H0ZOCNT0").encode()
    good = "^".join(wire)
    bad = ["^".join(wire[:n] + ["1e5"] + wire[n + 1 :]) for n in (0, 2, 20, len(wire) - 1)]
    bad += [good + "^1", good.rsplit("^", 1)[0], "^".join(wire[:30] + ["가"] + wire[31:])]

    def calls(n: int) -> None:
        for _ in range(n):
            split(good, codes, SIGNS)
            for payload in bad:
                try:
                    split(payload, codes, SIGNS)
                except ValueError:
                    pass
            try:
                split(good, codes, SIGNS[:5])
            except TypeError:
                pass

    calls(2_000)  # warm: the allocator's arenas, the small-int and float free lists
    before, started = _rss(), time.perf_counter()
    calls(22_000)  # about 200,000 calls
    grown = _rss() - before
    assert grown < 3 * 2**20, f"RSS grew {grown / 2**20:.1f} MB over 198,000 calls"
    assert time.perf_counter() - started < 10  # a loaded machine's margin over the ~1 s it takes


#: Prices of one type per side, as a layout's are, with the values that end a side (0, -0.0,
#: None), NaN, which none may be, and the int64 ends.
_INT_PRICES = st.one_of(st.none(), st.integers(-3, 3), st.sampled_from([INT64[0], INT64[1]]))
_FLOAT_PRICES = st.one_of(st.none(), st.sampled_from([0.0, -0.0, 0.5, 1.0, 1.5, -1.0, math.nan, math.inf]))


@settings(max_examples=1000, deadline=None)
@given(
    st.one_of(
        st.tuples(
            st.lists(_INT_PRICES, min_size=1, max_size=10), st.lists(_INT_PRICES, min_size=1, max_size=10)
        ),
        st.tuples(
            st.lists(_FLOAT_PRICES, min_size=1, max_size=10), st.lists(_FLOAT_PRICES, min_size=1, max_size=10)
        ),
    )
)
def test_in_order_is_the_book_check_that_records_defines(sides):
    asks, bids = sides
    values = ["code", *asks, *bids]
    expected = _side_in_order(tuple(asks), operator.lt) and _side_in_order(tuple(bids), operator.gt)
    at = tuple(range(1, len(asks) + 1)), tuple(range(len(asks) + 1, len(values)))
    assert in_order(values, *at) is expected


@pytest.mark.parametrize(
    "args",
    [
        ([1, 2], (0,)),
        ((1, 2), (0,), (1,)),
        ([1, 2], [0], (1,)),
        ([1, 2.0], (0, 1), ()),  # a side of int and float prices: no reader makes one
        (["1", 2], (0,), (1,)),
        ([1, 2], (0,), (5,)),  # an index past the record
        ([1, 2], (-1,), (1,)),
        ([1, 2], ("0",), (1,)),
        ([2**64, 1], (0,), (1,)),  # past int64
    ],
    ids=repr,
)
def test_in_order_argument_errors_raise(args):
    with pytest.raises((TypeError, IndexError, OverflowError)):
        in_order(*args)
