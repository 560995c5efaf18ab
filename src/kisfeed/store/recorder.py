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
in the feed's process is the journal append; a thread of this process writes the journal's lines
(``writer``). By default the conversion runs in a child process (``python -m kisfeed.store ROOT
--follow``), so that a busy feed does not share its GIL with it; ``convert="thread"`` converts
in this process (one process instead of two: what a light feed, like ``kisfeed demo``'s, is
better served by), ``convert="off"`` on exit only.
On exit it closes the journal (fsync, compress) and lets the converter finish: it converts what
is left when it stops (``Converter.follow``). If it could not (it died, say), or with
``convert="off"``, a last ``rebuild`` does.

With ``convert="process"`` every conversion, the first and last ``rebuild`` included, runs in a
child (``python -m kisfeed.store``), and this process never imports pyarrow or numpy: its memory
is the feed's, not the converter's libraries'.

``on_event`` (the feed's event hook) follows reconnects: each gap they leave in a subscribed
code's data is journaled as notes and becomes a row of the ``gaps`` table (``gaps.py``);
``on_reconnect`` hears of each lost session once it is over (``outages.Outage``).

One recorder per data directory: ``<root>/.record.lock`` (``lock.RecordLock``), held from
``start`` to the end of ``stop``; a second one raises ``DataDirectoryInUseError`` at once.

Every failure of a background part (the journal writer, the converter thread or process, the
last ``rebuild``) is collected in one place, ``_failed``, and is on ``errors``; ``stop`` raises
the first (issue 11, items 4 and 23). A converter failure does not stop the journal: the frames
keep going to disk, and ``kisfeed rebuild`` converts them once the cause is fixed.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from ..exceptions import StoreError
from .journal import NOTE_SESSION
from .lock import RecordLock
from .outages import GapTracker, Outage
from .report import ConvertReport
from .writer import JournalWriter

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
    hook to give ``kisfeed.connect``; ``error`` is set if the journal cannot be written (the
    recording cannot go on), ``errors`` lists every failure of a background part so far."""

    def __init__(
        self,
        root: str | Path,
        *,
        fsync_window: float = 0.1,
        flush_interval: float = 5.0,
        convert: ConvertMode = "process",
        lock_wait: float = 30.0,
        on_reconnect: Callable[[Outage], None] | None = None,
    ) -> None:
        if convert not in ("process", "thread", "off"):
            raise ValueError("convert is 'process', 'thread' or 'off'")
        self.root = Path(root)
        self.flush_interval, self.convert, self.lock_wait = flush_interval, convert, lock_wait
        self.journal = JournalWriter(self.root, fsync_window=fsync_window)
        self.recovered = ConvertReport()
        self.converted = ConvertReport()
        self._lock = RecordLock(self.root)
        self._child: subprocess.Popen[bytes] | None = None
        self._child_stderr: deque[str] = deque(maxlen=20)
        self._child_reader: threading.Thread | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._thread_report: ConvertReport | None = None
        self._thread_failed = False
        self._errors: list[StoreError] = []
        self._errors_lock = threading.Lock()
        self._errors_taken = 0  # how many of _errors new_errors handed out
        self.lost = 0  # frames offered while the journal could not take them
        self.gaps = GapTracker(self._note, on_reconnect)

    @property
    def error(self) -> StoreError | None:
        """The journal's failure: nothing more can be recorded."""
        return self.journal.error

    @property
    def errors(self) -> list[StoreError]:
        """Every failure of a background part found so far, in the order found (the journal's
        first when both fail at once: it is the root cause a user can act on)."""
        self._check()
        with self._errors_lock:
            return list(self._errors)

    def new_errors(self) -> list[StoreError]:
        """The failures found since the last call: for a caller that reports each one once
        while recording (``kisfeed record`` prints each as one line)."""
        errors = self.errors
        new, self._errors_taken = errors[self._errors_taken :], len(errors)
        return new

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
        """Take the data directory (``DataDirectoryInUseError`` if another recorder has it),
        convert what a previous run left, open the journal and start the converter."""
        self._lock.acquire()
        try:
            self.recovered = await asyncio.to_thread(self._rebuild)
            self.journal.open()
        except BaseException:
            self._lock.release()
            raise
        if self.convert == "process":
            self._child = subprocess.Popen(  # noqa: ASYNC220 - starts the converter and returns; nothing waits on it here
                self._child_command("--follow", "--flush-interval", str(self.flush_interval)),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            # Read its stderr as it comes, so that a chatty child never blocks on a full pipe;
            # its last line is its error (``__main__``).
            self._child_reader = threading.Thread(
                target=self._read_child_stderr,
                args=(self._child,),
                name="kisfeed-converter-stderr",
                daemon=True,
            )
            self._child_reader.start()
        elif self.convert == "thread":
            self._thread = threading.Thread(target=self._follow, name="kisfeed-converter", daemon=True)
            self._thread.start()

    async def stop(self) -> None:
        """Close the journal, let the converter finish, convert anything left, free the data
        directory. Raises the first background failure (``errors``), if any; what the journal
        wrote before it is intact."""
        self.gaps.close()  # the gaps still open end now, and are journaled before it closes
        try:
            try:
                await asyncio.to_thread(self.journal.close)
            except Exception as exc:
                self._failed(exc)
            try:
                finished = await asyncio.to_thread(self._stop_converter)
            except Exception as exc:
                finished = False
                self._failed(exc, "the converter stopped: ")
            if not finished:
                try:
                    final = await asyncio.to_thread(self._rebuild)
                except Exception as exc:
                    self._failed(exc, "the last conversion failed: ")
                else:
                    self.converted.add(final)
        finally:
            self._lock.release()
        errors = self.errors
        if errors:
            raise errors[0]

    async def __aenter__(self) -> Recorder:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        if exc_type is None:
            await self.stop()
            return
        # The body's exception goes on; this one's failures stay on ``errors``.
        try:
            await self.stop()
        except StoreError:
            pass

    # --- background failures: the one place they are collected ---

    def _failed(self, exc: BaseException, part: str = "") -> None:
        """Record a background part's failure once (the same cause found again, by the last
        ``rebuild`` say, is not a second error)."""
        message = str(exc) or type(exc).__name__
        if not isinstance(exc, StoreError):
            message = f"{type(exc).__name__}: {message}"
        with self._errors_lock:
            if any(message in str(e) for e in self._errors):
                return
            error = exc if isinstance(exc, StoreError) and not part else StoreError(f"{part}{message}")
            self._errors.append(error)

    def _check(self) -> None:
        """Look at every background part; note the failures not yet noted."""
        if self.journal.error is not None:
            self._failed(self.journal.error)
        child = self._child
        if child is not None and child.poll() is not None:
            self._child_ended(child, stopping=False)

    def _child_ended(self, child: subprocess.Popen[bytes], stopping: bool) -> None:
        if child.returncode == 0 and stopping:
            return
        if self._child_reader is not None:
            self._child_reader.join(timeout=5)
        cause = _cause(self._child_stderr, child.returncode) or "ended before the recorder stopped it"
        self._failed(StoreError(cause), "the converter process stopped: ")

    def _read_child_stderr(self, child: subprocess.Popen[bytes]) -> None:
        assert child.stderr is not None
        for raw in child.stderr:
            self._child_stderr.append(raw.decode(errors="replace").strip())

    def _child_command(self, *options: str) -> list[str]:
        return [
            sys.executable,
            "-m",
            "kisfeed.store",
            str(self.root),
            *options,
            "--lock-wait",
            str(self.lock_wait),
        ]

    def _rebuild(self) -> ConvertReport:
        if self.convert == "process":  # in a child, as the conversions between (see the module docstring)
            done = subprocess.run(self._child_command(), stdin=subprocess.DEVNULL, capture_output=True)
            if done.returncode:
                said = done.stderr.decode(errors="replace").splitlines()
                raise StoreError(_cause(said, done.returncode))
            return ConvertReport.from_json(done.stdout.decode().strip().splitlines()[-1])
        from .converter import Converter

        return Converter(self.root, lock_wait=self.lock_wait).rebuild()

    def _follow(self) -> None:
        from .converter import Converter

        converter = Converter(self.root, flush_interval=self.flush_interval, lock_wait=self.lock_wait)
        try:
            converter.follow(self._stop.is_set)
        except BaseException as exc:
            self._thread_failed = True
            self._failed(exc, "the converter stopped: ")
        finally:
            self._thread_report = converter.report  # what it finished, also if it failed after

    def _stop_converter(self) -> bool:
        """Stop the converter; whether it finished (converted what was left, and said so)."""
        finished = False
        if self._child is not None:
            child = self._child
            assert child.stdin is not None and child.stdout is not None
            child.stdin.close()  # tells it to finish
            out = child.stdout.read()
            child.wait()
            self._child_ended(child, stopping=True)
            self._child = None
            lines = out.decode(errors="replace").strip().splitlines()
            if lines:  # what it finished, even if it failed after (``__main__``)
                try:
                    self.converted.add(ConvertReport.from_json(lines[-1]))
                    finished = child.returncode == 0
                except (ValueError, TypeError):
                    pass  # it died mid-line: the last rebuild converts what it did not
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None
            if self._thread_report is not None:
                self.converted.add(self._thread_report)
                finished = not self._thread_failed
        return finished

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


def _cause(stderr: Iterable[str], returncode: int) -> str | None:
    """Why a converter child ended: its own one-line error (``__main__``) if it printed one, else
    how it ended; None for a clean exit."""
    said = next((line for line in reversed(list(stderr)) if line.startswith("error: ")), None)
    if said is not None:
        return said.removeprefix("error: ")
    if returncode < 0:
        return f"killed by {signal.Signals(-returncode).name}"
    return f"exited with code {returncode}" if returncode else None
