"""The market model: a deterministic stream of trades on the simulated universe.

``Market.next_event()`` advances a discrete-event simulation and returns the next event: a trade
(one instrument, one or more prints at the same instant), the book it left, a book change or an
expected price (``sim/book.py``, ``sim/publish.py``), with the wire fields of each record. It
knows nothing of sockets or wall time, so the same seed and start give the same events in the
same order whatever the clients do; the server only decides *when* to send them and to whom.

Model (issue 3; reference 4.4, 6):

* KOSPI200 futures and options (``sim/index.py``, ``docs/kospi200.md``) trade in the same
  stream, on the index of ``sim/kospi200.py``: the weighted sum of the constituents' walks,
  brought up to the instant of each index trade, and a rest driven by the common factor; their
  prices are hundredths of a point on their own grids, their limits ±8/15/20 %.
* Underlyings follow a geometric random walk in trading time with their annual volatility, a
  common market factor (correlation 0.5) and an overnight gap; the spot is rounded to the KRX
  stock tick and frozen after 15:30, when stocks close but stock F/O trade on to 15:45 (ref 6).
* Trades arrive as one Poisson process whose intensity is the sum of per-contract rates drawn
  at listing (``sim/liquidity.py``, calibrated on the official examples: a few busy front-month
  series near the money, most series quiet, quotes wider where trading is thin). About one
  order in eight sweeps several price levels: 2–4 prints at the same instant, which the server
  packs into one multi-record frame (ref 2.4).
* Futures quote around KRX's theoretical price (``sim/fair.py``: simple-rate carry less the
  dividends going ex before expiry) on the stock tick table (``sim/ticks.py``; the writers are
  ``sim/prints.py``), within the staged
  daily limits (below); options around their Black-Scholes value on the spot less those
  dividends, with a volatility smile, on the premium tick table. A buy lifts the ask, a sell
  hits the bid. The option's implied volatility is solved from the traded premium.
* The KRX calendar and session phases (``sim/calendar.py``, ``sim/phases.py``), unless
  ``always_open``: no trades during the opening (08:30–08:45) and closing (15:35–15:45)
  auctions but one uncross print per interested contract at exactly 08:45:00 and 15:45:00,
  neither buyer- nor seller-initiated (side ``AUCTION``); continuous trading in between; an
  expiring contract's continuous trading ends at 15:10 on its last day, its uncross at 15:20,
  and it is not replaced. ``always_open`` trades continuously around the clock, every day.
* Staged daily limits of stock futures, ±10 % / ±20 % / ±30 % of the previous close (ref 6,
  EUGENE): the next stage applies ``limit_expansion_delay`` (5 min) after the *underlying*
  stock has moved beyond the current stage (KRX 파생상품시장 업무규정 시행세칙 56조의2 as
  explained by h1in.tistory.com/1128, 2025-07-02; the 5 minutes also in etoday 2023-07-06 for
  index products). The spot does not move before 09:00, so 08:45–09:00 only ±10 % applies, as
  the 2024-11-04 rule says (economy21). A print at a limit carries sign code 1 or 4 (ref 4.4).
  Option limits are not modelled.
"""

from __future__ import annotations

import bisect
import math
import random
from collections.abc import Sequence
from datetime import date, datetime

from ..schema.records import KST
from . import liquidity
from .calendar import KrxCalendar, Phase
from .contracts import Contract
from .fair import DIVIDENDS, carry, ex_dividend
from .index import IndexInstrument
from .instruments import Instrument, Underlying
from .kospi200 import INDEX_LIMIT_STAGES, REST_CORRELATION, REST_VOLATILITY, Members, level, members
from .liquidity import SWEEP_PROBABILITY
from .night_market import NightPlan, NightSessions
from .phases import EXPECT, UNCROSS, Auction, Schedule
from .pricing import bs_price, smile
from .prints import YEAR_SECONDS, Prints
from .profiles import Profile, blanks_for
from .publish import EXPECTED_CODES, MarketEvent, Publisher
from .ticks import INDEX_FUTURES_GRID, INDEX_OPTION_GRID, OPTION_TICKS, STOCK_GRID, Grid
from .wire import hhmmss

__all__ = ["Market", "MarketEvent"]

TRADING_SECONDS_PER_YEAR = 252 * 23_400  # variance clock: 252 days of 6.5 stock-trading hours
MARKET_CORRELATION = 0.5
_OWN = math.sqrt(1 - MARKET_CORRELATION**2)  # weight of an underlying's own shocks
_PER_SECOND = 1 / math.sqrt(TRADING_SECONDS_PER_YEAR)  # annual volatility -> per trading second
_REST_OWN = math.sqrt(1 - REST_CORRELATION**2)
LIMIT_STAGES = (0.10, 0.20, 0.30)  # the SSF daily limits, stage by stage (ref 6)


class Spot:
    """One underlying's log-price walk."""

    __slots__ = (
        "underlying", "log_price", "price", "prev_close", "updated", "factor", "vol", "hist_vol",
        "stage", "trigger", "expand_at", "stages", "members",
    )  # fmt: skip

    def __init__(self, underlying: Underlying, stages: tuple[float, ...] = LIMIT_STAGES) -> None:
        self.underlying = underlying
        self.log_price = math.log(underlying.price)
        self.price = self.prev_close = underlying.price
        self.updated = 0.0
        self.factor = 0.0  # the market factor's value when this spot was last updated
        self.vol = self.hist_vol = underlying.volatility
        # The daily-limit stage of its futures; the move from the previous close (won) beyond
        # which the next stage is due; when it applies (inf: none due).
        self.stage, self.trigger, self.expand_at = 0, math.inf, math.inf
        self.stages = stages  # the daily limits of its futures, stage by stage
        # An index (sim/kospi200.py): its members, ``log_price`` the rest's log R, ``price`` the
        # level in hundredths of a point; None for a stock.
        self.members: Members | None = None


class Market(NightSessions, Prints, Publisher):
    """Deterministic trade generator; see the module docstring for the model."""

    def __init__(
        self,
        instruments: Sequence[Instrument],
        *,
        seed: int,
        start: datetime,
        always_open: bool = False,
        interest_rate: float = 0.03,
        activity: float = 1.0,
        volatility_unit: str = "fraction",
        greek_decimals: int = 2,
        profile: Profile = "observed",
        option_ticks: Sequence[tuple[float, int]] = OPTION_TICKS,
        dynamic_limit_band: float = 0.0,
        dynamic_limit_flags: tuple[str, str] = ("0", "1"),
        calendar: KrxCalendar | None = None,
        limit_stages: Sequence[float] = LIMIT_STAGES,
        limit_expansion_delay: float = 300.0,
        book_interval: float = 0.2,
        expected_from: float = 300.0,
        expected_codes: tuple[str, str] = EXPECTED_CODES,
        night: NightPlan | None = None,
    ) -> None:
        if start.tzinfo is None:
            start = start.replace(tzinfo=KST)  # the sim clock is KST (ref 6)
        self.rng = random.Random(seed)
        self.always_open = always_open
        self.rate = interest_rate
        self.activity = activity
        self.vol_scale = 100.0 if volatility_unit == "percent" else 1.0
        self.greek_decimals = greek_decimals
        self.option_grid = Grid(option_ticks)
        self.dynamic_band = dynamic_limit_band
        self.dynamic_flags = dynamic_limit_flags
        self.calendar = calendar or KrxCalendar()
        self.limit_stages = tuple(limit_stages)
        self.limit_delay = limit_expansion_delay
        self._init_publisher(book_interval, expected_from, expected_codes)
        self.instruments = list(instruments)
        #: Codes whose record texts are wanted (subscribed somewhere). Only formatting depends
        #: on it: every instrument trades, and draws the same numbers, whether watched or not.
        self.watched: set[str] = set()
        self.spots: dict[str, Spot] = {}
        for inst in self.instruments:
            if inst.underlying.code not in self.spots:
                index = isinstance(inst, IndexInstrument)
                spot = Spot(inst.underlying, INDEX_LIMIT_STAGES if index else self.limit_stages)
                self.spots[inst.underlying.code] = spot
                if index:  # the constituents' walks, made here if no stock product is listed
                    spot.members = members(inst.underlying.price, self._spot_of)
                    spot.log_price = 0.0  # log R: the rest starts at 1
        #: The index spots, brought up to the instant of each of their trades (``_walk_index``).
        self._indices = [spot for spot in self.spots.values() if spot.members is not None]
        # Last-trade instants as POSIX seconds, looked up on every trade: the calendar's last
        # trading day (a 2nd Thursday that is a holiday moves earlier) and its close.
        self._ends = {inst.code: self._last_trade(inst).timestamp() for inst in self.instruments}
        self._last_day = [datetime.fromtimestamp(self._ends[i.code], KST).date() for i in self.instruments]
        first_day = start.astimezone(KST).date()
        self.contracts = [
            self._listing(inst, start.timestamp(), first_day, last)
            for inst, last in zip(self.instruments, self._last_day, strict=True)
        ]
        # Each underlying's futures, for the near/far-month fields (NMSC/FMSC_FCTN_STPL_PRC).
        self._futures: dict[str, list[Contract]] = {}
        for c in self.contracts:
            if c.instrument.strike is None:
                self._futures.setdefault(c.instrument.underlying.code, []).append(c)
        for c in self.contracts:  # what every trade of the contract looks up, resolved once
            inst = c.instrument
            c.spot_state = self.spots[inst.underlying.code]
            c.strike, c.call = inst.strike, inst.kind == "call"
            c.end = self._ends[inst.code]
            c.blanks = blanks_for(inst.tr_id, profile)  # what the wire leaves empty (SimConfig.profile)
            c.siblings = self._futures.get(inst.underlying.code, [])
        self._position = {c.code: n for n, c in enumerate(self.contracts)}
        self._upcoming: float | None = None  # the next trade (-t) or step (due), once drawn
        self._factor = 0.0
        self._factor_time = 0.0
        self._schedule = Schedule()
        self.night_plan = night  # the night sessions (sim/night_market.py); None: none
        #: The phase at ``now``, and the auction under way if any (the seam for expected prices).
        self.phase = Phase.CLOSED
        self.auction: Auction | None = None
        day = start.astimezone(KST).date() if self.always_open else self.calendar.session_from(start).day
        self._enter_session(day, start.timestamp())

    def _roll_day(self, day: date) -> None:
        """Overnight to ``day``: today's closes become the previous day's, and the stocks gap
        (a phases hook), by the dividend going ex on ``day`` too; then each index is the sum of
        its members again, its rest gapped and less its share of the index dividend."""
        for spot in self.spots.values():
            u = spot.underlying
            spot.prev_close = spot.price
            gap = u.volatility / math.sqrt(252) * 0.3 * self.rng.gauss(0.0, 1.0)
            dividend = ex_dividend(DIVIDENDS.get(u.code, ()), day)
            if spot.members is None:
                spot.log_price = math.log(max(math.exp(spot.log_price + gap) - dividend, 1.0))
                spot.price = STOCK_GRID.round(math.exp(spot.log_price))
            else:  # R in units of the rest at R = 1: the rest's dividend is w_rest × D / (base × w_rest)
                rest = math.exp(spot.log_price + gap) - dividend / spot.underlying.price
                spot.log_price = math.log(max(rest, 1e-3))
        for spot in self._indices:
            assert spot.members is not None  # mypy: an index has members
            spot.price = level(spot.members, spot.log_price)
        for contract in self.contracts:
            contract.new_day()

    # --- prices ------------------------------------------------------------------------------

    def _years_left(self, inst: Instrument, t: float) -> float:
        return max(self._ends[inst.code] - t, 0.0) / YEAR_SECONDS

    def _listing(self, inst: Instrument, t: float, day: date, last_day: date) -> Contract:
        """A contract as the simulation finds it: its activity, and its fair value at the
        underlying's previous close as its own previous close (so the day's first prints start
        where the model prices them, whatever the contract)."""
        u = inst.underlying
        act = liquidity.activity(inst, u.price, self.rng, self.activity)
        terms = carry(day, last_day, self.rate, DIVIDENDS.get(u.code, ()))
        grid = self._grid(inst)
        if inst.strike is None:
            close = grid.round(terms.futures(u.price))
        else:
            years = self._years_left(inst, t)
            spot = terms.option_spot(u.price)
            vol = smile(u.volatility, math.log(inst.strike / (spot * math.exp(self.rate * years))))
            premium = bs_price(spot, inst.strike, years, self.rate, 0.0, vol, inst.kind == "call")
            close = max(grid.round(premium), grid.table[0][1])
        contract = Contract(inst, close, act.prev_volume, act.prev_oi)
        contract.activity, contract.terms, contract.grid = act, terms, grid
        contract.spread = act.spread_ticks(act.rate(inst.strike, u.price))
        return contract

    def _grid(self, inst: Instrument) -> Grid:
        """Where ``inst`` trades: the stock tick table, the option premium table
        (``SimConfig.option_ticks``), or the KOSPI200 products' (``sim/ticks.py``)."""
        if isinstance(inst, IndexInstrument):
            return INDEX_FUTURES_GRID if inst.strike is None else INDEX_OPTION_GRID
        return STOCK_GRID if inst.strike is None else self.option_grid

    # --- events ------------------------------------------------------------------------------

    def next_event(self) -> MarketEvent | None:
        """The next event (a trade, a book, an expected price), or None once every contract
        has expired."""
        # the rest of an instant first: the book a print left, after the print
        event = self._queued.popleft() if self._queued else self._next_event()
        if event is not None:
            self.last_time = event.time
        return event

    def _next_event(self) -> MarketEvent | None:
        rng = self.rng
        schedule = self._schedule
        side = self._side
        while True:
            # The next trade's instant, or the next step's: drawn once and kept while the
            # publication heap's earlier steps run, which draw nothing from ``rng`` (so that
            # what is watched cannot change the trades).
            upcoming = self._upcoming
            if upcoming is None:
                due = schedule.due
                upcoming = due
                if due > self.now and self._total > 0:
                    t = self.now + -math.log(1.0 - rng.random()) / self._total  # expovariate, inlined
                    if t < due:  # else the order stream is memoryless: a draw past the next
                        upcoming = -t  # step is dropped and drawn again after it (a trade: < 0)
                self._upcoming = upcoming
            if side and side[0][0] <= abs(upcoming):
                event = self._side_event()
                if event is not None:
                    return event
                continue
            self._upcoming = None
            if upcoming < 0:
                t = self.now = -upcoming
                contract = self._active[bisect.bisect_right(self._cumulative, rng.random() * self._total)]
                return MarketEvent(
                    t, contract.instrument, self._trade(contract, t), contract.trade_layout.tr_id
                )
            at, _, _, action, index, window = schedule.pop()
            self.now = at
            if action == UNCROSS:
                c = self.contracts[index]
                records = self._trade(c, at, c.auction_qty)
                c.auction_price = c.auction_qty = 0
                return MarketEvent(at, c.instrument, records, c.trade_layout.tr_id)
            if action == EXPECT:
                event = self._expect(index, at, window, window == self.times.open)
                if event is not None:
                    return event
                if self._queued:
                    return self._queued.popleft()
                if at > self.horizon:
                    # Nobody watches it, but a real-time simulator must wait for its instant
                    # before running on: a client subscribing during the auction then gets the
                    # steps after its subscription (the whole auction would otherwise run the
                    # moment the server starts, before anyone is in). An event without records.
                    c = self.contracts[index]
                    return MarketEvent(at, c.instrument, [], c.trade_layout.tr_id)
                continue
            if not self._advance(action, index, window):
                return None
            if self._queued:
                return self._queued.popleft()

    # ``_trade`` and the writers of ``sim/prints.py`` are the simulator's hot path (every event
    # of every code goes through them): helpers are inlined and bound to locals, and each draw is
    # made in the same order as the model describes, so one seed gives one stream of records.

    def _trade(self, c: Contract, t: float, auction: int = 0) -> list[str]:
        """Draw one order and its prints, or (``auction``: its size) an auction's uncross print;
        the record texts only if the code is watched (the draws and the contract's day are the
        same either way, so watching changes nothing)."""
        rng = self.rng
        random = rng.random
        spot_state = c.spot_state
        # The underlying's walk up to t (an index: its members' and its rest's), frozen outside
        # the stock market's hours (``updated`` starts the day at 09:00, so nothing moves before).
        u = t if t < self._spot_close else self._spot_close
        if spot_state.members is None:
            if u > spot_state.updated:
                self._walk(spot_state, u)
        elif u > spot_state.updated:
            self._walk_index(spot_state, u)
        if t >= spot_state.expand_at:
            self._expand(spot_state)
        time_text = hhmmss(t)
        prints = 1 if auction else 1 if random() >= SWEEP_PROBABILITY else 2 + int(random() * 3)
        if c.strike is None:
            return self._trade_future(c, t, spot_state.price, time_text, prints, auction)
        return self._trade_option(c, c.strike, t, spot_state, time_text, prints, auction)

    def _walk(self, spot: Spot, u: float) -> None:
        """The underlying's walk up to ``u`` (> ``spot.updated``), a correlated geometric
        Brownian motion on the stock tick grid, frozen outside the stock market's hours
        (``updated`` starts the day at 09:00, and ``u`` stops at 15:30)."""
        dt = u - spot.updated
        self._sample_factor(u)
        sigma = spot.vol * _PER_SECOND
        common = self._factor - spot.factor
        own = math.sqrt(dt) * self.rng.gauss(0.0, 1.0)
        spot.log_price += sigma * (MARKET_CORRELATION * common + _OWN * own) - 0.5 * sigma * sigma * dt
        spot.price = STOCK_GRID.round(math.exp(spot.log_price))
        spot.updated, spot.factor = u, self._factor
        if abs(spot.price - spot.prev_close) > spot.trigger:  # the next limit stage is due
            spot.trigger, spot.expand_at = math.inf, u + self.limit_delay

    def _sample_factor(self, u: float) -> None:
        if u > self._factor_time:  # a Brownian motion sampled at event times
            self._factor += math.sqrt(u - self._factor_time) * self.rng.gauss(0.0, 1.0)
            self._factor_time = u

    def _walk_index(self, index: Spot, u: float) -> None:
        """An index at ``u``: every member's walk brought up to ``u``, the rest's log R walked
        on the common factor (``kospi200.REST_CORRELATION``), the level their weighted sum."""
        assert index.members is not None  # mypy: only an index is walked here
        for spot in index.members.spots:
            if u > spot.updated:
                self._walk(spot, u)
        dt = u - index.updated
        self._sample_factor(u)
        sigma = REST_VOLATILITY * _PER_SECOND
        own = math.sqrt(dt) * self.rng.gauss(0.0, 1.0)
        shock = REST_CORRELATION * (self._factor - index.factor) + _REST_OWN * own
        index.log_price += sigma * shock - 0.5 * sigma * sigma * dt
        index.price = level(index.members, index.log_price)
        index.updated, index.factor = u, self._factor
        if abs(index.price - index.prev_close) > index.trigger:
            index.trigger, index.expand_at = math.inf, u + self.limit_delay

    def _spot_of(self, underlying: Underlying) -> Spot:
        """The spot of a stock, made if no product of it is listed (an index's member)."""
        if underlying.code not in self.spots:
            self.spots[underlying.code] = Spot(underlying, self.limit_stages)
        return self.spots[underlying.code]

    def _enter_session(self, day: date, start: float | None = None) -> None:
        """The trading day's start (``phases``), then each spot's first limit stage from its own
        stages (an index's futures have KOSPI200's, ±8/15/20 %)."""
        super()._enter_session(day, start)
        for spot in self.spots.values():
            stages = spot.stages
            spot.trigger = stages[0] * spot.prev_close if len(stages) > 1 else math.inf

    def _expand(self, spot: Spot) -> None:
        """The next stage of the daily limits of the underlying's futures."""
        spot.stage += 1
        last = spot.stage >= len(spot.stages) - 1
        spot.trigger = math.inf if last else spot.stages[spot.stage] * spot.prev_close
        spot.expand_at = math.inf
        for c in self._futures.get(spot.underlying.code, []):
            c.limits_for = None
