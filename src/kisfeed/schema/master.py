"""The KIS futures/options master files ``fo_stk_code_mts.mst`` (stock F/O) and
``fo_idx_code_mts.mst`` (index F/O), reference 5.4, as data: the two share one format.

cp949 text, one instrument per line, nine ``|``-separated columns, no header:

====  ==============  ==================================================================
 #    column           content
====  ==============  ==================================================================
 1    상품종류         stock master: 1 KOSPI 주식선물, 2 its spread, 3 KOSDAQ 주식선물,
                       4 its spread, 5 주식 콜옵션, 6 주식 풋옵션; index master: 1 지수선물,
                       2 지수SP, 3 스타선물, 4 스타SP, 5/6 지수콜/풋옵션, 7 변동성선물,
                       8 변동성SP, 9 섹터선물, A 섹터SP, B 미니선물, C 미니SP, D/E 미니콜/풋,
                       J/K 코스닥150콜/풋, L/M 위클리콜/풋 (KIS's 종목마스터정보(지수선물옵션).h)
 2    단축코드         the KIS short code: the ``tr_key`` (``A11612``, ``B11612007``);
                       a spread's is KRX's (``D116C71S``)
 3    표준코드         ``KR4…`` standard code
 4    한글종목명       ``삼성전자   F 202612 (  10)``, ``삼성전자   C 202612    66,000(  10)``,
                       ``삼성전자   SP 2612-2701 (  10)``
 5    ATM구분          1 ATM, 2 ITM, 3 OTM; blank for futures
 6    행사가           strike, ``00000.00`` for futures: the only place the strike is (an
                       option code's last three characters are a listing number, ref 5.2)
 7    월물구분코드     0 continuous, 1 front month, 2 next, 3, 4
 8    기초자산 단축코드 underlying stock code (``005930``)
 9    기초자산 명      underlying name (``삼성전자``)
====  ==============  ==================================================================

Column 4's padding varies, so it is parsed with a tolerant pattern, never by position.
Column 6 is ``acpr[8]`` in KIS's header: the one real value seen is ``00000.00`` (reference 5.4);
a strike of 100,000 or more does not fit eight characters with two decimals, and how KIS writes
it is not known, so ``format_master_line`` writes such strikes as eight whole digits
(``00160000``), and the reader takes any number, commas and decimals included.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .layouts import Market, trs_for

__all__ = ["MASTER_NAME", "INDEX_MASTER_NAME", "MasterEntry", "parse_master", "format_master_line", "KINDS"]

#: The file names KIS ships the two masters under (reference 5.4), each zipped as ``NAME.zip``.
MASTER_NAME = "fo_stk_code_mts.mst"
INDEX_MASTER_NAME = "fo_idx_code_mts.mst"

#: 상품종류 → kind, for both masters: a code means the same kind in either (the stock master's 3
#: is KOSDAQ stock futures, the index master's 스타선물: futures both). Spreads have no real-time
#: TR of their own in kisfeed. N/O: the Monday weeklies' calls/puts (위클리M), not in KIS's header
#: but in the 2026 file (lines quoted by third-party parsers, 2026-07-10 and 2026-09-28).
KINDS = {
    **dict.fromkeys("1379B", "future"),
    **dict.fromkeys("248AC", "spread"),
    **dict.fromkeys("5DJLN", "call"),
    **dict.fromkeys("6EKMO", "put"),
}

_NAME = re.compile(
    # KIS's index master writes no underlying, or no space before the type: "F 202612",
    # "미니F 202612", "코스닥150C 202610 1,275", weeklies "위클리M C 2609W4   970.0" (lines quoted
    # by third-party parsers of the 2026 file)
    r"^(?P<underlying>.*?)\s*(?P<type>F|C|P|SP)\s+"
    r"(?:(?P<ym>\d{6})\S*|(?P<near>\d{4})-\S*|(?P<week>\d{4})W\d)"  # YYYYMM[-n], spread YYMM-YYMM, YYMMWn
    r"(?:\s+(?P<strike>[\d,]+(?:\.\d+)?))?"  # options: strike
    r"\s*(?:\(\s*(?P<multiplier>\d+)\s*\))?\s*$"  # (  10): shares per contract, a space before or not
)


@dataclass(frozen=True, slots=True)
class MasterEntry:
    info_type: str
    code: str
    standard_code: str
    name: str
    atm: str
    strike: float
    month_class: str
    underlying_code: str
    underlying_name: str
    #: Which master the row came from, so which TRs carry it: ``stock`` (fo_stk_code_mts),
    #: ``index`` (fo_idx_code_mts) or ``night``.
    market: Market = "stock"

    @property
    def kind(self) -> str:
        """``future``, ``spread``, ``call`` or ``put``."""
        return KINDS.get(self.info_type, "unknown")

    @property
    def tr_id(self) -> str | None:
        """The real-time trade TR of this instrument (None for spreads)."""
        return self.tr_ids[0] if self.tr_ids else None

    @property
    def tr_ids(self) -> tuple[str, ...]:
        """Every real-time TR this instrument can be subscribed on, trades first, then its book
        and its expected price (reference 4.5); empty for spreads, which have none in kisfeed."""
        return trs_for(self.kind, self.market)

    @property
    def expiry_month(self) -> str | None:
        """``YYYYMM`` from the name (a spread's: its near leg's; a weekly's: its month), or None if
        the name has none."""
        match = _NAME.match(self.name)
        if not match:
            return None
        return match["ym"] or f"20{match['near'] or match['week']}"

    @property
    def multiplier(self) -> int | None:
        match = _NAME.match(self.name)
        return int(match["multiplier"]) if match and match["multiplier"] else None


def parse_master(text: str, market: Market = "stock") -> tuple[list[MasterEntry], list[tuple[int, str]]]:
    """Entries of a master file's text (the stock or the index master: ``market``), and (line
    number, line) of every line that is not one."""
    entries: list[MasterEntry] = []
    bad: list[tuple[int, str]] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        columns = [c.strip() for c in line.split("|")]
        if len(columns) < 9 or columns[0] not in KINDS or not columns[1]:
            bad.append((number, line))
            continue
        try:
            strike = float(columns[5].replace(",", "") or 0)
        except ValueError:
            bad.append((number, line))
            continue
        entries.append(
            MasterEntry(
                columns[0],
                columns[1],
                columns[2],
                columns[3],
                columns[4],
                strike,
                columns[6],
                columns[7],
                columns[8],
                market,
            )
        )
    return entries, bad


def format_master_line(entry: MasterEntry) -> str:
    """One line of the master file (without the line break), as KIS writes it."""
    strike = f"{entry.strike:08.2f}"
    if len(strike) > 8:  # acpr[8]: see the module docstring
        strike = f"{entry.strike:08.0f}"
    return "|".join(
        [
            entry.info_type,
            entry.code,
            entry.standard_code,
            entry.name,
            entry.atm or " ",
            strike,
            entry.month_class or " ",  # blank for index options in the measured masters
            entry.underlying_code,
            entry.underlying_name,
        ]
    )
