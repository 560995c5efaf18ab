"""One definition of what the wire may carry (``kinds.WIRE``), the same answer on every path.

For every field of both TRs and a corpus of hostile texts, three readers must agree: the
protocol's fast path (a frame where every other field is valid), its careful path (a frame where
another field, left empty, forces it) and the store's columnar conversion (``FrameRows``, and a
journal → ``rebuild`` → Parquet). Each either takes the text with the same value, or refuses it:
a ``ParseError`` naming TR, field index and raw text; in the store a counted "frames not
decoded" entry and no row. Issue 11 item 21: before, the fast path read ``null``, ``1e5``,
``1630.00`` and ``-0`` where the careful path refused them.

``kisfeed.decode`` goes through the engine in use (``records.ENGINE``); each fast engine is also
checked directly, where it may refuse more than the definition but never read otherwise.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kisfeed
from kisfeed.exceptions import BookOrderError, ParseError
from kisfeed.protocol import decode_frame_lenient
from kisfeed.schema import LAYOUTS, Kind, records
from kisfeed.schema.kinds import WIRE, format_value, parse_value
from kisfeed.schema.records import RECORD_TYPES, RecordCodec, book_order
from kisfeed.store import rebuild, table_records
from kisfeed.store.columns import FrameRows
from kisfeed.store.dataset import read_table

from ..samples import frame, texts
from ..store.conftest import DAY, NS0, write_journal

HOSTILE = [
    "null",
    "NULL",
    "Null",
    "1e5",
    "1E5",
    "1e-400",
    "1.5e3",
    "0.00",
    "1630.00",
    "5.0",
    "-0",
    "+5",
    "+0",
    " 5",
    "5 ",
    "0x10",
    "١٢",
    "٥",
    "inf",
    "-inf",
    "Infinity",
    "INF",
    "nan",
    "-nan",
    "NaN",
    "NAN",
    "+nan",
    "nan(1)",
    "99999999999999999999",
    str(2**63),
    str(2**63 - 1),
    str(-(2**63)),
    str(-(2**63) - 1),
    "1" * 400,
    "",
    "5.",
    ".5",
    "-.5",
    ".",
    "-",
    "007",
    "1_000",
    "000000",
    "235959",
    "240000",
    "095960",
    "0",
    "5",
    "6",
    "-5",
    "A11612",
    "N",
    "1,000",
    "A1E6I0U8",
]
FIELDS = [(tr, f.index) for tr, layout in LAYOUTS.items() for f in layout.fields]
SEGMENT = "2026-11-20/090000.000000000-1"


#: Per category, two fields of which one is left empty to force the careful path (the fast one
#: refuses ""), and that empty no other rule minds: not a book's price, which would end its side.
_EMPTIED = {
    "trade": ("last_volume", "volume"),
    "book": ("total_ask_count", "total_bid_count"),
    "expected": ("change_rate", "change"),
}


def _other(tr: str, i: int) -> int:
    first, second = (LAYOUTS[tr].by_name[name].index for name in _EMPTIED[LAYOUTS[tr].category])
    return first if i != first else second


def _wire(tr: str, i: int, text: str, force: bool) -> list[str]:
    out = texts(tr)
    out += [""] * (i + 1 - len(out))  # H0ZOANC0's optional 8th field, when it is the one tested
    out[i] = text
    if force:
        out[_other(tr, i)] = ""
    return out


def _protocol(tr: str, i: int, text: str, force: bool) -> tuple[str, Any]:
    """("ok", value) or ("refused", None), checking what the error names."""
    try:
        (record,) = kisfeed.decode(frame(tr, _wire(tr, i, text, force)))
    except BookOrderError as exc:
        assert exc.tr_id == tr and exc.field_index is None
        return "refused", None
    except ParseError as exc:
        assert (exc.tr_id, exc.field_index, exc.raw) == (tr, i, text)
        return "refused", None
    return "ok", getattr(record, LAYOUTS[tr].fields[i].name)


def _store(tr: str, cases: list[tuple[int, str]]) -> list[tuple[str, Any]]:
    """What the store's conversion makes of one frame per case (field index, text), all in one
    batch as the converter collects them: ("ok", value) or ("refused", None)."""
    rows = FrameRows(tr, SEGMENT, DAY)
    refused: set[int] = set()

    def decode_slow(payload: bytes, count: int, received_ns: int, line: int) -> list:
        records, errors = decode_frame_lenient(
            f"0|{tr}|{count:03d}|" + payload.decode(), received_ns=received_ns, trading_date=DAY
        )
        if errors:
            refused.add(line)
        return records

    for line, (i, text) in enumerate(cases, 1):
        rows.add_plain("^".join(_wire(tr, i, text, False)).encode(), 1, NS0 + line, 1, line)
    table = rows.table(decode_slow)
    by_line = dict(zip(table.column("journal_line").to_pylist(), table_records(table, tr)))
    out = []
    for line, (i, _) in enumerate(cases, 1):
        if line in by_line:
            assert line not in refused
            out.append(("ok", getattr(by_line[line], LAYOUTS[tr].fields[i].name)))
        else:
            assert line in refused, line  # never a row lost without its error
            out.append(("refused", None))
    return out


def _same(a: tuple[str, Any], b: tuple[str, Any]) -> bool:
    if a[0] != b[0]:
        return False
    x, y = a[1], b[1]
    if isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y):
        return True
    return type(x) is type(y) and x == y


def _definition(tr: str, i: int, text: str) -> tuple[str, Any]:
    """What every path must answer: ``parse_value``, and for a book the order of its levels
    (``records.book_order``), which a price text may break (a ``0`` ends a side)."""
    layout = LAYOUTS[tr]
    try:
        value = parse_value(layout.fields[i].kind, text)
    except ValueError:
        return "refused", None
    ordered = book_order(layout)
    if ordered is not None:
        values = [parse_value(f.kind, t) for f, t in zip(layout.fields, _wire(tr, i, text, False))]
        if not ordered(values):
            return "refused", None
    return "ok", value


@pytest.mark.parametrize("text", HOSTILE, ids=repr)
def test_every_path_gives_the_same_answer_for_a_hostile_text_in_every_field(text):
    for tr in LAYOUTS:
        indices = [i for t, i in FIELDS if t == tr]
        stored = _store(tr, [(i, text) for i in indices])
        for i, in_store in zip(indices, stored):
            want = _definition(tr, i, text)
            fast = _protocol(tr, i, text, force=False)
            careful = _protocol(tr, i, text, force=True)
            where = (tr, LAYOUTS[tr].fields[i].kis, text)
            assert _same(fast, want), (where, fast, want)
            assert _same(careful, want), (where, careful, want)
            assert _same(in_store, want), (where, in_store, want)


ENGINES = records.ENGINES  # both where the extension is built (test_records.py checks it is)
_FAST = {(tr, engine): RecordCodec(RECORD_TYPES[tr], engine) for tr in LAYOUTS for engine in ENGINES}


def _fast(tr: str, i: int, text: str, engine: str) -> tuple[str, Any]:
    """("ok", value) by ``engine``'s fast reader alone, or ("refused", None)."""
    wire = _wire(tr, i, text, False)
    try:
        (record,) = _FAST[tr, engine].decode_fast("^".join(wire), 1, len(wire))
    except ValueError:
        return "refused", None
    return "ok", getattr(record, LAYOUTS[tr].fields[i].name)


def _taken_as_defined(got: tuple[str, Any], want: tuple[str, Any]) -> bool:
    """A fast reader's answer is right if it refused, or took what the definition takes with the
    same type and value, a float's sign of zero included (``_same`` lets 0.0 be -0.0)."""
    if got[0] == "refused":
        return True
    x, y = got[1], want[1]
    if isinstance(x, float) and isinstance(y, float) and not math.isnan(x):
        return math.copysign(1, x) == math.copysign(1, y) and _same(got, want)
    return _same(got, want)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("text", HOSTILE, ids=repr)
def test_each_fast_engine_refuses_or_reads_a_hostile_text_as_defined(text, engine):
    for tr, i in FIELDS:
        want, got = _definition(tr, i, text), _fast(tr, i, text, engine)
        assert _taken_as_defined(got, want), ((tr, LAYOUTS[tr].fields[i].kis, text), got, want)


def test_the_definition_refuses_what_the_issue_lists():
    # issue 11 item 21, read by the definition itself
    for kind in (Kind.INT, Kind.SIGNED, Kind.PRICE):
        for text in (
            "null",
            "1e5",
            "1E5",
            "1e-400",
            "0.00",
            "1630.00",
            "+5",
            " 5",
            "5 ",
            "0x10",
            "١٢",
            "inf",
            "nan",
            str(2**63),
        ):
            with pytest.raises(ValueError):
                parse_value(kind, text)
    for text in ("null", "1e5", "inf", "-inf", "Infinity", "+5", " 5", "1" * 400):
        with pytest.raises(ValueError):
            parse_value(Kind.DECIMAL, text)
    for text in ("-0", "+1", "0.0", "null", "6"):
        with pytest.raises(ValueError):
            parse_value(Kind.SIGN, text)
    assert parse_value(Kind.INT, "-0") == 0 and parse_value(Kind.INT, "007") == 7
    assert math.isnan(parse_value(Kind.DECIMAL, "-NaN"))
    assert parse_value(Kind.TIME, "000000") is None  # item 12: "not set"
    assert set(WIRE) == set(Kind)
    # records.screened looks for capitals past the first field only: it must be the code
    assert all(layout.fields[0].kind is Kind.CODE for layout in LAYOUTS.values())


def test_a_journal_of_hostile_frames_rebuilds_to_the_same_answers(tmp_path: Path):
    # End to end: journal → rebuild → Parquet; a refused frame is one counted error, no row.
    cases = [
        (tr, i, text)
        for text in ("null", "1e5", "1630.00", "-0", "0x10", "inf", "000000", "+5", "nan", "007")
        for tr, i in FIELDS
    ]
    write_journal(tmp_path, [frame(tr, _wire(tr, i, text, False)) for tr, i, text in cases])
    report = rebuild(tmp_path)
    got: dict[int, Any] = {}
    for tr in LAYOUTS:
        table = read_table(tmp_path, tr)
        for line, record in zip(table.column("journal_line").to_pylist(), table_records(table, tr)):
            got[line] = record
    refused = {int(e.split(" line ", 1)[1].split(":", 1)[0]) for e in report.errors}
    assert len(refused) == len(report.errors)
    for line, (tr, i, text) in enumerate(cases, 1):
        want = _definition(tr, i, text)
        if want[0] == "refused":
            assert line in refused and line not in got, (tr, i, text)
        else:
            name = LAYOUTS[tr].fields[i].name
            assert line in got and _same(("ok", getattr(got[line], name)), want), (tr, i, text)
    assert report.total == sum(1 for tr, i, text in cases if _definition(tr, i, text)[0] == "ok")


ALPHABET = "0123456789-+.eEnNaAiIfFuUlLxX() _١"
NUMERIC = [(tr, i) for tr, i in FIELDS if LAYOUTS[tr].fields[i].kind not in (Kind.CODE, Kind.FLAG)]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(NUMERIC), st.text(alphabet=ALPHABET, max_size=8))
def test_generated_texts_get_the_same_answer_on_every_path(field, text):
    tr, i = field
    want = _definition(tr, i, text)
    assert _same(_protocol(tr, i, text, force=False), want)
    assert _same(_protocol(tr, i, text, force=True), want)
    assert _same(_store(tr, [(i, text)])[0], want)


@pytest.mark.parametrize("engine", ENGINES)
@settings(max_examples=300, deadline=None)
@given(st.sampled_from(FIELDS), st.text(alphabet=ALPHABET + '"\\,é가\U0001f600', max_size=8))
def test_each_fast_engine_refuses_or_reads_generated_texts_as_defined(engine, field, text):
    # every field kind, text ones included: JSON's characters and every string width
    tr, i = field
    assert _taken_as_defined(_fast(tr, i, text, engine), _definition(tr, i, text))


@pytest.mark.parametrize("value", [1.5e-07, 0.00001, 123456789.125, -2.5e-05, 1e22])
def test_format_value_writes_what_the_definition_reads(value):
    # repr(1e-05) is "1e-05", an exponent WIRE refuses: encode_frame must not write one
    text = format_value(Kind.DECIMAL, value)
    assert "e" not in text.lower() and parse_value(Kind.DECIMAL, text) == value
