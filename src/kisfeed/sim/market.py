"""The market model: a deterministic stream of trades on the simulated universe.

``Market.next_event()`` advances a discrete-event simulation and returns the next trade event
(one instrument, one or more prints at the same instant) with the wire fields of each print. It
knows nothing of sockets or wall time, so the same seed and start give the same events in the
same order whatever the clients do; the server only decides *when* to send them and to whom.

Model (issue 3; reference 4.4, 6):

* Underlyings follow a geometric random walk in trading time with their annual volatility, a
  common market factor (correlation 0.5) and an overnight gap; the spot is rounded to the KRX
  stock tick and frozen after 15:30, when stocks close but stock F/O trade on to 15:45 (ref 6).
* Trades arrive as one Poisson process whose intensity is the sum of per-contract rates drawn
  at listing (``sim/liquidity.py``, calibrated on the official examples: a few busy front-month
  series near the money, most series quiet, quotes wider where trading is thin). About one
  order in eight sweeps several price levels: 2–4 prints at the same instant, which the server
  packs into one multi-record frame (ref 2.4).
* Futures quote around KRX's theoretical price (``sim/fair.py``: simple-rate carry less the
  dividends going ex before expiry) on the stock tick table (``sim/ticks.py``), within the staged
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
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import NamedTuple

from ..schema.layouts import FUTURES_TRADE, OPTION_TRADE
from ..schema.records import KST
from . import liquidity
from .calendar import KrxCalendar, Phase
from .contracts import AUCTION, BUY, SELL, Contract, Quote, hhmmss, record_text
from .fair import DIVIDENDS, carry, ex_dividend
from .instruments import Instrument, Underlying
from .liquidity import BLOCK_FACTOR, BLOCK_PROBABILITY
from .phases import UNCROSS, Auction, Schedule, TradingDay, auction_size
from .pricing import bs_price, bs_tuple, implied_volatility, smile
from .profiles import Profile, blanks_for
from .ticks import OPTION_TICKS, STOCK_GRID, Grid

__all__ = ["Market", "MarketEvent"]

TRADING_SECONDS_PER_YEAR = 252 * 23_400  # variance clock: 252 days of 6.5 stock-trading hours
YEAR_SECONDS = 365.0 * 86_400  # time to expiry, calendar basis
MARKET_CORRELATION = 0.5
_OWN = math.sqrt(1 - MARKET_CORRELATION**2)  # weight of an underlying's own shocks
_PER_SECOND = 1 / math.sqrt(TRADING_SECONDS_PER_YEAR)  # annual volatility -> per trading second
SWEEP_PROBABILITY = 0.12
LIMIT_STAGES = (0.10, 0.20, 0.30)  # the SSF daily limits, stage by stage (ref 6)
_stock_tick = STOCK_GRID.tick_of


def _quote_after(
    price: int, side: int, last: bool, random: Callable[[], float], grid: Grid, spread: int
) -> Quote:
    """The best quotes after a print, ``spread`` ticks apart: the level hit is gone, or (the
    last print of a sweep) partly left at the price. Draws in a fixed order, so a seed gives
    the same market."""
    if side == BUY:
        ask = price if last and random() < 0.5 else grid.up(price)
        bid = grid.down(ask, spread)
    else:
        bid = price if last and random() < 0.5 else grid.down(price)
        ask = grid.up(bid, spread)
    ask_qty, bid_qty = 1 + int(random() * 30), 1 + int(random() * 30)
    return Quote(ask, bid, ask_qty, bid_qty, ask_qty + int(random() * 300), bid_qty + int(random() * 300))


class MarketEvent(NamedTuple):
    """Prints of one instrument at one instant, as field texts in wire order. A named tuple:
    one is made per trade, and a frozen dataclass costs a setattr call per field."""

    time: float  # POSIX seconds
    instrument: Instrument
    records: list[str]  # each record's fields joined with ``^``; empty unless the code is watched

    @property
    def tr_id(self) -> str:
        return self.instrument.tr_id

    @property
    def code(self) -> str:
        return self.instrument.code

    @property
    def width(self) -> int:
        return 0  # every market record has its layout's width: one batch per TR


class Spot:
    """One underlying's log-price walk."""

    __slots__ = (
        "underlying", "log_price", "price", "prev_close", "updated", "factor", "vol", "hist_vol",
        "stage", "trigger", "expand_at",
    )  # fmt: skip

    def __init__(self, underlying: Underlying) -> None:
        self.underlying = underlying
        self.log_price = math.log(underlying.price)
        self.price = self.prev_close = underlying.price
        self.updated = 0.0
        self.factor = 0.0  # the market factor's value when this spot was last updated
        self.vol = self.hist_vol = underlying.volatility
        # The daily-limit stage of its futures; the move from the previous close (won) beyond
        # which the next stage is due; when it applies (inf: none due).
        self.stage, self.trigger, self.expand_at = 0, math.inf, math.inf


class Market(TradingDay):
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
        self.instruments = list(instruments)
        #: Codes whose record texts are wanted (subscribed somewhere). Only formatting depends
        #: on it: every instrument trades, and draws the same numbers, whether watched or not.
        self.watched: set[str] = set()
        self.spots: dict[str, Spot] = {}
        for inst in self.instruments:
            self.spots.setdefault(inst.underlying.code, Spot(inst.underlying))
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
        self._factor = 0.0
        self._factor_time = 0.0
        self._schedule = Schedule()
        #: The phase at ``now``, and the auction under way if any (the seam for expected prices).
        self.phase = Phase.CLOSED
        self.auction: Auction | None = None
        day = start.astimezone(KST).date() if self.always_open else self.calendar.session_from(start).day
        self._enter_session(day, start.timestamp())

    def _roll_day(self, day: date) -> None:
        """Overnight to ``day``: today's closes become the previous day's, and the stocks gap
        (a phases hook), by the dividend going ex on ``day`` too."""
        for spot in self.spots.values():
            u = spot.underlying
            spot.prev_close = spot.price
            gap = u.volatility / math.sqrt(252) * 0.3 * self.rng.gauss(0.0, 1.0)
            dividend = ex_dividend(DIVIDENDS.get(u.code, ()), day)
            spot.log_price = math.log(max(math.exp(spot.log_price + gap) - dividend, 1.0))
            spot.price = STOCK_GRID.round(math.exp(spot.log_price))
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
        if inst.strike is None:
            close = STOCK_GRID.round(terms.futures(u.price))
        else:
            years = self._years_left(inst, t)
            spot = terms.option_spot(u.price)
            vol = smile(u.volatility, math.log(inst.strike / (spot * math.exp(self.rate * years))))
            premium = bs_price(spot, inst.strike, years, self.rate, 0.0, vol, inst.kind == "call")
            close = max(self.option_grid.round(premium), self.option_grid.table[0][1])
        contract = Contract(inst, close, act.prev_volume, act.prev_oi)
        contract.activity, contract.terms = act, terms
        contract.spread = act.spread_ticks(act.rate(inst.strike, u.price))
        return contract

    # --- events ------------------------------------------------------------------------------

    def next_event(self) -> MarketEvent | None:
        """The next trade event, or None once every contract has expired."""
        rng = self.rng
        schedule = self._schedule
        while True:
            due = schedule.due
            if due > self.now and self._total > 0:
                t = self.now + -math.log(1.0 - rng.random()) / self._total  # expovariate, inlined
                if t < due:
                    self.now = t
                    contract = self._active[bisect.bisect_right(self._cumulative, rng.random() * self._total)]
                    return MarketEvent(t, contract.instrument, self._trade(contract, t))
            at, _, _, action, index, window = schedule.pop()  # the order stream is memoryless:
            self.now = at  # a draw past the next step is dropped and drawn again after it
            if action == UNCROSS:
                c = self.contracts[index]
                qty = auction_size(self._rate(c), window, c.activity.mean_size, rng.random)
                return MarketEvent(at, c.instrument, self._trade(c, at, qty))
            if not self._advance(action, index, window):
                return None

    # The two trade writers below are the simulator's hot path (every event of every code goes
    # through one): helpers are inlined and bound to locals, and each draw is made in the same
    # order as the model describes, so one seed gives one stream of records.

    def _trade(self, c: Contract, t: float, auction: int = 0) -> list[str]:
        """Draw one order and its prints, or (``auction``: its size) an auction's uncross print;
        the record texts only if the code is watched (the draws and the contract's day are the
        same either way, so watching changes nothing)."""
        rng = self.rng
        random = rng.random
        spot_state = c.spot_state
        # The underlying's walk up to t, a correlated geometric Brownian motion on the stock tick
        # grid; inline because it runs on nearly every event. Frozen outside the stock market's
        # hours (``updated`` starts the day at 09:00, so dt <= 0 before).
        u = t if t < self._spot_close else self._spot_close
        dt = u - spot_state.updated
        if dt > 0:
            if u > self._factor_time:  # the common factor is a Brownian motion sampled at event times
                self._factor += math.sqrt(u - self._factor_time) * rng.gauss(0.0, 1.0)
                self._factor_time = u
            sigma = spot_state.vol * _PER_SECOND
            common = self._factor - spot_state.factor
            own = math.sqrt(dt) * rng.gauss(0.0, 1.0)
            spot_state.log_price += (
                sigma * (MARKET_CORRELATION * common + _OWN * own) - 0.5 * sigma * sigma * dt
            )
            level = math.exp(spot_state.log_price)
            tick = _stock_tick(level)
            spot_state.price = round(level / tick) * tick
            spot_state.updated, spot_state.factor = u, self._factor
            if abs(spot_state.price - spot_state.prev_close) > spot_state.trigger:  # next limit stage due
                spot_state.trigger, spot_state.expand_at = math.inf, u + self.limit_delay
        if t >= spot_state.expand_at:
            self._expand(spot_state)
        time_text = hhmmss(t)
        prints = 1 if auction else 1 if random() >= SWEEP_PROBABILITY else 2 + int(random() * 3)
        if c.strike is None:
            return self._trade_future(c, t, spot_state.price, time_text, prints, auction)
        return self._trade_option(c, c.strike, t, spot_state, time_text, prints, auction)

    def _expand(self, spot: Spot) -> None:
        """The next stage of the daily limits of the underlying's futures."""
        spot.stage += 1
        last = spot.stage >= len(self.limit_stages) - 1
        spot.trigger = math.inf if last else self.limit_stages[spot.stage] * spot.prev_close
        spot.expand_at = math.inf
        for c in self._futures.get(spot.underlying.code, []):
            c.limits_for = None

    def _set_limits(self, c: Contract) -> None:
        band = self.limit_stages[c.spot_state.stage]
        c.limits_for = c.prev_close
        c.limits = (
            STOCK_GRID.floor(c.prev_close * (1 + band)),
            STOCK_GRID.ceil(c.prev_close * (1 - band)),
        )

    def _trade_future(
        self, c: Contract, t: float, spot: int, time_text: str, prints: int, auction: int = 0
    ) -> list[str]:
        rng = self.rng
        random, gauss, log = rng.random, rng.gauss, math.log
        grid = STOCK_GRID
        tick_of = _stock_tick
        watched = c.code in self.watched
        records: list[str] = []
        theo = c.terms.futures(spot)
        if c.limits_for != c.prev_close:  # the band moves with the previous close and the stage
            self._set_limits(c)
        upper, lower = c.limits
        tick = tick_of(theo)
        bid = grid.round(theo + (gauss(0.0, 0.6) - 0.5 * c.spread) * tick)
        if auction:  # the uncross: one price for all, neither buyer- nor seller-initiated
            side, price = AUCTION, grid.up(bid, c.spread // 2)
        else:  # takers lean toward the fair value: buy when the last price is below it
            reference = c.last if c.last is not None else c.prev_close
            side = BUY if random() < 0.5 + math.tanh((theo - reference) / tick) * 0.15 else SELL
            price = grid.up(bid, c.spread) if side == BUY else bid  # a buy lifts the ask
        band = self.dynamic_band
        mean = c.activity.mean_size
        last_n = prints - 1
        for n in range(prints):
            price = min(max(price, lower), upper)
            ref = c.last if c.last is not None else c.prev_close
            if auction:
                qty = auction
            else:
                qty = 1 + int(-log(1.0 - random()) * mean)
                if random() < BLOCK_PROBABILITY:
                    qty *= BLOCK_FACTOR
            tick_oi = c.record_print(time_text, price, qty, side, _oi_change(qty, random))
            quote = _quote_after(price, side, n == last_n, random, grid, c.spread)
            if watched:
                # NMSC/FMSC_FCTN_STPL_PRC: the front month against this month (the front
                # month's own far leg is the next month), as the spread SP front-this trades
                near = far = price
                far_month = 2 if c.instrument.month == 1 else c.instrument.month
                for x in c.siblings:
                    month = x.instrument.month
                    if month == 1 and x is not c:
                        near = x.last if x.last is not None else x.prev_close
                    elif month == far_month and x is not c:
                        far = x.last if x.last is not None else x.prev_close
                dynamic = (
                    (
                        STOCK_GRID.floor(ref * (1 + band)),
                        STOCK_GRID.ceil(ref * (1 - band)),
                        self.dynamic_flags[1],
                    )
                    if band > 0
                    else (0, 0, self.dynamic_flags[0])
                )
                fields = c.futures_fields(
                    time_text, price, qty, tick_oi, spot, theo, near, far, quote, (upper, lower), dynamic
                )
                records.append(record_text(FUTURES_TRADE, fields))
            price = grid.up(price) if side == BUY else grid.down(price)
        return records

    def _trade_option(
        self,
        c: Contract,
        strike: int,
        t: float,
        spot_state: Spot,
        time_text: str,
        prints: int,
        auction: int = 0,
    ) -> list[str]:
        """Options: Black-Scholes on the spot less the dividends before expiry, with a smile
        around the forward."""
        rng = self.rng
        random, gauss, log = rng.random, rng.gauss, math.log
        grid = self.option_grid
        tick_of = grid.tick_of
        watched = c.code in self.watched
        records: list[str] = []
        spot, call = spot_state.price, c.call
        net = c.terms.option_spot(spot)  # the model's spot; the wire's bases use the traded spot
        years = max(c.end - t, 0.0) / YEAR_SECONDS
        vol = smile(spot_state.vol, log(strike / (net * math.exp(self.rate * years))))
        if watched:
            g = bs_tuple(net, strike, years, self.rate, 0.0, vol, call)
            theo = g[0]
        else:  # the same premium without the Greeks nobody will read
            theo = bs_price(net, strike, years, self.rate, 0.0, vol, call)
        tick = tick_of(theo)
        # thin series quote wide, but a quote is never wider than about a third of the premium
        spread = min(c.spread, max(1, int(theo / (3 * tick))))
        bid = max(0, grid.round(theo + (gauss(0.0, 0.6) - 0.5 * spread) * tick))
        if auction:  # the uncross: one price for all, neither buyer- nor seller-initiated
            side, price = AUCTION, max(grid.up(bid, spread // 2), tick_of(0))
        else:
            if bid > 0:
                reference = c.last if c.last is not None else c.prev_close
                side = BUY if random() < 0.5 + math.tanh((theo - reference) / tick) * 0.15 else SELL
            else:
                side = BUY  # nobody sells at zero
            price = grid.up(bid, spread) if side == BUY else bid
        mean = c.activity.mean_size
        last_n = prints - 1
        for n in range(prints):
            if auction:
                qty = auction
            else:
                qty = 1 + int(-log(1.0 - random()) * mean)
                if random() < BLOCK_PROBABILITY:
                    qty *= BLOCK_FACTOR
            tick_oi = c.record_print(time_text, price, qty, side, _oi_change(qty, random))
            quote = _quote_after(price, side, n == last_n, random, grid, spread)
            if watched:
                iv = self._implied_vol(g, price, net, strike, years, call, vol)
                hist_vol = spot_state.hist_vol * self.vol_scale
                fields = c.option_fields(
                    time_text,
                    price,
                    qty,
                    tick_oi,
                    spot,
                    theo,
                    g[1:],
                    self.greek_decimals,
                    iv * self.vol_scale,
                    hist_vol,
                    quote,
                )
                records.append(record_text(OPTION_TRADE, fields))
            down = grid.down(price)
            if side == SELL and down <= 0:
                break  # a sell sweep stops at the lowest premium
            price = grid.up(price) if side == BUY else down
        return records

    def _implied_vol(
        self,
        g: tuple[float, ...],
        price: int,
        spot: float,
        strike: int,
        years: float,
        call: bool,
        vol: float,
    ) -> float:
        """The traded premium's implied volatility. Within a few ticks of the model value one
        Newton step from the model's volatility is exact to ~1e-6 (the error is second order in
        the price gap); further out, the full solve."""
        premium, vega = g[0], g[3]
        gap = price - premium
        if vega > 0 and abs(gap) <= 0.05 * premium:
            first = vol + gap / (vega * 100.0)
            return implied_volatility(price, spot, strike, years, self.rate, 0.0, call, guess=first)
        return implied_volatility(price, spot, strike, years, self.rate, 0.0, call, guess=vol)


def _oi_change(qty: int, random: Callable[[], float]) -> int:
    """How a print of ``qty`` contracts moves open interest: each contract opens or closes a
    position, so the change is within ±qty; opening slightly more often (OI builds up)."""
    return min(qty, int(random() * (2 * qty + 1)) - qty + (1 if random() < 0.1 else 0))
