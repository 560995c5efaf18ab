"""The KRX night session's contracts: the KOSPI200 products on the night TRs, their codes and
the night master files.

Model. A night contract is the same KOSPI200 future or option as the day's
(:class:`~kisfeed.sim.index.IndexInstrument`) under its night code, with the night TRs:
:class:`NightInstrument` is that instrument with ``day_code`` naming its day twin. The market
(``sim/phases.py``) gives it a :class:`~kisfeed.sim.contracts.Contract` of its own — a night
session accumulates its own open, high, low and volume and has its own book (derivatives
orders are day orders) — which trades only in night sessions (in ``always_open`` mode: all the
time, beside its day twin, so that night subscribers get data at any wall time), priced off
the same index spot, and hands its state to and from the day twin:

* the night's previous close (base price) is the day session's close: KRX counts the night
  as the next trading day's session, whose base price is the day's settlement price
  (GLB0201041004 "Trading Days"; the night's daily limit is the first stage of that base,
  KRX product pages GLB0201040208/0210: "①tier only during 08:45~09:00 and Night-Session");
* the next day's base price is the same day close again, not the night's last price (the CME
  era's rule, hankyung 2009-11-12 2009111252631: "주간시장의 기준가격은 … 야간시장의 종가가
  아니라 … 주간시장의 종가"); open interest carries on through the night;
* the index moves at night (its members and its rest walk; the KOSPI200 night futures follow
  the US session), at ``NIGHT_VOLATILITY`` of the day's volatility, and the next day opens
  from there (KRX: the night close leads the next open, correlation 0.85, newspim 2012-11-20);
* each night contract trades ``SimConfig.night_volume_ratio`` of its day volume (12 %, see
  there) spread over the night's longer continuous session.

Codes (``SimConfig.night_code_form``, [UNK] reference 4.6): ``kis``, the day code, as the night
masters carry it; ``krx``, the 8-character KRX short code (``krx_code``), as three of the four
official night examples. The night masters the simulator writes carry the form it serves.
Which products: the KOSPI200 futures, monthly and weekly options of the day universe (KRX's
night list also has mini KOSPI200, KOSDAQ150, USD and KTB products, which the simulator does
not list by day either). A contract trades the nights counting for its trading days, so the
night before its last trading day is its last (that night counts for the last day: [INF]).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from ..schema.layouts import trs_for
from ..schema.master import MasterEntry
from ..schema.night_master import NIGHT_FUTURES_MASTER, NIGHT_OPTIONS_MASTER, write_night_master
from .index import IndexInstrument, index_master_entries
from .instruments import Instrument
from .night_calendar import NIGHT_CLOSURES, NIGHT_HOURS

if TYPE_CHECKING:
    from .config import SimConfig

__all__ = [
    "NIGHT_VOLATILITY",
    "NightInstrument",
    "NightPlan",
    "night_code",
    "night_instruments",
    "night_master_entries",
    "night_plan",
    "write_night_masters",
]

#: The spots' volatility during a night session, as a fraction of the day's (a modelling
#: choice: a night of 11 h 50 min at the day's rate per second would move the index more than a
#: whole day; with 0.5 the night's variance is about 40 % of a day's).
NIGHT_VOLATILITY = 0.5

CodeForm = Literal["kis", "krx"]


@dataclass(frozen=True)
class NightPlan:
    """The night settings the market needs (``SimConfig.night_*``)."""

    hours: tuple[str, str, str, str] = NIGHT_HOURS
    closures: tuple[date, ...] = NIGHT_CLOSURES
    expected_from: float = 600.0
    volume_ratio: float = 0.12
    code_form: CodeForm = "kis"


def night_plan(config: SimConfig) -> NightPlan | None:
    """The night settings of ``config`` for the market; None if it runs no night sessions."""
    if not config.night_session:
        return None
    return NightPlan(
        config.night_hours,
        config.night_closures,
        config.night_expected_from,
        config.night_volume_ratio,
        config.night_code_form,
    )


@dataclass(frozen=True, slots=True)
class NightInstrument(IndexInstrument):
    """A KOSPI200 product on the night TRs; ``code`` is its night code, ``day_code`` its day's."""

    day_code: str = ""

    @property
    def tr_ids(self) -> tuple[str, ...]:
        """H0MFCNT0, H0MFASP0 for futures; H0EUCNT0, H0EUASP0, H0EUANC0 for options."""
        return trs_for(self.kind, "night")

    @property
    def market(self) -> str:
        return "night"


def night_code(inst: IndexInstrument, form: CodeForm) -> str:
    """The night ``tr_key`` of a day index product (``SimConfig.night_code_form``)."""
    return inst.krx_code if form == "krx" else inst.code


def night_instruments(instruments: Iterable[Instrument], form: CodeForm = "kis") -> list[NightInstrument]:
    """The night contracts of the KOSPI200 products among ``instruments``, in their order."""
    return [
        NightInstrument(
            night_code(i, form),
            i.kind,
            i.underlying,
            i.expiry,
            i.month,
            i.strike,
            i.weekly,
            i.week,
            day_code=i.code,
        )
        for i in instruments
        if isinstance(i, IndexInstrument) and not isinstance(i, NightInstrument)
    ]


def _night_name(i: NightInstrument) -> str:
    # The night masters' names have no underlying: "F 202612", "C 202610   745.0" (the 2026 lines
    # of schema/night_master.py); a weekly's month is the day name's "2612W1" (a modelling choice).
    if i.strike is None:
        return f"F {i.expiry.year}{i.expiry.month:02d}"
    month = f"{i.expiry.year % 100:02d}{i.expiry.month:02d}W{i.week}" if i.weekly else (
        f"{i.expiry.year}{i.expiry.month:02d}")  # fmt: skip
    return f"{i.call_put} {month}{i.strike / 100:>8.1f}"


def night_master_entries(instruments: Sequence[Instrument]) -> list[MasterEntry]:
    """The night contracts among ``instruments`` as night-master rows: the index master's row of
    the product (``sim/index.py``) under the night code and name; options have no month class."""
    night = [i for i in instruments if isinstance(i, NightInstrument)]
    rows = index_master_entries(night)
    return [
        replace(
            row,
            code=i.code,
            name=_night_name(i),
            atm=row.atm.strip(),  # a futures line's blank, as the reader gives it
            month_class=row.month_class if i.strike is None else "",
            market="night",
        )
        for i, row in zip(night, rows, strict=True)
    ]


def write_night_masters(directory: str | Path, instruments: Sequence[Instrument]) -> tuple[Path, Path]:
    """Write ``fo_cme_code.mst`` (night futures) and ``fo_eurex_code.mst`` (night options)."""
    folder = Path(directory)
    entries = night_master_entries(instruments)
    futures = [e for e in entries if e.kind == "future"]
    options = [e for e in entries if e.kind != "future"]
    return (
        write_night_master(folder / NIGHT_FUTURES_MASTER, futures),
        write_night_master(folder / NIGHT_OPTIONS_MASTER, options),
    )
