"""The record fields the commands show, as a type checker should see them.

The record classes are built from the layouts when ``schema.records`` is imported, so a type
checker knows them only as ``Record``. These protocols name the fields the board, ``replay``
and ``decode`` read, typed by their kinds (``schema/kinds.py``: a futures price is whole won,
an option price a decimal, reference 3.1 and 4.1); ``trade``, ``futures`` and ``option`` are
the one place a ``Record`` is taken for one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, cast

from ..schema import FuturesTrade, OptionTrade, Record, Sign
from ..schema.base import KeyStyle

__all__ = ["Trade", "FuturesView", "OptionView", "trade", "futures", "option"]


class Trade(Protocol):
    """What H0ZFCNT0 and H0ZOCNT0 records have in common, and what kisfeed adds to each."""

    @property
    def tr_id(self) -> str: ...
    @property
    def code(self) -> str | None: ...
    @property
    def price(self) -> int | float | None: ...
    @property
    def change_sign(self) -> Sign | None: ...
    @property
    def last_volume(self) -> int | None: ...
    @property
    def volume(self) -> int | None: ...
    @property
    def extra(self) -> tuple[str, ...]: ...
    @property
    def missing(self) -> int: ...
    @property
    def exchange_time(self) -> datetime | None: ...
    def to_dict(self, keys: KeyStyle = "english") -> dict[str, object]: ...


class FuturesView(Trade, Protocol):
    """An H0ZFCNT0 record, as the board shows it."""

    @property
    def price(self) -> int | None: ...
    @property
    def change(self) -> int | None: ...
    @property
    def change_rate(self) -> float | None: ...
    @property
    def open_interest(self) -> int | None: ...
    @property
    def market_basis(self) -> float | None: ...
    @property
    def bid1(self) -> int | None: ...
    @property
    def ask1(self) -> int | None: ...


class OptionView(Trade, Protocol):
    """An H0ZOCNT0 record, as the board's option chain shows it."""

    @property
    def price(self) -> float | None: ...
    @property
    def implied_volatility(self) -> float | None: ...
    @property
    def delta(self) -> float | None: ...


def trade(record: Record) -> Trade:
    """``record`` with its trade fields typed (every record kisfeed decodes is one)."""
    return cast(Trade, record)


def futures(record: Record) -> FuturesView | None:
    """``record`` as a futures trade, or None if it is not one."""
    return cast(FuturesView, record) if isinstance(record, FuturesTrade) else None


def option(record: Record) -> OptionView | None:
    """``record`` as an option trade, or None if it is not one."""
    return cast(OptionView, record) if isinstance(record, OptionTrade) else None
