"""What the market publishes besides trades: books (``H0ZFASP0``/``H0ZOASP0``) and expected
prices (``H0ZFANC0``/``H0ZOANC0``), reference 4.5; a base of :class:`~kisfeed.sim.market.Market`.

* **Books** (the model is ``sim/book.py``): a print, an auction step or the open leaves a
  book; it is published at once, or at the start of the next 0.2 s slot when the contract's slot
  is taken (``Book.publish``: the wait is a step of a second heap, kept for every contract since
  it decides later publications). Changes between prints are only drawn for books someone
  watches; they sit on the slot grid and are asked by slot, so a book watched from the middle of
  the day shows the same records as one watched from the start.
* **Expected prices** during single-price auctions (reference 6: orders 08:30-08:45 with
  expected prices published from 08:40, ``SimConfig.expected_from``; the closing auctions
  15:35-15:45 and an expiring contract's 15:10-15:20 publish from their start): a contract with
  auction interest (``phases.auction_interest``) publishes its expected price at the steps of
  a Poisson stream on the slot grid, as often as it trades (at least every 20 s on average, at
  most once a slot): first the model's price, then a walk of one tick now and then. The
  quantity, ``ANTC_CNQN``, grows to the quantity the uncross matches, and the uncross prints at
  the last expected price. Each step also publishes the book of the orders collected, which
  may cross. ``ANTC_MKOP_CLS_CODE`` is [UNK] for derivatives (reference 4.5): by default the
  stock codes of ``H0STMKO0`` (KIS portal, quoted in reference 4.5), ``311`` 장전예상시작 for
  the opening and ``121`` 장후예상시작 for the closing auctions (``SimConfig.expected_codes``).

Nothing here draws from the market's random stream for a watched code only: the draws of the
expected steps and of the open's books are made for every contract, and the changes between
prints are hashes of a seed drawn at the print.
"""

from __future__ import annotations

import heapq
import math
import random
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

from ..schema.layouts import layout_for
from .book import (
    AUCTION_BOOK,
    DEFERRED,
    NOW,
    QUOTE,
    Base,
    Levels,
    change_chance,
    depth,
    slot_of,
    totals,
)
from .contracts import Contract
from .instruments import Instrument
from .phases import EXPECT
from .pricing import bs_price, smile
from .prints import YEAR_SECONDS
from .ticks import Grid
from .wire import book_values, hhmmss, r2, record_text, sign_code

if TYPE_CHECKING:
    from .phases import Schedule

__all__ = ["MarketEvent", "Publisher", "EXPECTED_CODES"]

#: ``ANTC_MKOP_CLS_CODE`` during the opening / closing auctions: [UNK] for derivatives; the stock
#: codes of H0STMKO0 (reference 4.5): 311 장전예상시작, 121 장후예상시작.
EXPECTED_CODES = ("311", "121")
_FLUSH, _CHANGE = 0, 1  # steps of the publication heap


class MarketEvent(NamedTuple):
    """Records of one TR and one instrument at one instant, as field texts in wire order. A
    named tuple: one is made per trade, and a frozen dataclass costs a setattr call per field."""

    time: float  # POSIX seconds
    instrument: Instrument
    records: list[str]  # each record's fields joined with ``^``; empty unless the pair is watched
    tr_id: str

    @property
    def code(self) -> str:
        return self.instrument.code

    @property
    def width(self) -> int:
        return 0  # every market record has its layout's width: one batch per TR


class Publisher:
    """Books and expected prices; the market owns the attributes declared here."""

    rng: random.Random
    rate: float
    contracts: list[Contract]
    _schedule: Schedule
    _position: dict[str, int]  # code -> index of the day contract
    _night_position: dict[str, int]  # night code -> index of the night contract (sim/night_market.py)
    _index_of: dict[int, int]  # id(contract) -> its index
    _ends: dict[str, float]

    def _init_publisher(
        self, book_interval: float, expected_from: float, expected_codes: tuple[str, str]
    ) -> None:
        self.book_interval = book_interval
        self.per_second = 1.0 / book_interval
        self.expected_from = expected_from
        self.expected_codes = expected_codes
        #: Codes whose book / expected-price records are wanted (``watched`` holds the trades').
        self.watched_books: set[str] = set()
        self.watched_expected: set[str] = set()
        self._side: list[tuple[float, int, int, int, int]] = []  # (time, seq, kind, contract, check)
        self._side_seq = 0
        self._queued: deque[MarketEvent] = deque()  # events of an instant already decided
        self.last_time = 0.0  # the time of the last event returned
        #: The sim time up to which unwatched expected-price steps run without a pause (a
        #: real-time ``Simulator`` sets its clock here before each pull; alone, the market runs on).
        self.horizon = math.inf
        #: (spread, the TR's depth) -> (levels, size per print size, chance)
        self._shapes: dict[tuple[int, int], tuple[int, float, float]] = {}

    _rate: Callable[[Contract], float]  # TradingDay's
    _set_limits: Callable[[Contract], None]  # Prints'
    watched: set[str]  # the market's: codes whose trade records are wanted

    # --- watching ------------------------------------------------------------------------------

    def watch(self, tr_id: str, code: str, on: bool = True) -> None:
        """Start (or, ``on=False``, stop) writing the records of ``code`` on ``tr_id``."""
        layout = layout_for(tr_id)
        category = layout.category
        wanted = {"trade": self.watched, "book": self.watched_books}.get(category, self.watched_expected)
        # a night contract may carry its day twin's code (sim/night.py): the TR tells them apart
        index = (self._night_position if layout.market == "night" else self._position).get(code)
        if category == "book" and index is not None:
            self.contracts[index].book.gen += 1  # the change steps scheduled so far are void
        if not on:
            wanted.discard(code)
            return
        wanted.add(code)
        if category == "book" and index is not None:
            # from the slot of the last event, if it starts there (another code's event of that
            # instant may come first) and its change was not already sent
            slot = slot_of(self.last_time, self.per_second)
            at_start = abs(slot / self.per_second - self.last_time) < 1e-6
            book = self.contracts[index].book
            self._next_change(index, max(slot - 1 if at_start else slot, book.shown))

    def _next_change(self, index: int, after: int) -> None:
        book = self.contracts[index].book
        if book.pending:
            return  # the flush schedules the next change
        slot = book.next_change(after)
        if slot is not None:
            self._push(slot / self.per_second, _CHANGE, index, book.gen)

    def _push(self, at: float, kind: int, index: int, check: int) -> None:
        self._side_seq += 1
        heapq.heappush(self._side, (at, self._side_seq, kind, index, check))

    # --- books ---------------------------------------------------------------------------------

    def _settle(self, c: Contract, t: float, base: Base) -> None:
        """Publish the book ``base`` that something at ``t`` left (``Book.publish``)."""
        book = c.book
        status = book.publish(base, slot_of(t, self.per_second))
        if status == NOW:
            if c.code in self.watched_books:
                self._queued.append(self._book_event(c, t, base.sides(), book.previous_totals()))
                self._next_change(self._index_of[id(c)], book.slot)
        elif status == DEFERRED:
            self._push(book.slot / self.per_second, _FLUSH, self._index_of[id(c)], book.slot)

    def _book_event(
        self, c: Contract, t: float, sides: tuple[Levels, Levels], before: tuple[int, int]
    ) -> MarketEvent:
        layout = c.book_layout
        text = record_text(layout, book_values(c.code, hhmmss(t), sides, before, c.depth, c.points))
        return MarketEvent(t, c.instrument, [text], layout.tr_id)

    def _side_event(self) -> MarketEvent | None:
        """Run the next step of the publication heap; the book record it publishes, if watched."""
        at, _, kind, index, check = heapq.heappop(self._side)
        c = self.contracts[index]
        book = c.book
        if kind == _FLUSH:
            if not (book.pending and book.slot == check):
                return None  # the day ended first
            book.pending = False
            if c.code not in self.watched_books or book.base is None:
                return None
            self._next_change(index, book.slot)
            return self._book_event(c, at, book.base.sides(), book.previous_totals())
        base = book.base
        if book.gen != check or c.code not in self.watched_books or base is None:
            return None  # the base changed (a print) or nobody watches any more
        slot = slot_of(at, self.per_second)
        before = totals(base.at(book.last_change(base, book.slot, slot)))
        book.shown = slot
        self._next_change(index, slot)
        return self._book_event(c, at, base.at(slot), before)

    def _open_books(self, now: float, active: list[Contract]) -> None:
        """Continuous trading starts: every contract not just uncrossed shows a book around its
        model price (two draws each, made for every contract)."""
        slot = slot_of(now, self.per_second)
        for c in active:
            if c.book.slot == slot:
                continue  # its uncross print left its book at this instant
            grid = c.grid
            price = self._centre(c, now, grid)
            bid = grid.down(price, max(1, c.spread // 2))
            self._settle(
                c, now, self._base(c, QUOTE, self.rng.getrandbits(64), grid.up(bid, c.spread), bid, grid)
            )

    def _base(self, c: Contract, kind: int, seed: int, ask: int, bid: int, grid: Grid) -> Base:
        """A book of ``c`` (on every print: the shape is worked out once per spread)."""
        spread = c.spread
        shape = self._shapes.get((spread, c.depth))
        if shape is None:
            shape = self._shapes[spread, c.depth] = (
                depth(spread, c.depth),
                2.0 / math.sqrt(spread),
                change_chance(spread, self.book_interval),
            )
        ceiling, floor = self._bounds(c, grid)
        levels, per_size, chance = shape
        return Base(
            kind,
            seed,
            ask,
            bid,
            levels,
            c.activity.mean_size * per_size,
            grid,
            ceiling,
            floor,
            chance if kind == QUOTE else 0.0,
        )

    def _bounds(self, c: Contract, grid: Grid) -> tuple[int, int]:
        """(highest ask, lowest bid): the daily limits of a future, the lowest premium's tick."""
        if c.strike is None:
            if c.limits_for != c.prev_close:
                self._set_limits(c)
            return c.limits
        return 0, grid.tick_of(0)

    def _centre(self, c: Contract, t: float, grid: Grid) -> int:
        """The model's price of ``c`` at ``t`` on its grid (one draw): a future's theoretical
        price, an option's Black-Scholes value with the smile, within the daily limits."""
        spot = c.spot_state
        if c.strike is None:
            value = c.terms.futures(spot.price)
        else:
            net = c.terms.option_spot(spot.price)
            years = max(c.end - t, 0.0) / YEAR_SECONDS
            vol = smile(spot.vol, math.log(c.strike / (net * math.exp(self.rate * years))))
            value = bs_price(net, c.strike, years, self.rate, 0.0, vol, c.call)
        tick = grid.tick_of(value)
        price = grid.round(value + self.rng.gauss(0.0, 0.6) * tick)
        ceiling, floor = self._bounds(c, grid)
        return max(min(price, ceiling or price), floor)

    # --- expected prices -----------------------------------------------------------------------

    def _first_expected(self, index: int, begin: float, uncross: float) -> None:
        """Schedule the first expected price, after ``begin``, of an auction that uncrosses at
        ``uncross``."""
        self.contracts[index].auction_price = 0
        first = self._after(index, begin)
        if first < uncross - 1e-9:
            self._schedule.add(first, EXPECT, index, uncross)

    def _after(self, index: int, t: float) -> float:
        """The next publication slot after ``t`` (one draw): as often as the contract trades,
        at least every 20 s on average, at most once a slot."""
        c = self.contracts[index]
        per_second = min(self.per_second, 0.05 + self._rate(c))
        slots = 1 + int(-math.log(1.0 - self.rng.random()) * self.per_second / per_second)
        return (slot_of(t, self.per_second) + slots) / self.per_second

    def _expect(self, index: int, at: float, uncross: float, opening: bool) -> MarketEvent | None:
        """One expected price of contract ``index`` at ``at``; the uncross is at ``uncross``."""
        c = self.contracts[index]
        rng = self.rng
        grid = c.grid
        ceiling, floor = self._bounds(c, grid)
        if c.auction_price == 0:
            price = self._centre(c, at, grid)
        else:
            draw = rng.random()
            price = (
                grid.up(c.auction_price)
                if draw < 0.15
                else grid.down(c.auction_price)
                if draw < 0.3
                else c.auction_price
            )
            price = max(min(price, ceiling or price), floor)
        c.auction_price = price
        after = self._after(index, at)
        last = after >= uncross - 1e-9
        if not last:
            self._schedule.add(after, EXPECT, index, uncross)
        # ANTC_CNQN grows with the orders collected to what the uncross matches
        span = max(uncross - at, 0.0) / max(self.expected_from, 1.0)
        qty = c.auction_qty if last else max(1, int(c.auction_qty * max(0.05, 1.0 - span)))
        cross_ask, cross_bid = int(rng.random() * 3), int(rng.random() * 3)
        ask = max(grid.down(price, cross_ask), floor)
        bid = min(grid.up(price, cross_bid), ceiling) if ceiling else grid.up(price, cross_bid)
        self._settle(c, at, self._base(c, AUCTION_BOOK, rng.getrandbits(64), ask, bid, grid))
        if c.code not in self.watched_expected:
            return None
        change = price - c.prev_close
        sign = sign_code(change)
        if c.strike is None:  # at a daily limit: 1 / 4, as a trade (reference 4.4)
            sign = "1" if price >= ceiling else "4" if price <= floor else sign
        trs = c.instrument.tr_ids
        if len(trs) < 3:  # no expected-price TR: index products and night futures (reference 4.6)
            return None
        layout = layout_for(trs[2])  # H0ZFANC0, H0ZOANC0, H0EUANC0 (trs_for: trades, book, expected)
        values = {  # an index product's hundredths of a point are written as points
            "code": c.code,
            "time": hhmmss(at),
            "price": price / 100 if c.points else price,
            "change": change / 100 if c.points else change,
            "change_sign": sign,
            "change_rate": r2(change / c.prev_close * 100.0) if c.prev_close else 0.0,
            "session_code": self.expected_codes[0 if opening else 1],
            "quantity": qty,
        }
        return MarketEvent(at, c.instrument, [record_text(layout, values)], layout.tr_id)
