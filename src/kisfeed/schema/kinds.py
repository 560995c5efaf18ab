"""Value kinds of real-time fields: how each kind's wire text becomes a Python value and back.

Every field is a string on the wire ("모든 데이터타입은 String으로 변환되어 push 처리됨", the spec's
response table). The kind of a field decides its Python type (reference section 4.4):

========== ================ ====================================================
kind       Python type      wire text
========== ================ ====================================================
CODE       ``str``          instrument code, kept verbatim
TIME       ``datetime.time`` ``HHMMSS`` KST; ``000000`` is allowed and means 00:00:00
INT        ``int``          quantities and counts, never negative on the wire
SIGNED     ``int``          differences in whole won or contracts, ``-300``
PRICE      ``int``          stock-futures prices, whole KRW (``64300``)
DECIMAL    ``float``        2-decimal values (``64299.50``, ``-0.47``); ``nan``/``-nan`` → NaN
SIGN       ``Sign``         sign code ``1``..``5``
FLAG       ``str``          one-character flag whose value set is unknown (``Y``/``N``/``0``)
========== ================ ====================================================

An empty field is ``None`` whatever the kind. ``format_value`` prints a float with 2 decimals
unless its value needs more, so every 2-decimal wire text round-trips exactly; a text padded
past what its value needs (``92.3100``, Greeks' decimal count is [UNK]) keeps its value only.
"""

from __future__ import annotations

import enum
import math
from datetime import time
from typing import Any, Callable

__all__ = ["Kind", "Sign", "parse_value", "format_value", "TIMES"]


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


class _TimeCache(dict[str, time]):
    """``HHMMSS`` → ``time``; parses each distinct text once (at most 86,400 valid entries).

    A dict lookup costs ~20 ns where building a ``time`` costs ~500 ns, and a trading day has far
    fewer distinct seconds than records. Invalid text raises ``ValueError`` and is not cached.
    """

    def __missing__(self, text: str) -> time:
        if len(text) != 6 or not text.isascii() or not text.isdigit():
            raise ValueError(f"not an HHMMSS time: {text!r}")
        value = time(int(text[0:2]), int(text[2:4]), int(text[4:6]))
        self[text] = value
        return value


TIMES = _TimeCache()

_SIGNS: dict[str, Sign] = {str(int(s)): s for s in Sign}


def _parse_int(text: str) -> int:
    # int() also accepts " 5" and "1_000"; the wire never has them, so refuse them.
    if not text.isascii() or not (text.isdigit() or (text[0] in "+-" and text[1:].isdigit())):
        raise ValueError(f"not an integer: {text!r}")
    return int(text)


def _parse_decimal(text: str) -> float:
    value = float(text)  # accepts "nan" and "-nan" (reference 2.5)
    if "_" in text or text != text.strip():
        raise ValueError(f"not a decimal: {text!r}")
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
    """The careful, one-field parser: ``None`` for an empty field, ``ValueError`` for bad text."""
    if text == "":
        return None
    return _PARSERS[kind](text)


def format_value(kind: Kind, value: Any) -> str:
    """The wire text of one value: the inverse of ``parse_value`` for every text KIS sends."""
    if value is None:
        return ""
    if kind is Kind.DECIMAL:
        if math.isnan(value):
            return "nan"
        text = f"{value:.2f}"
        return text if float(text) == value else repr(value)
    if kind is Kind.TIME:
        return f"{value.hour:02d}{value.minute:02d}{value.second:02d}"
    if kind is Kind.SIGN:
        return str(int(value))
    return str(value)
