"""A trading day of the simulated market as timed steps: the session phases of reference 6.

The market (``sim/market.py``) runs two kinds of time: continuous trading, a Poisson stream of
orders, and the steps of this module, which happen at fixed instants of the day's
:class:`~kisfeed.sim.calendar.Session`:

* ``OPEN`` (08:45): the opening auction uncrosses and continuous trading starts;
* ``STOP`` (15:10 on an expiring contract's last day): its continuous trading ends and its
  closing auction runs until 15:20 (in ``always_open`` mode: it just stops at its last trade);
* ``CLOSING`` (15:35): continuous trading ends for every other contract;
* ``UNCROSS``: one auction print of one contract (08:45:00, 15:20:00 or 15:45:00);
* ``NEXT`` (15:45, after the uncross prints): the day is over; the night session follows on
  the evenings KRX runs one, with the same steps at its own instants (``sim/night_market.py``).

An auction prints at most once per contract, and only if orders arrived during it: with the
contract's arrival rate λ (orders per second) and the auction's length W, the chance of
interest is 1 − e^(−λW), so thin series often have no opening print. The uncross matches many
orders, so its size is several ordinary orders: in the official H0ZFCNT0 example the volume
neither buyer- nor seller-initiated is 1724 − 1075 − 626 = 23 contracts, for a series that had
traded 141 times by 09:16 (λ ≈ 0.15/s): about two orders of its 12 contracts.
``1 + Exp(1)·√(λW)/8`` orders of the usual size give about 25 there.

:class:`Auction` is the state of an auction under way. Interest is drawn when the auction
starts (the opening's at 08:30, or when the market starts during it), so that the expected
prices (``H0ZFANC0``/``H0ZOANC0``, reference 4.5; ``sim/publish.py``) can be published before
the uncross as ``EXPECT`` steps, from 08:40 for the opening, and the uncross prints at the last.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import TYPE_CHECKING, NamedTuple

from ..schema.records import KST
from .book import slot_of
from .calendar import KrxCalendar, Phase
from .contracts import Contract
from .fair import DIVIDENDS, carry
from .instruments import Instrument

if TYPE_CHECKING:
    from .market import Spot

__all__ = ["Auction", "Schedule", "Step", "SessionTimes", "TradingDay", "auction_interest", "auction_size"]

OPEN, STOP, CLOSING, UNCROSS, NEXT = "open", "stop", "closing", "uncross", "next"
EXPECT = "expect"  # an expected price during an auction (sim/publish.py)
# Steps at one instant run in this order: uncross prints before continuous trading starts (the
# open's books are left by them) and before the day ends after them.
_RANK = {UNCROSS: 0, EXPECT: 0, OPEN: 1, STOP: 1, CLOSING: 1, NEXT: 2}


class SessionTimes(NamedTuple):
    """A session's instants as POSIX seconds (the market's clock)."""

    auction_start: float
    open: float
    stock_open: float
    stock_close: float
    closing_auction: float
    close: float
    last_day_auction: float
    last_day_close: float


class Step(NamedTuple):
    at: float
    rank: int
    seq: int
    action: str
    contract: int  # index into the market's contracts; -1 for the whole market
    window: float  # STOP: the auction's length in seconds; EXPECT: the uncross instant


@dataclass(slots=True)
class Auction:
    """A single-price auction under way (opening or closing): orders from ``orders_from``,
    one uncross print per interested contract at ``uncross``."""

    phase: Phase
    orders_from: float
    uncross: float


class Schedule:
    """The day's steps in time order (a heap; ties by rank, then by the order they were added)."""

    __slots__ = ("_heap", "_seq")

    def __init__(self) -> None:
        self._heap: list[Step] = []
        self._seq = 0

    def add(self, at: float, action: str, contract: int = -1, window: float = 0.0) -> None:
        self._seq += 1
        heapq.heappush(self._heap, Step(at, _RANK[action], self._seq, action, contract, window))

    def clear(self) -> None:
        self._heap.clear()

    @property
    def due(self) -> float:
        """When the next step happens (``inf`` if none)."""
        return self._heap[0].at if self._heap else math.inf

    def pop(self) -> Step:
        return heapq.heappop(self._heap)

    def plan(
        self, times: SessionTimes, expiring: Iterable[tuple[int, float, float]], start: float, auctions: bool
    ) -> None:
        """The day's fixed steps from ``start`` on (a market may start in the middle of a day).
        ``expiring``: (contract, when its continuous trading stops, its closing auction's length)."""
        self.clear()
        if start < times.closing_auction:
            self.add(max(times.open, start), OPEN)
        for index, stop, window in expiring:
            if stop >= start:
                self.add(stop, STOP, index, window)
        if auctions and start < times.close:
            self.add(max(times.closing_auction, start), CLOSING)
        self.add(times.close, NEXT)


def auction_interest(rate: float, window: float, draw: float) -> bool:
    """Whether a contract with ``rate`` orders a second had orders during an auction of
    ``window`` seconds, given a uniform ``draw``."""
    return draw < 1.0 - math.exp(-rate * window)


def auction_size(rate: float, window: float, mean_order: float, random: Callable[[], float]) -> int:
    """Contracts matched at an uncross: ``1 + Exp(1)·√(λW)/8`` orders of ``1 + Exp(mean)``."""
    orders = 1 + int(-math.log(1.0 - random()) * math.sqrt(rate * window) / 8)
    return sum(1 + int(-math.log(1.0 - random()) * mean_order) for _ in range(orders))


class TradingDay:
    """The market's days and phases: a base of :class:`~kisfeed.sim.market.Market`, which owns
    the attributes declared here (set in its constructor) and the overnight roll."""

    rng: random.Random
    always_open: bool
    rate: float
    calendar: KrxCalendar
    limit_stages: tuple[float, ...]
    spots: dict[str, Spot]
    contracts: list[Contract]
    _ends: dict[str, float]
    _last_day: list[date]
    _position: dict[str, int]
    _schedule: Schedule
    _factor: float
    _factor_time: float
    phase: Phase
    auction: Auction | None
    day: date
    times: SessionTimes
    now: float
    _stops: list[float]
    _continuous: bool
    _active: list[Contract]
    _cumulative: list[float]
    _total: float
    _spot_close: float
    per_second: float
    expected_from: float
    # sim/publish.py's (a base of the market too): expected prices, the open's books
    _first_expected: Callable[[int, float, float], None]
    _open_books: Callable[[float, list[Contract]], None]
    # sim/night_market.py's (the market's base on top of this one): the night sessions
    _is_night: list[bool]  # which contracts are night contracts (they trade at night only)
    _index_of: dict[int, int]  # id(contract) -> its index (night contracts may share a code)
    _init_night: Callable[[], None]
    _first_night: Callable[[date, float], object]
    _enter_night: Callable[..., None]
    _next_session: Callable[[], None]
    _restore_day_closes: Callable[[], None]

    def _roll_day(self, day: date) -> None:
        raise NotImplementedError

    def _last_trade(self, inst: Instrument) -> datetime:
        if self.always_open:
            return inst.last_trade
        return self.calendar.session(self.calendar.previous_trading_day(inst.expiry)).last_day_close

    def _times(self, day: date) -> SessionTimes:
        if self.always_open:  # one continuous session from midnight to midnight
            midnight = datetime.combine(day, time(0), KST).timestamp()
            end = midnight + 86_400
            return SessionTimes(midnight, midnight, midnight, end, end, end, end, end)
        s = self.calendar.session(day)
        return SessionTimes(
            *(t.timestamp() for t in (s.auction_start, s.open, s.stock_open, s.stock_close,
                                      s.closing_auction, s.close, s.last_day_auction, s.last_day_close))
        )  # fmt: skip

    def _enter_session(self, day: date, start: float | None = None) -> None:
        """Begin trading day ``day``: at its first instant, or at ``start`` for the market's
        first day (which keeps the listing's previous-day values), or at the night session
        under way at ``start`` or before ``day`` (``sim/night_market.py``)."""
        if start is not None:
            self._init_night()
            night = self._first_night(day, start)
            if night is not None:
                self._enter_night(night, start)
                return
        self.day = day
        self.times = times = self._times(day)
        self.now = now = times.auction_start if start is None else max(start, times.auction_start)
        if start is None:
            self._roll_day(day)
            self._restore_day_closes()
        for spot in self.spots.values():  # the day's volatility level, seen as historical vol
            spot.vol = spot.underlying.volatility * math.exp(0.1 * self.rng.gauss(0.0, 1.0))
            spot.hist_vol = spot.underlying.volatility * math.exp(0.05 * self.rng.gauss(0.0, 1.0))
            spot.stage, spot.expand_at = 0, math.inf
            spot.trigger = self.limit_stages[0] * spot.prev_close if len(self.limit_stages) > 1 else math.inf
        # When each contract's continuous trading ends today (-inf: expired); expiring ones stop
        # early and (with auctions) uncross at their last trade.
        self._stops: list[float] = []
        expiring: list[tuple[int, float, float]] = []
        for n, c in enumerate(self.contracts):
            c.limits_for = None  # a new day's first stage
            # KRX counts carry in calendar days: the theoretical terms change once a day
            c.terms = carry(
                day, self._last_day[n], self.rate, DIVIDENDS.get(c.instrument.underlying.code, ())
            )
            end = self._ends[c.code]
            if end <= now or (self._is_night[n] and not self.always_open):  # night contracts: at night
                self._stops.append(-math.inf)
            elif self._last_day[n] == day:
                stop = end if self.always_open else times.last_day_auction
                self._stops.append(stop)
                expiring.append((n, stop, end - stop))
            else:
                self._stops.append(times.closing_auction)
        self._schedule.plan(times, expiring, now, auctions=not self.always_open)
        for n, c in enumerate(self.contracts):  # no book changes between prints after continuous trading
            c.book.until = slot_of(max(self._stops[n], 0.0), self.per_second)
        self._begin(now, times)
        if now < times.open and not self.always_open:  # the opening auction's interest, drawn at its start
            begin = max(now, times.open - self.expected_from)
            for n, c in enumerate(self.contracts):
                if self._stops[n] > times.open:
                    self._call(c, times.open, times.open - times.auction_start, begin)

    def _begin(self, now: float, times: SessionTimes) -> None:
        """A session's phase at its first instant ``now``, its rates, and its spots marked (they
        do not move before the stocks open, or at night before the night's open)."""
        self.phase = Phase.OPENING_AUCTION if now < times.open else Phase.CLOSED
        self.auction = (
            Auction(Phase.OPENING_AUCTION, times.auction_start, times.open) if now < times.open else None
        )
        self._continuous = False
        self._weigh(now)
        self._spot_close = times.stock_close
        self._mark_spots(max(now, times.stock_open))

    def _advance(self, step_action: str, index: int, window: float) -> bool:
        """Run one step of the day at ``now``; False once every contract has expired."""
        times, now = self.times, self.now
        if step_action == OPEN:
            self.phase, self.auction, self._continuous = Phase.CONTINUOUS, None, True
            self._weigh(now)
            self._open_books(now, self._active)
        elif step_action == CLOSING:
            self.phase, self._continuous = Phase.CLOSING_AUCTION, False
            self.auction = Auction(Phase.CLOSING_AUCTION, now, times.close)
            self._weigh(now)
            for n, c in enumerate(self.contracts):
                if self._stops[n] >= times.closing_auction:
                    self._call(c, times.close, times.close - times.closing_auction, now)
        elif step_action == NEXT:
            self.phase, self.auction = Phase.CLOSED, None
            if all(end <= now for end in self._ends.values()):
                return False
            self._next_session()  # the night of this evening, or the next day
        else:  # STOP: an expiring contract's continuous trading ends
            self._weigh(now)
            self._call(self.contracts[index], now + window, window, now)
        return True

    def _call(self, c: Contract, at: float, window: float, begin: float) -> None:
        """If orders come in during the auction: the size of ``c``'s uncross print at ``at``,
        and its expected prices from ``begin``."""
        if window > 0 and auction_interest(self._rate(c), window, self.rng.random()):
            index = self._index_of[id(c)]
            c.auction_qty = auction_size(self._rate(c), window, c.activity.mean_size, self.rng.random)
            self._schedule.add(at, UNCROSS, index, window)
            self._first_expected(index, begin, at)

    def _mark_spots(self, t: float) -> None:
        self._factor_time = t
        for spot in self.spots.values():
            spot.updated, spot.factor = t, self._factor

    def rates(self) -> dict[str, float]:
        """Each contract's trades per second of continuous trading at the spot now."""
        rates: dict[str, float] = {}
        for c in self.contracts:  # a night contract with its day twin's code: the day's rate
            rates.setdefault(c.code, self._rate(c))
        return rates

    def _rate(self, c: Contract) -> float:
        """Orders a second of one contract at the spot now (``sim/liquidity.py``)."""
        return c.activity.rate(c.strike, c.spot_state.price)

    def _weigh(self, t: float) -> None:
        """Trade arrival rates of the contracts in continuous trading at ``t``."""
        self._active: list[Contract] = []
        cumulative: list[float] = []
        total = 0.0
        if self._continuous:
            for c, stop in zip(self.contracts, self._stops, strict=True):
                if stop > t:
                    rate = self._rate(c)
                    c.spread = c.activity.spread_ticks(rate)  # quotes as wide as trading is thin
                    total += rate
                    self._active.append(c)
                    cumulative.append(total)
        self._cumulative, self._total = cumulative, total
