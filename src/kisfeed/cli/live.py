"""Running a feed with the live board, shared by ``kisfeed watch`` and ``kisfeed demo``."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.live import Live

import kisfeed

from ..client import events as ev
from ..schema.master import MasterEntry
from .board import Board
from .common import err_console, plural, signals

__all__ = ["LiveResult", "run_board", "silent_codes"]


@dataclass
class LiveResult:
    records: Counter[str] = field(default_factory=Counter)  # per TR
    codes: set[str] = field(default_factory=set)  # the codes that brought a record
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


def silent_codes(subscribed: Iterable[str], seen: set[str], shown: int = 8) -> str | None:
    """One line naming the subscribed codes that brought no record, or None. A thin series may
    trade a few times a day, and KIS acknowledges a code it does not serve and then sends
    nothing (reference 8.11): either way the user should know which codes stayed silent."""
    wanted = list(dict.fromkeys(subscribed))
    silent = [code for code in wanted if code not in seen]
    if not silent:
        return None
    names = ", ".join(silent[:shown]) + (f" and {len(silent) - shown} more" if len(silent) > shown else "")
    return (
        f"no record from {len(silent)} of {len(wanted)} codes: {names} "
        "(a quiet series, or a code the server acknowledges but does not serve)"
    )


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
) -> LiveResult:
    """Connect, subscribe, show the board until Ctrl-C, SIGTERM or ``seconds``; then report
    (the caller ends with ``signals.exit_status()``: 130 after Ctrl-C)."""
    board = Board(instruments, title=title)
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
        err_console.print(
            f"connected: {plural(sum(len(c) for _, c in subscriptions), 'code')} subscribed; Ctrl-C to stop"
        )
        with Live(board.render(), console=console, refresh_per_second=1 / refresh, transient=False) as live:
            while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
                try:
                    batch = await asyncio.wait_for(feed.next_batch(5000), refresh)
                except TimeoutError:
                    batch = []
                for record in batch:
                    board.update(record)
                    result.records[record.tr_id] += 1
                    if record.code:  # an empty code field decodes to None
                        result.codes.add(record.code)
                board.stats = feed.stats()
                live.update(board.render())
        stats = feed.stats()
        result.reconnects, result.dropped, result.parse_errors = (
            stats.reconnects,
            stats.dropped,
            stats.parse_errors,
        )
    result.seconds = time.monotonic() - started
    return result
