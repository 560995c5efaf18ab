"""Value kinds of real-time fields: how each kind's wire text becomes a Python value and back.

Every field is a string on the wire ("모든 데이터타입은 String으로 변환되어 push 처리됨", the spec's
response table). The kind of a field decides its Python type and, in ``WIRE``, the one
definition of the texts it may carry (reference sections 2.5 and 4.4):

========== ================ ====================================================
kind       Python type      wire text (``WIRE``)
========== ================ ====================================================
CODE       ``str``          any text, kept verbatim
TIME       ``datetime.time`` ``HHMMSS`` KST, a time of day; ``000000`` is "not set" → None
INT        ``int``          quantities and counts: ``-?[0-9]+`` within int64
SIGNED     ``int``          differences in whole won or contracts (``-300``): as INT
PRICE      ``int``          stock-futures prices, whole KRW (``64300``): as INT
DECIMAL    ``float``        digits with an optional ``.`` and sign ``-`` (``64299.50``, ``-0.47``),
                            finite; or ``nan``/``-nan`` in any letter case (C ``printf``) → NaN
SIGN       ``Sign``         sign code ``0``..``5``
FLAG       ``str``          one-character flag whose value set is unknown (``Y``/``N``/``0``)
========== ================ ====================================================

An empty field is ``None`` whatever the kind. Anything else is refused: no exponent (``1e5``),
no fraction in an integer field (``1630.00``), no ``null``, ``inf``, ``+``, spaces, ``_``, hex
or non-ASCII digits; the wire is C ``printf`` output, which writes none of them. Every path
that turns wire text into values agrees with ``parse_value``: the protocol's fast path
(``records.RecordCodec``, which checks the few forms its converter would read differently)
and the store's columnar path (``store.columns``, whose casts take a subset of ``WIRE`` and
leave every other text to the protocol); ``tests/schema/test_wire.py`` holds them to it.

``format_value`` prints a float with 2 decimals unless its value needs more, so every 2-decimal
wire text round-trips exactly; a text padded past what its value needs (``92.3100``, Greeks'
decimal count is [UNK]) keeps its value only.
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Callable
from datetime import time
from decimal import Decimal
from typing import Any

__all__ = ["Kind", "Sign", "WIRE", "INT64", "parse_value", "format_value", "TIMES"]


class Kind(enum.Enum):
    CODE = "code"
    TIME = "time"
    INT = "int"
    SIGNED = "signed"
    PRICE = "price"
    DECIMAL = "decimal"
    SIGN = "sign"
    FLAG = "flag"

    @property
    def python_type(self) -> type:
        return _PYTHON_TYPES[self]


class Sign(enum.IntEnum):
    """Sign codes of ``PRDY_VRSS_SIGN`` and ``*_VRSS_PRPR_SIGN`` (reference 4.4)."""

    #: No comparison available. Not in the KIS tables; python-kis maps ``0`` defensively and so
    #: do we, so that one odd code never costs a trade record.
    NONE = 0
    LIMIT_UP = 1  # 상한
    UP = 2  # 상승
    UNCHANGED = 3  # 보합
    LIMIT_DOWN = 4  # 하한
    DOWN = 5  # 하락


_PYTHON_TYPES: dict[Kind, type] = {
    Kind.CODE: str,
    Kind.TIME: time,
    Kind.INT: int,
    Kind.SIGNED: int,
    Kind.PRICE: int,
    Kind.DECIMAL: float,
    Kind.SIGN: Sign,
    Kind.FLAG: str,
}


#: The texts a field of each kind may carry (an empty field, None, aside): the one definition
#: (module docstring). Plain regular expressions that Python's ``re`` and Arrow's RE2 read alike.
WIRE: dict[Kind, str] = {
    Kind.CODE: r"(?s:.+)",
    Kind.TIME: r"[0-9]{6}",  # and a time of day (_TimeCache)
    Kind.INT: r"-?[0-9]+",  # and within INT64
    Kind.SIGNED: r"-?[0-9]+",
    Kind.PRICE: r"-?[0-9]+",
    # "5." and ".5" too: no printf writes them, but every reader takes them alike
    Kind.DECIMAL: r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)|-?[nN][aA][nN]",  # and finite unless NaN
    Kind.SIGN: r"[0-5]",
    Kind.FLAG: r"(?s:.+)",
}
#: Integer fields hold int64 values: a Parquet int64 column cannot hold more, so the protocol
#: refuses what the store could not keep (one answer on every path).
INT64 = (-(2**63), 2**63 - 1)
_MATCH = {kind: re.compile(pattern).fullmatch for kind, pattern in WIRE.items()}

#: ``000000`` in a time field means "not set": the portal's example frames carry it in
#: ``OPRC_HOUR``/``HGPR_HOUR``/``LWPR_HOUR`` (reference 2.5, 4.4), and no stock F/O session spans
#: midnight (reference 6: no night session), so it is no time of a trade either (``BSOP_HOUR``).
NOT_SET = "000000"


class _TimeCache(dict[str, "time | None"]):
    """``HHMMSS`` → ``time`` (``000000`` → None); parses each distinct text once (at most 86,400
    valid entries).

    A dict lookup costs ~20 ns where building a ``time`` costs ~500 ns, and a trading day has far
    fewer distinct seconds than records. Invalid text raises ``ValueError`` and is not cached.
    """

    def __missing__(self, text: str) -> time | None:
        if len(text) != 6 or not text.isascii() or not text.isdigit():
            raise ValueError(f"not an HHMMSS time: {text!r}")
        value = time(int(text[0:2]), int(text[2:4]), int(text[4:6])) if text != NOT_SET else None
        self[text] = value
        return value


TIMES = _TimeCache()

_SIGNS: dict[str, Sign] = {str(int(s)): s for s in Sign}


def _parse_int(text: str) -> int:
    # int() also takes " 5", "+5", "1_000" and "١٢"; the wire has none of them (WIRE).
    if not _MATCH[Kind.INT](text):
        raise ValueError(f"not an integer: {text!r}")
    value = int(text)
    if not INT64[0] <= value <= INT64[1]:
        raise ValueError(f"past the int64 range: {text!r}")
    return value


def _parse_decimal(text: str) -> float:
    # float() also takes "1e5", "inf", " 5" and "1_0"; the wire has none of them (WIRE).
    if not _MATCH[Kind.DECIMAL](text):
        raise ValueError(f"not a decimal: {text!r}")
    value = float(text)  # "nan" and "-nan" → NaN (reference 2.5)
    if math.isinf(value):
        raise ValueError(f"past the float64 range: {text[:20]!r}")
    return value


def _parse_sign(text: str) -> Sign:
    try:
        return _SIGNS[text]
    except KeyError:
        raise ValueError(f"not a sign code 0-5: {text!r}") from None


def _parse_text(text: str) -> str:
    return text


_PARSERS: dict[Kind, Callable[[str], Any]] = {
    Kind.CODE: _parse_text,
    Kind.TIME: TIMES.__getitem__,
    Kind.INT: _parse_int,
    Kind.SIGNED: _parse_int,
    Kind.PRICE: _parse_int,
    Kind.DECIMAL: _parse_decimal,
    Kind.SIGN: _parse_sign,
    Kind.FLAG: _parse_text,
}


def parse_value(kind: Kind, text: str) -> Any:
    """The careful, one-field parser and the definition of ``WIRE``: ``None`` for an empty field
    (and a TIME of ``000000``), ``ValueError`` for text the kind may not carry."""
    if text == "":
        return None
    return _PARSERS[kind](text)


def format_value(kind: Kind, value: Any) -> str:
    """The wire text of one value: the inverse of ``parse_value`` for every text KIS sends."""
    if value is None:
        return NOT_SET if kind is Kind.TIME else ""  # KIS writes a time not set as 000000
    if kind is Kind.DECIMAL:
        if math.isnan(value):
            return "nan"
        text = f"{value:.2f}"
        if float(text) == value:
            return text
        # the shortest text of the value, positional: repr writes 1e-05, which WIRE refuses
        return format(Decimal(repr(value)), "f")
    if kind is Kind.TIME:
        return f"{value.hour:02d}{value.minute:02d}{value.second:02d}"
    if kind is Kind.SIGN:
        return str(int(value))
    return str(value)
