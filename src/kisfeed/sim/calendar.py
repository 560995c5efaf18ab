"""The KRX trading calendar of stock futures and options: trading days and each day's hours.

A :class:`Session` is one trading day's timetable (KST, reference 6):

* 08:30 the opening single-price auction takes orders (expected prices from 08:40);
* 08:45 it uncrosses and continuous trading starts (since 2024-11-04; economy21 idxno=1014215);
* 09:00–15:30 the stock market is open: before and after, futures trade against a spot that
  does not move; until 09:00 only the first stage of the daily limit applies (economy21);
* 15:35 continuous trading ends and the closing single-price auction takes orders, uncrossing
  at 15:45;
* an expiring contract's last trading day ends at 15:20 (EUGENE, KRX-GLB; Daishin's product
  page: "최종거래일은 08시 45분 - 15시 20분"). Whether that day has its own closing auction
  before 15:20 is not in any source found: ``last_day_auction`` (default 10 minutes, the length
  of every other KRX closing auction) is a setting.

Special days:

* the first trading day of the year opens one hour late for the stock market (10:00) and so
  for derivatives (auction 09:30, open 09:45); the close is unchanged (KRX via news:
  b83.nicesongtoyou.com/?p=10145; 디지털투데이 2025-12-18, news.zumst.com/articles/102915299);
* the 수능 (college entrance exam) day shifts the whole session by one hour: stocks
  10:00–16:30, stock and rate derivatives 09:45–16:45 (KRX via edaily 2025-11-12 newsId
  05520246642365064, tf.co.kr 2261781; the 2023 rule that derivatives open 15 minutes before
  stocks on such days: etoday 2023-07-06). Exam days: 2026-11-19 (교육부 via news1 5511338)
  and 2027-11-18 (교육부 via unn.net 579517).

Holidays (no session): weekends and :data:`DEFAULT_HOLIDAYS`. The 2026 dates are KRX's
announced closures (sources above), plus 제헌절 2026-07-17, made a public holiday again by the
law promulgated 2026-02 (segye 2026-02-04; KRX closes on every public holiday, seoul.co.kr
2015-08-05). 2027 is **inferred** — KRX had not announced it — from the public-holiday rules
(substitute days for 설/추석 on a Sunday, for national days and 어린이날 on a weekend, for
부처님오신날 and 성탄절 since 2023) and the lunar dates, checked against the ``holidays``
package's KR calendar; 12-31 is KRX's year-end closure. Left out: a substitute for 노동절
(2027-05-01 is a Saturday) whose legal status was still a bill in the sources found.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from ..schema.records import KST

__all__ = [
    "DEFAULT_HOLIDAYS",
    "EXAM_DAYS",
    "KrxCalendar",
    "Phase",
    "Session",
    "phase_at",
    "hours_text",
    "second_thursday",
]

KRX_HOLIDAYS_2026 = (
    date(2026, 1, 1),
    date(2026, 2, 16), date(2026, 2, 17), date(2026, 2, 18),  # 설날
    date(2026, 3, 2),  # 삼일절 substitute
    date(2026, 5, 1),  # 노동절 (근로자의 날)
    date(2026, 5, 5),
    date(2026, 5, 25),  # 부처님오신날 substitute
    date(2026, 6, 3),  # local elections
    date(2026, 7, 17),  # 제헌절, a public holiday again from 2026
    date(2026, 8, 17),  # 광복절 substitute
    date(2026, 9, 24), date(2026, 9, 25),  # 추석 (the third day is a Saturday)
    date(2026, 10, 5),  # 개천절 substitute
    date(2026, 10, 9),
    date(2026, 12, 25),
    date(2026, 12, 31),  # year-end closure
)  # fmt: skip
KRX_HOLIDAYS_2027 = (  # inferred: see the module docstring
    date(2027, 1, 1),
    date(2027, 2, 8), date(2027, 2, 9),  # 설날 2-6..2-8 and the substitute for Sunday 2-7
    date(2027, 3, 1),
    date(2027, 5, 5),
    date(2027, 5, 13),  # 부처님오신날
    date(2027, 7, 19),  # 제헌절 (Saturday) substitute
    date(2027, 8, 16),  # 광복절 substitute
    date(2027, 9, 14), date(2027, 9, 15), date(2027, 9, 16),  # 추석
    date(2027, 10, 4),  # 개천절 substitute
    date(2027, 10, 11),  # 한글날 substitute
    date(2027, 12, 27),  # 성탄절 substitute
    date(2027, 12, 31),  # year-end closure
)  # fmt: skip
DEFAULT_HOLIDAYS: tuple[date, ...] = KRX_HOLIDAYS_2026 + KRX_HOLIDAYS_2027
EXAM_DAYS: tuple[date, ...] = (date(2026, 11, 19), date(2027, 11, 18))  # 수능: the session +1 h

_HOUR = timedelta(hours=1)


class Phase(StrEnum):
    """What the market of stock futures/options does at an instant."""

    CLOSED = "closed"
    OPENING_AUCTION = "opening auction"
    CONTINUOUS = "continuous trading"
    CLOSING_AUCTION = "closing auction"


@dataclass(frozen=True, slots=True)
class Session:
    """One trading day's timetable, as KST datetimes."""

    day: date
    auction_start: datetime  # opening auction takes orders
    open: datetime  # opening uncross; continuous trading from here
    stock_open: datetime  # the spot moves from here; the first-stage limit alone applies before
    stock_close: datetime  # the spot is frozen from here
    closing_auction: datetime  # continuous trading ends; the closing auction takes orders
    close: datetime  # closing uncross; the day is over
    last_day_auction: datetime  # an expiring contract's continuous trading ends on its last day
    last_day_close: datetime  # ... and its closing uncross
    note: str = ""  # why the hours differ from the usual, if they do

    def phase(self, at: datetime, *, last_day: bool = False) -> Phase:
        """The phase at ``at`` for a contract (``last_day``: on its last trading day)."""
        if last_day:
            return phase_at(at, self.auction_start, self.open, self.last_day_auction, self.last_day_close)
        return phase_at(at, self.auction_start, self.open, self.closing_auction, self.close)

    def describe(self) -> str:
        """E.g. ``08:45-15:45 KST (auctions 08:30-08:45 and 15:35-15:45)``."""
        text = hours_text(self.auction_start, self.open, self.closing_auction, self.close)
        return f"{text}, {self.note}" if self.note else text


def phase_at(
    at: datetime, auction_start: datetime, open: datetime, closing_auction: datetime, close: datetime
) -> Phase:
    """The phase at ``at`` of a session with these four instants (a day's or a night's)."""
    if auction_start <= at < open:
        return Phase.OPENING_AUCTION
    if open <= at < closing_auction:
        return Phase.CONTINUOUS
    if closing_auction <= at < close:
        return Phase.CLOSING_AUCTION
    return Phase.CLOSED


def hours_text(auction_start: datetime, open: datetime, closing_auction: datetime, close: datetime) -> str:
    """``08:45-15:45 KST (auctions 08:30-08:45 and 15:35-15:45)`` for a session's four instants."""
    return (
        f"{open:%H:%M}-{close:%H:%M} KST (auctions {auction_start:%H:%M}-"
        f"{open:%H:%M} and {closing_auction:%H:%M}-{close:%H:%M})"
    )


def second_thursday(year: int, month: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(3 - first.weekday()) % 7 + 7)


class KrxCalendar:
    """Trading days and sessions. ``holidays`` and ``exam_days`` replace the defaults;
    ``last_day_auction`` is the length of the expiring contract's closing auction."""

    def __init__(
        self,
        holidays: Iterable[date] = DEFAULT_HOLIDAYS,
        exam_days: Iterable[date] = EXAM_DAYS,
        last_day_auction: timedelta = timedelta(minutes=10),
    ) -> None:
        self.holidays = frozenset(holidays)
        self.exam_days = frozenset(exam_days)
        self.last_day_auction = last_day_auction

    def is_trading_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self.holidays

    def next_trading_day(self, day: date) -> date:
        """``day`` if it is a trading day, else the first one after it."""
        while not self.is_trading_day(day):
            day += timedelta(days=1)
        return day

    def previous_trading_day(self, day: date) -> date:
        """``day`` if it is a trading day, else the last one before it."""
        while not self.is_trading_day(day):
            day -= timedelta(days=1)
        return day

    def last_trading_day(self, year: int, month: int) -> date:
        """Of a contract month: the 2nd Thursday, moved earlier past holidays (ref 6)."""
        return self.previous_trading_day(second_thursday(year, month))

    def session(self, day: date) -> Session:
        """The timetable of a trading day (ValueError for a weekend or holiday)."""
        if not self.is_trading_day(day):
            raise ValueError(f"{day} is not a KRX trading day")

        def at(hour: int, minute: int) -> datetime:
            return datetime.combine(day, time(hour, minute), KST)

        shift, note, late_open = timedelta(0), "", timedelta(0)
        if day in self.exam_days:
            shift, note = _HOUR, "수능 day: the whole session 1 h later"
        elif day == self.next_trading_day(date(day.year, 1, 1)):
            late_open, note = _HOUR, "first trading day of the year: opens 1 h late"
        close = at(15, 20) + shift
        return Session(
            day=day,
            auction_start=at(8, 30) + shift + late_open,
            open=at(8, 45) + shift + late_open,
            stock_open=at(9, 0) + shift + late_open,
            stock_close=at(15, 30) + shift,
            closing_auction=at(15, 35) + shift,
            close=at(15, 45) + shift,
            last_day_auction=close - self.last_day_auction,
            last_day_close=close,
            note=note,
        )

    def session_from(self, at: datetime) -> Session:
        """The session under way at ``at``, or the next one (a day is over at its close)."""
        day = self.next_trading_day(at.astimezone(KST).date())
        session = self.session(day)
        if at >= session.close:
            session = self.session(self.next_trading_day(day + timedelta(days=1)))
        return session

    def describe(self, at: datetime) -> str:
        """One line for ``kisfeed doctor``: open or closed at ``at``, why, and the next session."""
        local = at.astimezone(KST)
        upcoming = self.session_from(local)
        following = f"next session {upcoming.day:%a %Y-%m-%d} {upcoming.describe()}"
        if local.date() in self.holidays:
            return f"closed: KRX holiday ({local:%a %Y-%m-%d %H:%M} KST); {following}"
        if local.weekday() >= 5:
            return f"closed (weekend, {local:%a %H:%M} KST); {following}"
        session = self.session(local.date())
        phase = session.phase(local)
        if phase is Phase.CLOSED:
            return f"closed ({local:%H:%M} KST); {following}"
        return f"open: {phase.value} ({local:%H:%M} KST); today {session.describe()}"
