"""Typed record classes, built from the layouts, and the codec between field texts and records.

Each TR gets one frozen ``msgspec.Struct``: one attribute per layout field (English name, typed
by its kind, ``None`` when the field was empty or absent), then four attributes of metadata:

``extra``          fields past the documented layout, kept raw (KIS appends fields; reference 2.5)
``missing``        how many documented fields the frame did not carry (0 for a complete record)
``trading_date``   the KST trading date the receiver attached (frames carry ``HHMMSS`` only)
``received_ns``    local receive time, ns since the epoch, when the receiver knows it

Decoding takes a fast path (one ``msgspec.convert`` call per record, about a microsecond for 49
fields) and falls back to a field-by-field path only when that fails, which handles empty fields
and short records and finds the exact field at fault.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta, timezone
from typing import Annotated, Any, ClassVar, Literal

import msgspec

from ..exceptions import FieldError
from .kinds import TIMES, Kind, format_value, parse_value
from .layouts import FUTURES_TRADE, OPTION_TRADE, Layout

__all__ = [
    "KST",
    "Record",
    "FuturesTrade",
    "OptionTrade",
    "RecordCodec",
    "RECORD_TYPES",
    "CODECS",
]

KST = timezone(timedelta(hours=9), "KST")

KeyStyle = Literal["english", "kis", "korean"]
_META = ("extra", "missing", "trading_date", "received_ns")


class Record(msgspec.Struct, frozen=True, gc=False, array_like=True):
    """Base of the typed records. ``layout`` is the TR layout the record was built from."""

    layout: ClassVar[Layout]

    @property
    def tr_id(self) -> str:
        return self.layout.tr_id

    @property
    def complete(self) -> bool:
        """False when the frame carried fewer fields than the documented layout."""
        return self.missing == 0  # type: ignore[attr-defined]

    @property
    def exchange_time(self) -> datetime | None:
        """Trading date (KST) + ``BSOP_HOUR``, timezone-aware; None if either is unknown."""
        day: date | None = self.trading_date  # type: ignore[attr-defined]
        hour = self.time  # type: ignore[attr-defined]
        if day is None or hour is None:
            return None
        return datetime.combine(day, hour, KST)

    def to_dict(self, keys: KeyStyle = "english") -> dict[str, Any]:
        """The layout fields as a dict keyed by English name, KIS code (``STCK_PRPR``) or
        Korean label (``주식현재가``), in wire order. Metadata stays on the attributes."""
        attr = {"english": "name", "kis": "kis", "korean": "korean"}.get(keys)
        if attr is None:
            raise ValueError(f"keys must be 'english', 'kis' or 'korean', not {keys!r}")
        return {getattr(f, attr): getattr(self, f.name) for f in self.layout.fields}


def _annotation(kind: Kind) -> Any:
    if kind.python_type is str:  # an empty text field is None, as every other kind's: refuse ""
        return Annotated[str, msgspec.Meta(min_length=1)] | None  # so the careful path decides
    return kind.python_type | None


def _record_type(layout: Layout, name: str) -> type[Record]:
    fields: list[tuple[str, Any, Any]] = [
        (f.name, _annotation(f.kind), None) for f in layout.fields
    ]
    fields += [
        ("extra", tuple[str, ...], ()),
        ("missing", int, 0),
        ("trading_date", date | None, None),
        ("received_ns", int | None, None),
    ]
    cls = msgspec.defstruct(
        name, fields, bases=(Record,), module=__name__, frozen=True, gc=False, array_like=True
    )
    cls.layout = layout
    cls.__doc__ = f"One {layout.tr_id} record ({layout.korean}, {layout.english})."
    return cls


FuturesTrade = _record_type(FUTURES_TRADE, "FuturesTrade")
OptionTrade = _record_type(OPTION_TRADE, "OptionTrade")
RECORD_TYPES: dict[str, type[Record]] = {FUTURES_TRADE.tr_id: FuturesTrade, OPTION_TRADE.tr_id: OptionTrade}


class RecordCodec:
    """Field texts ⇄ records for one layout."""

    def __init__(self, record_type: type[Record]) -> None:
        self.record_type = record_type
        self.layout = layout = record_type.layout
        self.width = layout.width
        self._time_index = time_index = tuple(f.index for f in layout.fields if f.kind is Kind.TIME)
        self._kinds = tuple(f.kind for f in layout.fields)
        times, convert = TIMES, msgspec.convert

        def whole(fields: list[Any], trading_date: date | None, received_ns: int | None) -> Record:
            # One exact-width record, converted in place. A closure: its names are cell
            # lookups, which saves ~10% of a record's time on this, the hottest path.
            for i in time_index:
                fields[i] = times[fields[i]]
            fields += ((), 0, trading_date, received_ns)
            return convert(fields, record_type, strict=False)

        self._whole = whole

    def decode_fast(
        self,
        fields: list[str],
        count: int,
        trading_date: date | None = None,
        received_ns: int | None = None,
    ) -> list[Record]:
        """The ``count`` records of ``fields``, or ``ValueError``/``msgspec.ValidationError``
        if any field is empty or odd, or records are narrower than the layout; then use
        ``decode_carefully``. It consumes ``fields`` (the list is changed in place)."""
        if count == 1 and len(fields) == self.width:  # the common frame: no copy at all
            return [self._whole(fields, trading_date, received_ns)]
        width = len(fields) // count
        layout_width = self.width
        if width < layout_width:
            raise ValueError("records narrower than the layout")
        times, convert, record_type = TIMES, msgspec.convert, self.record_type
        records = []
        for start in range(0, count * width, width):
            values: list[Any] = fields[start : start + layout_width]
            for i in self._time_index:
                values[i] = times[values[i]]
            extra = tuple(fields[start + layout_width : start + width]) if width > layout_width else ()
            values += (extra, 0, trading_date, received_ns)
            records.append(convert(values, record_type, strict=False))
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
                records.append(self._decode_one(fields[n * width : (n + 1) * width], trading_date, received_ns))
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
        return texts + list(record.extra)  # type: ignore[attr-defined]


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
