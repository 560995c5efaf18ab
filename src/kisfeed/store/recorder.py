"""The recorder: a journal writer on the feed's raw-frame hook plus a converter that keeps the
Parquet dataset a few seconds behind it.

::

    async with Recorder("kisfeed-data") as recorder:
        async with kisfeed.connect(on_frame=recorder.on_frame, on_event=recorder.on_event) as feed:
            await feed.subscribe("H0ZFCNT0", ["A11612"])
            async for record in feed:
                ...

On entry it first runs ``rebuild`` (so the records a crashed run journaled but did not convert
reach the dataset, issue 5 part 3), then opens the journal and starts the converter. The hot path
in the feed's process is the journal append, plus piping the frames' texts every window: by
default both the journal's lines and the conversion are made in child processes
(``python -m kisfeed.store.writer`` and ``python -m kisfeed.store ROOT --follow``), so they never
compete with the feed for the GIL. ``journal="thread"`` writes the journal from a thread of this
process; ``convert="thread"`` converts in this process, ``convert="off"`` on exit only.
On exit it closes the journal (fsync, compress), lets the converter finish and runs a last
``rebuild`` that converts whatever the converter could not (it died, say).

``on_event`` (the feed's event hook) follows reconnects: each gap they leave in a subscribed
code's data is journaled as notes and becomes a row of the ``gaps`` table (``gaps.py``);
``on_reconnect`` hears of each lost session once it is over (``outages.Outage``).
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Literal

from ..exceptions import StoreError
from .converter import Converter, ConvertReport
from .journal import NOTE_SESSION
from .outages import GapTracker, Outage
from .writer import JournalWriter
from .writer import Mode as JournalMode

if TYPE_CHECKING:
    from ..client.events import FeedEvent

__all__ = ["Recorder", "RecorderStats"]

ConvertMode = Literal["process", "thread", "off"]


@dataclass(frozen=True)
class RecorderStats:
    frames: int  # frames handed to the journal
    synced: int  # frames written and fsynced
    bytes: int  # journal bytes written (uncompressed)
    segment: str | None  # the segment being written
    recovered: int  # records a previous run left unconverted, restored on start
    converted: int  # records this run's converter wrote to the dataset (known once stopped)
    lost: int  # frames offered while the journal could not take them (failed, or not running)
    reconnects: int = 0  # sessions lost (seen through on_event)
    gaps: int = 0  # gaps closed: (code, interval) not received


class Recorder:
    """Records every received frame under ``root`` (see ``kisfeed.store``). ``on_frame`` is the
    hook to give ``kisfeed.connect``; ``error`` is set if the journal cannot be written."""

    def __init__(
        self,
        root: str | Path,
        *,
        fsync_window: float = 0.1,
        flush_interval: float = 5.0,
        convert: ConvertMode = "process",
        journal: JournalMode = "process",
        lock_wait: float = 30.0,
        on_reconnect: Callable[[Outage], None] | None = None,
    ) -> None:
        if convert not in ("process", "thread", "off"):
            raise ValueError("convert is 'process', 'thread' or 'off'")
        self.root = Path(root)
        self.flush_interval, self.convert, self.lock_wait = flush_interval, convert, lock_wait
        self.journal = JournalWriter(self.root, fsync_window=fsync_window, mode=journal)
        self.recovered = ConvertReport()
        self.converted = ConvertReport()
        self._child: subprocess.Popen[bytes] | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._thread_report: ConvertReport | None = None
        self._thread_error: BaseException | None = None
        self.lost = 0  # frames offered while the journal could not take them
        self.gaps = GapTracker(self._note, on_reconnect)

    @property
    def error(self) -> StoreError | None:
        return self.journal.error

    def on_frame(self, text: str, received_ns: int, session_id: int) -> None:
        """The feed's ``on_frame`` hook: queue the frame for the journal (a deque append).

        A journal that failed (disk full) does not raise into the feed's connection task; the
        failure is on ``error`` and ``stop`` raises it. Frames that arrive when the recorder is
        not running are counted in ``lost`` (a feed that outlives its recorder)."""
        try:
            self.journal.append(text, received_ns, session_id)
        except StoreError:
            self.lost += 1

    def on_event(self, event: FeedEvent) -> None:
        """The feed's ``on_event`` hook: follows reconnects and journals the gaps they leave."""
        self.gaps.on_event(event)

    def _note(self, text: str, noted_ns: int) -> None:
        self.on_frame(text, noted_ns, NOTE_SESSION)

    # --- lifecycle ---

    async def start(self) -> None:
        self.recovered = await asyncio.to_thread(self._rebuild)
        self.journal.open()
        if self.convert == "process":
            self._child = subprocess.Popen(
                [sys.executable, "-m", "kisfeed.store", str(self.root), "--follow",
                 "--flush-interval", str(self.flush_interval)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            )
        elif self.convert == "thread":
            self._thread = threading.Thread(target=self._follow, name="kisfeed-converter", daemon=True)
            self._thread.start()

    async def stop(self) -> None:
        """Close the journal, let the converter finish, convert anything left. Raises the
        journal's ``StoreError`` if it failed (what it wrote before is intact and converted)."""
        journal_error: StoreError | None = None
        self.gaps.close()  # the gaps still open end now, and are journaled before it closes
        try:
            await asyncio.to_thread(self.journal.close)
        except StoreError as exc:
            journal_error = exc
        await asyncio.to_thread(self._stop_converter)
        final = await asyncio.to_thread(self._rebuild)
        self.converted.add(final)
        if journal_error is not None:
            raise journal_error

    async def __aenter__(self) -> Recorder:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def _rebuild(self) -> ConvertReport:
        return Converter(self.root, lock_wait=self.lock_wait).rebuild()

    def _follow(self) -> None:
        try:
            self._thread_report = Converter(self.root, flush_interval=self.flush_interval,
                                            lock_wait=self.lock_wait).follow(self._stop.is_set)
        except BaseException as exc:  # noqa: BLE001 - reported by stop()
            self._thread_error = exc

    def _stop_converter(self) -> None:
        if self._child is not None:
            child, self._child = self._child, None
            out, _ = child.communicate()  # closing its stdin tells it to finish
            lines = out.decode(errors="replace").strip().splitlines()
            if child.returncode == 0 and lines:
                self.converted.add(ConvertReport.from_json(lines[-1]))
            # else: the final rebuild converts what the child did not
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None
            if self._thread_report is not None:
                self.converted.add(self._thread_report)

    # --- observability ---

    def stats(self) -> RecorderStats:
        segment = self.journal.segment
        return RecorderStats(
            frames=self.journal.frames,
            synced=self.journal.synced,
            bytes=self.journal.bytes,
            segment=segment.name if segment else None,
            recovered=self.recovered.total,
            converted=self.converted.total,
            lost=self.lost,
            reconnects=len(self.gaps.outages),
            gaps=len(self.gaps.gaps),
        )
