"""The KOSPI200 index products of the simulated universe (issue 16, day session): futures, monthly
options and weekly options, their KIS codes, names and the ``fo_idx_code_mts.mst`` master file.

Units. The market model works in whole numbers (``sim/ticks.py``'s grids), so an index product's
prices, strikes and the index itself are carried in **hundredths of a point** (``55_000`` =
550.00, the wire's 2 decimals) and written as points by ``sim/contracts.py``.
:attr:`IndexInstrument.strike_points` gives a strike in points.

Rules (docs/kospi200.md has the sources):

* Futures: March/June/September/December, 7 listed months, "3년 이내 7개 결제월 (3,9월: 각 1개,
  6월: 2개, 12월: 3개)" (ko.wikipedia 코스피200 선물, product specification; Daishin's product
  page: 결제월 7개); last trading day the 2nd Thursday, moved earlier past holidays; tick 0.05
  point, multiplier 250,000 KRW (Daishin: "0.05pt(12,500원)", "거래승수 250,000").
* Monthly options: "11개 월물 상장 (최장거래기간 3년)" (KRX's comparison table, 2019-08-31, as
  printed by the press: 연합/서울경제 2019-09-19): the 4 nearest non-quarterly months and the
  futures' 7 quarterly months (``INDEX_OPTION_CYCLE``: the table gives the 11; that split is the
  rule as commonly stated, no source found for it). Strikes every 2.5 points, "ATM ±40pt"
  (same table).
* Weekly options: Thursday weeklies, each listed one week before its expiry, none expiring on the
  2nd Thursday (the monthly's), a holiday moves the expiry earlier (서울경제/MBN 2019-09-19;
  미디어펜 m.mediapen.com/news/view/828119 on KRX's notice of the Monday weeklies); Monday
  weeklies, one week long too, a holiday Monday moves the expiry to the next trading day (same). Strikes every 2.5 points, "ATM ±20pt".
  KRX names them "연(2)+월(2)+주(W+1)": ``코스피위클리 C 1909W4``.
* Codes, 2026 style (reference 5.3): futures ``A01`` + year digit + month (``A01612``); options
  ``B01``/``C01`` + year digit + month + the strike code, the integer part of the strike with an
  implied .5 when the strike is not a multiple of 5 (reference 5.1: ``201S11305`` = 305,
  ``301V06362`` = 362.5). Weekly codes: no KIS source gives their form. Their product ids are
  ``09`` (Thursday) and ``AF`` (Monday): a third-party KIS API reference lists the underlying
  codes "09:코스피위클리(목), AF:코스피위클리(월)", and a third-party parser of a 2026 master finds
  ``B09``/``BAF`` option codes (a user's 2025 note reads them the other way round; the listing
  is explicit, and the Monday series, listed in 2023, is the one with the newer letter id).
  The simulator's weekly code (a modelling choice) is ``B``/``C``, that product id, the year
  digit, the month as one character (1-9, A-C), the week of the month and the strike code:
  ``B096C3552`` (Thursday weekly call, December 2026, 3rd week, 552.5), ``BAF6C1552`` (Monday
  weekly): 9 characters like a monthly ``B01612552``, but with another product id, so no weekly
  code collides with a monthly one, nor a Monday weekly with a Thursday one.

Hooks for the night session (``sim-night``): an index product's trade is priced and written by the
market like any other (``Market._trade``, ``sim/prints.py``), on its contract's
``trade_layout``/``book_layout`` (``sim/contracts.py``), which default to the instrument's
``tr_ids``. The night session writes the same contract on H0MFCNT0/H0MFASP0 or H0EUCNT0/
H0EUASP0 by setting those two layouts (or with an instrument whose ``tr_ids`` are the night
TRs): fields are written by name, so a value the night layout lacks (H0MFCNT0 has no
``DSCS_BLTR_ACML_QTY``) is simply not written.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Literal

from ..schema.layouts import trs_for
from ..schema.master import MasterEntry, format_master_line
from ..schema.records import KST
from .calendar import KrxCalendar
from .instruments import Instrument, Underlying, standard_code_of
from .listing import LAST_DAY_CLOSE, contract_months

__all__ = [
    "KOSPI200",
    "INDEX_MULTIPLIER",
    "INDEX_FUTURES_CYCLE",
    "INDEX_OPTION_CYCLE",
    "STRIKE_INTERVAL",
    "MONTHLY_RANGE",
    "WEEKLY_RANGE",
    "IndexInstrument",
    "index_universe",
    "weekly_expiries",
    "strike_code",
    "index_master_entries",
    "index_master_lines",
    "write_index_master",
]

INDEX_MULTIPLIER = 250_000  # KRW per point, futures and options (Daishin; KRX 2019 table)
#: The KOSPI200 as an underlying: its level in hundredths of a point. 560.00 is a modelling
#: choice (KOSPI200 stood near 550-600 in late 2025 after KOSPI passed 4,000; no 2026 quote was
#: found); its volatility, 0.22, too. The code ``KOSPI200`` is the simulator's own key, which
#: cannot collide with a stock code; its master rows carry ``MASTER_UNDERLYING``.
KOSPI200 = Underlying("KOSPI200", "코스피200", "01", "KOSPI", 56_000, 0.22)
INDEX_FUTURES_CYCLE: tuple[int, dict[int, int]] = (0, {3: 1, 6: 2, 9: 1, 12: 3})
INDEX_OPTION_CYCLE: tuple[int, dict[int, int]] = (4, {3: 1, 6: 2, 9: 1, 12: 3})
STRIKE_INTERVAL = 250  # 2.5 points, in hundredths
MONTHLY_RANGE = 4_000  # ATM ±40 points
WEEKLY_RANGE = 2_000  # ATM ±20 points
_WEEKLY_IDS = {"thursday": "09", "monday": "AF"}  # KRX product ids of the weeklies (see above)
_MONTH_CHARS = "123456789ABC"

Weekly = Literal["", "thursday", "monday"]


def strike_code(strike: int) -> str:
    """Reference 5.1: the strike's integer part in 3 digits (.5 implied off multiples of 5)."""
    return f"{strike // 100 % 1000:03d}"


@dataclass(frozen=True, slots=True)
class IndexInstrument(Instrument):
    """A KOSPI200 future or option. ``strike`` in hundredths of a point; ``weekly`` names the
    weekly series (empty: a futures or monthly option) and ``week`` its week of the month."""

    weekly: Weekly = ""
    week: int = 0

    @property
    def tr_id(self) -> str:
        """The trade TR (H0IFCNT0 / H0IOCNT0)."""
        return self.tr_ids[0]

    @property
    def tr_ids(self) -> tuple[str, ...]:
        """H0IFCNT0, H0IFASP0 for futures; H0IOCNT0, H0IOASP0 for options (no index expected
        price TR in the family)."""
        return trs_for(self.kind, "index")

    @property
    def market(self) -> str:
        return "index"

    @property
    def multiplier(self) -> int:
        return INDEX_MULTIPLIER

    @property
    def strike_points(self) -> float | None:
        return None if self.strike is None else self.strike / 100

    @property
    def master_strike(self) -> float | None:
        return self.strike_points

    @property
    def krx_code(self) -> str:
        """The 8-character KRX form inside the standard code (reference 5.1), with the 2026
        letter type as the stock products' (reference 5.3: ``KR4A1168000…``): letter, product
        id, year digit, month character, strike code (``000`` for futures); a weekly's month
        character and week instead of year and month (it lives one week)."""
        letter = self.code[0]
        if self.weekly:
            return f"{letter}{_WEEKLY_IDS[self.weekly]}{self.code[4:]}"
        month = _MONTH_CHARS[self.expiry.month - 1]
        tail = strike_code(self.strike) if self.strike is not None else "000"
        return f"{letter}01{self.expiry.year % 10}{month}{tail}"

    @property
    def standard_code(self) -> str:
        return standard_code_of(self.krx_code)

    @property
    def name(self) -> str:
        """Master column 4 in the form measured in 2026 masters (third-party parsers, quoted in
        tests/test_instruments.py): no underlying name, the type, the expiry and for options the
        strike in points right-aligned in 8 characters: ``F 202612``, ``C 202612   552.5``;
        weeklies ``위클리 C 2612W1   552.5`` and, for the Monday series, ``위클리M``, with KRX's
        "연(2)+월(2)+주(W+1)" (서울경제 2019-09-19: ``코스피위클리 C 1909W4``)."""
        if self.strike is None:
            return f"F {self.expiry.year}{self.expiry.month:02d}"
        strike = f"{self.strike / 100:>8.1f}"
        if self.weekly:
            head = "위클리M" if self.weekly == "monday" else "위클리"
            return f"{head} {self.call_put} {self.expiry.year % 100:02d}{self.expiry.month:02d}W{self.week}{strike}"
        return f"{self.call_put} {self.expiry.year}{self.expiry.month:02d}{strike}"


def _week_of_month(day: date) -> int:
    return (day.day - 1) // 7 + 1


def weekly_expiries(now: datetime, calendar: KrxCalendar | None = None) -> list[tuple[Weekly, date, date]]:
    """The weeklies listed at ``now``: (series, nominal day, last trading day), each listed a
    week before its nominal day and trading until 15:20 on its last day (see the docstring)."""
    calendar = calendar or KrxCalendar()
    out: list[tuple[Weekly, date, date]] = []
    today = now.astimezone(KST).date()
    series_days: tuple[tuple[Weekly, int], ...] = (("thursday", 3), ("monday", 0))
    for series, weekday in series_days:
        nominal = today + timedelta(days=(weekday - today.weekday()) % 7)
        for day in (nominal, nominal + timedelta(days=7)):
            if series == "thursday":
                if _week_of_month(day) == 2:
                    continue  # the monthly options expire on the 2nd Thursday
                last = calendar.previous_trading_day(day)
            else:
                last = calendar.next_trading_day(day)
            if day - timedelta(days=7) <= today and datetime.combine(last, LAST_DAY_CLOSE, KST) > now:
                out.append((series, day, last))
    return out


def _strikes(level: int, each_side: int) -> list[int]:
    atm = round(level / STRIKE_INTERVAL) * STRIKE_INTERVAL
    return [
        atm + n * STRIKE_INTERVAL
        for n in range(-each_side // STRIKE_INTERVAL, each_side // STRIKE_INTERVAL + 1)
    ]


def _options(
    expiry: date, month: int, level: int, each_side: int, weekly: Weekly = "", nominal: date | None = None
) -> list[IndexInstrument]:
    kinds: tuple[tuple[Literal["call", "put"], str], ...] = (("call", "B"), ("put", "C"))
    out: list[IndexInstrument] = []
    for kind, letter in kinds:
        for strike in _strikes(level, each_side):
            if weekly and nominal is not None:
                week = _week_of_month(nominal)
                head = (
                    f"{letter}{_WEEKLY_IDS[weekly]}{nominal.year % 10}{_MONTH_CHARS[nominal.month - 1]}{week}"
                )
                out.append(
                    IndexInstrument(
                        head + strike_code(strike), kind, KOSPI200, expiry, month, strike, weekly, week
                    )
                )
            else:
                code = f"{letter}01{expiry.year % 10}{expiry.month:02d}{strike_code(strike)}"
                out.append(IndexInstrument(code, kind, KOSPI200, expiry, month, strike))
    return out


def index_universe(now: datetime, underlying: Underlying = KOSPI200) -> list[IndexInstrument]:
    """The KOSPI200 products listed at ``now``: futures, then monthly options (calls then puts,
    strikes ascending, per month), then weeklies. Strikes are centred on the index's reference
    level (the underlying's ``price``), a modelling choice: the chain does not widen as the
    index moves during the simulation."""
    now = now.astimezone(KST)
    level = underlying.price
    out: list[IndexInstrument] = []
    for month, expiry in enumerate(contract_months(now, INDEX_FUTURES_CYCLE), start=1):
        code = f"A01{expiry.year % 10}{expiry.month:02d}"
        out.append(IndexInstrument(code, "future", underlying, expiry, month, None))
    for month, expiry in enumerate(contract_months(now, INDEX_OPTION_CYCLE), start=1):
        out += _options(expiry, month, level, MONTHLY_RANGE)
    for series, nominal, last in weekly_expiries(now):
        out += _options(last, 1, level, WEEKLY_RANGE, series, nominal)
    return out


# --- the master file (fo_idx_code_mts.mst: the stock master's 9 columns, reference 5.4) ------------


def _info_type(i: IndexInstrument) -> str:
    # 1 지수선물, 5/6 지수콜/풋옵션, L/M 위클리콜/풋 (reference 5.4; KIS's header); the Monday
    # weeklies N/O, the types measured 2026 masters give them (tests/test_instruments.py)
    if i.kind == "future":
        return "1"
    if i.weekly:
        return {"thursday": "LM", "monday": "NO"}[i.weekly][i.kind == "put"]
    return "5" if i.kind == "call" else "6"


#: Columns 8-9 of every KOSPI200 row in the measured 2026 masters: the index's code and name.
MASTER_UNDERLYING = ("2001", "KOSPI200")


def _atm_class(i: IndexInstrument) -> str:
    if i.strike is None:
        return " "
    atm = round(i.underlying.price / STRIKE_INTERVAL) * STRIKE_INTERVAL
    if i.strike == atm:
        return "1"
    itm = i.underlying.price > i.strike if i.kind == "call" else i.underlying.price < i.strike
    return "2" if itm else "3"


def index_master_entries(instruments: Iterable[Instrument]) -> list[MasterEntry]:
    """The index products among ``instruments`` as master rows (column 6: the strike in points;
    column 7: a futures' month rank, 4 at most, as the stock master; blank for options, as the
    measured masters have it)."""
    return [
        MasterEntry(
            _info_type(i),
            i.code,
            i.standard_code,
            i.name,
            _atm_class(i),
            i.master_strike or 0.0,
            "" if i.is_option else str(min(i.month, 4)),
            *MASTER_UNDERLYING,
            "index",
        )
        for i in instruments
        if isinstance(i, IndexInstrument)
    ]


def index_master_lines(instruments: Iterable[Instrument]) -> list[str]:
    return [format_master_line(entry) for entry in index_master_entries(instruments)]


def write_index_master(path: str | Path, instruments: Sequence[Instrument]) -> Path:
    """Write ``fo_idx_code_mts.mst``: cp949, one product per line, no header (reference 5.4)."""
    target = Path(path)
    target.write_bytes("".join(line + "\n" for line in index_master_lines(instruments)).encode("cp949"))
    return target
