"""The trading day of one contract and the wire fields of each of its trades.

A ``Contract`` keeps what an exchange feed accumulates over a day (open/high/low and their
times, cumulative volume and value, buy/sell counts and sums, open interest) and writes each
trade as the 49 (``H0ZFCNT0``) or 53 (``H0ZOCNT0``) field texts. The relations of reference 4.4
hold exactly, because every derived field is computed here from the values written next to it:

* ``PRDY_VRSS`` = price − previous close; its sign code 2/3/5 (1/4 at the daily limits);
  ``*_PRDY_CTRT`` = change ÷ previous close × 100, rounded to 0.01.
* ``*_VRSS_PRPR`` = price − open/high/low with sign codes 2 (>0), 3 (=0), 5 (<0).
* ``ACML_VOL`` grows by ``LAST_CNQN``; ``ACML_TR_PBMN`` by price × quantity × 10 (multiplier).
* ``NTBY_CNTG_CSNU`` = buy − sell counts; ``CTTR`` = buy sum ÷ sell sum × 100 (0.00 while no
  sell-initiated volume: [UNK], the reference has no example); ``SHNU_RATE`` = buy sum ÷ volume.
  Futures' opening (auction) print is neither buy- nor sell-initiated, so their sums stay below
  ``ACML_VOL`` as in the official futures example; options' sums add up to it.
* ``ESDG`` = price − theo, ``DPRT`` = ``ESDG`` ÷ theo × 100 (``nan`` when theo is 0: ref 2.5),
  ``MRKT_BASIS`` = price − spot, ``THPR_BASIS`` = theo − spot (the same integer spot).
* ``OTST_STPL_QTY_ICDC`` = OI − previous day's OI; ``OTST_STPL_RGBF_QTY_ICDC`` = OI − OI at the
  contract's previous trade; option ``TMVL_VAL`` = price − ``INVL_VAL``.
* ``PRDY_VOL_VRSS_ACML_VOL_RATE`` = volume ÷ previous day's volume × 100.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import isnan

from ..schema.layouts import FUTURES_TRADE, OPTION_TRADE
from .instruments import MULTIPLIER, Instrument

__all__ = ["Contract", "Quote", "sign_code", "hhmmss", "d2", "ratio"]

BUY, SELL, AUCTION = 1, -1, 0  # who initiated a print; the opening print is an auction


def sign_code(diff: float) -> str:
    """2 up, 3 unchanged, 5 down (reference 4.4; 1/4 are the daily limits, decided by callers)."""
    return "2" if diff > 0 else "5" if diff < 0 else "3"


def d2(value: float) -> str:
    """Two decimals (``format`` rounds like ``round``), never ``-0.00``."""
    text = f"{value:.2f}"
    return "0.00" if text == "-0.00" else text


def dn(value: float, decimals: int) -> str:
    """``decimals`` places, never a negative zero."""
    text = f"{value:.{decimals}f}"
    return text[1:] if text[0] == "-" and not text.strip("-0.") else text


def ratio(numerator: float, denominator: float, scale: float = 100.0) -> str:
    return d2(numerator / denominator * scale) if denominator else "0.00"


_TIMES: dict[int, str] = {}


def hhmmss(timestamp: float) -> str:
    """``BSOP_HOUR`` text of a POSIX time in KST (UTC+9, no daylight saving)."""
    second = int(timestamp + 32_400) % 86_400
    text = _TIMES.get(second)
    if text is None:
        text = _TIMES[second] = f"{second // 3600:02d}{second % 3600 // 60:02d}{second % 60:02d}"
    return text


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
    """One instrument's trading day. Prices are whole won (option premiums too: ticks ≥ 10)."""

    __slots__ = (
        "instrument", "code", "option", "prev_close", "prev_volume", "prev_oi", "open", "high",
        "low", "open_time", "high_time", "low_time", "last", "volume", "turnover", "buy_count",
        "sell_count", "buy_qty", "sell_qty", "oi", "weight", "vol_factor",
        # Set by the market once (its per-trade lookups): the underlying's spot walk, strike,
        # call flag, dividend yield, carry rate, last-trade instant, sibling futures, and the
        # daily limits with the previous close they were computed for.
        "spot_state", "strike", "call", "dividend_yield", "carry", "end", "siblings", "limits", "limits_for",
    )  # fmt: skip

    def __init__(self, instrument: Instrument, prev_close: int, prev_volume: int, prev_oi: int) -> None:
        self.instrument = instrument
        self.code = instrument.code
        self.option = instrument.is_option
        self.prev_close, self.prev_volume, self.prev_oi = prev_close, prev_volume, prev_oi
        self.oi = prev_oi
        self.weight = 0.0  # trade arrival rate, set by the market each day
        self.vol_factor = 1.0  # this contract's volatility relative to its underlying's (smile)
        self.strike = instrument.strike
        self.limits_for = None
        self.new_day()

    def new_day(self) -> None:
        """Roll to the next trading day: today's close/volume/OI become the previous day's."""
        if getattr(self, "last", None) is not None:
            self.prev_close = self.last  # type: ignore[assignment]
        if getattr(self, "volume", 0):
            self.prev_volume = self.volume
        self.prev_oi = self.oi
        self.open = self.high = self.low = self.last = None
        self.open_time = self.high_time = self.low_time = "000000"
        self.volume = self.turnover = 0
        self.buy_count = self.sell_count = self.buy_qty = self.sell_qty = 0

    @property
    def reference(self) -> int:
        """Last price today, else the previous close."""
        return self.last if self.last is not None else self.prev_close

    def record_print(self, time_text: str, price: int, qty: int, side: int, oi_change: int) -> int:
        """Accumulate one print into the day; returns the OI change it caused (never below 0 OI).
        Called for every trade, watched or not, so that the day's state never depends on who
        is subscribed."""
        if self.open is None:
            self.open = self.high = self.low = price
            self.open_time = self.high_time = self.low_time = time_text
        elif price > self.high:  # type: ignore[operator]
            self.high, self.high_time = price, time_text
        elif price < self.low:  # type: ignore[operator]
            self.low, self.low_time = price, time_text
        self.last = price
        self.volume += qty
        self.turnover += price * qty * MULTIPLIER
        if side == BUY:
            self.buy_count += 1
            self.buy_qty += qty
        elif side == SELL:
            self.sell_count += 1
            self.sell_qty += qty
        oi_change = max(oi_change, -self.oi)
        self.oi += oi_change
        return oi_change

    # The two writers below build the ``^``-joined record in one f-string (the hot path of the
    # simulator); ``_check_widths`` holds them to the layouts.

    def futures_text(
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
    ) -> str:
        """The 49 fields of the ``H0ZFCNT0`` trade just recorded (layout: reference 4.1)."""
        o, h, lo = self.open, self.high, self.low
        prev_close, volume, buy_qty, sell_qty = self.prev_close, self.volume, self.buy_qty, self.sell_qty
        change = price - prev_close
        upper, lower = limits
        sign = "1" if price >= upper else "4" if price <= lower else sign_code(change)
        theo_text = d2(theo)
        theo = float(theo_text)  # derived fields use the value as written, so relations hold exactly
        esdg = round(price - theo, 2)
        q = quote
        return (
            f"{self.code}^{time_text}^{price}^{sign}^{change}^{d2(change / prev_close * 100.0) if prev_close else '0.00'}^"
            f"{o}^{h}^{lo}^{qty}^{volume}^{self.turnover}^"
            f"{theo_text}^{price - spot}.00^{d2(esdg / theo * 100.0) if theo else '0.00'}^{near}.00^{far}.00^{far - near}.00^"
            f"{self.oi}^{self.oi - self.prev_oi}^"
            f"{self.open_time}^{sign_code(price - o)}^{price - o}^"  # type: ignore[operator]
            f"{self.high_time}^{sign_code(price - h)}^{price - h}^"  # type: ignore[operator]
            f"{self.low_time}^{sign_code(price - lo)}^{price - lo}^"  # type: ignore[operator]
            f"{d2(buy_qty / volume) if volume else '0.00'}^{d2(buy_qty / sell_qty * 100.0) if sell_qty else '0.00'}^"
            f"{d2(esdg)}^{tick_oi}^{d2(theo - spot)}^"
            f"{q.ask}^{q.bid}^{q.ask_qty}^{q.bid_qty}^{self._flow(q)}^{dynamic[0]}^{dynamic[1]}^{dynamic[2]}"
        )

    def option_text(
        self,
        time_text: str,
        price: int,
        qty: int,
        tick_oi: int,
        spot: int,
        theo: float,
        greeks: tuple[float, float, float, float, float],
        greek_decimals: int,
        implied_vol: float,
        hist_vol: float,
        quote: Quote,
    ) -> str:
        """The 53 fields of the ``H0ZOCNT0`` trade just recorded (layout: reference 4.2).
        Premiums and every derived value carry 2 decimals, as in the official example."""
        o, h, lo = self.open, self.high, self.low
        prev_close, volume, buy_qty, sell_qty = self.prev_close, self.volume, self.buy_qty, self.sell_qty
        change = price - prev_close
        strike = self.instrument.strike or 0
        intrinsic = max(0, spot - strike) if self.instrument.kind == "call" else max(0, strike - spot)
        theo_text = d2(theo)
        theo = float(theo_text)
        esdg = round(price - theo, 2)
        disparity = d2(esdg / theo * 100.0) if theo else "nan"
        delta, gamma, vega, theta, rho = (dn(x, greek_decimals) for x in greeks)
        iv = "nan" if isnan(implied_vol) else d2(implied_vol)
        q = quote
        return (
            f"{self.code}^{time_text}^{price}.00^{sign_code(change)}^{change}.00^"
            f"{d2(change / prev_close * 100.0) if prev_close else '0.00'}^{o}.00^{h}.00^{lo}.00^"
            f"{qty}^{volume}^{self.turnover}^{theo_text}^{self.oi}^{self.oi - self.prev_oi}^"
            f"{self.open_time}^{sign_code(price - o)}^{price - o}.00^"  # type: ignore[operator]
            f"{self.high_time}^{sign_code(price - h)}^{price - h}.00^"  # type: ignore[operator]
            f"{self.low_time}^{sign_code(price - lo)}^{price - lo}.00^"  # type: ignore[operator]
            f"{d2(buy_qty / volume) if volume else '0.00'}^{price}.00^{intrinsic}.00^{price - intrinsic}.00^"
            f"{delta}^{gamma}^{vega}^{theta}^{rho}^{iv}^{d2(esdg)}^{tick_oi}^{d2(theo - spot)}^"
            f"{d2(hist_vol)}^{d2(buy_qty / sell_qty * 100.0) if sell_qty else '0.00'}^{disparity}^{price - spot}.00^"
            f"{q.ask}.00^{q.bid}.00^{q.ask_qty}^{q.bid_qty}^{self._flow(q)}"
        )

    # The field run both TRs end with, in the same order (reference 4.1 and 4.2).

    def _flow(self, q: Quote) -> str:
        """SELN/SHNU/NTBY_CNTG_CSNU, SELN/SHNU_CNTG_SMTN, the book totals and the volume rate."""
        volume, prev = self.volume, self.prev_volume
        return (
            f"{self.sell_count}^{self.buy_count}^{self.buy_count - self.sell_count}^"
            f"{self.sell_qty}^{self.buy_qty}^{q.total_ask}^{q.total_bid}^"
            f"{d2(volume / prev * 100.0) if prev else '0.00'}"
        )


# The writers above put fields in order by hand for speed; this holds them to the layouts (the
# one place field order is defined) once, at import, so a layout change cannot slip by.
def _check_widths() -> None:
    from datetime import date

    from .instruments import UNDERLYINGS

    quote = Quote(2, 1, 1, 1, 1, 1)
    fut = Contract(Instrument("A11612", "future", UNDERLYINGS[0], date(2026, 12, 10), 1, None), 1, 1, 1)
    opt = Contract(Instrument("B11612070", "call", UNDERLYINGS[0], date(2026, 12, 10), 1, 70_000), 1, 1, 1)
    fut.record_print("090000", 1, 1, BUY, 0)
    opt.record_print("090000", 1, 1, BUY, 0)
    f = fut.futures_text(
        "090000", 1, 1, 0, spot=1, theo=1.0, near=1, far=1, quote=quote, limits=(9, 0), dynamic=(0, 0, "0")
    )
    o = opt.option_text(
        "090000", 1, 1, 0, spot=1, theo=1.0, greeks=(0, 0, 0, 0, 0), greek_decimals=2,
        implied_vol=0.3, hist_vol=0.3, quote=quote,
    )  # fmt: skip
    widths = (len(f.split("^")), len(o.split("^")))
    assert widths == (FUTURES_TRADE.width, OPTION_TRADE.width), widths


_check_widths()
