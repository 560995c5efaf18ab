"""KRX listing rules of the simulated universe: which contract months are listed, which strikes,
and the opaque strike codes (issue 14 gap 10).

Contract months (:func:`contract_months`). Stock futures list "up to 36 months: 2 nearest months,
2 quarterly, 2 half-yearly months and 3 yearly months" (Eugene Investment & Futures, SSF product
specification, eugenefutures.com GL_0402_T1), read like the KOSPI 200 futures cycle it extends
("1 of March, September, 2 of June, and 3 of December", same site GL_0401_T1): the two nearest
months outside that quarterly cycle, the next March and September, two Junes and three Decembers
(9 months; real masters agree: 202607, 202608 and 202703 listed in July 2026, LS t8401 fixture;
202610, 202611 and 202703 in September 2026, hummingbot ``kis_futures`` fixture). Stock options
went from 4 to 9 months in KRX's stock-option reform (MBN, "결제월수를 4개에서 9개로 확대"); no
source gives their layout, so they use the futures cycle (``OPTION_CYCLE``, a modelling choice).

Strikes (:func:`strike_grid`, :func:`strike_ladder`). Strikes sit on a grid whose interval depends
on the strike's own level, like a tick table. Every strike in the real chains seen fits the table
below (삼성전자 48,000/49,000/50,000 and 54,000/68,000, 에코프로비엠 92,000/96,000/98,000, 삼성전자
160,000: KRX Open API and KIS/DB fixtures of 2024–2026); the table itself is not published in any
source found, so it is a modelling choice. A month is listed with ``STRIKES_EACH_SIDE`` strikes on
each side of the money (9 in all: "행사가격은 9단계", KRX's stock-option design, 한국경제
2001-10-15) and strikes are added as the price moves so that as many stay on each side (the
rule KRX states for its index options); strikes once listed stay listed, so a chain is wider on
the side the price went.

Strike codes (:func:`strike_ladder`) are numbered in listing order per underlying and expiry, as
the real ones evidently are: 삼성전자 Aug-2025 calls ``211W8032`` = 48,000, ``211W8037`` = 49,000,
``211W8034`` = 50,000 (KRX Open API, 2025-07-21); 에코프로비엠 ``2EYW8034`` = 92,000, ``2EYW8032``
= 96,000. The strike cannot be read from the code: clients read it from the master's 행사가
column (reference 5.2), as kisfeed itself does. The price history behind the numbering is a
deterministic walk back from today's price, one draw per underlying and calendar month.
"""

from __future__ import annotations

import functools
import math
import random
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta

from ..schema.records import KST
from .calendar import KrxCalendar

__all__ = [
    "FUTURES_CYCLE",
    "OPTION_CYCLE",
    "STRIKES_EACH_SIDE",
    "LAST_DAY_CLOSE",
    "expiry_date",
    "contract_months",
    "listing_dates",
    "strike_grid",
    "strike_ladder",
]

LAST_DAY_CLOSE = time(15, 20)  # the expiring contract stops trading at 15:20 on its last day (ref 6)
#: (nearest months outside the quarterly cycle, {quarterly month: how many of it}) — see above.
FUTURES_CYCLE: tuple[int, dict[int, int]] = (2, {3: 1, 6: 2, 9: 1, 12: 3})
OPTION_CYCLE: tuple[int, dict[int, int]] = FUTURES_CYCLE
STRIKES_EACH_SIDE = 4  # 9 strikes at listing, and as many kept on each side of the money
# Strike interval by strike level: (below, interval). A modelling choice fitted to real chains.
_STRIKE_INTERVALS = (
    (10_000, 250),
    (20_000, 500),
    (50_000, 1_000),
    (100_000, 2_000),
    (200_000, 5_000),
    (500_000, 10_000),
    (1_000_000, 20_000),
    (math.inf, 50_000),
)


_CALENDAR = KrxCalendar()  # the default holidays: the universe is listed on them


def expiry_date(year: int, month: int) -> date:
    """The last trading day of a stock futures/options month: the 2nd Thursday, moved earlier
    past KRX holidays (ref 6; 2027-05-13 is 부처님오신날, so May 2027 expires on 05-12)."""
    return _CALENDAR.last_trading_day(year, month)


def _next_month(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


def contract_months(now: datetime, cycle: tuple[int, dict[int, int]] = FUTURES_CYCLE) -> list[date]:
    """Expiries listed at ``now`` (KST) under ``cycle``, nearest first."""
    nearest, quarterly = cycle
    wanted = nearest + sum(quarterly.values())
    taken: dict[int, int] = {}
    year, month = now.year, now.month
    found: list[date] = []
    while len(found) < wanted:
        expiry = expiry_date(year, month)
        if datetime.combine(expiry, LAST_DAY_CLOSE, KST) > now:
            quota = quarterly.get(month, 0)
            key = month if quota else 0
            if taken.get(key, 0) < (quota or nearest):
                taken[key] = taken.get(key, 0) + 1
                found.append(expiry)
        year, month = _next_month(year, month)
    return found


def listing_dates(
    now: datetime, expiries: Sequence[date], cycle: tuple[int, dict[int, int]]
) -> dict[date, date]:
    """When each of ``expiries`` was listed: the day after the last expiry whose cycle did not
    hold it yet (a month is listed the day after an expiry makes room in the cycle)."""
    listed: dict[date, date] = {}
    pending = set(expiries)
    year, month = now.year, now.month
    while pending:  # walk back one past expiry at a time; the cycle spans three years at most
        expiry = expiry_date(year, month)
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
        if datetime.combine(expiry, LAST_DAY_CLOSE, KST) > now:
            continue  # this month's expiry is still to come
        held = contract_months(datetime.combine(expiry, time(9), KST), cycle)
        for e in [e for e in pending if e not in held]:
            listed[e] = expiry + timedelta(days=1)
            pending.discard(e)
    return listed


def strike_grid(level: float) -> int:
    """The strike interval at a strike level (see the module docstring)."""
    for below, interval in _STRIKE_INTERVALS:
        if level < below:
            return interval
    raise AssertionError("unreachable: the last band is unbounded")


def _at_the_money(price: float) -> int:
    interval = strike_grid(price)
    return round(price / interval) * interval


def _around(atm: int, each_side: int) -> list[int]:
    """``atm`` and ``each_side`` grid strikes below and above it, ascending."""
    below, above = [atm], [atm]
    for _ in range(each_side):
        below.append(below[-1] - strike_grid(below[-1] - 1))
        above.append(above[-1] + strike_grid(above[-1]))
    return sorted(set(below[1:] + above))


@functools.cache
def _shock(code: str, year: int, month: int) -> float:
    # A string seed hashes the same in every process (random.seed version 2).
    return random.Random(f"{code}:{year}-{month:02d}").gauss(0.0, 1.0)


def _price_path(code: str, price: float, volatility: float, listed: date, today: date) -> list[float]:
    """Month-end prices from ``listed`` to ``today`` ending at ``price``: a walk back from today
    with one deterministic draw per underlying and calendar month (the same for every expiry)."""
    months: list[tuple[int, int]] = []
    year, month = today.year, today.month
    while (year, month) > (listed.year, listed.month):
        months.append((year, month))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    path = [price]
    log_price = math.log(price)
    for year, month in months:  # newest first
        log_price -= volatility / math.sqrt(12) * _shock(code, year, month)
        path.append(math.exp(log_price))
    path.reverse()  # the listing price first, today's last
    return path


def strike_ladder(
    code: str, price: float, volatility: float, listed: date, today: date, each_side: int = STRIKES_EACH_SIDE
) -> dict[int, int]:
    """Strike -> its listing number for one underlying and expiry: ``each_side`` strikes on each
    side of the money at listing, numbered from 1 upwards, then those added as the price moved,
    numbered on in the order they were added."""
    path = _price_path(code, price, volatility, listed, today)
    numbers: dict[int, int] = {}
    for month_price in path:
        for strike in _around(_at_the_money(month_price), each_side):
            if strike > 0 and strike not in numbers:
                numbers[strike] = len(numbers) + 1
    return numbers
