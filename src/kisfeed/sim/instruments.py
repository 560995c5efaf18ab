"""The simulated universe: real KRX underlyings, their stock futures, options and futures
spreads, KIS codes and the ``fo_stk_code_mts.mst`` master file.

Codes follow the 2026 style of reference 5.3: ``A`` (futures), ``B`` (call) or ``C`` (put), the
2-character KIS issue id of the underlying, the last digit of the expiry year, the 2-digit month,
and for options a 3-character strike code (9 characters in all; futures have 6). Only two issue
ids are evidenced (``11`` = 005930 and ``50`` = 000660, ref 5.2/5.3); the others below are
invented, which is harmless because clients must look codes up in the master, never derive them.
The strike code is a listing number, opaque like the real ones (``sim.listing``): the strike is
in the master's 행사가 column only. Calendar spreads (``D``, master types 2 and 4) are in the
master but do not trade in the simulator: kisfeed has no real-time TR for them. Which months and
strikes are listed is ``sim.listing``'s.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Literal

from ..schema.layouts import FUTURES_TRADE, OPTION_TRADE, trs_for
from ..schema.master import MasterEntry, format_master_line
from ..schema.records import KST
from .listing import (
    FUTURES_CYCLE,
    LAST_DAY_CLOSE,
    OPTION_CYCLE,
    contract_months,
    expiry_date,
    listing_dates,
    strike_grid,
    strike_ladder,
)

__all__ = [
    "Underlying",
    "Instrument",
    "Spread",
    "UNDERLYINGS",
    "MULTIPLIER",
    "build_universe",
    "expiry_date",
    "master_entry",
    "master_entries",
    "spread_entry",
    "spreads",
    "master_lines",
    "write_master",
    "standard_code_of",
]

MULTIPLIER = 10  # shares per contract for every stock future and option (ref 5.4, 6)
NAME_BYTES = 10  # the underlying's part of a master name, in cp949 bytes: 에코프로비엠 -> 에코프로비


@dataclass(frozen=True, slots=True)
class Underlying:
    """A KRX stock with listed stock futures and options."""

    code: str  # KRX stock code, e.g. 005930
    name: str  # Korean name as in the master's column 9
    kis_id: str  # 2-character KIS/KRX issue id used inside derivative codes
    market: Literal["KOSPI", "KOSDAQ"]
    price: int  # previous close the simulation starts from, KRW
    volatility: float  # annualised


# Prices are plausible recent levels, not quotes. Issue ids other than 11 and 50 are invented.
# Dividends: sim/fair.py; how much each trades: sim/liquidity.py.
UNDERLYINGS: tuple[Underlying, ...] = (
    Underlying("005930", "삼성전자", "11", "KOSPI", 71_500, 0.28),
    Underlying("000660", "SK하이닉스", "50", "KOSPI", 281_000, 0.42),
    Underlying("005380", "현대차", "13", "KOSPI", 214_500, 0.30),
    Underlying("373220", "LG에너지솔루션", "G6", "KOSPI", 332_000, 0.40),
    Underlying("000270", "기아", "18", "KOSPI", 98_700, 0.30),
    Underlying("035420", "NAVER", "36", "KOSPI", 219_000, 0.35),
    Underlying("068270", "셀트리온", "68", "KOSPI", 171_300, 0.32),
    Underlying("105560", "KB금융", "C5", "KOSPI", 104_600, 0.27),
    Underlying("005490", "POSCO홀딩스", "47", "KOSPI", 298_500, 0.33),
    Underlying("247540", "에코프로비엠", "K7", "KOSDAQ", 121_800, 0.55),
)


@dataclass(frozen=True, slots=True)
class Instrument:
    """One stock future or option the simulator serves; ``code`` is the ``tr_key``."""

    code: str
    kind: Literal["future", "call", "put"]
    underlying: Underlying
    expiry: date  # last trading day: the 2nd Thursday of the contract month (ref 6)
    month: int  # rank of the expiry among the listed ones: 1 front month, 2 next, ... (9 at most)
    strike: int | None  # KRW; None for futures

    @property
    def tr_id(self) -> str:
        """The trade TR (H0ZFCNT0 / H0ZOCNT0)."""
        return FUTURES_TRADE.tr_id if self.kind == "future" else OPTION_TRADE.tr_id

    @property
    def tr_ids(self) -> tuple[str, ...]:
        """Every TR the instrument can be subscribed on, trades first (reference 4.5)."""
        return trs_for(self.kind)

    @property
    def is_option(self) -> bool:
        return self.kind != "future"

    @property
    def master_strike(self) -> float | None:
        """The strike as the master's 행사가 column writes it: won here, points for an index
        option (whose ``strike`` is in hundredths of a point, ``sim/index.py``)."""
        return None if self.strike is None else float(self.strike)

    @property
    def market(self) -> str:
        """Whose TRs and master it belongs to: ``stock`` here, ``index`` for the KOSPI200
        products (``sim/index.py``), as ``schema.layouts.Layout.market``."""
        return "stock"

    @property
    def call_put(self) -> str | None:
        """``C``, ``P`` or None (futures)."""
        return {"call": "C", "put": "P"}.get(self.kind)

    @property
    def underlying_code(self) -> str:
        return self.underlying.code

    @property
    def underlying_name(self) -> str:
        return self.underlying.name

    @property
    def multiplier(self) -> int:
        return MULTIPLIER

    @property
    def last_trade(self) -> datetime:
        """When the contract stops trading: 15:20 KST on its last trading day."""
        return datetime.combine(self.expiry, LAST_DAY_CLOSE, KST)

    @property
    def krx_code(self) -> str:
        """The 8-character KRX short code (ref 5.1) with the 2026 letter type (ref 5.3)."""
        month = "123456789ABC"[self.expiry.month - 1]
        return f"{self.code[0]}{self.underlying.kis_id}{self.expiry.year % 10}{month}{self.code[6:] or '000'}"

    @property
    def standard_code(self) -> str:
        """The 12-character ``KR4…`` standard code (ISIN) of the master's column 3."""
        return standard_code_of(self.krx_code)

    @property
    def name(self) -> str:
        """Master column 4 as KIS writes it: ``삼성전자   F 202612 (  10)``, and for options the
        strike right-aligned in 10 characters straight before the multiplier,
        ``삼성전자   C 202508    48,000(  10)`` (ref 5.4; KRX Open API ISU_NM 2025-07-21)."""
        head = _pad_cp949(self.underlying.name, NAME_BYTES)
        ym = f"{self.expiry.year}{self.expiry.month:02d}"
        if self.strike is None:
            return f"{head} F {ym} ({MULTIPLIER:4d})"
        return f"{head} {self.call_put} {ym}{self.strike:>10,}({MULTIPLIER:4d})"


@dataclass(frozen=True, slots=True)
class Spread:
    """A calendar spread of two futures of one underlying: listed in the master, not traded."""

    near: Instrument
    far: Instrument

    @property
    def krx_code(self) -> str:
        """KRX form: ``D``, issue id, then year digit and month character of each leg, then ``S``
        (LS t8401: ``D116768S`` = 삼성전자 SP 2607-2608, ref 5.3). KIS's own form of spread
        codes was not seen (ref 5.3), so the KRX form is the code."""
        near, far = (leg.krx_code for leg in (self.near, self.far))
        return f"D{near[1:5]}{far[3:5]}S"

    @property
    def code(self) -> str:
        return self.krx_code

    @property
    def standard_code(self) -> str:
        return standard_code_of(self.krx_code)

    @property
    def name(self) -> str:
        """``삼성전자   SP 2612-2701 (  10)``: KRX names spreads by the legs' YYMM (KRX Open API
        ISU_NM ``3년국채    SP 2609-2612``; LS t8401 ``삼성전자   SP 2607-2``, cut at 20 bytes)."""
        head = _pad_cp949(self.near.underlying.name, NAME_BYTES)
        legs = "-".join(f"{leg.expiry.year % 100:02d}{leg.expiry.month:02d}" for leg in (self.near, self.far))
        return f"{head} SP {legs} ({MULTIPLIER:4d})"


def standard_code_of(krx_code: str) -> str:
    """The ISIN (``KR4`` + the 8-character KRX code + an ISO 6166 check digit)."""
    body = "KR4" + krx_code
    return body + str(_isin_check_digit(body))


def _isin_check_digit(body: str) -> int:
    # ISO 6166: letters become two digits (A=10 … Z=35), then Luhn from the right.
    digits = "".join(str(int(c, 36)) for c in body)
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return (10 - total % 10) % 10


def _pad_cp949(text: str, width: int) -> str:
    # The master fits names to a byte width in cp949 (a Hangul syllable is two bytes), cutting
    # long ones at a whole character: KRX writes 에코프로비엠 as "에코프로비 C 202508 ..." (Open API).
    while len(text.encode("cp949")) > width:
        text = text[:-1]
    return text + " " * (width - len(text.encode("cp949")))


def build_universe(now: datetime, underlyings: Iterable[Underlying] = UNDERLYINGS) -> list[Instrument]:
    """What trades at ``now``: for each underlying its futures of every listed month, then the
    calls and puts of every listed option month, strikes ascending (``sim.listing``'s rules).
    Deterministic in ``now``; spreads are not here (see :func:`spreads`)."""
    now = now.astimezone(KST)
    futures_months = contract_months(now, FUTURES_CYCLE)
    option_months = contract_months(now, OPTION_CYCLE)
    listed = listing_dates(now, option_months, OPTION_CYCLE)
    instruments: list[Instrument] = []
    for u in underlyings:
        for month, expiry in enumerate(futures_months, start=1):
            code = f"A{u.kis_id}{expiry.year % 10}{expiry.month:02d}"
            instruments.append(Instrument(code, "future", u, expiry, month, None))
        for month, expiry in enumerate(option_months, start=1):
            ladder = strike_ladder(u.code, u.price, u.volatility, listed[expiry], now.date())
            option_kinds: tuple[tuple[Literal["call", "put"], str], ...] = (("call", "B"), ("put", "C"))
            for kind, letter in option_kinds:
                for strike in sorted(ladder):
                    code = f"{letter}{u.kis_id}{expiry.year % 10}{expiry.month:02d}{ladder[strike]:03d}"
                    instruments.append(Instrument(code, kind, u, expiry, month, strike))
    return instruments


def spreads(instruments: Iterable[Instrument]) -> list[Spread]:
    """The calendar spreads of the futures among ``instruments``: the front month against each
    later month of the same underlying, as KRX lists them for index futures (the only pair seen
    for stock futures is front/next, LS t8401 ``D116768S``)."""
    by_underlying: dict[str, list[Instrument]] = {}
    for i in instruments:
        if i.kind == "future" and i.market == "stock":
            by_underlying.setdefault(i.underlying.code, []).append(i)
    out: list[Spread] = []
    for futures in by_underlying.values():
        front, *later = sorted(futures, key=lambda f: f.expiry)
        out += [Spread(front, far) for far in later]
    return out


def _info_type(instrument: Instrument) -> str:
    # Master column 1 (ref 5.4): 1 KOSPI 주식선물, 3 KOSDAQ 주식선물, 5 주식 콜옵션, 6 주식 풋옵션.
    if instrument.kind == "call":
        return "5"
    if instrument.kind == "put":
        return "6"
    return "1" if instrument.underlying.market == "KOSPI" else "3"


def _atm_class(instrument: Instrument) -> str:
    # Master column 5: 1 ATM, 2 ITM, 3 OTM against the reference price; blank for futures.
    if instrument.strike is None:
        return " "
    spot = instrument.underlying.price
    interval = strike_grid(spot)
    if instrument.strike == round(spot / interval) * interval:
        return "1"
    itm = spot > instrument.strike if instrument.kind == "call" else spot < instrument.strike
    return "2" if itm else "3"


def _month_class(rank: int) -> str:
    # Master column 7 (ref 5.4) names 1 최근월물 to 4 차차차근월물 only; what later months carry
    # is not known, so they carry 4, the last documented value.
    return str(min(rank, 4))


def master_entry(i: Instrument) -> MasterEntry:
    """One instrument as a row of the KIS master (reference 5.4)."""
    return MasterEntry(
        _info_type(i),
        i.code,
        i.standard_code,
        i.name,
        _atm_class(i),
        i.master_strike or 0.0,
        _month_class(i.month),
        i.underlying.code,
        i.underlying.name,
    )


def spread_entry(s: Spread) -> MasterEntry:
    """A spread as a master row: type 2 (KOSPI 주식선물 SP) or 4 (KOSDAQ), no ATM class or strike,
    and the month class of its far leg less one (the front spread is 1), a modelling choice."""
    u = s.near.underlying
    return MasterEntry(
        "2" if u.market == "KOSPI" else "4",
        s.code,
        s.standard_code,
        s.name,
        " ",
        0.0,
        _month_class(s.far.month - 1),
        u.code,
        u.name,
    )


def master_entries(instruments: Iterable[Instrument]) -> list[MasterEntry]:
    """The stock master's rows: the stock products among ``instruments`` and the spreads of
    their futures (the index products are ``sim/index.py``'s master)."""
    listed = [i for i in instruments if i.market == "stock"]
    return [master_entry(i) for i in listed] + [spread_entry(s) for s in spreads(listed)]


def master_lines(instruments: Iterable[Instrument]) -> list[str]:
    """The universe as ``fo_stk_code_mts.mst`` lines, spreads included, written by the one master
    format of ``kisfeed.schema.master`` (which ``kisfeed codes`` reads)."""
    return [format_master_line(entry) for entry in master_entries(instruments)]


def write_master(path: str | Path, instruments: Iterable[Instrument]) -> Path:
    """Write the master file: cp949 text, one instrument per line, no header (ref 5.4); the
    spreads of the futures among ``instruments`` included."""
    target = Path(path)
    text = "".join(line + "\n" for line in master_lines(instruments))
    target.write_bytes(text.encode("cp949"))
    return target
