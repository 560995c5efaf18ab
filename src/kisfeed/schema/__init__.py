"""TR layouts as data and the typed records built from them (no I/O here)."""

from .kinds import Kind, Sign
from .layouts import FUTURES_TRADE, LAYOUTS, OPTION_TRADE, Field, Layout, layout_for
from .records import (
    CODECS,
    KST,
    RECORD_TYPES,
    FuturesTrade,
    OptionTrade,
    Record,
    RecordCodec,
    kst_day,
    same_values,
)

__all__ = [
    "Kind",
    "Sign",
    "Field",
    "Layout",
    "FUTURES_TRADE",
    "OPTION_TRADE",
    "LAYOUTS",
    "layout_for",
    "KST",
    "kst_day",
    "Record",
    "FuturesTrade",
    "OptionTrade",
    "RecordCodec",
    "RECORD_TYPES",
    "CODECS",
    "same_values",
]
