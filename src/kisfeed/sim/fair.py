"""Theoretical prices as KRX computes them: carry at a simple rate, less discrete dividends.

Since 2024-11-04 KRX prices stock futures with its own linearly interpolated rate (instead of
the 91-day CD rate) and the *expected dividends* whose ex-dates fall before the contract's last
trading day (reference 6, KRX announcement of 2024-10-24). The cost-of-carry form is the one of
KRX's 파생상품시장 업무규정 시행세칙, on calendar days to the last trading day:

    F = S × (1 + r × d / 365) − Σ D_i × (1 + r × (d − d_i) / 365),   0 < d_i ≤ d

with ``d_i`` the days to dividend i's ex-date. A contract with no ex-date before its expiry has a
positive basis ``S × r × d / 365``; one with an ex-date before it (Samsung Jan-2027 and the
Dec-29 ex-date of a Dec-31 record date) is cheaper by about the dividend. Options are priced by
Black-Scholes on the spot less the present value of the same dividends (the escrowed-dividend
model) with no continuous yield. The KOSPI200 products are priced the same way on the index,
with the index dividends below (the simple model: carry less the dividends of the index points,
no futures-specific adjustments).

``SimConfig.interest_rate`` stands for KRX's interpolated rate [UNK: KRX publishes it daily;
a constant is the simulator's choice].
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

__all__ = ["Dividend", "DIVIDENDS", "Carry", "carry", "ex_dividend"]


@dataclass(frozen=True, slots=True)
class Dividend:
    """One expected cash dividend of an underlying: its ex-date and won per share."""

    ex_date: date
    amount: int


def _each(amount: int, *days: str) -> tuple[Dividend, ...]:
    return tuple(Dividend(date.fromisoformat(day), amount) for day in days)


# Ex-dates of quarter-end record dates (Mar/Jun/Sep/Dec 31; T+2 settlement puts the ex-date one
# trading day before the record date; 12-31 is a KRX holiday, so the December ex-date is 12-29).
_QUARTER_ENDS = ("2026-03-30", "2026-06-29", "2026-09-29", "2026-12-29",
                 "2027-03-30", "2027-06-29", "2027-09-29", "2027-12-29")  # fmt: skip
# Since the 2023 reform many companies set record dates after the board fixes the amount (a
# year-end dividend's ex-date then falls in February or March); modelled here as late February.
_AFTER_BOARD = ("2026-02-26", "2027-02-25")

#: Expected dividends by underlying code. The schedules follow each company's practice (quarterly
#: at quarter ends, quarterly or annual with board-set record dates, none); the amounts are close
#: to recent payments but are the simulator's assumptions, not announcements.
DIVIDENDS: Mapping[str, tuple[Dividend, ...]] = {
    "005930": _each(361, *_QUARTER_ENDS),  # 삼성전자: quarterly, quarter-end record dates
    "000660": _each(375, *_QUARTER_ENDS),  # SK하이닉스
    "005380": _each(2_500, "2026-02-26", "2026-05-14", "2026-08-13", "2026-11-12",
                    "2027-02-25", "2027-05-13", "2027-08-12", "2027-11-11"),  # 현대차: board-set dates
    "000270": _each(6_500, *_AFTER_BOARD),  # 기아: annual, record date after the board
    "035420": _each(1_100, *_AFTER_BOARD),  # NAVER
    "068270": _each(500, "2026-12-29", "2027-12-29"),  # 셀트리온: annual, year-end record date
    "105560": _each(900, *_QUARTER_ENDS),  # KB금융
    "005490": _each(2_500, *_QUARTER_ENDS),  # POSCO홀딩스
    # KOSPI200 (sim/index.py), in hundredths of a point: about 1.7 % a year of a 560 index, most
    # of it at the year end, the rest at board-set dates and quarter ends (a modelling choice,
    # shaped like the constituents' schedules above; KRX publishes expected index dividends,
    # not found for 2026-2027)
    "KOSPI200": (_each(500, "2026-12-29", "2027-12-29") + _each(250, *_AFTER_BOARD)
                 + _each(60, "2026-03-30", "2026-06-29", "2026-09-29", "2027-03-30", "2027-06-29",
                         "2027-09-29")),
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Carry:
    """One contract's carry terms on one trading day (constant through the day: KRX counts
    calendar days)."""

    growth: float  # 1 + r × d / 365
    dividends_fv: float  # Σ D_i × (1 + r × (d − d_i) / 365): the dividends carried to expiry
    dividends_pv: float  # Σ D_i / (1 + r × d_i / 365): what the option model takes off the spot

    def futures(self, spot: float) -> float:
        """The futures' theoretical price at ``spot``."""
        return spot * self.growth - self.dividends_fv

    def option_spot(self, spot: float) -> float:
        """The spot net of the dividends paid before expiry (never below 1 won)."""
        return max(spot - self.dividends_pv, 1.0)


def carry(day: date, last_day: date, rate: float, dividends: Sequence[Dividend] = ()) -> Carry:
    """The carry terms of a contract whose last trading day is ``last_day``, on ``day``.
    Only dividends going ex after ``day`` and on or before ``last_day`` count: on its ex-date a
    dividend has already left the spot."""
    d = max((last_day - day).days, 0)
    fv = pv = 0.0
    for dividend in dividends:
        d_i = (dividend.ex_date - day).days
        if 0 < d_i <= d:
            fv += dividend.amount * (1 + rate * (d - d_i) / 365)
            pv += dividend.amount / (1 + rate * d_i / 365)
    return Carry(1 + rate * d / 365, fv, pv)


def ex_dividend(dividends: Sequence[Dividend], day: date) -> int:
    """Won per share that go ex on ``day`` (the spot opens that much lower)."""
    return sum(d.amount for d in dividends if d.ex_date == day)
