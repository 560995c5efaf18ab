"""Order books of the simulated market: what ``H0ZFASP0`` / ``H0ZOASP0`` publish (reference 4.5).

A contract's book is described, not stored level by level: the market's hot path (every order of
every contract) only records a :class:`Base` (best quotes, depth, a seed) and the publication
slot, and the 10 levels per side are drawn from the seed when someone reads them (a watched book
or trade record). So books cost the unwatched codes nothing and one seed gives one book whatever
is watched. The rules:

* **Levels** on the contract's tick grid (``sim/ticks.py``), asks rising and bids falling from
  the best quotes; as many per side as the contract's liquidity gives (``depth``: 10 for the
  busiest series, 2 for the thinnest, whose levels may also skip ticks), sizes ``1 + Exp(mean)``
  with the mean from the contract's print size. Fewer than 10 levels: the rest are written
  empty, ``0`` (``0.00`` for option premiums) price, quantity and count, as KIS writes them.
* **Totals** (``TOTAL_ASKP/BIDP_CSNU``, ``TOTAL_ASKP/BIDP_RSQN``) are the sums over the 10
  published levels (KRX since 2024, reference 4.5; the official H0ZOASP0 example adds up).
  ``TOTAL_*_RSQN_ICDC`` is the change of the total since the contract's previous book record
  (the day's first record: since the empty book of the night, day orders having expired).
* **Prints** hit the book at the instant of the order: the quotes are re-centred on the model's
  bid and ask (``sim/prints.py``), the order takes the ask (a buy) or the bid (a sell) and a
  sweep walks level after level; every level it passes is consumed, the last one fully or in part.
  The trade record's ``ASKP1``/``BIDP1``, ``ASKP_RSQN1``/``BIDP_RSQN1`` and ``TOTAL_*_RSQN`` are
  the book after that print (``after_print``).
* **Between prints** orders are added and cancelled: at a slot with a change (a hash of the
  base's seed and the slot, so any slot can be asked without replaying the others) the sizes of
  a few levels differ from the base's. Busier contracts change more often (``change_chance``).
  Prices move only with prints (the requote at an order's instant): a quiet series keeps its
  quotes. Nothing changes outside continuous trading.
* **The 0.2 s filter** (KIS filters derivatives quotes to 0.2-second intervals, the H0ZFASP0 /
  H0IFASP0 / H0MFASP0 docstrings in the official samples, ``spec/family/README.md``;
  ``SimConfig.book_interval``): the clock is cut into slots of that length and a contract
  publishes at most one book per slot. A change publishes at the start of its slot; a print in a
  slot already used publishes the book at the start of the next slot (the latest state then, so
  several prints of one slot give one record).
* **Auctions** (``sim/phases.py``): during a single-price auction a book shows the orders
  collected, asks from a few ticks below the expected price up and bids from a few ticks above
  it down, so the book may cross; a contract with no auction interest shows nothing new.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from .ticks import Grid

__all__ = [
    "Base",
    "Book",
    "Level",
    "Levels",
    "PRICE",
    "QTY",
    "ORDERS",
    "depth",
    "change_chance",
    "slot_of",
    "after_print",
    "totals",
    "DEPTH",
]

DEPTH = 10  # levels per side in H0ZFASP0 / H0ZOASP0 (reference 4.5); a layout's ``depth`` rules
_MASK = (1 << 64) - 1
QUOTE, AUCTION_BOOK = 0, 1
NOW, DEFERRED, MERGED = (
    0,
    1,
    2,
)  # what became of a publication (``Book.publish``)  # what a base describes: a continuous book, or an auction's orders


#: A level as the simulator builds it, (price, qty, orders): ``kisfeed.schema.Level`` with the
#: price on the grid, as a plain tuple (a named tuple costs several times more to make, and the
#: trade records of watched codes make twenty a print).
Level = tuple[int, int, int]
Levels = list[Level]
PRICE, QTY, ORDERS = 0, 1, 2
#: 64 quantiles of Exp(1): a level's size draws 6 bits of a hash instead of a generator's number.
_EXP = tuple(-math.log(1.0 - (k + 0.5) / 64) for k in range(64))


def slot_of(t: float, per_second: float) -> int:
    """The filter slot of POSIX time ``t`` (``per_second`` slots a second). The small epsilon
    puts a slot's start, ``n / per_second`` in floating point, in slot ``n``."""
    return int(t * per_second + 1e-6)


def mix(x: int) -> int:
    """splitmix64: a 64-bit hash, so that a slot's change is drawn without replaying the others."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


def depth(spread: int, most: int = DEPTH) -> int:
    """Levels per side of a contract quoted ``spread`` ticks wide (``Activity.spread_ticks``:
    1 for the busiest futures, 3 for a busy option series, up to 10 as trading thins): 10 down
    to 2, and at most ``most``, the book TR's depth (5 for the index books, H0IFASP0/H0IOASP0).
    [UNK] no source gives book depth by liquidity; the official H0ZFASP0/H0ZOASP0 examples
    are of busy series with 10 levels each side."""
    return max(2, min(most, 11 - spread))


def change_chance(spread: int, interval: float) -> float:
    """Chance that a slot of ``interval`` seconds carries a book change between prints: three
    changes a second for the busiest series (one tick wide; orders are added and cancelled far
    more often than they trade, and the 0.2 s filter allows five), falling as ``spread ** -2``
    (one every 33 s at ten ticks). [UNK] an assumption, like ``depth``: no source gives the
    update rate of a stock-derivatives book."""
    return min(0.8, 3.0 * interval / spread**2)


class Base:
    """A book as a print, an auction step or the open left it: enough to draw its levels."""

    __slots__ = (
        "kind",
        "seed",
        "ask",
        "bid",
        "levels",
        "mean",
        "grid",
        "ceiling",
        "floor",
        "chance",
        "drawn",
        "anchor",
    )

    def __init__(
        self, kind: int, seed: int, ask: int, bid: int, levels: int, mean: float, grid: Grid,
        ceiling: int, floor: int, chance: float,
    ) -> None:  # fmt: skip
        self.kind, self.seed, self.ask, self.bid = kind, seed, ask, bid
        self.levels, self.mean, self.grid = levels, mean, grid
        self.ceiling, self.floor = ceiling, floor  # no ask above / bid below (the daily limits)
        self.chance = chance  # per-slot chance of a change between prints (0: none)
        self.drawn: tuple[Levels, Levels] | None = None  # ``sides``, once drawn (never changed)
        self.anchor = bid  # what a lazy ask (``-n``) counts its ticks from: the bid as quoted

    def sides(self) -> tuple[Levels, Levels]:
        """(asks, bids), best first, drawn from the seed: each side's sizes from the 6-bit
        slices of one hash, its order counts and tick gaps from another (a fresh generator per
        book would cost more than the rest of a trade record)."""
        if self.drawn is not None:
            return self.drawn
        seed, tick_of = self.seed, self.grid.tick_of
        gaps = self.levels <= 4  # thin books skip ticks now and then
        asks = _side(
            mix(seed),
            mix(seed ^ 0x1234),
            self.ask_price(),
            self.levels,
            self.mean,
            gaps,
            tick_of,
            1,
            self.ceiling,
        )
        bids = _side(
            mix(seed ^ 0x5678),
            mix(seed ^ 0x9ABC),
            self.bid,
            self.levels,
            self.mean,
            gaps,
            tick_of,
            -1,
            self.floor,
        )
        self.drawn = asks, bids
        return asks, bids

    def ask_price(self) -> int:
        """The best ask. A print that did not take the ask leaves it as ``-n``: ``n`` ticks
        above the bid as quoted before the print (``anchor``), at least the lowest tick, at most
        the ceiling, worked out here (only a book someone reads needs it)."""
        ask = self.ask
        if ask < 0:
            grid = self.grid
            ask = max(grid.up(self.anchor, -ask), grid.tick_of(0))
            if self.ceiling:
                ask = min(ask, self.ceiling)
            self.ask = ask
        return ask

    def best(self) -> tuple[int, int]:
        """(ask, bid) of level 1 as ``sides`` gives them (0: an empty side), without the sizes."""
        ask, bid, ceiling = self.ask_price(), self.bid, self.ceiling
        return (ask if ask > 0 and not (ceiling and ask > ceiling) else 0), (
            bid if bid >= max(self.floor, 1) else 0
        )

    def top(self) -> tuple[int, int, int, int, int, int]:
        """(ask, bid, ask qty, bid qty, ask total, bid total): what a trade record carries of the
        book, as ``sides`` gives it, without making the levels when no limit can cut a side
        (the trade path: every print of a watched code)."""
        levels, mean, seed, tick_of = self.levels, self.mean, self.seed, self.grid.tick_of
        ask, bid, reach = self.ask_price(), self.bid, 2 * levels
        ceiling, floor = self.ceiling, self.floor
        if (
            ask <= 0
            or bid - reach * tick_of(bid) < max(floor, 1)
            or (ceiling and ask + reach * tick_of(ceiling) > ceiling)
        ):
            asks, bids = self.sides()
            a, b = asks[0] if asks else (0, 0, 0), bids[0] if bids else (0, 0, 0)
            return a[0], b[0], a[1], b[1], sum(x[1] for x in asks), sum(x[1] for x in bids)
        totals = []
        for sizes in (mix(seed), mix(seed ^ 0x5678)):
            first = total = 1 + int(_EXP[sizes & 63] * mean)
            for n in range(1, levels):
                sizes >>= 6
                total += 1 + int(_EXP[sizes & 63] * mean * (1.0 + 0.1 * n))
            totals.append((first, total))
        return ask, bid, totals[0][0], totals[1][0], totals[0][1], totals[1][1]

    def changed(self, slot: int) -> bool:
        return self.chance > 0 and mix(self.seed ^ slot) < self.chance * 2.0**64

    def at(self, slot: int | None) -> tuple[Levels, Levels]:
        """The levels with the change of ``slot`` applied (None: the base itself): one to three
        levels of each side hold another quantity (orders added or cancelled there)."""
        asks, bids = self.sides()
        if slot is None:
            return asks, bids
        asks, bids = list(asks), list(bids)  # the drawn levels stay as drawn
        h = mix(self.seed ^ slot ^ 0x5A5A5A5A)
        for side in (asks, bids):
            for _ in range(1 + h % 3):
                h = mix(h)
                if not side:
                    break
                n = h % len(side)
                price, qty, orders = side[n]
                delta = int((h >> 8) % (2 * int(self.mean) + 3)) - int(self.mean) - 1
                new = max(1, qty + delta)
                side[n] = (price, new, max(1, min(new, orders + (delta > 0) - (delta < 0))))
        return asks, bids


def _side(
    sizes: int,
    bits: int,
    best: int,
    levels: int,
    mean: float,
    gaps: bool,
    tick_of: Callable[[float], int],
    way: int,
    limit: int,
) -> Levels:
    """One side's levels from ``best`` outwards (``way`` 1: up, the asks; -1: down, the bids) up
    to ``limit`` (a daily limit, the lowest premium; 0: none), sizes ``1 + Exp(mean)`` growing a
    tenth a level, 1 to a quarter of the size in orders."""
    out: Levels = []
    price = best
    orders_bits, gap_bits = bits, bits >> 40
    for n in range(levels):
        if price <= 0 or (limit and way * (price - limit) > 0):
            break
        qty = 1 + int(_EXP[sizes & 63] * mean * (1.0 + 0.1 * n))
        out.append((price, qty, 1 + (orders_bits & 15) * min(qty, 1 + qty // 4) // 16))
        sizes >>= 6
        orders_bits >>= 4
        steps = 2 if gaps and gap_bits & 3 == 0 else 1
        gap_bits >>= 2
        for _ in range(steps):
            price += tick_of(price) if way > 0 else -tick_of(price - 1)
    return out


def after_print(
    post: tuple[Levels, Levels],
    prices: list[int],
    qtys: list[int],
    n: int,
    buy: bool,
    partial: bool,
    most: int = DEPTH,
) -> tuple[Levels, Levels]:
    """The book after print ``n`` of an order that printed ``prices``/``qtys`` and left ``post``:
    the levels the later prints take are still there (the last one with what the order leaves
    of it, when it is left in part, ``partial``), ``most`` levels a side."""
    asks, bids = post
    if n == len(prices) - 1:
        return asks, bids
    ahead: dict[int, int] = {}
    for price, qty in zip(prices[n + 1 :], qtys[n + 1 :], strict=True):
        ahead[price] = ahead.get(price, 0) + qty
    taken = asks if buy else bids
    front = [(p, q, 1) for p, q in ahead.items()]
    rest = list(taken)
    if partial and rest and front and rest[0][PRICE] == front[-1][PRICE]:
        price, qty, orders = rest.pop(0)
        front[-1] = (price, qty + front[-1][QTY], orders + 1)
    side = (front + rest)[:most]
    return (side, bids) if buy else (asks, side)


class Book:
    """One contract's book: its base, the filter slot of its last (or pending) publication, and
    what the ICDC fields need, the base and slot published before."""

    __slots__ = ("base", "slot", "pending", "prev", "prev_from", "prev_to", "until", "gen", "shown")

    def __init__(self) -> None:
        self.base: Base | None = None  # None: the empty book of the night
        self.slot = -1  # the slot of the last publication, or of the pending one
        self.pending = False  # a publication waits for the start of ``slot``
        # The base published before the current one, its slot, and the slot that replaced it:
        # its last state was the base with its last change in (prev_from, prev_to).
        self.prev: Base | None = None
        self.prev_from = self.prev_to = -1
        self.until = 0  # no change at or after this slot (the end of continuous trading)
        self.gen = 0  # bumped when the base changes: stale change steps are skipped
        self.shown = -1  # the slot of the last change written (a watched book)

    def new_day(self) -> None:
        self.base = self.prev = None
        self.slot, self.pending, self.shown = -1, False, -1
        self.gen += 1

    def change_at(self, slot: int) -> bool:
        """Whether the base changes at ``slot`` (a change between prints)."""
        base = self.base
        return base is not None and not self.pending and self.slot < slot < self.until and base.changed(slot)

    def publish(self, base: Base, slot: int) -> int:
        """A print, auction step or the open leaves ``base`` at ``slot``: ``NOW`` if it is
        published now, ``DEFERRED`` if it waits for the start of the next slot (the caller
        schedules that), ``MERGED`` if a publication was already waiting (it will show this)."""
        self.gen += 1
        if self.pending:
            self.base = base
            return MERGED  # several prints in one slot: the pending record shows the last
        occupied = slot == self.slot or self.change_at(slot)  # the old base's change, if any
        self.prev, self.prev_from = self.base, self.slot
        self.base = base
        if occupied:
            self.slot = self.prev_to = slot + 1
            self.pending = True
            return DEFERRED
        self.slot = self.prev_to = slot
        return NOW

    def last_change(self, base: Base, after: int, before: int) -> int | None:
        """The last slot in (after, before) where ``base`` changed, if any."""
        end = min(before, self.until)
        for slot in range(end - 1, after, -1):
            if base.changed(slot):
                return slot
        return None

    def previous_totals(self) -> tuple[int, int]:
        """(ask, bid) totals of the record before the one the current base publishes."""
        if self.prev is None:
            return (0, 0)
        return _totals(self.prev.at(self.last_change(self.prev, self.prev_from, self.prev_to)))

    def next_change(self, after: int, limit: int = 50_000) -> int | None:
        """The first slot after ``after`` with a change of the current base (None: none before
        the end of continuous trading or within ``limit`` slots)."""
        base = self.base
        if base is None or base.chance <= 0:
            return None
        start = max(after, self.slot) + 1
        for slot in range(start, min(self.until, start + limit)):
            if base.changed(slot):
                return slot
        return None


def _totals(sides: tuple[Levels, Levels]) -> tuple[int, int]:
    return sum(level[QTY] for level in sides[0]), sum(level[QTY] for level in sides[1])


totals = _totals
