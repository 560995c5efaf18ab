"""The trading day of one contract and the wire fields of each of its trades.

A ``Contract`` keeps what an exchange feed accumulates over a day (open/high/low and their
times, cumulative volume and value, buy/sell counts and sums, open interest) and writes each
trade as the 49 (``H0ZFCNT0``) or 53 (``H0ZOCNT0``) field texts, or for a KOSPI200 product
the 50 of ``H0IFCNT0`` / 58 of ``H0IOCNT0``, prices as points. The relations of reference 4.4
hold exactly, because every derived field is computed here from the values written next to it:

* ``PRDY_VRSS`` = price − previous close; its sign code 2/3/5 (1/4 at the daily limits);
  ``*_PRDY_CTRT`` = change ÷ previous close × 100, rounded to 0.01.
* ``*_VRSS_PRPR`` = price − open/high/low with sign codes 2 (>0), 3 (=0), 5 (<0).
* ``ACML_VOL`` grows by ``LAST_CNQN``; ``ACML_TR_PBMN`` by price × quantity × the multiplier
  (10 shares; KOSPI200 products 250,000 KRW a point).
* ``NTBY_CNTG_CSNU`` = buy − sell counts; ``CTTR`` = buy sum ÷ sell sum × 100 (0.00 while no
  sell-initiated volume: [UNK], the reference has no example); ``SHNU_RATE`` = buy sum ÷ volume.
  An auction's uncross print (``sim/phases.py``) is neither buy- nor sell-initiated, so the sums
  of a contract that uncrossed stay below ``ACML_VOL``, as in the official futures example; the
  option example's add up to it (presumably no uncross print in that series: [INF]).
* ``ESDG`` = price − theo, ``DPRT`` = ``ESDG`` ÷ theo × 100 (``nan`` when theo is 0: ref 2.5),
  ``MRKT_BASIS`` = price − spot, ``THPR_BASIS`` = theo − spot (the same integer spot).
* ``OTST_STPL_QTY_ICDC`` = OI − previous day's OI; ``OTST_STPL_RGBF_QTY_ICDC`` = OI − OI at the
  contract's previous trade; option ``TMVL_VAL`` = price − ``INVL_VAL``.
* ``PRDY_VOL_VRSS_ACML_VOL_RATE`` = volume ÷ previous day's volume × 100.

Under the ``observed`` field profile (``profiles``, the simulator's default) a few fields are
written empty as the official examples carry them; every value is still computed, so the
relations above hold wherever no emptied field is involved.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from math import nan
from typing import TYPE_CHECKING

from ..schema.layouts import Layout, layout_for
from .book import Book
from .index import IndexInstrument
from .instruments import Instrument
from .ticks import STOCK_GRID, Grid
from .wire import FUTURES_POINT_FIELDS, OPTION_POINT_FIELDS, dn, r2, sign_code, to_points

if TYPE_CHECKING:
    from .fair import Carry
    from .liquidity import Activity
    from .market import Spot

__all__ = ["Contract", "Quote", "BUY", "SELL", "AUCTION"]

BUY, SELL, AUCTION = 1, -1, 0  # who initiated a print; an auction's uncross print is neither


@dataclass(slots=True)
class Quote:
    """Best ask/bid after a print, with level-1 and 10-level total quantities."""

    ask: int
    bid: int
    ask_qty: int
    bid_qty: int
    total_ask: int
    total_bid: int


class Contract:
    """One instrument's trading day. Prices are whole won (option premiums too: ticks ≥ 10), an
    index product's whole hundredths of a point."""

    __slots__ = (
        "instrument", "code", "prev_close", "prev_volume", "prev_oi", "open", "high",
        "low", "open_time", "high_time", "low_time", "last", "volume", "turnover", "buy_count",
        "sell_count", "buy_qty", "sell_qty", "oi",
        # Set by the market (its per-trade lookups): the underlying's spot walk, strike, call
        # flag, activity (sim/liquidity.py), the day's carry terms (sim/fair.py), quoted spread
        # in ticks, last-trade instant, sibling futures, and the daily limits with the previous
        # close they were computed for.
        "spot_state", "strike", "call", "activity", "terms", "spread", "end", "siblings",
        "limits", "limits_for",
        # Set by the simulator: wire texts laid over the writers' values (``profiles``).
        "blanks",
        # The book (sim/book.py) and, during an auction, the last expected price and the
        # quantity the uncross will match (sim/publish.py); 0 outside auctions.
        "book", "auction_price", "auction_qty",
        # What the instrument's market decides (stock or KOSPI200 index, ``sim/index.py``): the
        # price grid (set by the market), the trade and book layouts, the book's depth, whether
        # prices are hundredths of a point written as points, the KRW a price unit of one
        # contract is worth (turnover).
        "grid", "trade_layout", "book_layout", "depth", "points", "unit_value",
    )  # fmt: skip

    instrument: Instrument
    code: str
    prev_close: int
    prev_volume: int
    prev_oi: int
    open: int | None  # None until the day's first print
    high: int  # high and low: meaningful once ``open`` is set
    low: int
    open_time: str
    high_time: str
    low_time: str
    last: int | None
    volume: int
    turnover: int
    buy_count: int
    sell_count: int
    buy_qty: int
    sell_qty: int
    oi: int
    spot_state: Spot
    strike: int | None
    call: bool
    activity: Activity
    terms: Carry
    spread: int
    end: float
    siblings: list[Contract]
    limits: tuple[int, int]
    limits_for: int | None
    blanks: Mapping[str, str]
    book: Book
    auction_price: int
    auction_qty: int
    grid: Grid
    trade_layout: Layout
    book_layout: Layout
    depth: int
    points: bool
    unit_value: int

    def __init__(self, instrument: Instrument, prev_close: int, prev_volume: int, prev_oi: int) -> None:
        self.instrument = instrument
        self.code = instrument.code
        self.prev_close, self.prev_volume, self.prev_oi = prev_close, prev_volume, prev_oi
        self.oi = prev_oi
        self.strike = instrument.strike
        self.limits_for = None
        self.blanks = {}  # the "filled" profile: every value written as computed
        self.last, self.volume = None, 0
        self.book = Book()
        self.auction_price = self.auction_qty = 0
        trs = instrument.tr_ids
        self.trade_layout, self.book_layout = layout_for(trs[0]), layout_for(trs[1])
        self.depth = self.book_layout.depth
        self.grid = STOCK_GRID  # the market sets an option's or an index product's
        self.points = isinstance(instrument, IndexInstrument)
        # turnover (ACML_TR_PBMN) in KRW [UNK unit for index products]: a point is worth the
        # multiplier, and index prices are hundredths of a point
        self.unit_value = instrument.multiplier // 100 if self.points else instrument.multiplier
        self.new_day()

    def new_day(self) -> None:
        """Roll to the next trading day: today's close/volume/OI become the previous day's."""
        if self.last is not None:
            self.prev_close = self.last
        if self.volume:
            self.prev_volume = self.volume
        self.prev_oi = self.oi
        self.open = self.last = None
        self.high = self.low = 0
        self.open_time = self.high_time = self.low_time = "000000"
        self.volume = self.turnover = 0
        self.buy_count = self.sell_count = self.buy_qty = self.sell_qty = 0
        self.book.new_day()  # derivatives orders are day orders: the night's book is empty

    def record_print(self, time_text: str, price: int, qty: int, side: int, oi_change: int) -> int:
        """Accumulate one print into the day; returns the OI change it caused (never below 0 OI).
        Called for every trade, watched or not, so that the day's state never depends on who
        is subscribed."""
        if self.open is None:
            self.open = self.high = self.low = price
            self.open_time = self.high_time = self.low_time = time_text
        elif price > self.high:
            self.high, self.high_time = price, time_text
        elif price < self.low:
            self.low, self.low_time = price, time_text
        self.last = price
        self.volume += qty
        self.turnover += price * qty * self.unit_value
        if side == BUY:
            self.buy_count += 1
            self.buy_qty += qty
        elif side == SELL:
            self.sell_count += 1
            self.sell_qty += qty
        oi_change = max(oi_change, -self.oi)
        self.oi += oi_change
        return oi_change

    # The two writers below give the values of the trade just recorded, by field name, with the
    # field profile's texts laid over them (``blanks``); which field goes where is
    # ``record_text``'s business (the layouts').

    def futures_fields(
        self,
        time_text: str,
        price: int,
        qty: int,
        tick_oi: int,
        spot: int,
        theo: float,
        near: int,
        far: int,
        quote: Quote,
        limits: tuple[int, int],
        dynamic: tuple[int, int, str],
    ) -> dict[str, object]:
        """The 49 fields of the ``H0ZFCNT0`` trade just recorded (layout: reference 4.1)."""
        o = self.open if self.open is not None else price
        h, lo = self.high, self.low
        prev_close, volume, buy_qty, sell_qty = self.prev_close, self.volume, self.buy_qty, self.sell_qty
        change = price - prev_close
        upper, lower = limits
        sign = "1" if price >= upper else "4" if price <= lower else sign_code(change)
        # derived fields use the value as written, so relations hold exactly (an index product's
        # values are hundredths of a point: whole ones)
        theo = float(round(theo)) if self.points else r2(theo)
        esdg = round(price - theo, 2)
        q = quote
        values: dict[str, object] = {
            "code": self.code,
            "time": time_text,
            "price": price,
            "change_sign": sign,
            "change": change,
            "change_rate": r2(change / prev_close * 100.0) if prev_close else 0.0,
            "open": o,
            "high": h,
            "low": lo,
            "last_volume": qty,
            "volume": volume,
            "turnover": self.turnover,
            "theoretical_price": theo,
            "market_basis": price - spot,
            "disparity_rate": r2(esdg / theo * 100.0) if theo else 0.0,
            "near_month_price": near,
            "far_month_price": far,
            "spread": far - near,
            "open_interest": self.oi,
            "open_interest_change": self.oi - self.prev_oi,
            "open_time": self.open_time,
            "vs_open_sign": sign_code(price - o),
            "vs_open": price - o,
            "high_time": self.high_time,
            "vs_high_sign": sign_code(price - h),
            "vs_high": price - h,
            "low_time": self.low_time,
            "vs_low_sign": sign_code(price - lo),
            "vs_low": price - lo,
            "buy_ratio": r2(buy_qty / volume) if volume else 0.0,
            "trade_strength": r2(buy_qty / sell_qty * 100.0) if sell_qty else 0.0,
            "disparity": r2(esdg),
            "open_interest_tick_change": tick_oi,
            "theoretical_basis": r2(theo - spot),
            "ask1": q.ask,
            "bid1": q.bid,
            "ask1_qty": q.ask_qty,
            "bid1_qty": q.bid_qty,
            **self._flow(q),
            "dynamic_upper_limit": dynamic[0],
            "dynamic_lower_limit": dynamic[1],
            "dynamic_limit_flag": dynamic[2],
        }
        if self.points:  # H0IFCNT0: DSCS_BLTR_ACML_QTY too; no negotiated block trades modelled
            values["block_volume"] = 0
            to_points(values, FUTURES_POINT_FIELDS)
        values.update(self.blanks)
        return values

    def option_fields(
        self,
        time_text: str,
        price: int,
        qty: int,
        tick_oi: int,
        spot: int,
        theo: float,
        greeks: tuple[float, ...],
        greek_decimals: int,
        implied_vol: float,
        hist_vol: float,
        quote: Quote,
        extra: tuple[float, tuple[int, int, str]] = (0.0, (0, 0, "0")),
    ) -> dict[str, object]:
        """The 53 fields of the ``H0ZOCNT0`` trade just recorded (layout: reference 4.2), and
        H0IOCNT0's 5 more: ``extra`` is (AVRG_VLTL, the dynamic limits as for futures).
        Premiums and every derived value carry 2 decimals, as in the official example (whole-won
        premiums are ints, which ``format_value`` writes as ``.00``). An index option's Greeks
        are per point: the model's, per hundredth, rescaled."""
        o = self.open if self.open is not None else price
        h, lo = self.high, self.low
        prev_close, volume, buy_qty, sell_qty = self.prev_close, self.volume, self.buy_qty, self.sell_qty
        change = price - prev_close
        strike = self.instrument.strike or 0
        intrinsic = max(0, spot - strike) if self.instrument.kind == "call" else max(0, strike - spot)
        theo = float(round(theo)) if self.points else r2(theo)
        esdg = round(price - theo, 2)
        if self.points:
            d, g, v, th, rh = greeks
            greeks = (d, g * 100.0, v / 100.0, th / 100.0, rh / 100.0)
        delta, gamma, vega, theta, rho = (dn(x, greek_decimals) for x in greeks)
        q = quote
        values: dict[str, object] = {
            "code": self.code,
            "time": time_text,
            "price": price,
            "change_sign": sign_code(change),
            "change": change,
            "change_rate": r2(change / prev_close * 100.0) if prev_close else 0.0,
            "open": o,
            "high": h,
            "low": lo,
            "last_volume": qty,
            "volume": volume,
            "turnover": self.turnover,
            "theoretical_price": theo,
            "open_interest": self.oi,
            "open_interest_change": self.oi - self.prev_oi,
            "open_time": self.open_time,
            "vs_open_sign": sign_code(price - o),
            "vs_open": price - o,
            "high_time": self.high_time,
            "vs_high_sign": sign_code(price - h),
            "vs_high": price - h,
            "low_time": self.low_time,
            "vs_low_sign": sign_code(price - lo),
            "vs_low": price - lo,
            "buy_ratio": r2(buy_qty / volume) if volume else 0.0,
            "premium": price,
            "intrinsic_value": intrinsic,
            "time_value": price - intrinsic,
            "delta": delta,
            "gamma": gamma,
            "vega": vega,
            "theta": theta,
            "rho": rho,
            "implied_volatility": r2(implied_vol),  # NaN stays NaN: written "nan" (ref 2.5)
            "disparity": r2(esdg),
            "open_interest_tick_change": tick_oi,
            "theoretical_basis": r2(theo - spot),
            "historical_volatility": r2(hist_vol),
            "trade_strength": r2(buy_qty / sell_qty * 100.0) if sell_qty else 0.0,
            "disparity_rate": r2(esdg / theo * 100.0) if theo else nan,
            "market_basis": price - spot,
            "ask1": q.ask,
            "bid1": q.bid,
            "ask1_qty": q.ask_qty,
            "bid1_qty": q.bid_qty,
            **self._flow(q),
        }
        if self.points:  # H0IOCNT0's 5 more; DSCS_LRQN_VOL 0: no negotiated block trades modelled
            values["average_volatility"] = r2(extra[0])
            values["block_volume"] = 0
            values["dynamic_upper_limit"], values["dynamic_lower_limit"] = extra[1][0], extra[1][1]
            values["dynamic_limit_flag"] = extra[1][2]
            to_points(values, OPTION_POINT_FIELDS)
        values.update(self.blanks)
        return values

    # The field run both TRs end with (reference 4.1 and 4.2).

    def _flow(self, q: Quote) -> dict[str, object]:
        """SELN/SHNU/NTBY_CNTG_CSNU, SELN/SHNU_CNTG_SMTN, the book totals and the volume rate."""
        volume, prev = self.volume, self.prev_volume
        return {
            "sell_trades": self.sell_count,
            "buy_trades": self.buy_count,
            "net_buy_trades": self.buy_count - self.sell_count,
            "sell_volume": self.sell_qty,
            "buy_volume": self.buy_qty,
            "total_ask_qty": q.total_ask,
            "total_bid_qty": q.total_bid,
            "volume_rate": r2(volume / prev * 100.0) if prev else 0.0,
        }
