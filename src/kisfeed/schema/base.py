"""``Record`` and ``Book``, the bases of the typed records, and the KST trading day.

The record classes themselves, one per layout, are generated into ``generated.py``
(``python -m kisfeed.schema.generate``); ``records.py`` holds the codec between field texts
and records. This module is apart from both so that ``generated.py`` can subclass ``Record``
without an import cycle.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, NamedTuple, TypeAlias

import msgspec

from .kinds import INT64
from .layouts import Layout

__all__ = ["KST", "kst_day", "KeyStyle", "DICT_META", "Record", "Book", "Level", "Text", "Int64"]

KST = dt.timezone(dt.timedelta(hours=9), "KST")


def kst_day(received_ns: int) -> dt.date:
    """The KST date of a receive time: the trading date kisfeed attaches to a record (frames
    carry ``HHMMSS`` only, reference 2.4) and files its journal line under. The one place this
    is decided; the feed caches it per day."""
    # Integer seconds: ns / 1e9 as a float rounds the last microsecond of a day into the next.
    return dt.datetime.fromtimestamp(received_ns // 1_000_000_000, KST).date()


# The annotations of text and integer fields. Their constraints send to the codec's careful path
# what it alone decides (``records.RecordCodec``): an empty text field is None as every other
# kind's, and an integer past int64 is refused (``kinds.INT64``). Type checkers see str and int.
Text: TypeAlias = Annotated[str, msgspec.Meta(min_length=1)]
Int64: TypeAlias = Annotated[int, msgspec.Meta(ge=INT64[0], le=INT64[1])]

KeyStyle = Literal["english", "kis", "korean"]
#: What ``to_dict`` adds after the layout fields, under these names whatever the key style:
#: they are kisfeed's, not KIS columns.
DICT_META = ("trading_date", "exchange_time", "received_ns")


class Record(msgspec.Struct, frozen=True, gc=False, array_like=True):
    """Base of the typed records. ``layout`` is the TR layout the record was built from.

    A subclass has one attribute per layout field (English name, typed by its kind, ``None``
    when the field was empty or absent), in wire order, then four attributes of metadata:

    ``extra``          fields past the documented layout, kept raw (KIS appends fields; reference 2.5)
    ``missing``        how many documented fields the frame did not carry (0 for a complete record)
    ``trading_date``   the KST trading date the receiver attached (frames carry ``HHMMSS`` only)
    ``received_ns``    local receive time, ns since the epoch, when the receiver knows it
    """

    layout: ClassVar[Layout]

    if TYPE_CHECKING:
        # What every subclass declares as a field (the metadata, and the ``code`` and ``time``
        # that every layout starts with: ``*_SHRN_ISCD``, ``BSOP_HOUR``), for code that holds a
        # plain ``Record``. Read-only properties for the type checker only: at run time the base
        # has no fields, so a subclass's stay in wire order.
        @property
        def code(self) -> str | None: ...
        @property
        def extra(self) -> tuple[str, ...]: ...
        @property
        def missing(self) -> int: ...
        @property
        def trading_date(self) -> dt.date | None: ...
        @property
        def received_ns(self) -> int | None: ...
        @property
        def time(self) -> dt.time | None: ...

    @property
    def tr_id(self) -> str:
        return self.layout.tr_id

    @property
    def complete(self) -> bool:
        """False when the frame carried fewer fields than the documented layout."""
        return self.missing == 0

    @property
    def exchange_time(self) -> dt.datetime | None:
        """Trading date (KST) + ``BSOP_HOUR``, timezone-aware; None if either is unknown (a
        ``BSOP_HOUR`` of ``000000`` is "not set", ``kinds.NOT_SET``)."""
        day, hour = self.trading_date, self.time
        if day is None or hour is None:
            return None
        return dt.datetime.combine(day, hour, KST)

    def to_dict(self, keys: KeyStyle = "english") -> dict[str, Any]:
        """The layout fields as a dict keyed by English name, KIS code (``STCK_PRPR``) or
        Korean label (``주식현재가``), in wire order, then ``trading_date``, ``exchange_time``
        and ``received_ns`` (under these names in every key style). ``extra`` and ``missing``
        stay on the attributes."""
        attr = {"english": "name", "kis": "kis", "korean": "korean"}.get(keys)
        if attr is None:
            raise ValueError(f"keys must be 'english', 'kis' or 'korean', not {keys!r}")
        out = {getattr(f, attr): getattr(self, f.name) for f in self.layout.fields}
        for name in DICT_META:
            out[name] = getattr(self, name)
        return out


class Level(NamedTuple):
    """One price level of a book side: the price (KRW for futures, the premium for options), the
    quantity resting there (``*_RSQN``) and the number of orders (``*_CSNU``; ``count`` would
    hide ``tuple.count``)."""

    price: float
    qty: int
    orders: int


def _side(depth: int, side: str) -> Callable[[Any], tuple[Any, ...]]:
    """Reads one side's levels (price, qty, count of level 1, then of level 2, ...) by name."""
    names = [
        name for n in range(1, depth + 1) for name in (f"{side}{n}", f"{side}{n}_qty", f"{side}{n}_count")
    ]
    return operator.attrgetter(*names)


class Book(Record, frozen=True, gc=False, array_like=True):
    """Base of the order-book records (H0ZFASP0, H0ZOASP0): ten levels a side as attributes
    (``ask1``, ``ask1_qty``, ``ask1_count``, ..., the same names whatever the TR's wire order),
    and as ordered sequences of ``Level`` in ``asks`` and ``bids``."""

    _sides: ClassVar[tuple[Callable[[Any], tuple[Any, ...]], Callable[[Any], tuple[Any, ...]]]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._sides = (_side(cls.layout.depth, "ask"), _side(cls.layout.depth, "bid"))

    @property
    def asks(self) -> tuple[Level, ...]:
        """The published ask levels, best (lowest) first, up to the first empty one: KIS writes
        an empty level as price ``0`` (``0.00`` for options) with ``0`` quantity and count."""
        return _levels(self._sides[0](self))

    @property
    def bids(self) -> tuple[Level, ...]:
        """The published bid levels, best (highest) first, up to the first empty one."""
        return _levels(self._sides[1](self))


def _levels(flat: tuple[Any, ...]) -> tuple[Level, ...]:
    levels = []
    for i in range(0, len(flat), 3):
        price = flat[i]
        if not price:  # 0, 0.0 or None: the side ends here
            break
        levels.append(Level(price, flat[i + 1] or 0, flat[i + 2] or 0))
    return tuple(levels)
