"""The codec between field texts and records, and the table of record types by TR id.

The record classes (``generated.py``, generated from the layouts) derive from ``base.Record``;
both are re-exported here.

Decoding takes a fast path and falls back to a field-by-field path only when that fails, which
handles empty fields and short records and finds the exact field at fault. The fast path has two
engines: ``_fields.split``, a C function that cuts the payload on ``^`` and reads each field by
its kind in one pass (built by ``setup.py`` where a C compiler is at hand), and otherwise the
payload made a JSON array of strings in one ``str.replace`` and read by a ``msgspec`` C decoder.
The field-by-field path is the definition (``kinds.parse_value``, ``kinds.WIRE``); either fast
engine takes a record only where it gives the same values, which ``_fields.c``, ``screened``
and ``_reader`` explain.
"""

from __future__ import annotations

import functools
import math
import operator
import os
from collections.abc import Callable
from datetime import date
from typing import Annotated, Any

import msgspec

from ..exceptions import BookOrderError, FieldError, ParseError
from . import generated
from .base import KST, Book, Int64, Level, Record, Text, kst_day
from .generated import (
    FuturesBook,
    FuturesExpected,
    FuturesTrade,
    IndexFuturesBook,
    IndexFuturesTrade,
    IndexOptionBook,
    IndexOptionTrade,
    NightFuturesBook,
    NightFuturesTrade,
    NightOptionBook,
    NightOptionExpected,
    NightOptionTrade,
    OptionBook,
    OptionExpected,
    OptionTrade,
)
from .kinds import TIMES, Kind, Sign, format_value, parse_value
from .layouts import Layout

split: Callable[[str, bytes, tuple[Sign, ...]], list[Any]] | None
in_order: Callable[[list[Any], tuple[int, ...], tuple[int, ...]], bool] | None
try:
    from ._fields import in_order, split
except ImportError:  # installed without a C compiler: setup.py's extension is optional
    split = in_order = None

__all__ = [
    "KST",
    "kst_day",
    "Record",
    "Book",
    "Level",
    "FuturesTrade",
    "OptionTrade",
    "FuturesBook",
    "OptionBook",
    "FuturesExpected",
    "OptionExpected",
    "IndexFuturesTrade",
    "IndexFuturesBook",
    "IndexOptionTrade",
    "IndexOptionBook",
    "NightFuturesTrade",
    "NightFuturesBook",
    "NightOptionTrade",
    "NightOptionBook",
    "NightOptionExpected",
    "FuturesTradeRecord",
    "OptionTradeRecord",
    "RecordCodec",
    "RECORD_TYPES",
    "CODECS",
    "screened",
    "same_values",
]

#: TR id → its record class, for every class ``generate`` wrote.
RECORD_TYPES: dict[str, type[Record]] = {
    cls.layout.tr_id: cls for cls in (getattr(generated, name) for name in generated.__all__)
}

#: A futures trade whichever TR carried it (stock, KOSPI200, night): the same attribute names,
#: ``price`` an ``int`` of won for stock futures and a ``float`` of index points for the others.
FuturesTradeRecord = FuturesTrade | IndexFuturesTrade | NightFuturesTrade
#: An option trade whichever TR carried it: premiums, Greeks and IV by the same names.
OptionTradeRecord = OptionTrade | IndexOptionTrade | NightOptionTrade

#: A float and an int that no value meets (none is both >= 1 and <= 0, NaN included). In a union
#: beside ``Int64``, the float takes every text with a fraction or an exponent, which a lax
#: ``int`` reads when integral (``1630.00``), and refuses it; beside ``float``, the int takes
#: every text without one, which a lax ``float`` reads as ``0.0`` for ``-0`` (``parse_value``:
#: ``-0.0``), and refuses it: KIS writes decimals with their decimals (reference 4.4), so a
#: decimal field without a point is rare enough to go the careful way.
_NO_FLOAT: Any = Annotated[float, msgspec.Meta(ge=1, le=0)]
_NO_INT: Any = Annotated[int, msgspec.Meta(ge=1, le=0)]
_INTEGER: Any = Int64 | _NO_FLOAT
#: What the fast path's lax decoder reads each kind's text as; ``_reader`` says why each is so.
_FAST_TYPES: dict[Kind, Any] = {
    Kind.CODE: Text,
    Kind.TIME: str,
    Kind.INT: _INTEGER,
    Kind.SIGNED: _INTEGER,
    Kind.PRICE: _INTEGER,
    Kind.DECIMAL: float | _NO_INT,
    Kind.SIGN: Sign,
    Kind.FLAG: Text,
}
#: The fast path's engines here: "c" (``_fields.split``) where the extension was built, and "msgspec".
ENGINES: tuple[str, ...] = ("msgspec",) if split is None else ("c", "msgspec")
#: The engine ``CODECS`` read with: the C one where built, unless ``KISFEED_PURE`` is set (read once,
#: here): to time the two against each other, and to tell a fault of the C reader from one
#: elsewhere, on the same install.
ENGINE = "msgspec" if os.environ.get("KISFEED_PURE", "") not in ("", "0") else ENGINES[0]
#: Each kind's byte in ``_fields.split``'s ``kinds``, which reads it by ``kinds.WIRE`` (``x``: a
#: field past the layout, kept as text).
_SPLIT_KINDS: dict[Kind, str] = {
    Kind.CODE: "c",
    Kind.FLAG: "f",
    Kind.TIME: "t",
    Kind.INT: "i",
    Kind.SIGNED: "i",
    Kind.PRICE: "i",
    Kind.DECIMAL: "d",
    Kind.SIGN: "s",
}
_SIGNS = tuple(Sign)  # in code order: split reads "n" as _SIGNS[n]

#: The most records one reader reads: a reader is built per record count (a few ms each, once),
#: so a frame of more records is read in groups of this many.
GROUP = 16
_QUOTES = '","'  # a field separator ^ made a JSON one


def screened(payload: str) -> bool:
    """False if ``payload``, the ``^``-joined fields of a frame, may hold a text that the fast
    path's lax decoder reads although ``kinds.WIRE`` refuses it, or reads otherwise: ``"`` or
    ``\\``, which would change the JSON array the fields are made into; an exponent (``1e5``,
    ``1e-400``) or ``inf``/``Infinity``, which a decimal field would read as a number, each of
    which holds an ``e``/``E`` or an ``i``/``I``. ``_reader`` checks the rest. Capitals are
    looked for past the first field only: codes hold capitals (reference 5.1, 5.3), and a later
    record's code holding one costs its frame the fast path only, never a value."""
    if "e" in payload or "i" in payload or '"' in payload or "\\" in payload:
        return False
    if "E" in payload or "I" in payload:  # rare: a code's capital, or a misread
        start = payload.find("^")
        return not (payload.find("E", start) >= 0 or payload.find("I", start) >= 0)
    return True


def book_order(layout: Layout) -> Callable[[list[Any]], bool] | None:
    """For a book layout, a check of one record's values in wire order: True when the published
    levels (those before the first empty one, price 0 or None) come first, asks rising and bids
    falling from level 1. None for the other layouts. A book read in another field order than it
    was written in (H0ZFASP0's 5-level legacy reading, reference 4.5) fails it: levels of the
    other side, or quantities, land among the prices."""
    if layout.category != "book":
        return None
    asks, bids = (operator.itemgetter(*side) for side in _levels(layout))

    def ordered(values: list[Any]) -> bool:
        return _side_in_order(asks(values), operator.lt) and _side_in_order(bids(values), operator.gt)

    return ordered


def _levels(layout: Layout) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The field indices of a book's ask prices and bid prices, from level 1."""
    by_name, levels = layout.by_name, range(1, layout.depth + 1)
    return tuple(by_name[f"ask{n}"].index for n in levels), tuple(by_name[f"bid{n}"].index for n in levels)


def _side_in_order(prices: tuple[Any, ...], before: Callable[[Any, Any], bool]) -> bool:
    """True when the nonzero prices of a side come first (none after an empty level) and each is
    ``before`` the next. The definition; the C engine's reader checks with ``_fields.in_order``,
    which tests hold to it."""
    if None in prices:  # an empty field (the careful path) is an empty level, as 0 is
        prices = tuple(0 if p is None else p for p in prices)
    if 0 in prices:
        n = prices.index(0)
        if any(prices[n:]):
            return False
        prices = prices[:n]
    # NaN is no price: it fails every comparison, and the one of a lone level with itself
    return all(map(before, prices, prices[1:])) and (not prices or prices[0] == prices[0])


#: ``read(payload, trading_date, received_ns)``: the records of ``^``-joined fields, or ValueError.
Reader = Callable[[str, date | None, int | None], list[Record]]


@functools.lru_cache(maxsize=128)
def _reader(record_type: type[Record], count: int, width: int, engine: str = ENGINE) -> Reader:
    """A reader of ``count`` records of ``width`` fields each that refuses (``ValueError``)
    unless the values it reads are what ``parse_value`` gives. ``engine`` (``ENGINES``) reads
    the fields:

    ``"c"``: ``_fields.split`` reads each field by its kind or refuses it, as ``_fields.c``
    says; a time is left as text for ``TIMES``, a sign ``0`` is ``Sign.NONE`` as in
    ``parse_value``.

    ``"msgspec"``: the ``^``-joined fields made a JSON array of strings, decoded by
    ``msgspec``'s lax decoder, which reads a number from a string. Where the lax reading and
    ``kinds.WIRE`` differ, beyond what ``screened`` covers: ``null`` is None only for a type
    that allows None, and these do not; an integer field is read as ``Int64`` (refusing a
    value past int64) or a float no value meets (``_NO_FLOAT``: refusing ``1630.00`` and
    ``nan``), as ``parse_value`` does; a decimal field as a float or an int no value meets
    (``_NO_INT``: refusing ``-0``, which would lose its sign); a sign ``-0`` reads as
    ``Sign.NONE``, so a record holding ``NONE`` goes the careful way (``0`` is no code in the
    KIS tables). Time fields are kept as text for ``TIMES``. An empty field, text past the
    layout aside, is refused (``Text`` is ``min_length=1``), and so is any text the lax
    reading refuses (``007``, ``5.``, `` 5``).

    Its source is written out for the record type, count, width and engine, as ``namedtuple``
    writes its class: every time and sign position is a constant in it, so the path of every
    record has no loop over positions and no call for them (the C calls are most of a record's
    time; this Python is the rest). The engines differ in how ``values`` is read only: the
    times, the book's order, the padding and the record are the same lines.
    """
    if engine not in ENGINES:
        raise ValueError(f"no {engine!r} engine here: {ENGINES}")
    c = engine == "c"
    layout = record_type.layout
    fields = layout.fields[:width]  # a record may lack the optional trailing fields: None
    present, layout_width = len(fields), layout.width
    starts = range(0, count * width, width)
    whole = count == 1 and width == layout_width  # the common frame: no slices
    lines = ["def read(payload, trading_date, received_ns):"]
    if c:  # split's list is the record itself when it is the frame's only one
        lines.append(f"    {'record' if whole else 'values'} = split(payload, KINDS, SIGNS)")
    else:
        one = [_FAST_TYPES[f.kind] for f in fields] + [str] * (width - layout_width)
        types: Any = tuple(one * count)
        # Sign.NONE is 0, the one falsy sign
        signs = " and ".join(f"values[{s + f.index}]" for s in starts for f in fields if f.kind is Kind.SIGN)
        lines += [
            # screened's four scans inline, its call only for a capital: a call less per record
            "    if 'e' in payload or 'i' in payload or '\"' in payload or '\\\\' in payload or (",
            "        ('E' in payload or 'I' in payload) and not screened(payload)",
            "    ):",
            "        raise ValueError('a text the fast path would misread')",
            '    values = decode(f\'["{payload.replace("^", QUOTES)}"]\')',
        ]
        if signs:
            lines += [
                f"    if not ({signs}):",
                "        raise ValueError('a sign the fast path would misread')",
            ]
    if not whole:
        lines.append("    records = []")
    for s in starts:
        if not whole:  # msgspec's values are a tuple, split's a list
            lines.append(f"    record = {'' if c else 'list'}(values[{s}:{s + present}])")
        elif not c:
            lines.append("    record = list(values)")
        if present < layout_width:
            lines.append("    record += PAD")
        lines += [f"    record[{f.index}] = times[record[{f.index}]]" for f in fields if f.kind is Kind.TIME]
        if layout.category == "book":  # a book out of order goes the careful way, to be named
            check = "in_order(record, ASKS, BIDS)" if c else "ordered(record)"
            lines += [f"    if not {check}:", "        raise ValueError('a book out of order')"]
        extra = (
            "()"
            if width == layout_width
            else f"{'tuple' if c else ''}(values[{s + layout_width}:{s + width}])"
        )
        lines.append(f"    record += ({extra}, 0, trading_date, received_ns)")
        lines.append(
            "    return [record_type(*record)]" if whole else "    records.append(record_type(*record))"
        )
    if not whole:
        lines.append("    return records")
    namespace: dict[str, Any] = {
        "PAD": (None,) * (layout_width - present),
        "times": TIMES,
        "ordered": book_order(layout),
        "record_type": record_type,
    }
    if c:
        codes = "".join(_SPLIT_KINDS[f.kind] for f in fields) + "x" * (width - layout_width)
        asks, bids = _levels(layout) if layout.category == "book" else ((), ())
        namespace.update(
            split=split, KINDS=(codes * count).encode(), SIGNS=_SIGNS, in_order=in_order, ASKS=asks, BIDS=bids
        )
    else:
        namespace.update(
            screened=screened,
            decode=msgspec.json.Decoder(tuple[types], strict=False).decode,
            QUOTES=_QUOTES,
        )
    exec("\n".join(lines), namespace)  # the source above: written from the layout alone
    read: Reader = namespace["read"]
    return read


class RecordCodec:
    """Field texts ⇄ records for one layout; the fast path reads with ``engine`` (``ENGINES``)."""

    def __init__(self, record_type: type[Record], engine: str = ENGINE) -> None:
        self.record_type = record_type
        self.engine = engine
        self.layout = layout = record_type.layout
        self.width = layout.width
        self._kinds = tuple(f.kind for f in layout.fields)
        self._ordered = book_order(layout)
        #: ``decode_one(payload, trading_date, received_ns)``: ``decode_fast`` for the common
        #: frame, one record of the layout's width (its required fields: what KIS documents),
        #: with no call between.
        self.decode_one = _reader(record_type, 1, layout.required, engine)

    def decode_fast(
        self,
        payload: str,
        count: int,
        width: int,
        trading_date: date | None = None,
        received_ns: int | None = None,
    ) -> list[Record]:
        """The ``count`` records of ``width`` fields each in ``payload`` (the ``^``-joined
        fields of a frame), or ``ValueError`` (``split``'s refusals and ``msgspec``'s errors are
        ValueErrors) if any field is empty or odd, or records are narrower than the layout's
        required fields or more than twice as wide (a reader per width is built and kept: KIS
        appends a few fields, not hundreds); then use ``decode_carefully``."""
        if not self.layout.required <= width <= 2 * self.width:
            raise ValueError("records narrower than the layout, or far wider")
        if count <= GROUP:
            return _reader(self.record_type, count, width, self.engine)(payload, trading_date, received_ns)
        fields = payload.split("^")
        records: list[Record] = []
        for first in range(0, count, GROUP):
            n = min(GROUP, count - first)
            group = "^".join(fields[first * width : (first + n) * width])
            records += _reader(self.record_type, n, width, self.engine)(group, trading_date, received_ns)
        return records

    def decode_carefully(
        self,
        fields: list[str],
        count: int,
        trading_date: date | None = None,
        received_ns: int | None = None,
    ) -> tuple[list[Record], list[ParseError]]:
        """Field by field: empty fields become None, a short record is padded and flagged, and
        a bad field spoils its own record only (one ``FieldError`` naming record and field, or
        ``BookOrderError`` for a book whose prices are out of order)."""
        width = len(fields) // count
        records: list[Record] = []
        errors: list[ParseError] = []
        for n in range(count):
            try:
                records.append(
                    self._decode_one(fields[n * width : (n + 1) * width], trading_date, received_ns)
                )
            except ParseError as exc:
                exc.record_index = n
                errors.append(exc)
        return records, errors

    def _decode_one(self, texts: list[str], trading_date: date | None, received_ns: int | None) -> Record:
        present = min(len(texts), self.width)
        values: list[Any] = []
        for i in range(present):
            try:
                values.append(parse_value(self._kinds[i], texts[i]))
            except (ValueError, OverflowError) as exc:
                raise FieldError(
                    f"{self.layout.fields[i].kis} ({self._kinds[i].value}): {exc}",
                    raw=texts[i],
                    tr_id=self.layout.tr_id,
                    field_index=i,
                ) from None
        values += [None] * (self.width - present)
        if self._ordered is not None and not self._ordered(values):
            raise BookOrderError(
                "book prices out of order (asks must rise and bids fall from level 1)",
                raw="^".join(texts),
                tr_id=self.layout.tr_id,
            )
        # A record lacking only optional trailing fields (Layout.required) is complete.
        missing = max(0, self.layout.required - present)
        return self.record_type(*values, tuple(texts[present:]), missing, trading_date, received_ns)

    def encode(self, record: Record) -> list[str]:
        """The wire texts of a record, extra fields included (the inverse of decoding). Optional
        trailing fields (``Layout.required``) that are None and not followed by extra fields
        are left out, as the frame that carried the record left them out."""
        fields = self.layout.fields
        width = len(fields)
        if not record.extra:
            while width > self.layout.required and getattr(record, fields[width - 1].name) is None:
                width -= 1
        texts = [format_value(f.kind, getattr(record, f.name)) for f in fields[:width]]
        return texts + list(record.extra)


CODECS: dict[str, RecordCodec] = {tr: RecordCodec(cls) for tr, cls in RECORD_TYPES.items()}


def same_values(a: Record, b: Record) -> bool:
    """Field-by-field equality in which NaN equals NaN (``==`` on records says NaN != NaN)."""
    if type(a) is not type(b):
        return False
    for name in a.__struct_fields__:
        x, y = getattr(a, name), getattr(b, name)
        if x != y and not (isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y)):
            return False
    return True
