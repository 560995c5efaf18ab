"""The prints of one order: the trade writers of the market (``sim/market.py``).

An order arrives for one contract at one instant (the market decides which and when). Here it is
priced (futures around KRX's theoretical price, ``sim/fair.py``; options around Black-Scholes on
the spot less the dividends before expiry, with a smile), sized (``sim/liquidity.py``), walked
through 1–4 price levels (a sweep: several prints at one instant, one frame on the wire) within
the daily limits, and written as wire records (``sim/contracts.py``) if someone watches the code.
The order hits the contract's book (``sim/book.py``) re-centred at its instant on the model's
bid and the ask ``spread`` ticks above it: a buy lifts the ask, a sell hits the bid, a sweep
takes level after level, the last fully or in part (an even chance), and each print's record
carries the book after it. Every draw is made in the same order whether the code is watched or not, so a
seed gives one market whatever the clients do. This is the simulator's hot path: helpers are
bound to locals.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import TYPE_CHECKING

from .book import QUOTE, Base, Level, after_print
from .contracts import AUCTION, BUY, SELL, Contract, Quote
from .liquidity import BLOCK_FACTOR, BLOCK_PROBABILITY
from .pricing import bs_price, bs_tuple, implied_volatility, smile
from .ticks import Grid
from .wire import record_text

if TYPE_CHECKING:
    from .market import Spot


_NONE: Level = (0, 0, 0)  # an empty side's level 1


__all__ = ["Prints", "order_size", "oi_change", "YEAR_SECONDS"]

YEAR_SECONDS = 365.0 * 86_400  # time to expiry, calendar basis


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
    vol_scale: float
    greek_decimals: int
    dynamic_band: float
    dynamic_flags: tuple[str, str]
    # sim/publish.py's (a base of the market too): publish a book; make one for a contract
    _settle: Callable[[Contract, float, Base], None]
    _base: Callable[[Contract, int, int, int, int, Grid], Base]

    @staticmethod
    def _quote(
        c: Contract, base: Base, prices: list[int], qtys: list[int], n: int, buy: bool, partial: bool
    ) -> Quote:
        """The book fields of print ``n``: the book ``base`` the order left, with the levels the
        later prints of a sweep take still in it (``after_print``). When the field profile
        writes the quantities empty (futures under ``observed``) only the best prices are
        drawn: the same texts, less work on the hot path."""
        if n == len(prices) - 1:
            if "total_ask_qty" in c.blanks:
                return Quote(*base.best(), 0, 0, 0, 0)
            return Quote(*base.top())
        depth = c.depth
        asks, bids = after_print(base.sides(), prices, qtys, n, buy, partial, depth)
        a, b = asks[0] if asks else _NONE, bids[0] if bids else _NONE
        return Quote(a[0], b[0], a[1], b[1], sum(x[1] for x in asks[:depth]), sum(x[1] for x in bids[:depth]))

    def _book_after(
        self,
        c: Contract,
        t: float,
        side: int,
        prices: list[int],
        bid: int,
        ask: int,
        grid: Grid,
        ceiling: int,
        floor: int,
        spread: int,
    ) -> tuple[Base, bool]:
        """The book an order leaves (two draws: whether the last level is left in part, and the
        seed of the levels) and its publication; returns it and the ``partial`` draw."""
        rng = self.rng
        quoted = bid
        partial = rng.random() < 0.5
        seed = rng.getrandbits(64)
        last = prices[-1]
        if side == BUY:
            if ceiling and last >= ceiling:
                partial = True  # the limit price stays offered: nothing trades above it
            ask = last if partial else grid.up(last)
        elif side == SELL:
            if last <= floor:
                partial = True
            bid = last if partial else grid.down(last)
        else:  # the uncross leaves unmatched orders at its price on one side
            bid, ask = (last, grid.up(last, spread)) if partial else (grid.down(last, spread), last)
        base = self._base(c, QUOTE, seed, ask, bid, grid)
        base.anchor = quoted  # a sell leaves the ask where it was quoted, above the bid it hit
        self._settle(c, t, base)
        return base, partial

    def _set_limits(self, c: Contract) -> None:
        c.limits_for = c.prev_close
        c.limits = c.grid.band(c.prev_close, c.spot_state.stages[c.spot_state.stage])

    def _trade_future(
        self, c: Contract, t: float, spot: int, time_text: str, prints: int, auction: int = 0
    ) -> list[str]:
        rng = self.rng
        random, gauss = rng.random, rng.gauss
        grid = c.grid
        watched = c.code in self.watched
        records: list[str] = []
        theo = c.terms.futures(spot)
        if c.limits_for != c.prev_close:  # the band moves with the previous close and the stage
            self._set_limits(c)
        upper, lower = c.limits
        tick = grid.tick_of(theo)
        # the book re-centred at this instant: the model's bid, the ask ``spread`` ticks above
        bid = min(max(grid.round(theo + (gauss(0.0, 0.6) - 0.5 * c.spread) * tick), lower), grid.down(upper))
        ask = (
            -c.spread
        )  # ``spread`` ticks above the bid: worked out for a buy, or a book drawn (Base.ask_price)
        if auction:  # the uncross: one price for all (the last expected price), neither side's
            side, price = AUCTION, c.auction_price or grid.up(bid, c.spread // 2)
        else:  # takers lean toward the fair value: buy when the last price is below it
            reference = c.last if c.last is not None else c.prev_close
            side = BUY if random() < 0.5 + math.tanh((theo - reference) / tick) * 0.15 else SELL
            if side == BUY:  # a buy lifts the ask
                ask = price = min(grid.up(bid, c.spread), upper)
            else:
                price = bid
        prices = []
        for _ in range(prints):  # a sweep walks the levels, a tick apart, up to the daily limit
            price = min(max(price, lower), upper)
            prices.append(price)
            price = grid.up(price) if side == BUY else grid.down(price)
        mean = c.activity.mean_size
        qtys = [auction or order_size(mean, random) for _ in prices]
        base, partial = self._book_after(c, t, side, prices, bid, ask, grid, upper, lower, c.spread)
        for n, price in enumerate(prices):
            ref = c.last if c.last is not None else c.prev_close
            qty = qtys[n]
            tick_oi = c.record_print(time_text, price, qty, side, oi_change(qty, random))
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
                dynamic = self._dynamic(ref, grid)
                quote = self._quote(c, base, prices, qtys, n, side == BUY, partial)
                fields = c.futures_fields(
                    time_text, price, qty, tick_oi, spot, theo, near, far, quote, (upper, lower), dynamic
                )
                records.append(record_text(c.trade_layout, fields))
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
        grid = c.grid
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
        ask = -spread  # as for futures
        if auction:  # the uncross: one price for all (the last expected price), neither side's
            side, price = AUCTION, c.auction_price or max(grid.up(bid, spread // 2), tick_of(0))
        else:
            if bid > 0:
                reference = c.last if c.last is not None else c.prev_close
                side = BUY if random() < 0.5 + math.tanh((theo - reference) / tick) * 0.15 else SELL
            else:
                side = BUY  # nobody sells at zero
            if side == BUY:
                ask = price = max(grid.up(bid, spread), tick_of(0))
            else:
                price = bid
        prices = [price]
        for _ in range(prints - 1):  # a sweep walks the levels; a sell stops at the lowest premium
            price = grid.up(price) if side == BUY else grid.down(price)
            if price <= 0:
                break
            prices.append(price)
        mean = c.activity.mean_size
        qtys = [auction or order_size(mean, random) for _ in prices]
        base, partial = self._book_after(c, t, side, prices, bid, ask, grid, 0, tick_of(0), spread)
        for n, price in enumerate(prices):
            ref = c.last if c.last is not None else c.prev_close
            qty = qtys[n]
            tick_oi = c.record_print(time_text, price, qty, side, oi_change(qty, random))
            if watched:
                iv = self._implied_vol(g, price, net, strike, years, call, vol)
                hist_vol = spot_state.hist_vol * self.vol_scale
                quote = self._quote(c, base, prices, qtys, n, side == BUY, partial)
                extra = (spot_state.vol * self.vol_scale, self._dynamic(ref, grid))
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
                    extra,
                )
                records.append(record_text(c.trade_layout, fields))
        return records

    def _dynamic(self, ref: int, grid: Grid) -> tuple[int, int, str]:
        """DYNM_MXPR, DYNM_LLAM, DYNM_PRC_LIMT_YN: the band around ``ref``, the price before the
        print, when ``SimConfig.dynamic_limit_band`` is set, else zeros and the "off" flag."""
        band = self.dynamic_band
        if band <= 0:
            return 0, 0, self.dynamic_flags[0]
        return (*grid.band(ref, band), self.dynamic_flags[1])

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
