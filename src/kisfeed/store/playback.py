"""Replay: the records of a journal through the same typed iterator API as a live feed.

::

    async for record in replay("kisfeed-data/journal/2026-11-20", speed=10):
        ...                                   # FuturesTrade, OptionBook, ..., as recorded

Each data frame is decoded the way the live feed decoded it when it arrived: by a
``kisfeed.protocol.Session`` per recorded session (which also keeps the AES keys of encrypted
frames from their subscribe acks), with the KST date of the receive time as trading date and
the recorded receive time as ``received_ns``. So replayed records equal the records the feed
delivered (NaN-aware: ``kisfeed.schema.same_values``), and a frame the feed refused (a book
whose prices are out of order, ``BookOrderError``) is refused again and counted in
``ReplayStats.errors`` with its journal line.

``speed=None`` replays as fast as possible; ``speed=N`` keeps the recorded gaps between frames,
divided by N. ``data_frames`` gives the raw ``(received_ns, session, text)`` of the data frames,
for serving a journal over the real protocol (``kisfeed sim --replay``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from ..protocol import Data, Malformed, Session
from ..schema import Record, kst_day
from .journal import JournalStats, read_journal

__all__ = ["replay", "replay_records", "data_frames", "ReplayStats"]


@dataclass
class ReplayStats:
    """What a replay read: the journal's counts (bad lines with positions) and decode errors."""

    journal: JournalStats = field(default_factory=JournalStats)
    frames: int = 0
    records: int = 0
    errors: list[str] = field(default_factory=list)  # "<segment> line <n>: <error>"


def data_frames(*paths: str | Path, stats: JournalStats | None = None) -> Iterator[tuple[int, int, str]]:
    """``(received_ns, session, text)`` of every data frame (not control replies or PINGPONG)
    in the journals under ``paths``, in recorded order."""
    for entry in read_journal(*paths, stats=stats):
        if entry.text[:1] != "{":
            yield entry.received_ns, entry.session, entry.text


def replay_records(*paths: str | Path, stats: ReplayStats | None = None) -> Iterator[tuple[int, Record]]:
    """``(received_ns, record)`` for every record of the journals, in recorded order."""
    stats = stats if stats is not None else ReplayStats()
    sessions: dict[tuple[str, int], Session] = {}
    day_cache: tuple[int, int, date | None] = (0, -1, None)
    for entry in read_journal(*paths, stats=stats.journal):
        key = (entry.segment, entry.session)  # session ids restart with every recording run
        session = sessions.get(key)
        if session is None:
            session = sessions[key] = Session("")
        ns = entry.received_ns
        start, end, day = day_cache
        if not start <= ns < end:
            day = kst_day(ns)
            start = ns - ns % 1_000_000_000  # recompute at most once per second
            day_cache = (start, start + 1_000_000_000, day)
        events = session.receive(entry.text, trading_date=day, received_ns=ns)
        session.data_to_send()  # PINGPONG answers: nothing is sent from here
        for event in events:
            if isinstance(event, Data):
                stats.frames += 1
                for record in event.records:
                    stats.records += 1
                    yield ns, record
            elif isinstance(event, Malformed):
                stats.errors.append(f"{entry.segment} line {entry.line}: {event.error}")


async def replay(
    *paths: str | Path,
    speed: float | None = None,
    stats: ReplayStats | None = None,
) -> AsyncIterator[Record]:
    """The recorded records, as a live feed delivers them: ``async for record in replay(...)``.

    ``speed=None``: as fast as possible (the loop still gets a turn every 1000 records);
    ``speed=N``: at the recorded pace × N, from the receive times."""
    if speed is not None and speed <= 0:
        raise ValueError("speed must be positive (or None for as fast as possible)")
    first_ns: int | None = None
    wall0 = 0.0
    n = 0
    for ns, record in replay_records(*paths, stats=stats):
        if speed is not None:
            if first_ns is None:
                first_ns, wall0 = ns, time.monotonic()
            wait = wall0 + (ns - first_ns) / 1e9 / speed - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        else:
            n += 1
            if n % 1000 == 0:
                await asyncio.sleep(0)
        yield record
