"""Recorded data frames served instead of the market (``kisfeed sim --replay``).

A tape is a source of ``(received_ns, frame_text)`` pairs, for instance a kisfeed journal read by
``kisfeed.store.playback.data_frames`` (the command line wires that in, so that this package keeps
to schema and protocol). The simulator serves it over the real protocol: clients subscribe to the
codes the tape holds, and each recorded record goes to the sessions subscribed to its code
(field 0; frames carry no ``tr_key``, ref 2.4), at the recorded pace divided by ``speed``.

Frames that cannot be split (encrypted notices without their key, malformed text) are skipped and
counted in ``Tape.skipped``, with a warning in the log.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from ..exceptions import FrameError
from ..protocol.frames import split_frame
from ..schema.layouts import LAYOUTS

__all__ = ["Tape", "TapeEvent", "FrameSource"]

log = logging.getLogger("kisfeed.sim")

#: A callable returning the recorded frames afresh: (received time in ns, frame text), in order.
FrameSource = Callable[[], Iterable[tuple[int, str]]]


@dataclass(frozen=True, slots=True)
class TapeEvent:
    """One recorded record, shaped like a market event for the simulator's loop."""

    time: float  # POSIX seconds of the recorded receive time
    tr_id: str
    code: str
    records: list[str]  # one ``^``-joined record, verbatim (extra or missing fields kept)
    width: int  # its field count


class Tape:
    """Recorded frames as a stream of events; ``codes`` are the (tr_id, code) pairs it serves."""

    def __init__(self, source: FrameSource) -> None:
        self._source = source
        self.codes: set[tuple[str, str]] = set()
        self.start: float | None = None
        self.skipped = 0
        for time, tr_id, code, _, _ in self._records(count_skips=False):  # one pass to learn the codes
            if self.start is None:
                self.start = time
            self.codes.add((tr_id, code))
        self.now = self.start or 0.0
        self.watched: set[str] = set()  # the market's interface; a tape formats nothing
        self._events = self._records(count_skips=True)

    def watch(self, tr_id: str, code: str, on: bool = True) -> None:
        """The market's interface: a tape serves its records as they are, watched or not."""

    def _records(self, count_skips: bool) -> Iterator[tuple[float, str, str, str, int]]:
        for received_ns, text in self._source():
            time = received_ns / 1e9
            head = text[:15]
            if head[:2] == "0|" and head[10:15] == "|001|" and head[2:10] in LAYOUTS:
                # One plain record (the common frame): its payload is the record, verbatim.
                record = text[15:]
                yield time, head[2:10], record.split("^", 1)[0], record, record.count("^") + 1
                continue
            try:
                tr_id, count, fields = split_frame(text)
            except FrameError as exc:
                if count_skips:
                    self.skipped += 1
                    log.warning("replay: skipped a frame that does not split: %s", exc.reason)
                continue
            width = len(fields) // count
            for start in range(0, len(fields), width):
                texts = fields[start : start + width]
                yield time, tr_id, texts[0], "^".join(texts), width

    def next_event(self) -> TapeEvent | None:
        """The next recorded record, or None at the end of the tape."""
        for time, tr_id, code, record, width in self._events:
            self.now = time
            return TapeEvent(time, tr_id, code, [record], width)
        return None
