"""The simulated universe: real KRX underlyings, their stock futures and options, KIS codes and
the ``fo_stk_code_mts.mst`` master file.

Codes follow the 2026 style of reference 5.3: ``A`` (futures), ``B`` (call) or ``C`` (put), the
2-character KIS issue id of the underlying, the last digit of the expiry year, the 2-digit month,
and for options a 3-character strike code (9 characters in all; futures have 6). Only two issue
ids are evidenced (``11`` = 005930 and ``50`` = 000660, ref 5.2/5.3); the others below are
invented, which is harmless because clients must look codes up in the master, never derive them.
The strike code is the strike in thousands of won, modulo 1000 (consistent with the portal's
``211V05059`` and the official ``339W08088``; ref 5.2 calls it opaque).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Literal

from ..schema.layouts import FUTURES_TRADE, OPTION_TRADE
from ..schema.master import MasterEntry, format_master_line
from ..schema.records import KST

__all__ = [
    "Underlying",
    "Instrument",
    "UNDERLYINGS",
    "MULTIPLIER",
    "build_universe",
    "expiry_date",
    "master_entry",
    "master_lines",
    "write_master",
]

MULTIPLIER = 10  # shares per contract for every stock future and option (ref 5.4, 6)
STRIKES_EACH_SIDE = 3  # 7 strikes per expiry: ATM and three on each side (issue: >= 5)
LAST_DAY_CLOSE = time(15, 20)  # the expiring contract stops trading at 15:20 on its last day (ref 6)


@dataclass(frozen=True, slots=True)
class Underlying:
    """A KRX stock with listed stock futures and options."""

    code: str  # KRX stock code, e.g. 005930
    name: str  # Korean name as in the master's column 9
    kis_id: str  # 2-character KIS/KRX issue id used inside derivative codes
    market: Literal["KOSPI", "KOSDAQ"]
    price: int  # previous close the simulation starts from, KRW
    volatility: float  # annualised
    dividend_yield: float  # continuous, for cost of carry
    liquidity: float  # front-month futures trades per second during the session


# Prices are plausible recent levels, not quotes. Issue ids other than 11 and 50 are invented.
UNDERLYINGS: tuple[Underlying, ...] = (
    Underlying("005930", "삼성전자", "11", "KOSPI", 71_500, 0.28, 0.020, 3.0),
    Underlying("000660", "SK하이닉스", "50", "KOSPI", 281_000, 0.42, 0.005, 2.0),
    Underlying("005380", "현대차", "13", "KOSPI", 214_500, 0.30, 0.045, 0.8),
    Underlying("373220", "LG에너지솔루션", "G6", "KOSPI", 332_000, 0.40, 0.0, 0.6),
    Underlying("000270", "기아", "18", "KOSPI", 98_700, 0.30, 0.055, 0.7),
    Underlying("035420", "NAVER", "36", "KOSPI", 219_000, 0.35, 0.005, 0.6),
    Underlying("068270", "셀트리온", "68", "KOSPI", 171_300, 0.32, 0.004, 0.5),
    Underlying("105560", "KB금융", "C5", "KOSPI", 104_600, 0.27, 0.035, 0.5),
    Underlying("005490", "POSCO홀딩스", "47", "KOSPI", 298_500, 0.33, 0.030, 0.4),
    Underlying("247540", "에코프로비엠", "K7", "KOSDAQ", 121_800, 0.55, 0.0, 0.5),
)


@dataclass(frozen=True, slots=True)
class Instrument:
    """One stock future or option the simulator serves; ``code`` is the ``tr_key``."""

    code: str
    kind: Literal["future", "call", "put"]
    underlying: Underlying
    expiry: date  # last trading day: the 2nd Thursday of the contract month (ref 6)
    month: int  # 1 front month, 2 next month (master column 7)
    strike: int | None  # KRW; None for futures

    @property
    def tr_id(self) -> str:
        return FUTURES_TRADE.tr_id if self.kind == "future" else OPTION_TRADE.tr_id

    @property
    def is_option(self) -> bool:
        return self.kind != "future"

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
        body = "KR4" + self.krx_code
        return body + str(_isin_check_digit(body))

    @property
    def name(self) -> str:
        """Master column 4, e.g. ``삼성전자   F 202612 (  10)`` (ref 5.4)."""
        head = _pad_cp949(self.underlying.name, 10)
        ym = f"{self.expiry.year}{self.expiry.month:02d}"
        if self.strike is None:
            return f"{head} F {ym} ({MULTIPLIER:4d})"
        return f"{head} {self.call_put} {ym} {self.strike:>9,} ({MULTIPLIER:4d})"


def _isin_check_digit(body: str) -> int:
    # ISO 6166: letters become two digits (A=10 … Z=35), then Luhn from the right.
    digits = "".join(str(int(c, 36)) for c in body)
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return (10 - total % 10) % 10


def _pad_cp949(text: str, width: int) -> str:
    # The master pads names by byte width in cp949 (a Hangul syllable is two bytes).
    return text + " " * max(0, width - len(text.encode("cp949")))


def expiry_date(year: int, month: int) -> date:
    """The 2nd Thursday of the month: the last trading day of stock futures/options (ref 6)."""
    first = date(year, month, 1)
    first_thursday = first + timedelta(days=(3 - first.weekday()) % 7)
    return first_thursday + timedelta(days=7)


def _contract_months(now: datetime, count: int) -> list[date]:
    """Expiries of the ``count`` nearest contract months still trading at ``now`` (KST)."""
    year, month = now.year, now.month
    found: list[date] = []
    while len(found) < count:
        expiry = expiry_date(year, month)
        if datetime.combine(expiry, LAST_DAY_CLOSE, KST) > now:
            found.append(expiry)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return found


def strike_step(price: float) -> int:
    """The smallest round strike interval of at least 2.5% of the price (KRX lists strikes in
    round steps; the exact table is not in the reference, so this is a modelling choice)."""
    for step in (100, 200, 250, 500, 1_000, 2_000, 2_500, 5_000, 10_000, 20_000, 25_000, 50_000):
        if step >= 0.025 * price:
            return step
    return 100_000


def build_universe(now: datetime, underlyings: Iterable[Underlying] = UNDERLYINGS) -> list[Instrument]:
    """Front- and next-month futures, and 7 calls and 7 puts per expiry, for each underlying."""
    instruments: list[Instrument] = []
    expiries = _contract_months(now.astimezone(KST), 2)
    for u in underlyings:
        for month, expiry in enumerate(expiries, start=1):
            code = f"A{u.kis_id}{expiry.year % 10}{expiry.month:02d}"
            instruments.append(Instrument(code, "future", u, expiry, month, None))
        step = strike_step(u.price)
        atm = round(u.price / step) * step
        strikes = [atm + i * step for i in range(-STRIKES_EACH_SIDE, STRIKES_EACH_SIDE + 1)]
        for month, expiry in enumerate(expiries, start=1):
            option_kinds: tuple[tuple[Literal["call", "put"], str], ...] = (("call", "B"), ("put", "C"))
            for kind, letter in option_kinds:
                for strike in strikes:
                    code = (
                        f"{letter}{u.kis_id}{expiry.year % 10}{expiry.month:02d}{(strike // 1000) % 1000:03d}"
                    )
                    instruments.append(Instrument(code, kind, u, expiry, month, strike))
    codes = [i.code for i in instruments]
    if len(set(codes)) != len(codes):  # strike codes are thousands of won: steps must exceed 1,000
        raise ValueError("instrument codes collide; check the strike steps")
    return instruments


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
    step = strike_step(instrument.underlying.price)
    spot = instrument.underlying.price
    if abs(instrument.strike - spot) * 2 < step:
        return "1"
    itm = spot > instrument.strike if instrument.kind == "call" else spot < instrument.strike
    return "2" if itm else "3"


def master_entry(i: Instrument) -> MasterEntry:
    """One instrument as a row of the KIS master (reference 5.4)."""
    return MasterEntry(
        _info_type(i),
        i.code,
        i.standard_code,
        i.name,
        _atm_class(i),
        float(i.strike or 0),
        str(i.month),
        i.underlying.code,
        i.underlying.name,
    )


def master_lines(instruments: Iterable[Instrument]) -> list[str]:
    """The universe as ``fo_stk_code_mts.mst`` lines, written by the one master format of
    ``kisfeed.schema.master`` (which ``kisfeed codes`` reads)."""
    return [format_master_line(master_entry(i)) for i in instruments]


def write_master(path: str | Path, instruments: Iterable[Instrument]) -> Path:
    """Write the master file: cp949 text, one instrument per line, no header (ref 5.4)."""
    target = Path(path)
    text = "".join(line + "\n" for line in master_lines(instruments))
    target.write_bytes(text.encode("cp949"))
    return target
