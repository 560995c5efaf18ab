"""The wire texts of the simulator's records: every record is written here from its layout, by
field name (``record_text``), so a new TR or a changed layout needs no format string; trade values
come from ``sim/contracts.py``, book values from :func:`book_values`.

An index product's prices are kept in hundredths of a point (``sim/index.py``) and written as
points with 2 decimals (``to_points``, reference 4.6: ``355.25``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial

from ..schema.kinds import Kind, format_value
from ..schema.layouts import Layout
from .book import DEPTH, ORDERS, PRICE, QTY, Level, Levels

__all__ = [
    "FieldValues",
    "STR_KINDS",
    "record_text",
    "sign_code",
    "r2",
    "dn",
    "hhmmss",
    "to_points",
    "FUTURES_POINT_FIELDS",
    "OPTION_POINT_FIELDS",
    "book_values",
]


def sign_code(diff: float) -> str:
    """2 up, 3 unchanged, 5 down (reference 4.4; 1/4 are the daily limits, decided by callers)."""
    return "2" if diff > 0 else "5" if diff < 0 else "3"


def r2(value: float) -> float:
    """``value`` rounded to the 2 decimals the wire carries (``format_value`` then writes exactly
    those 2), never a negative zero (``-0.0 + 0.0`` is ``0.0``)."""
    return round(value, 2) + 0.0


def dn(value: float, decimals: int) -> str:
    """``decimals`` places, never a negative zero: the Greeks' wire text, whose decimal count is
    the server's setting (``SimConfig.greek_decimals``; [UNK] in reference 4.2), so it is written
    here rather than by ``format_value``, which writes a value's shortest 2-or-more decimals."""
    text = f"{value:.{decimals}f}"
    return text[1:] if text[0] == "-" and not text.strip("-0.") else text


#: English field name (``schema.layouts``) -> value. A ``str`` is the field's wire text as it is
#: (codes, flags, sign codes, ``HHMMSS`` times, Greeks); anything else is a value of the field's
#: kind, written by ``schema.kinds.format_value``.
FieldValues = Mapping[str, object]

#: Kinds whose values ``format_value`` writes with ``str`` (its last branch): called directly on
#: the hot path, one call per field fewer (``tests/sim/test_contracts.py`` holds them equal).
STR_KINDS = frozenset({Kind.CODE, Kind.FLAG, Kind.INT, Kind.SIGNED, Kind.PRICE})

_PLANS: dict[str, tuple[tuple[str, Callable[[object], str]], ...]] = {}


def record_text(layout: Layout, values: FieldValues) -> str:
    """One record's ``^``-joined wire text, in the layout's field order: the only place the
    simulator orders fields, so a new TR or a changed layout needs no format string here."""
    plan = _PLANS.get(layout.tr_id)
    if plan is None:
        plan = _PLANS[layout.tr_id] = tuple(  # the fields a complete record carries: H0ZOANC0's 7 of 8
            (f.name, str if f.kind in STR_KINDS else partial(format_value, f.kind))
            for f in layout.fields[: layout.required]
        )
    try:
        return "^".join(
            [value if isinstance(value := values[name], str) else write(value) for name, write in plan]
        )
    except KeyError as exc:
        raise KeyError(f"{layout.tr_id}: no value for field {exc.args[0]!r}") from None


#: The fields of a trade that are prices or price differences: an index product's are kept in
#: hundredths of a point and written as points (2 decimals, reference 4.6).
_PRICES = ("price", "change", "open", "high", "low", "theoretical_price", "market_basis", "vs_open",
           "vs_high", "vs_low", "disparity", "theoretical_basis", "ask1", "bid1",
           "dynamic_upper_limit", "dynamic_lower_limit")  # fmt: skip
FUTURES_POINT_FIELDS = (*_PRICES, "near_month_price", "far_month_price", "spread")
OPTION_POINT_FIELDS = (*_PRICES, "premium", "intrinsic_value", "time_value")


def to_points(values: dict[str, object], names: tuple[str, ...]) -> None:
    for name in names:
        value = values[name]
        if isinstance(value, int | float):
            values[name] = value / 100


_TIMES: dict[int, str] = {}


def hhmmss(timestamp: float) -> str:
    """``BSOP_HOUR`` text of a POSIX time in KST (UTC+9, no daylight saving)."""
    second = int(timestamp + 32_400) % 86_400
    text = _TIMES.get(second)
    if text is None:
        text = _TIMES[second] = f"{second // 3600:02d}{second % 3600 // 60:02d}{second % 60:02d}"
    return text


# --- the records (written through the layouts by name: the two book TRs order fields differently)

_EMPTY: Level = (0, 0, 0)
_NAMES = tuple(
    (f"ask{n}", f"ask{n}_qty", f"ask{n}_count", f"bid{n}", f"bid{n}_qty", f"bid{n}_count")
    for n in range(1, DEPTH + 1)
)


def book_values(
    code: str,
    time_text: str,
    sides: tuple[Levels, Levels],
    before: tuple[int, int],
    most: int = DEPTH,
    points: bool = False,
) -> dict[str, object]:
    """The fields of a book record (reference 4.5) by name: ``most`` levels each side (10 for
    H0ZFASP0/H0ZOASP0, 5 for H0IFASP0/H0IOASP0; empty ones 0), the totals as sums of them, and
    their change since ``before``. ``points``: prices are hundredths, written as points."""
    asks, bids = sides
    values: dict[str, object] = {"code": code, "time": time_text}
    for n, (ap, aq, ac, bp, bq, bc) in enumerate(_NAMES[:most]):
        a = asks[n] if n < len(asks) else _EMPTY
        b = bids[n] if n < len(bids) else _EMPTY
        values[ap], values[aq], values[ac] = a
        values[bp], values[bq], values[bc] = b
        if points:
            values[ap], values[bp] = a[PRICE] / 100, b[PRICE] / 100
    ask_total, bid_total = sum(x[QTY] for x in asks[:most]), sum(x[QTY] for x in bids[:most])
    values["total_ask_count"] = sum(x[ORDERS] for x in asks[:most])
    values["total_bid_count"] = sum(x[ORDERS] for x in bids[:most])
    values["total_ask_qty"], values["total_bid_qty"] = ask_total, bid_total
    values["total_ask_qty_change"] = ask_total - before[0]
    values["total_bid_qty_change"] = bid_total - before[1]
    return values
