"""Property-based fuzzing of the frame and control parsers: decode or the documented error."""

from __future__ import annotations

import json
import math

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import kisfeed
from kisfeed.exceptions import BookOrderError, ControlMessageError, ParseError
from kisfeed.protocol import ControlReply, Ping, Session, decode_frame_lenient, encode_frame, parse_control
from kisfeed.schema import LAYOUTS, Kind

from ..samples import texts

FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# st.text() never draws lone surrogates (category Cs), yet a Python str can hold them, and
# msgspec refused such text with UnicodeEncodeError instead of a ParseError (issue 11, item 22):
# every text strategy here mixes them in. (Not st.text(alphabet=...): it merges the alphabets
# into one and then draws a surrogate about once in hundreds of examples.)
any_char = st.one_of(st.characters(), st.characters(categories=["Cs"]))


def any_text(max_size: int | None = None) -> st.SearchStrategy[str]:
    return st.lists(any_char, max_size=max_size).map("".join)


LONE_SURROGATE_PING = '{"header\udcff":{"tr_id":"PINGPONG"}}'

valid_text = {
    Kind.CODE: st.from_regex(r"[A-C][0-9A-Z]{2}[0-9](0[1-9]|1[0-2])([0-9]{3})?", fullmatch=True),
    Kind.TIME: st.builds(
        lambda h, m, s: f"{h:02d}{m:02d}{s:02d}", st.integers(0, 23), st.integers(0, 59), st.integers(0, 59)
    ),
    Kind.INT: st.integers(0, 10**12).map(str),
    Kind.SIGNED: st.integers(-(10**9), 10**9).map(str),
    Kind.PRICE: st.integers(0, 10**7).map(str),
    Kind.DECIMAL: st.one_of(
        st.integers(-(10**9), 10**9).map(lambda n: f"{n / 100:.2f}"), st.sampled_from(["nan", "-nan"])
    ),
    Kind.SIGN: st.sampled_from("12345"),
    Kind.FLAG: st.sampled_from(["Y", "N", "0", "1"]),
}
junk = st.one_of(st.just(""), st.text(alphabet="0123456789-.^|naAZ x", max_size=8), any_text(max_size=6))


@st.composite
def frames(draw):
    """Frames built from a layout: some fields valid, some junk, counts right or wrong."""
    tr_id = draw(st.sampled_from(sorted(LAYOUTS)))
    layout = LAYOUTS[tr_id]
    count = draw(st.integers(1, 5))
    width = layout.width + draw(st.sampled_from([0, 0, 0, 2, -3]))
    records = []
    for _ in range(count):
        record = []
        for i in range(width):
            kind = layout.fields[i].kind if i < layout.width else Kind.CODE
            record.append(
                draw(st.one_of(valid_text[kind], junk) if draw(st.integers(0, 20)) == 0 else valid_text[kind])
            )
        records.append("^".join(record))
    stated = count if draw(st.integers(0, 5)) else draw(st.integers(0, 999))
    return f"{draw(st.sampled_from('0001'))}|{tr_id}|{stated:03d}|" + "^".join(records)


@FUZZ
@given(any_text())
@example("0|H0ZFCNT0|001|")
@example("0|H0ZFCNT0|999|^")
@example("1|H0ZOCNT0|001|@@@")
@example("0|H0ZFCNT0|-01|x")
@example("0|H0ZFCNT0|\u0661\u0662\u0663|x")
def test_any_text_decodes_or_raises_parse_error(text):
    try:
        records = kisfeed.decode(text)
    except ParseError:
        return
    assert records  # a frame that decodes holds at least one record


@FUZZ
@given(frames())
def test_layout_shaped_frames_decode_or_raise_parse_error(text):
    try:
        records = kisfeed.decode(text)
    except ParseError as exc:
        assert exc.raw
        return
    tr_id = text.split("|")[1]
    fields = text.split("|", 3)[3].split("^")
    width = len(fields) // len(records)
    for record in records:
        assert record.tr_id == tr_id
        # never a partial record passed off as complete
        assert record.complete == (width >= LAYOUTS[tr_id].required)
        assert record.missing == max(0, LAYOUTS[tr_id].required - width)


@FUZZ
@given(frames())
def test_lenient_decode_accounts_for_every_record(text):
    try:
        records, errors = decode_frame_lenient(text)
    except ParseError:
        return
    assert len(records) + len(errors) == int(text.split("|")[2])
    # a field at fault is named; a book out of order is at fault as a whole
    assert all(e.record_index is not None for e in errors)
    assert all(e.field_index is not None or isinstance(e, BookOrderError) for e in errors)


@FUZZ
@given(
    st.lists(st.sampled_from(sorted(LAYOUTS)), min_size=1, max_size=1).flatmap(
        lambda trs: st.tuples(st.just(trs[0]), st.lists(st.just(None), min_size=1, max_size=10))
    )
)
def test_valid_frames_round_trip(args):
    tr_id, slots = args
    wire = f"0|{tr_id}|{len(slots):03d}|" + "^".join("^".join(texts(tr_id)) for _ in slots)
    records = kisfeed.decode(wire)
    assert len(records) == len(slots)
    assert encode_frame(tr_id, records) == wire


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), any_text(max_size=10)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(any_text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)
control_like = st.fixed_dictionaries(
    {
        "header": st.one_of(
            json_values,
            st.fixed_dictionaries(
                {"tr_id": st.one_of(st.sampled_from(["PINGPONG", "H0ZFCNT0", "(null)", ""]), json_values)},
                optional={"tr_key": json_values, "encrypt": json_values, "datetime": json_values},
            ),
        )
    },
    optional={
        "body": st.one_of(
            json_values,
            st.fixed_dictionaries(
                {},
                optional={
                    "rt_cd": json_values,
                    "msg_cd": json_values,
                    "msg1": json_values,
                    "output": json_values,
                },
            ),
        )
    },
)


def as_json(value: object) -> st.SearchStrategy[str]:
    """JSON text of ``value``: with \\u escapes, or with the characters as they are (a lone
    surrogate then stays a raw character in the str, as in the fuzz finding)."""
    return st.sampled_from([json.dumps(value), json.dumps(value, ensure_ascii=False)])


control_texts = st.one_of(any_text(), json_values.flatmap(as_json), control_like.flatmap(as_json))


@FUZZ
@given(control_texts)
@example(LONE_SURROGATE_PING)
def test_control_parser_returns_a_message_or_raises_its_error(text):
    try:
        message = parse_control(text)
    except ControlMessageError as exc:
        assert exc.raw == text
        return
    assert isinstance(message, (ControlReply, Ping))


@FUZZ
@given(st.lists(st.one_of(control_texts, frames()), max_size=5))
@example([LONE_SURROGATE_PING])
def test_session_never_raises_on_input(texts_in):
    session = Session("approval")
    session.subscribe("H0ZFCNT0", "A11612")
    for text in texts_in:
        events = session.receive(text)
        assert isinstance(events, list)
    assert session.slots_used <= 1


def test_nan_stays_nan():
    (record,) = kisfeed.decode("0|H0ZOCNT0|001|" + "^".join(texts("H0ZOCNT0", delta="-nan")))
    assert math.isnan(record.delta)
