"""Black-Scholes-Merton prices, Greeks and implied volatility for the option model (issue 3).

European options on a stock with a continuous yield ``q`` (the market passes 0 and prices on
the spot less the present value of the discrete dividends before expiry: ``sim/fair.py``). KRX
stock options are European and cash settled, so this is the textbook model, not an
approximation. The normal CDF comes from ``math.erf``; no numeric library is needed. ``smile``
is the model's volatility by moneyness.

Units of the Greeks, as the simulator writes them: delta per 1 won of spot, gamma per 1 won,
vega per 1 volatility point (1%), theta per calendar day, rho per 1 percentage point of rate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["Greeks", "black_scholes", "implied_volatility", "smile"]

_SQRT2 = math.sqrt(2.0)
_erf = math.erf
_SQRT2PI = math.sqrt(2.0 * math.pi)
MIN_TIME = 1e-6  # years; keeps the formulas finite at the expiry instant


@dataclass(frozen=True, slots=True)
class Greeks:
    price: float
    delta: float
    gamma: float
    vega: float
    theta: float
    rho: float


def smile(level: float, moneyness: float) -> float:
    """The model's volatility at log-moneyness ``ln(K/F)`` for a day whose at-the-money level is
    ``level``: a skew (puts dearer) and a curvature, kept within 5 %–300 %."""
    return min(max(level * (1.0 - 0.25 * moneyness + 1.5 * moneyness * moneyness), 0.05), 3.0)


def black_scholes(spot: float, strike: float, t: float, r: float, q: float, vol: float, call: bool) -> Greeks:
    """Premium and Greeks of one option; ``t`` in years."""
    return Greeks(*bs_tuple(spot, strike, t, r, q, vol, call))


def bs_tuple(
    spot: float, strike: float, t: float, r: float, q: float, vol: float, call: bool
) -> tuple[float, float, float, float, float, float]:
    """``(price, delta, gamma, vega, theta, rho)``: ``black_scholes`` without the object, for
    the market's hot path (a tuple is cheaper to make than a dataclass)."""
    t = max(t, MIN_TIME)
    root = math.sqrt(t)
    sq = vol * root
    d1 = (math.log(spot / strike) + (r - q + 0.5 * vol * vol) * t) / sq
    d2 = d1 - sq
    dq, dr = math.exp(-q * t), math.exp(-r * t)
    pdf = math.exp(-0.5 * d1 * d1) / _SQRT2PI
    gamma = dq * pdf / (spot * sq)
    vega = spot * dq * pdf * root / 100.0
    decay = -spot * dq * pdf * vol / (2.0 * root)
    if call:
        n1, n2 = 0.5 * (1.0 + _erf(d1 / _SQRT2)), 0.5 * (1.0 + _erf(d2 / _SQRT2))
        price = spot * dq * n1 - strike * dr * n2
        delta = dq * n1
        theta = decay - r * strike * dr * n2 + q * spot * dq * n1
        rho = strike * t * dr * n2 / 100.0
    else:
        n1, n2 = 0.5 * (1.0 + _erf(-d1 / _SQRT2)), 0.5 * (1.0 + _erf(-d2 / _SQRT2))
        price = strike * dr * n2 - spot * dq * n1
        delta = -dq * n1
        theta = decay + r * strike * dr * n2 - q * spot * dq * n1
        rho = -strike * t * dr * n2 / 100.0
    return max(price, 0.0), delta, gamma, vega, theta / 365.0, rho


def bs_price(spot: float, strike: float, t: float, r: float, q: float, vol: float, call: bool) -> float:
    """The premium alone, computed exactly as ``bs_tuple`` does (same operations, same float):
    what the market needs for a trade nobody watches, where the Greeks would go unwritten."""
    t = max(t, MIN_TIME)
    sq = vol * math.sqrt(t)
    d1 = (math.log(spot / strike) + (r - q + 0.5 * vol * vol) * t) / sq
    d2 = d1 - sq
    dq, dr = math.exp(-q * t), math.exp(-r * t)
    if call:
        price = spot * dq * (0.5 * (1.0 + _erf(d1 / _SQRT2))) - strike * dr * (
            0.5 * (1.0 + _erf(d2 / _SQRT2))
        )
    else:
        price = strike * dr * (0.5 * (1.0 + _erf(-d2 / _SQRT2))) - spot * dq * (
            0.5 * (1.0 + _erf(-d1 / _SQRT2))
        )
    return max(price, 0.0)


def implied_volatility(
    premium: float, spot: float, strike: float, t: float, r: float, q: float, call: bool, guess: float = 0.3
) -> float:
    """The volatility at which Black-Scholes gives ``premium``; NaN when no volatility does
    (a premium below the discounted intrinsic value or above its upper bound). KIS itself
    sends ``nan`` in model fields in that case (ref 2.5), so NaN is an honest answer."""
    t = max(t, MIN_TIME)
    dq, dr = math.exp(-q * t), math.exp(-r * t)
    low_bound = max(0.0, spot * dq - strike * dr) if call else max(0.0, strike * dr - spot * dq)
    high_bound = spot * dq if call else strike * dr
    if not low_bound < premium < high_bound:
        return math.nan
    lo, hi = 1e-4, 5.0
    vol = min(max(guess, lo), hi)
    for _ in range(50):  # Newton, kept inside a shrinking bracket (bisection when it jumps out)
        price, _, _, vega, _, _ = bs_tuple(spot, strike, t, r, q, vol, call)
        diff = price - premium
        if abs(diff) <= 1e-6 * vega * 100.0 or abs(diff) < 1e-9 * premium:
            return vol  # within 1e-6 of the implied volatility (or of the premium itself)
        if diff > 0:
            hi = vol
        else:
            lo = vol
        step = diff / (vega * 100.0) if vega > 1e-12 else math.inf
        vol = vol - step
        if not lo < vol < hi:
            vol = 0.5 * (lo + hi)
    return vol
