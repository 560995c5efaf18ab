"""Reconnects and the gaps they leave, followed live from a feed's events (issue 11, item 3).

``GapTracker`` is what ``Recorder.on_event`` runs: it knows which registrations each session
holds (from the acks, ``Subscribed``), opens a gap for each of them when their session is lost
(``Disconnected``, from the receive time of its last frame) and closes it when the code's
registration is acknowledged on a new session. Each gap goes to the journal as notes
(``gaps``, where the definition is), and each lost session, once it is over, to ``on_outage``:
``kisfeed record`` prints it as one line (``describe_outage``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from ..client import events as ev
from ..exceptions import AppKeyInUseError, InvalidApprovalError, NotSubscribedError
from ..schema import KST
from .notes import Key, end_note, start_note

__all__ = ["Gap", "Outage", "GapTracker", "describe_outage"]

_STOPPED = "not received again before the recording stopped"
_CODES_SHOWN = 6  # codes named in a line; more are counted


@dataclass(frozen=True)
class Gap:
    """One interval in which a subscribed code was not received (a row of the view ``gaps``)."""

    session_id: int  # the session that carried its registration (or refused it)
    tr_id: str
    code: str
    start_ns: int
    end_ns: int
    reason: str

    @property
    def seconds(self) -> float:
        return (self.end_ns - self.start_ns) / 1e9


@dataclass
class Outage:
    """One lost session, and when each registration it carried was acknowledged again."""

    session: int
    connection: int
    reason: str
    start_ns: int  # receive time of the session's last frame
    keys: tuple[Key, ...]  # the registrations it held
    ended: dict[Key, int] = field(default_factory=dict)  # key -> ack time on a new session
    resumed: set[int] = field(default_factory=set)  # the sessions that took them back
    refused: dict[Key, str] = field(default_factory=dict)  # key -> the server's refusal
    reconnected_ns: int | None = None  # a session held no registration: the next connect
    stopped_ns: int | None = None  # the recording stopped before all of it was back
    reported: bool = False

    @property
    def complete(self) -> bool:
        if not self.keys:
            return self.reconnected_ns is not None
        return all(k in self.ended or k in self.refused for k in self.keys)


@dataclass
class _Open:
    session: int
    start_ns: int
    reason: str
    outage: Outage | None
    refused: str | None = None


class GapTracker:
    """Follows a feed's events; ``note(text, ns)`` journals each gap (see the module docstring),
    ``on_outage(outage)`` hears of each lost session once it is over (all back, refused, or
    the recording stopped). Never raises into the feed."""

    def __init__(
        self, note: Callable[[str, int], None], on_outage: Callable[[Outage], None] | None = None
    ) -> None:
        self._note, self._on_outage = note, on_outage
        self._live: dict[int, tuple[int, int]] = {}  # session -> (connection, connected ns)
        self._held: dict[int, set[Key]] = {}  # session -> keys acknowledged on it
        self._open: dict[Key, _Open] = {}
        self._waiting: dict[int, Outage] = {}  # connection -> a lost session that held nothing
        self.outages: list[Outage] = []
        self.gaps: list[Gap] = []  # closed gaps, in the order they ended

    # --- events ---

    def on_event(self, event: ev.FeedEvent) -> None:
        now = time.time_ns()  # the event is emitted as its frame is received: same clock
        if isinstance(event, ev.Connected):
            self._live[event.session] = (event.connection, now)
            self._held[event.session] = set()
            outage = self._waiting.pop(event.connection, None)
            if outage is not None:
                outage.reconnected_ns = now
                outage.resumed.add(event.session)
                self._report(outage)
        elif isinstance(event, ev.Subscribed):
            key = (event.tr_id, event.tr_key)
            self._held.setdefault(event.session, set()).add(key)
            gap = self._open.pop(key, None)
            if gap is not None:
                self._close(key, gap, now, event.session)
        elif isinstance(event, ev.Unsubscribed):
            self._held.get(event.session, set()).discard((event.tr_id, event.tr_key))
        elif isinstance(event, ev.Disconnected):
            self._lost(event, now)
        elif isinstance(event, ev.Rejected):
            self._refused(event, now)

    def _lost(self, event: ev.Disconnected, now: int) -> None:
        live = self._live.pop(event.session, None)
        if live is None:  # a reconnect attempt that failed: it held nothing
            return
        connection, connected_ns = live
        keys = tuple(sorted(self._held.pop(event.session, ())))
        start = max(connected_ns, event.last_frame_ns or 0)
        outage = Outage(event.session, connection, event.reason, start, keys)
        self.outages.append(outage)
        if not keys:
            self._waiting[connection] = outage
            return
        for key in keys:
            self._open[key] = _Open(event.session, start, event.reason, outage)
        self._note(start_note(event.session, start, event.reason, keys), now)

    def _refused(self, event: ev.Rejected, now: int) -> None:
        error = event.error
        tr_id, code = getattr(error, "tr_id", None), getattr(error, "tr_key", None)
        # Refusals of the session (a Disconnected follows) or of an unsubscribe are no gap.
        if (
            not tr_id
            or not code
            or isinstance(error, (AppKeyInUseError, InvalidApprovalError, NotSubscribedError))
        ):
            return
        key = (tr_id, code)
        if any(key in held for held in self._held.values()):
            return
        gap = self._open.get(key)
        if gap is not None:
            gap.refused = str(error)
            if gap.outage is not None:
                gap.outage.refused[key] = str(error)
                gap.outage.resumed.add(event.session)
                self._report(gap.outage)
            return
        reason = f"registration refused ({error})"
        self._open[key] = _Open(event.session, now, reason, None, refused=str(error))
        self._note(start_note(event.session, now, reason, [key]), now)

    def close(self) -> None:
        """The recording stops: every open gap ends now, every outage not reported is."""
        now = time.time_ns()
        for key, gap in sorted(self._open.items()):
            self._close(key, gap, now, None)
        self._open.clear()
        for outage in self._waiting.values():
            outage.stopped_ns = now
        self._waiting.clear()
        for outage in self.outages:
            if not outage.reported:
                outage.stopped_ns = outage.stopped_ns or now
                self._report(outage, force=True)

    def _close(self, key: Key, gap: _Open, end: int, resumed: int | None) -> None:
        reason = gap.reason
        if gap.refused is not None and gap.outage is not None:
            reason += f"; registering it again was refused ({gap.refused})"
        if resumed is None and gap.refused is None:
            reason += f"; {_STOPPED}"
        self.gaps.append(Gap(gap.session, key[0], key[1], gap.start_ns, end, reason))
        self._note(end_note(gap.session, key, gap.start_ns, end, reason, resumed), end)
        outage = gap.outage
        if outage is not None:
            outage.ended[key] = end
            if resumed is None:
                outage.stopped_ns = end
            else:
                outage.resumed.add(resumed)
            self._report(outage)

    def _report(self, outage: Outage, force: bool = False) -> None:
        if outage.reported or not (force or outage.complete):
            return
        outage.reported = True
        if self._on_outage is not None:
            self._on_outage(outage)

    # --- totals ---

    def summary(self) -> str:
        """``reconnects N, gaps M (X s of codes not received)``, for the end of a recording."""
        seconds = sum(g.seconds for g in self.gaps)
        text = f"reconnects {len(self.outages)}, gaps {len(self.gaps)}"
        if self.gaps:
            text += f' ({seconds:,.1f} s of codes not received); see the gaps view: kisfeed query "SELECT * FROM gaps"'
        return text


# --- one line per outage ----------------------------------------------------------------------------


def _clock(ns: int) -> str:
    moment = datetime.fromtimestamp(ns // 1_000_000_000, KST)
    return f"{moment:%H:%M:%S}.{ns % 1_000_000_000 // 1_000_000:03d}"


def _codes(keys: Iterable[Key]) -> str:
    codes = [code for _, code in keys]
    shown = ", ".join(codes[:_CODES_SHOWN])
    return shown + (f" and {len(codes) - _CODES_SHOWN} more" if len(codes) > _CODES_SHOWN else "")


def describe_outage(outage: Outage) -> str:
    """One line: which session was lost and why, which codes were not received, from when to when.

    ``reconnected session 2 → 3 after 13.2 s (closed by the server): A11612, A50612 not received
    09:12:01.234–09:12:14.456``"""
    start = _clock(outage.start_ns)
    back = [k for k in outage.keys if k in outage.ended and k not in outage.refused]
    resumed = ", ".join(str(s) for s in sorted(outage.resumed))
    stop_ns = outage.stopped_ns
    returned = [k for k in back if stop_ns is None or outage.ended[k] < stop_ns]
    ends = [outage.ended[k] for k in returned]
    if outage.resumed:
        last = max(ends, default=outage.reconnected_ns or outage.start_ns)
        head = (
            f"reconnected session {outage.session} → {resumed} after {(last - outage.start_ns) / 1e9:.1f} s "
            f"({outage.reason})"
        )
    else:
        head = (
            f"session {outage.session} lost ({outage.reason}), not reconnected before the recording stopped"
        )
    parts = []
    if returned:
        parts.append(f"{_codes(returned)} not received {start}–{_clock(max(ends))}")
    if outage.refused:
        refusals = sorted(set(outage.refused.values()))
        parts.append(
            f"{_codes(sorted(outage.refused))} refused when registered again ({'; '.join(refusals)}), "
            f"not received since {start}"
        )
    missing = [k for k in outage.keys if k not in returned and k not in outage.refused]
    if missing and stop_ns is not None:
        parts.append(f"{_codes(missing)} not received {start}–{_clock(stop_ns)} (the recording stopped)")
    if not outage.keys:
        parts.append("nothing was registered on it yet")
    return head + ": " + "; ".join(parts)
