"""How much each contract trades: arrival rate, order size, quoted spread, previous-day values.

Calibrated on the two official example frames (reference 6, "Liquidity"; both from a 09:00-open
day of 2024):

* ``H0ZFCNT0`` 111V06 (Samsung Electronics futures) at 09:16:39: 141 trades (105 sell- and 36
  buy-initiated), 1,724 contracts, OI 32,053, volume 6.23 % of the previous day's, best quotes one
  tick apart: 0.15 trades a second in the first quarter hour, 12 contracts a print, about
  28,000 contracts the previous day, OI near one day's volume. The simulator's Samsung front
  month trades 0.12 times a second all day (its rate has no intraday shape), about 40,000
  contracts a day.
* ``H0ZOCNT0`` 211V05059 (a Samsung call) at 09:19:40: 29 trades, 563 contracts, OI 1,134,
  volume 12.33 % of the previous day's, quotes 1,100/1,040 (three 20-won ticks apart). So a busy
  Samsung series trades about 0.025 times a second, 19 contracts a print, OI a quarter of a day's
  volume, three ticks wide.

KOSPI200 products (``sim/index.py``): the front-month futures is by far the busiest Korean
derivative, 257,420 contracts on one ordinary day (서울경제, KOSPI200 September futures; the
record is 537,181, 한국경제 2009-05-25): the simulator's trades 0.4 times a second with prints of
15 contracts, about 210,000 contracts a day. Options trade near the money (activity falls off
over 2 % of moneyness, ``exp(-|ln(K/S)| / 0.02)``, some 4 strikes each side), the front monthly
and the weeklies most: 0.012 trades a second at the money, prints of 20 contracts (modelling
choices; KOSPI200 options trade millions of contracts a day, but a faithful rate would multiply
the simulator's event rate for every user, so the index products together add about 1.4 times
the stock products' events; ``SimConfig.index_products`` turns them off).

Everything else scales down from those two: other underlyings trade less, next months a few
percent of the front month, options fall off fast with moneyness, and each series carries a
random factor of its own, so that a handful of front-month series near the money trade all day
while most series print a few times a day or not at all, silent for long stretches, with wider
quotes (docs/sim-calibration.md has the resulting distribution).
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass

from .index import IndexInstrument
from .instruments import Instrument

__all__ = [
    "Activity",
    "activity",
    "UNDERLYING_ACTIVITY",
    "CONTINUOUS_SECONDS",
    "BLOCK_PROBABILITY",
    "BLOCK_FACTOR",
]

#: Seconds of continuous trading in a regular day (08:45-15:35, reference 6).
CONTINUOUS_SECONDS = 24_600
#: One order in fifty is a block of ten times the usual size.
BLOCK_PROBABILITY, BLOCK_FACTOR = 0.02, 10
#: About one order in eight sweeps several price levels: 2-4 prints at one instant (ref 2.4).
SWEEP_PROBABILITY = 0.12
#: Contracts an order trades, against the mean size of one print: a print of ``1 + Exp(mean)``
#: contracts averages ``mean + 0.5``, blocks add their share, and a sweep prints three times.
_PER_ORDER = (1 + BLOCK_PROBABILITY * (BLOCK_FACTOR - 1)) * (1 + 2 * SWEEP_PROBABILITY)

#: Underlying code -> (front-month futures trades per second, trades per second of its busiest
#: option series). Samsung's pair is the examples'; the others are the simulator's assumptions,
#: ordered as the KRX volume rankings order them (Samsung and SK hynix far ahead).
UNDERLYING_ACTIVITY: Mapping[str, tuple[float, float]] = {
    "005930": (0.12, 0.025),
    "000660": (0.08, 0.008),
    "005380": (0.03, 0.002),
    "373220": (0.02, 0.001),
    "000270": (0.02, 0.001),
    "035420": (0.015, 0.001),
    "068270": (0.015, 0.0008),
    "105560": (0.015, 0.0005),
    "005490": (0.015, 0.0008),
    "247540": (0.02, 0.001),
}
_DEFAULT_ACTIVITY = (0.01, 0.0005)
#: KOSPI200: (front futures, an at-the-money front monthly call), trades a second; print sizes;
#: the moneyness scale; the weeklies' factors on the monthly rate (Thursday, Monday).
INDEX_ACTIVITY = (0.4, 0.012)
_INDEX_SIZES = (15.0, 20.0)
_INDEX_MONEYNESS = 0.02
_INDEX_WEEKLY = {"thursday": 1.0, "monday": 0.7}
_INDEX_FUTURES_MONTHS = (1.0, 0.02, 0.002)
_INDEX_OPTION_MONTHS = (1.0, 0.12, 0.02)
_FUTURES_MONTHS = (1.0, 0.04, 0.004)  # front, next, any later month
_OPTION_MONTHS = (1.0, 0.15, 0.02)
_MONEYNESS_SCALE = 0.05  # options: rate × exp(-|ln(K/F)| / scale)
_PUT_FACTOR = 0.6
_SERIES_SIGMA = 0.8  # lognormal spread of one series' activity around its expectation


@dataclass(frozen=True, slots=True)
class Activity:
    """One contract's trading, drawn once when the simulation lists it."""

    base: float  # trades per second of continuous trading at the money (futures: at any price)
    mean_size: float  # mean contracts of an ordinary print (before blocks)
    prev_volume: int  # the previous day's volume (``PRDY_VOL_VRSS_ACML_VOL_RATE``'s base)
    prev_oi: int  # open interest at the previous close
    busy: tuple[float, int]  # (trades per second, spread in ticks) of the spread's reference
    moneyness: float = _MONEYNESS_SCALE

    def rate(self, strike: int | None, spot: float) -> float:
        """Trades per second now: an option's activity falls off as the spot moves away from its
        strike (``exp(-|ln(K/S)| / 0.05)``, KOSPI200's over 0.02), so the busy series follow
        the money through the day."""
        if strike is None:
            return self.base
        return self.base * math.exp(-abs(math.log(strike / spot)) / self.moneyness)

    def spread_ticks(self, rate: float) -> int:
        """Quoted spread in ticks at ``rate``: the reference's ticks at its rate (futures: one
        tick at the front month's rate, as in the example; options: three at 0.025/s, the
        option example's 1,100/1,040), wider as trading thins (× (busy / rate) ** 0.25, from 1
        to 10 ticks)."""
        at, ticks = self.busy
        return max(1, min(10, round(ticks * (at / rate) ** 0.25))) if rate > 0 else 10


def _month_factor(table: tuple[float, ...], month: int) -> float:
    return table[min(month, len(table)) - 1]


def activity(inst: Instrument, spot: float, rng: random.Random, scale: float = 1.0) -> Activity:
    """Draw a contract's activity (three draws, in a fixed order, from ``rng``) at the listing
    ``spot``; ``scale`` multiplies every rate (``SimConfig.activity``)."""
    futures_rate, option_rate = UNDERLYING_ACTIVITY.get(inst.underlying.code, _DEFAULT_ACTIVITY)
    noise = math.exp(_SERIES_SIGMA * rng.gauss(0.0, 1.0) - 0.5 * _SERIES_SIGMA**2)
    moneyness = _MONEYNESS_SCALE
    if isinstance(inst, IndexInstrument):
        futures_rate, option_rate = INDEX_ACTIVITY
        moneyness = _INDEX_MONEYNESS
        if inst.strike is None:
            base = futures_rate * _month_factor(_INDEX_FUTURES_MONTHS, inst.month)
            base *= noise if inst.month > 1 else 1.0
            mean_size, busy = _INDEX_SIZES[0], (futures_rate * scale, 1)
        else:
            month = (
                _INDEX_WEEKLY[inst.weekly] if inst.weekly else _month_factor(_INDEX_OPTION_MONTHS, inst.month)
            )
            base = option_rate * month * noise * (_PUT_FACTOR if inst.kind == "put" else 1.0)
            mean_size, busy = _INDEX_SIZES[1], (option_rate * scale, 1)
    elif inst.strike is None:
        base = futures_rate * _month_factor(_FUTURES_MONTHS, inst.month) * (noise if inst.month > 1 else 1.0)
        mean_size, busy = 12.0, (futures_rate * scale, 1)
    else:
        base = option_rate * _month_factor(_OPTION_MONTHS, inst.month) * noise
        base *= _PUT_FACTOR if inst.kind == "put" else 1.0
        mean_size, busy = 19.0, (0.025 * scale, 3)
    base *= scale
    listed = Activity(base, mean_size, 0, 0, busy, moneyness)
    day = listed.rate(inst.strike, spot) * CONTINUOUS_SECONDS * (mean_size + 0.5) * _PER_ORDER
    prev_volume = int(day * math.exp(0.3 * rng.gauss(0.0, 1.0)))
    if inst.strike is None:  # futures OI is about a day's volume (example: 32,053 against ~27,700)
        # KOSPI200 futures: OI 98,263 against 257,420 contracts traded (서울경제), about 0.4
        shift = -0.9 if isinstance(inst, IndexInstrument) else 0.15
        prev_oi = int(prev_volume * math.exp(shift + 0.3 * rng.gauss(0.0, 1.0)))
    else:  # options hold positions for weeks in thin series (example: 1,134 against ~4,570)
        prev_oi = int(prev_volume * (0.2 + 1.8 * rng.random()) + 300 * rng.random())
    return Activity(base, mean_size, prev_volume, prev_oi, busy, moneyness)
