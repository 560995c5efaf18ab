"""The prints of one order: the trade writers of the market (``sim/market.py``).

An order arrives for one contract at one instant (the market decides which and when). Here it is
priced (futures around KRX's theoretical price, ``sim/fair.py``; options around Black-Scholes on
the spot less the dividends before expiry, with a smile), sized (``sim/liquidity.py``), walked
through 1–4 price levels (a sweep: several prints at one instant, one frame on the wire) within
the daily limits, and written as wire records (``sim/contracts.py``) if someone watches the code.
A buy lifts the ask, a sell hits the bid; the quotes after a print are as many ticks apart as the
contract's spread. Every draw is made in the same order whether the code is watched or not, so a
seed gives one market whatever the clients do. This is the simulator's hot path: helpers are
bound to locals.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..schema.layouts import FUTURES_TRADE, OPTION_TRADE
from .contracts import AUCTION, BUY, SELL, Contract, Quote, record_text
from .liquidity import BLOCK_FACTOR, BLOCK_PROBABILITY
from .pricing import bs_price, bs_tuple, implied_volatility, smile
from .ticks import STOCK_GRID, Grid

if TYPE_CHECKING:
    from .market import Spot

__all__ = ["Prints", "quote_after", "order_size", "oi_change", "YEAR_SECONDS"]

YEAR_SECONDS = 365.0 * 86_400  # time to expiry, calendar basis


def quote_after(
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


def order_size(mean: float, random: Callable[[], float]) -> int:
    """Contracts of one print: ``1 + Exp(mean)``, one print in 50 a block of ten times that."""
    qty = 1 + int(-math.log(1.0 - random()) * mean)
    return qty * BLOCK_FACTOR if random() < BLOCK_PROBABILITY else qty


def oi_change(qty: int, random: Callable[[], float]) -> int:
    """How a print of ``qty`` contracts moves open interest: each contract opens or closes a
    position, so the change is within ±qty; opening slightly more often (OI builds up)."""
    return min(qty, int(random() * (2 * qty + 1)) - qty + (1 if random() < 0.1 else 0))


class Prints:
    """The trade writers, a base of :class:`~kisfeed.sim.market.Market`, which owns the
    attributes declared here (set in its constructor)."""

    rng: random.Random
    rate: float
    watched: set[str]
    option_grid: Grid
    vol_scale: float
    greek_decimals: int
    dynamic_band: float
    dynamic_flags: tuple[str, str]
    limit_stages: tuple[float, ...]

    def _set_limits(self, c: Contract) -> None:
        c.limits_for = c.prev_close
        c.limits = STOCK_GRID.band(c.prev_close, self.limit_stages[c.spot_state.stage])

    def _trade_future(
        self, c: Contract, t: float, spot: int, time_text: str, prints: int, auction: int = 0
    ) -> list[str]:
        rng = self.rng
        random, gauss = rng.random, rng.gauss
        grid = STOCK_GRID
        tick_of = grid.tick_of
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
            qty = auction or order_size(mean, random)
            tick_oi = c.record_print(time_text, price, qty, side, oi_change(qty, random))
            quote = quote_after(price, side, n == last_n, random, grid, c.spread)
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
                    (*STOCK_GRID.band(ref, band), self.dynamic_flags[1])
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
            qty = auction or order_size(mean, random)
            tick_oi = c.record_print(time_text, price, qty, side, oi_change(qty, random))
            quote = quote_after(price, side, n == last_n, random, grid, spread)
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
