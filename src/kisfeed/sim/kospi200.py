"""The simulated KOSPI200: a weighted index of the simulated KOSPI stocks plus "the rest of the
index", one factor driven by the market's common factor.

    I(t) = base × ( Σ w_i × S_i(t) / S_i(0)  +  w_rest × R(t) ),     R(0) = 1

with ``S_i`` the constituents' spots (``sim/market.py``'s walks, on the stock tick grid) and
``R`` a geometric walk of volatility ``REST_VOLATILITY`` whose shocks are the market's common
factor with correlation ``REST_CORRELATION`` (the stocks load on it with 0.5). ``base`` is
``index.KOSPI200.price``; the index is linear in the spots, so its change is the weighted sum of
the constituents' changes plus the rest's, exactly. It is computed from the spots as they are at
the instant of an index trade, every constituent's walk brought up to that instant first, so it is
frozen outside 09:00-15:30 exactly when they are.

Weights (``WEIGHTS``): a modelling choice, near the constituents' shares of KOSPI200's float
market capitalisation in late 2025 (Samsung Electronics and SK hynix together about 40 %; no
2026 weight table was found). 에코프로비엠 is a KOSDAQ stock, not a constituent. The rest is
``1 - Σ w_i``.

Dividends: the constituents' spots drop by their own dividends on their ex-dates (``sim/fair.py``)
and the rest by its share ``w_rest`` of the index dividend of that day (``fair.DIVIDENDS``'s
``KOSPI200`` entry, index points).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from .instruments import UNDERLYINGS, Underlying

if TYPE_CHECKING:
    from .market import Spot

__all__ = [
    "WEIGHTS",
    "REST_VOLATILITY",
    "REST_CORRELATION",
    "INDEX_LIMIT_STAGES",
    "Members",
    "members",
    "level",
]

#: KRX stock code -> weight in the simulated KOSPI200 (see the module docstring).
WEIGHTS: Mapping[str, float] = {
    "005930": 0.24,
    "000660": 0.16,
    "373220": 0.03,
    "005380": 0.025,
    "000270": 0.02,
    "105560": 0.02,
    "068270": 0.015,
    "035420": 0.015,
    "005490": 0.01,
}
REST_VOLATILITY = 0.16  # annualised, the rest of the index (a diversified ~190-stock basket)
REST_CORRELATION = 0.9  # of its shocks with the market's common factor
#: KOSPI200 futures daily limits, stage by stage, of the previous settlement price: ±8 %, ±15 %,
#: ±20 % (ko.wikipedia 코스피200 선물, product specification; the stock futures' are 10/20/30 %).
INDEX_LIMIT_STAGES = (0.08, 0.15, 0.20)


class Members:
    """What the index is made of: (spot, hundredths of a point per won) of each constituent and
    the rest's hundredths of a point at ``R = 1``."""

    __slots__ = ("spots", "coefficients", "rest")

    def __init__(self, spots: Sequence[Spot], coefficients: Sequence[float], rest: float) -> None:
        self.spots, self.coefficients, self.rest = list(spots), list(coefficients), rest


def members(
    base: int, spot_of: Callable[[Underlying], Spot], weights: Mapping[str, float] = WEIGHTS
) -> Members:
    """The index's members: each weighted underlying's spot (``spot_of`` makes or finds it) with
    its coefficient ``base × w / S(0)``, and the rest's ``base × (1 - Σ w)``."""
    chosen = [u for u in UNDERLYINGS if u.code in weights]
    spots = [spot_of(u) for u in chosen]
    coefficients = [base * weights[u.code] / u.price for u in chosen]
    return Members(spots, coefficients, base * (1.0 - sum(weights[u.code] for u in chosen)))


def level(m: Members, rest_log: float) -> int:
    """The index in hundredths of a point from the members' spots and ``log R``."""
    total = m.rest * math.exp(rest_log)
    for spot, coefficient in zip(m.spots, m.coefficients, strict=True):
        total += coefficient * spot.price
    return round(total)
