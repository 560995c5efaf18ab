"""The night sessions of the simulated market: ``NightSessions``, the market's trading days
(``phases.TradingDay``) with the nights between them.

The market alternates a day session (``phases``) and, on the evenings KRX runs one
(``night_calendar``), a night session in which only the night contracts (``sim/night.py``)
trade: opening auction 17:50-18:00 with expected prices of the options (H0EUANC0) from
``SimConfig.night_expected_from`` before the uncross, continuous trading 18:00-05:50, closing
auction to 06:00. The steps are the day's (``phases.Schedule``): OPEN, CLOSING, UNCROSS, EXPECT,
NEXT, at the night's instants; ``BSOP_HOUR`` runs 235959 → 000000 through midnight as any clock
in KST does (``contracts.hhmmss``). What hands over between the sessions is in ``sim/night.py``.
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import date, datetime, timedelta

from ..schema.records import KST
from .book import slot_of
from .fair import DIVIDENDS, carry
from .liquidity import CONTINUOUS_SECONDS
from .night import NIGHT_VOLATILITY, NightInstrument, NightPlan
from .night_calendar import NightCalendar, NightSession
from .phases import SessionTimes, TradingDay

__all__ = ["NightPlan", "NightSessions"]


class NightSessions(TradingDay):
    """The market's days and nights; the market owns the attributes declared in ``TradingDay``
    and ``night_plan`` (set in its constructor)."""

    #: The night settings (``SimConfig.night_*``); None: no night sessions.
    night_plan: NightPlan | None

    def _init_night(self) -> None:
        """Pair each night contract with its day twin (the market's first step): the night's
        trading rate, previous-day volume and open interest from the day's."""
        plan = self.night_plan
        self.nights: NightCalendar | None = None
        self.night: NightSession | None = None  # the night session under way
        # A night contract may carry its day twin's code (``night_code_form`` "kis"), so the
        # market finds a contract's index by the contract, and a night code's by the night TRs.
        self._index_of = {id(c): n for n, c in enumerate(self.contracts)}
        self._night_position: dict[str, int] = {}  # night code -> its contract's index
        self._twins: list[tuple[int, int]] = []  # (night contract, its day twin)
        self._is_night = [isinstance(c.instrument, NightInstrument) for c in self.contracts]
        self._day_closes: dict[str, int] = {}  # the spots' day closes during a night
        if plan is None or not any(self._is_night):
            return
        self.nights = nights = NightCalendar(self.calendar, plan.hours, plan.closures)
        factor = plan.volume_ratio * CONTINUOUS_SECONDS / nights.continuous_seconds
        day_of = {c.code: n for n, c in enumerate(self.contracts) if not self._is_night[n]}
        for n, c in enumerate(self.contracts):
            if not self._is_night[n]:
                c.siblings = [x for x in c.siblings if not isinstance(x.instrument, NightInstrument)]
                continue
            inst = c.instrument
            assert isinstance(inst, NightInstrument)  # mypy: _is_night says so
            twin = self.contracts[day_of[inst.day_code]]
            self._twins.append((n, day_of[inst.day_code]))
            self._night_position[c.code] = n
            act = twin.activity
            c.activity = replace(
                act, base=act.base * factor, prev_volume=int(act.prev_volume * plan.volume_ratio)
            )
            c.spread = c.activity.spread_ticks(c.activity.rate(c.strike, twin.spot_state.price))
            c.prev_close, c.prev_volume = twin.prev_close, c.activity.prev_volume
            c.oi = c.prev_oi = twin.oi
            c.siblings = [x for x in c.siblings if isinstance(x.instrument, NightInstrument)]

    def _first_night(self, day: date, start: float) -> NightSession | None:
        """The night session to start the market in, if one is under way at ``start`` or comes
        before the day session ``day``."""
        if self.nights is None or self.always_open:
            return None
        night = self.nights.night_from(datetime.fromtimestamp(start, KST))
        opens = self.calendar.session(day).auction_start.timestamp()
        return night if night.close.timestamp() <= opens else None

    def _next_session(self) -> None:
        """After a session's close: the night of this evening, if KRX runs one and a night
        contract is alive, else the next trading day (``always_open``: the next calendar day)."""
        if self.always_open:
            self._enter_session(self.day + timedelta(days=1))
        elif self.night is not None:
            self._leave_night()
            self._enter_session(self.day)  # the day the night counted for
        elif (
            self.nights is not None
            and self.nights.has_night(self.day)
            and any(self._ends[self.contracts[n].code] > self.now for n, _ in self._twins)
        ):
            self._enter_night(self.nights.night_session(self.day))
        else:
            self._enter_session(self.calendar.next_trading_day(self.day + timedelta(days=1)))

    def _enter_night(self, night: NightSession, start: float | None = None) -> None:
        """Begin night session ``night`` at its first instant, or at ``start``: the day twins
        hand over their closes and open interest (``sim/night.py``)."""
        self.night, self.day = night, night.day
        at = [t.timestamp() for t in (night.auction_start, night.open, night.closing_auction, night.close)]
        auction_start, opening, closing, close = at
        # The spots move from the open to the closing auction (the stock market's hours of a
        # day session); an expiring contract has no earlier close at night.
        self.times = times = SessionTimes(
            auction_start, opening, opening, closing, closing, close, closing, close
        )
        self.now = now = auction_start if start is None else max(start, auction_start)
        for spot in self.spots.values():
            self._day_closes[spot.underlying.code] = spot.price
            spot.prev_close = spot.price  # the night's limits and moves count from the day close
            spot.vol = (
                spot.underlying.volatility * NIGHT_VOLATILITY * math.exp(0.1 * self.rng.gauss(0.0, 1.0))
            )
            spot.stage, spot.trigger, spot.expand_at = 0, math.inf, math.inf  # the first stage only
        for n, day_index in self._twins:
            c, twin = self.contracts[n], self.contracts[day_index]
            c.new_day()
            c.prev_close = twin.last if twin.last is not None else twin.prev_close
            c.oi = c.prev_oi = twin.oi
            c.limits_for = None
        self._stops = [-math.inf] * len(self.contracts)
        for n, _ in self._twins:
            c = self.contracts[n]
            c.terms = carry(
                night.day, self._last_day[n], self.rate, DIVIDENDS.get(c.instrument.underlying.code, ())
            )
            if self._ends[c.code] > now and night.day <= self._last_day[n]:
                self._stops[n] = closing
        self._schedule.plan(times, (), now, auctions=True)
        for n, c in enumerate(self.contracts):
            c.book.until = slot_of(max(self._stops[n], 0.0), self.per_second)
        self._begin(now, times)
        if now < opening and self.night_plan is not None:  # the opening auction's interest
            begin = max(now, opening - self.night_plan.expected_from)
            for n, _ in self._twins:
                if self._stops[n] > opening:
                    self._call(self.contracts[n], opening, opening - auction_start, begin)

    def _leave_night(self) -> None:
        """The night is over: its open interest carries on in the day twins; the spots' previous
        closes are the day's again once the next day has rolled (``_restore_day_closes``)."""
        for n, day_index in self._twins:
            self.contracts[day_index].oi = self.contracts[n].oi
        self.night = None

    def _restore_day_closes(self) -> None:
        """After the overnight roll that followed a night: a spot's previous close is its day
        close, not where the night left it (the night counted for this day)."""
        for spot in self.spots.values():
            close = self._day_closes.pop(spot.underlying.code, None)
            if close is not None:
                spot.prev_close = close
