"""Running a feed with the live board, shared by ``kisfeed watch`` and ``kisfeed demo``."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.live import Live

import kisfeed

from ..client import FeedStats
from ..client import events as ev
from ..protocol.routing import Key
from ..schema import Record, layout_for
from ..schema.master import MasterEntry
from .board import Board
from .common import err_console, plural, signals

if TYPE_CHECKING:
    from ..fleet.options import NatsOptions

__all__ = ["LiveResult", "run_board", "run_stream_board", "silent_codes", "describe"]


@dataclass
class LiveResult:
    records: Counter[str] = field(default_factory=Counter)  # per TR
    seen: set[Key] = field(default_factory=set)  # the (TR, code) subscriptions that brought a record
    seconds: float = 0.0
    reconnects: int = 0
    dropped: int = 0
    parse_errors: int = 0


def _state(event: ev.FeedEvent) -> str | None:
    match event:
        case ev.Connected():
            return "connected"
        case ev.Disconnected(reason=reason):
            return f"disconnected ({reason})"
        case ev.Reconnecting(delay=delay):
            return f"reconnecting in {delay:.1f} s"
    return None


def describe(subscriptions: dict[str, list[str]] | list[tuple[str, list[str]]]) -> str:
    """``3 codes`` when each code is on one TR, else ``3 codes in 7 registrations`` (each
    (TR, code) pair is one of an app key's 41, reference 3.1)."""
    pairs = subscriptions.items() if isinstance(subscriptions, dict) else subscriptions
    registrations = [(tr, code) for tr, codes in pairs for code in codes]
    codes = {code for _, code in registrations}
    if len(registrations) == len(codes):
        return plural(len(codes), "code")
    return f"{plural(len(codes), 'code')} in {plural(len(registrations), 'registration')}"


def silent_codes(subscribed: Iterable[Key], seen: set[Key], shown: int = 8) -> str | None:
    """One line naming the subscribed (TR, code) pairs that brought no record, or None. A thin
    series may trade a few times a day, and KIS acknowledges a code it does not serve and then
    sends nothing (reference 8.11): either way the user should know which stayed silent. A code
    on its trade TR is named alone (``A11612``), on another TR with it (``A11612 H0ZFASP0``)."""
    wanted = list(dict.fromkeys(subscribed))
    silent = [key for key in wanted if key not in seen]
    if not silent:
        return None
    trades = all(layout_for(tr).category == "trade" for tr, _ in wanted)
    names = [code if layout_for(tr).category == "trade" else f"{code} {tr}" for tr, code in silent]
    listed = ", ".join(names[:shown]) + (f" and {len(names) - shown} more" if len(names) > shown else "")
    why = "a quiet series, or a code the server acknowledges but does not serve"
    if any(layout_for(tr).category == "expected" for tr, _ in silent):
        why += "; expected prices come only in the single-price auctions"  # reference 4.5
    return f"no record from {len(silent)} of {plural(len(wanted), 'code' if trades else 'subscription')}: {listed} ({why})"


async def run_board(
    *,
    connect_kwargs: dict[str, Any],
    subscriptions: list[tuple[str, list[str]]],
    instruments: dict[str, MasterEntry],
    console: Console,
    title: str,
    seconds: float | None = None,
    on_frame: Callable[[str, int, int], None] | None = None,
    refresh: float = 0.25,
    book: str | None = None,
) -> LiveResult:
    """Connect, subscribe, show the board (with ``book``'s depth ladder) until Ctrl-C, SIGTERM
    or ``seconds``; then report (the caller ends with ``signals.exit_status()``: 130 after Ctrl-C)."""
    board = Board(instruments, title=title, book=book)
    result = LiveResult()
    stop = signals.stop_event()

    def on_event(event: ev.FeedEvent) -> None:
        if (state := _state(event)) is not None:
            board.state = state

    started = time.monotonic()
    deadline = None if seconds is None else started + seconds
    async with kisfeed.connect(**connect_kwargs, on_frame=on_frame, on_event=on_event) as feed:
        board.state = "subscribing"
        for tr_id, codes in subscriptions:
            await feed.subscribe(tr_id, codes)
        board.state = "connected"
        err_console.print(f"connected: {describe(subscriptions)} subscribed; Ctrl-C to stop")
        await _show(board, console, refresh, stop, deadline, feed.next_batch, feed.stats, result)
        stats = feed.stats()
        result.reconnects, result.dropped, result.parse_errors = (
            stats.reconnects,
            stats.dropped,
            stats.parse_errors,
        )
    result.seconds = time.monotonic() - started
    return result


async def _show(
    board: Board,
    console: Console,
    refresh: float,
    stop: asyncio.Event,
    deadline: float | None,
    next_batch: Callable[[int], Awaitable[list[Record]]],
    stats: Callable[[], FeedStats],
    result: LiveResult,
) -> None:
    """The board, redrawn every ``refresh`` s with the records of ``next_batch``, until ``stop``
    or ``deadline`` (monotonic)."""
    with Live(board.render(), console=console, refresh_per_second=1 / refresh, transient=False) as live:
        while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
            try:
                batch = await asyncio.wait_for(next_batch(5000), refresh)
            except TimeoutError:
                batch = []
            for record in batch:
                board.update(record)
                result.records[record.tr_id] += 1
                if record.code:  # an empty code field decodes to None
                    result.seen.add((record.tr_id, record.code))
            board.stats = stats()
            live.update(board.render())


async def run_stream_board(
    *,
    options: NatsOptions,
    subscriptions: list[tuple[str, list[str]]],
    instruments: dict[str, MasterEntry],
    console: Console,
    seconds: float | None = None,
    refresh: float = 0.25,
    book: str | None = None,
    connect_timeout: float = 10.0,
) -> LiveResult:
    """``run_board`` fed by the fleet's stream (``watch --from``): its live records of the
    subscriptions' (TR, code) pairs, no KIS connection. The status line counts NATS reconnects,
    and malformed messages as errors."""
    from ..fleet import subscribe

    board = Board(instruments, title=f"kisfeed · {options.url_shown}", book=book)
    result = LiveResult()
    stop = signals.stop_event()
    keys = [(tr, code) for tr, codes in subscriptions for code in codes]
    started = time.monotonic()
    deadline = None if seconds is None else started + seconds
    async with subscribe(options, keys=keys, connect_timeout=connect_timeout) as feed:

        def stats() -> FeedStats:
            s = feed.stats()
            board.state = "connected" if s.connected else "reconnecting"
            return FeedStats(
                frames=s.received,
                records=s.records,
                bytes=0,
                parse_errors=s.malformed,
                dropped=0,
                reconnects=s.reconnects,
                queued=s.queued,
                subscriptions={0: len(keys)},
                connected={0: s.connected},
            )

        board.state = "connected"
        err_console.print(
            f"connected to {options.url_shown}: {describe(subscriptions)} from the stream; Ctrl-C to stop",
            markup=False,
        )
        await _show(board, console, refresh, stop, deadline, feed.next_batch, stats, result)
        s = feed.stats()
        result.reconnects, result.parse_errors = s.reconnects, s.malformed
    result.seconds = time.monotonic() - started
    return result
