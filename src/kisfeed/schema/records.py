"""The codec between field texts and records, and the table of record types by TR id.

The record classes (``trades.py``, generated from the layouts) derive from ``base.Record``;
both are re-exported here.

Decoding takes a fast path (one ``msgspec.convert`` call per record) and falls back to a
field-by-field path only when that fails, which handles empty fields and short records and
finds the exact field at fault. The field-by-field path is the definition
(``kinds.parse_value``, ``kinds.WIRE``); the fast path takes a record only where it gives the
same values, which ``RecordCodec.__init__`` explains.
"""

from __future__ import annotations

import math
import operator
from datetime import date
from typing import Any

import msgspec

from ..exceptions import FieldError
from .base import KST, Record, kst_day
from .kinds import TIMES, Kind, format_value, parse_value
from .trades import FuturesTrade, OptionTrade

__all__ = [
    "KST",
    "kst_day",
    "Record",
    "FuturesTrade",
    "OptionTrade",
    "RecordCodec",
    "RECORD_TYPES",
    "CODECS",
    "screened",
    "same_values",
]

RECORD_TYPES: dict[str, type[Record]] = {cls.layout.tr_id: cls for cls in (FuturesTrade, OptionTrade)}

_INTEGERS = (Kind.INT, Kind.SIGNED, Kind.PRICE)


def screened(source: str) -> bool:
    """False if ``source``, a text holding every field of a frame, may hold a text that the fast
    path's lax ``msgspec.convert`` reads although ``kinds.WIRE`` refuses it: ``null`` (any case)
    read as None, an exponent (``1e5``, ``1e-400``) or ``inf``/``Infinity`` read as a number,
    each of which holds a ``u``/``U``, an ``e``/``E`` or an ``i``/``I`` (no frame header does).
    ``RecordCodec`` checks the rest per record. Everything else the conversion reads, it reads
    as ``parse_value`` does; what it refuses goes the careful way. Capitals are looked for past
    the first field only: codes hold capitals (reference 5.1, 5.3), and a later record's code
    holding one costs its frame the fast path only, never a value."""
    if "e" in source or "u" in source or "i" in source:
        return False
    if "E" in source or "U" in source or "I" in source:  # rare: a code's capital, or a misread
        start = source.find("^")
        return not (
            source.find("E", start) >= 0 or source.find("U", start) >= 0 or source.find("I", start) >= 0
        )
    return True


class RecordCodec:
    """Field texts ⇄ records for one layout."""

    def __init__(self, record_type: type[Record]) -> None:
        self.record_type = record_type
        self.layout = layout = record_type.layout
        self.width = layout.width
        self._time_index = time_index = tuple(f.index for f in layout.fields if f.kind is Kind.TIME)
        self._kinds = tuple(f.kind for f in layout.fields)
        # The fast path: one lax ``msgspec.convert`` (see ``screened``); a record takes it only
        # if its sign and integer fields, joined, start with one digit per sign field (not
        # "-0") and hold no "." (no integral fraction, "1630.00").
        signs = [f.index for f in layout.fields if f.kind is Kind.SIGN]
        integers = operator.itemgetter(*signs, *(f.index for f in layout.fields if f.kind in _INTEGERS))
        n_signs = len(signs)
        times, convert, join = TIMES, msgspec.convert, "".join

        def whole(fields: list[Any], trading_date: date | None, received_ns: int | None) -> Record:
            # One exact-width record of a screened frame, converted in place. A closure: its
            # names are cell lookups, which saves ~10% of a record's time on this, the hottest path.
            numbers = join(integers(fields))
            if "." in numbers or not numbers[:n_signs].isdigit():
                raise ValueError("a text the fast path would misread")
            for i in time_index:
                fields[i] = times[fields[i]]
            fields += ((), 0, trading_date, received_ns)
            return convert(fields, record_type, strict=False)

        #: ``whole(fields, trading_date, received_ns)``: one record of exactly the layout's width
        #: from a frame that ``screened`` passed, or ``ValueError``/``msgspec.ValidationError``.
        self.whole = whole

    def decode_fast(
        self,
        fields: list[str],
        count: int,
        trading_date: date | None = None,
        received_ns: int | None = None,
        *,
        source: str,
    ) -> list[Record]:
        """The ``count`` records of ``fields``, or ``ValueError``/``msgspec.ValidationError``
        if any field is empty or odd, or records are narrower than the layout; then use
        ``decode_carefully``. ``source`` is a text holding every field (the plain frame, or the
        fields joined), for ``screened``. It consumes ``fields`` (the list is changed in place)."""
        if not screened(source):
            raise ValueError("a text the fast path would misread")
        if count == 1 and len(fields) == self.width:  # the common frame: no copy at all
            return [self.whole(fields, trading_date, received_ns)]
        width = len(fields) // count
        layout_width = self.width
        if width < layout_width:
            raise ValueError("records narrower than the layout")
        whole = self.whole
        records = []
        for start in range(0, count * width, width):
            record = whole(fields[start : start + layout_width], trading_date, received_ns)
            if width > layout_width:
                record = msgspec.structs.replace(
                    record, extra=tuple(fields[start + layout_width : start + width])
                )
            records.append(record)
        return records

    def decode_carefully(
        self,
        fields: list[str],
        count: int,
        trading_date: date | None = None,
        received_ns: int | None = None,
    ) -> tuple[list[Record], list[FieldError]]:
        """Field by field: empty fields become None, a short record is padded and flagged, and
        a bad field spoils its own record only (one ``FieldError`` naming record and field)."""
        width = len(fields) // count
        records: list[Record] = []
        errors: list[FieldError] = []
        for n in range(count):
            try:
                records.append(
                    self._decode_one(fields[n * width : (n + 1) * width], trading_date, received_ns)
                )
            except FieldError as exc:
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
        missing = self.width - present
        values += [None] * missing
        return self.record_type(*values, tuple(texts[present:]), missing, trading_date, received_ns)

    def encode(self, record: Record) -> list[str]:
        """The wire texts of a record, extra fields included (the inverse of decoding)."""
        texts = [format_value(f.kind, getattr(record, f.name)) for f in self.layout.fields]
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
