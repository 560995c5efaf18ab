"""The KRX night derivatives session: which evenings have one, its hours and its trading day.

KRX runs its own night session since 2025-06-09, replacing the Eurex link (KRX via newsis
2025-05-28 NISX20250528_0003193347, economidaily 2025-05-28 20250528100806906; KRX's English
page "Night Session", global.krx.co.kr GLB0201041004). KST:

* 17:50 the opening single-price auction takes orders; 18:00 it uncrosses;
* 18:00–05:50 next morning continuous trading;
* 05:50 the closing single-price auction takes orders; 06:00 it uncrosses.

Which evenings (GLB0201041004, "Trading Holidays"): "the night session is scheduled from Monday
to Friday; if the night session's start date falls on a holiday (weekend, public holiday, etc.),
that day's night trading is canceled. Conversely, even if regular session is closed tomorrow,
night session is proceeded as scheduled if regular session is conducted today". So **Friday
evening has a night session** (18:00 Friday to 06:00 Saturday; KRX's closure notice for
2026-02-13, a Friday, names "13일 오후 6시부터 14일 오전 6시까지", economidaily 2026-01-26
20260126171356411), and so does the eve of a holiday (2025-12-30, before the 12-31 closure:
wowtv 2025-12-18 2025121825891). Besides, KRX closes the night session on the eve of a long
holiday (추석 2025: the evening of 2025-10-02, asiae 2025-09-10 2025091016411378008; 설 2026:
2026-02-13, ajunews 2026-01-26 20260126172721430) and said it will keep doing so "명절 장기연휴
전일"; :data:`NIGHT_CLOSURES` has the two announced dates and, inferred from that statement, the
eves of 추석 2026 and of 설 and 추석 2027 (a setting: ``SimConfig.night_closures``).

Trading day (GLB0201041004, "Trading Days"): the night that starts on T and ends on T+1 counts
as T+1's trading, "together with trading concluded in regular session" T+1; it is cleared with
the regular session right after it ("직후 정규거래와 합산돼 청산", ajunews 2026-01-26), so a Friday
night counts for the Monday and the 12-30 night for the first trading day of the next year.
:attr:`NightSession.day` is that day, the trading day of the next regular session.

The 수능 exam day: the night session starting that evening opens at 19:00 and ends as usual
(asiae 2025-10-30 2025103012132576825); its opening auction is taken to start 10 minutes
before, as on other days (not stated in the source).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Protocol

from ..schema.records import KST
from .calendar import KrxCalendar, Phase, hours_text, phase_at

__all__ = [
    "NIGHT_CLOSURES",
    "NIGHT_HOURS",
    "NightCalendar",
    "NightSession",
    "check_night_settings",
    "parse_night_hours",
]

#: Evenings without a night session although the day is a trading day: the eves of long holidays.
NIGHT_CLOSURES: tuple[date, ...] = (
    date(2025, 10, 2),  # 추석 2025 (announced: asiae 2025-09-10)
    date(2026, 2, 13),  # 설 2026 (announced: ajunews 2026-01-26)
    date(2026, 9, 23),  # 추석 2026 (inferred from KRX's statement)
    date(2027, 2, 5),  # 설 2027 (inferred)
    date(2027, 9, 13),  # 추석 2027 (inferred)
)
#: Opening auction, open (uncross), closing auction, close (uncross): KRX 2025-05-28.
NIGHT_HOURS: tuple[str, str, str, str] = ("17:50", "18:00", "05:50", "06:00")
_EXAM_DELAY = timedelta(hours=1)


def parse_night_hours(hours: Iterable[str]) -> tuple[time, time, time, time]:
    """``("17:50", "18:00", "05:50", "06:00")`` as times; ValueError unless the opening auction
    and the open are in the evening (from noon), the closing auction and close in the morning
    (before noon), each pair in order."""
    texts = tuple(hours)
    if len(texts) != 4:
        raise ValueError(f"night hours are four HH:MM texts, not {texts!r}")
    try:
        auction, opening, closing, close = (time.fromisoformat(t) for t in texts)
    except (TypeError, ValueError):
        raise ValueError(f"night hours are four HH:MM texts, not {texts!r}") from None
    if not (time(12) <= auction <= opening and closing <= close < time(12)):
        raise ValueError(f"night hours must be evening auction <= open, morning closing <= close: {texts!r}")
    return auction, opening, closing, close


class NightSettings(Protocol):
    """The night settings of ``SimConfig`` (``kisfeed.sim.config``)."""

    @property
    def night_hours(self) -> tuple[str, str, str, str]: ...
    @property
    def night_expected_from(self) -> float: ...
    @property
    def night_volume_ratio(self) -> float: ...
    @property
    def night_code_form(self) -> str: ...


def check_night_settings(config: NightSettings) -> None:
    """ValueError naming the first night setting of ``config`` out of its range."""
    parse_night_hours(config.night_hours)
    if config.night_expected_from < 0:
        raise ValueError("night_expected_from must not be negative")
    if not 0 < config.night_volume_ratio <= 10:
        raise ValueError(f"night_volume_ratio must be in (0, 10], not {config.night_volume_ratio}")
    if config.night_code_form not in ("kis", "krx"):
        raise ValueError(f"night_code_form must be 'kis' or 'krx', not {config.night_code_form!r}")


@dataclass(frozen=True, slots=True)
class NightSession:
    """One night session, as KST datetimes: it starts on the evening of ``starts`` and counts
    for trading day ``day`` (the next regular session's)."""

    starts: date
    day: date
    auction_start: datetime
    open: datetime
    closing_auction: datetime
    close: datetime
    note: str = ""

    def phase(self, at: datetime) -> Phase:
        return phase_at(at, self.auction_start, self.open, self.closing_auction, self.close)

    def describe(self) -> str:
        """E.g. ``night 18:00-06:00 KST (auctions 17:50-18:00 and 05:50-06:00), for 2026-11-23``."""
        hours = hours_text(self.auction_start, self.open, self.closing_auction, self.close)
        text = f"night {hours}, for {self.day}"
        return f"{text}, {self.note}" if self.note else text


class NightCalendar:
    """The night sessions of a :class:`KrxCalendar` (its holidays and exam days)."""

    def __init__(
        self,
        calendar: KrxCalendar,
        hours: Iterable[str] = NIGHT_HOURS,
        closures: Iterable[date] = NIGHT_CLOSURES,
    ) -> None:
        self.calendar = calendar
        self.hours = parse_night_hours(hours)
        self.closures = frozenset(closures)

    @property
    def continuous_seconds(self) -> float:
        """Seconds of continuous trading of a usual night (18:00-05:50: 42,600)."""
        _, opening, closing, _ = self.hours
        day = date(2000, 1, 1)
        span = datetime.combine(day + timedelta(days=1), closing) - datetime.combine(day, opening)
        return span.total_seconds()

    def has_night(self, starts: date) -> bool:
        """Whether a night session starts on the evening of ``starts``."""
        return self.calendar.is_trading_day(starts) and starts not in self.closures

    def night_session(self, starts: date) -> NightSession:
        """The night session starting on the evening of ``starts`` (ValueError if none)."""
        if not self.has_night(starts):
            raise ValueError(f"no KRX night session starts on {starts}")
        auction, opening, closing, close = self.hours
        following = starts + timedelta(days=1)
        delay, note = timedelta(0), ""
        if starts in self.calendar.exam_days:
            delay, note = _EXAM_DELAY, "수능 day: opens 1 h later"
        return NightSession(
            starts=starts,
            day=self.calendar.next_trading_day(following),
            auction_start=datetime.combine(starts, auction, KST) + delay,
            open=datetime.combine(starts, opening, KST) + delay,
            closing_auction=datetime.combine(following, closing, KST),
            close=datetime.combine(following, close, KST),
            note=note,
        )

    def night_from(self, at: datetime) -> NightSession:
        """The night session under way at ``at`` (its auctions included), or the next one."""
        local = at.astimezone(KST)
        starts = local.date() - timedelta(days=1)  # the one that started yesterday may run still
        while True:
            if self.has_night(starts):
                session = self.night_session(starts)
                if local < session.close:
                    return session
            starts += timedelta(days=1)

    def phase(self, at: datetime) -> Phase:
        """What the night market does at ``at`` (CLOSED outside night sessions)."""
        return self.night_from(at).phase(at.astimezone(KST))
