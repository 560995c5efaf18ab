"""KRX tick tables: where a stock, a stock future and a stock option can trade (reference 6).

* Stocks and, since 2023-01-25, stock futures share one table (KRX "코스피·코스닥·코넥스·
  주식선물시장의 호가 가격 단위 변경", 매경/연합 2023-01-17; Daishin's product page lists the same
  for 주식선물): below 2,000 won 1; 5,000: 5; 20,000: 10; 50,000: 50; 200,000: 100;
  500,000: 500; above: 1,000.
* Stock option premiums: below 1,000 won 10; 2,000: 20; 5,000: 50; 10,000: 100; above: 200
  (reference 6, inferred: a broker's "tick KRW 10~200" and every price of the official
  H0ZOCNT0/H0ZOASP0 examples fit it). [UNK], so ``SimConfig.option_ticks`` can replace it.

* KOSPI200 futures and options (``sim/index.py``), in hundredths of a point: futures 0.05
  point everywhere; option premiums 0.01 below 10 points, 0.05 from 10 (Daishin's product page;
  the KRX 2019 weekly-option table; the brief's facts, issue 16).

A table is a tuple of ``(price below, tick)`` rows in order, the last row's bound infinite.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Callable, Sequence

__all__ = [
    "TickTable",
    "STOCK_TICKS",
    "OPTION_TICKS",
    "INDEX_FUTURES_TICKS",
    "INDEX_OPTION_TICKS",
    "Grid",
    "STOCK_GRID",
    "INDEX_FUTURES_GRID",
    "INDEX_OPTION_GRID",
    "stock_tick",
]

TickTable = tuple[tuple[float, int], ...]

STOCK_TICKS: TickTable = (
    (2_000, 1), (5_000, 5), (20_000, 10), (50_000, 50), (200_000, 100), (500_000, 500), (math.inf, 1_000),
)  # fmt: skip
OPTION_TICKS: TickTable = ((1_000, 10), (2_000, 20), (5_000, 50), (10_000, 100), (math.inf, 200))
INDEX_FUTURES_TICKS: TickTable = ((math.inf, 5),)  # hundredths of a point
INDEX_OPTION_TICKS: TickTable = ((1_000, 1), (math.inf, 5))


class Grid:
    """The valid prices of one tick table. Every band's bound is a multiple of every tick below
    it (true of both KRX tables), so one step up from a price adds that price's tick and one step
    down subtracts the tick just below it."""

    __slots__ = ("tick_of", "table")

    def __init__(self, table: Sequence[tuple[float, int]]) -> None:
        rows = tuple((float(below), int(tick)) for below, tick in table)
        if not rows or rows[-1][0] != math.inf:
            raise ValueError("a tick table's last row must cover every price (bound inf)")
        for (bound, tick), (above, next_tick) in itertools.pairwise(rows):
            if tick <= 0 or bound % tick or bound % next_tick or above <= bound:
                raise ValueError(
                    f"tick table rows must rise and each bound be a multiple of its tick: {rows}"
                )
        self.table: TickTable = rows
        bounds, ticks = [b for b, _ in rows[:-1]], [t for _, t in rows]
        cut = bisect.bisect_right
        self.tick_of: Callable[[float], int] = lambda price: ticks[cut(bounds, price)]

    def floor(self, value: float) -> int:
        """The highest price on the grid at or below ``value``."""
        tick = self.tick_of(value)
        return int(value // tick) * tick

    def ceil(self, value: float) -> int:
        """The lowest price on the grid at or above ``value``."""
        tick = self.tick_of(value)
        return -int(-value // tick) * tick

    def round(self, value: float) -> int:
        """The price on the grid nearest ``value`` (the tick of ``value``'s own band)."""
        tick = self.tick_of(value)
        return round(value / tick) * tick  # a band's bound is on every lower band's grid

    def band(self, reference: float, fraction: float) -> tuple[int, int]:
        """(upper, lower): the prices on the grid within ``fraction`` of ``reference`` (a daily
        or dynamic price limit)."""
        return self.floor(reference * (1 + fraction)), self.ceil(reference * (1 - fraction))

    def up(self, price: int, steps: int = 1) -> int:
        """``steps`` ticks above a price on the grid."""
        for _ in range(steps):
            price += self.tick_of(price)
        return price

    def down(self, price: int, steps: int = 1) -> int:
        """``steps`` ticks below a price on the grid, never below zero."""
        for _ in range(steps):
            if price <= 0:
                return 0
            price -= self.tick_of(price - 1)
        return max(price, 0)

    def on_grid(self, price: float) -> bool:
        return price >= 0 and price == int(price) and int(price) % self.tick_of(price) == 0


STOCK_GRID = Grid(STOCK_TICKS)
INDEX_FUTURES_GRID = Grid(INDEX_FUTURES_TICKS)
INDEX_OPTION_GRID = Grid(INDEX_OPTION_TICKS)
stock_tick = STOCK_GRID.tick_of
