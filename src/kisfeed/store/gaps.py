"""Gaps: the intervals in which a subscribed code was not being received (issue 11, item 3).

A code's gap starts when the session that carried its registration is lost, at the receive time
of that session's last frame (from then on it brought nothing), and ends when the server
acknowledges the code's registration on a new session: the server forgets every registration
of a lost session (reference 3.5), so each one is registered again, and until its ack no trade
of the code can arrive. A code whose registration is refused is in a gap from the refusal on;
a gap still open when the recording stops ends there, and its reason says so.

``outages.GapTracker`` follows the feed's events (``Recorder.on_event``) and writes each gap to
the journal as *notes* (``journal``: lines of session 0), so that gaps are exactly as durable as
the frames around them and are rebuilt with the dataset. This module is their format (written
by ``notes``, which the recorder imports without pyarrow), and what the converter makes of them:

``gap-start``  ``{"kisfeed": "gap-start", "session": 2, "start": NS, "reason": "...",
               "keys": [["H0ZFCNT0", "A11612"], ...]}`` when a session holding registrations is
               lost (or a registration is refused)
``gap-end``    ``{"kisfeed": "gap-end", "session": 2, "tr_id": "H0ZFCNT0", "code": "A11612",
               "start": NS, "end": NS, "reason": "...", "resumed": 3}`` when its code is back
               (``resumed``: the session that acknowledged it; null when the recording stopped)

Times are integer nanoseconds since the Unix epoch, as the journal's receive times. The
converter turns the notes of each journal segment into ``<root>/gaps/date=<day>/<segment
stem>.parquet`` (rewritten whole as notes arrive), which the DuckDB view ``gaps`` reads
(``query``): one row per gap, ``session_id, tr_id, code, start, "end", seconds, reason,
journal_segment`` (``end`` is an SQL keyword: quote it). A ``gap-start`` without its
``gap-end`` is a gap the recording did not close: ``end`` is null while the segment is still
being written, and the receive time of the segment's last line once its writer is gone (a
crash); the reason says which.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TypedDict

import pyarrow as pa

from .dataset import TZ, write_parquet
from .notes import end_note, start_note

__all__ = [
    "start_note",
    "end_note",
    "parse_note",
    "segment_rows",
    "write_gaps",
    "gaps_file",
    "gap_files",
    "empty_gaps",
    "GAPS_SCHEMA",
    "GAPS_DIR",
    "GAP_COLUMNS",
    "Note",
    "GapRow",
]

GAPS_DIR = "gaps"
#: The Parquet columns; the view ``gaps`` shows all but ``state`` (``closed``: the recorder saw
#: the gap end or stopped; ``cut``: the segment ended with the gap open; ``open``: still open).
GAPS_SCHEMA = pa.schema(
    [
        pa.field("session_id", pa.int32(), nullable=False),
        pa.field("tr_id", pa.string(), nullable=False),
        pa.field("code", pa.string(), nullable=False),
        pa.field("start", pa.timestamp("ns", tz=TZ), nullable=False),
        pa.field("end", pa.timestamp("ns", tz=TZ)),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("state", pa.string(), nullable=False),
        pa.field("journal_segment", pa.string(), nullable=False),
    ]
)
GAP_COLUMNS = ("session_id", "tr_id", "code", "start", "end", "reason", "journal_segment")

#: A note as JSON gives it back (``parse_note`` has checked the fields its kind needs).
Note = dict[str, Any]


class GapRow(TypedDict):
    """One row of a gaps file (``GAPS_SCHEMA``); times in ns since the epoch."""

    session_id: int
    tr_id: str
    code: str
    start: int
    end: int | None
    reason: str
    state: str
    journal_segment: str


# --- notes → rows → Parquet ---------------------------------------------------------------------------


def parse_note(text: str) -> Note:
    """A gap note of the journal; ``ValueError`` saying what is wrong with anything else."""
    try:
        parsed: object = json.loads(text)
    except ValueError:
        raise ValueError("a note that is not JSON") from None
    note: Note = parsed if isinstance(parsed, dict) else {}
    kind = note.get("kisfeed")
    try:
        if kind == "gap-start":
            int(note["session"]), int(note["start"]), str(note["reason"])
            if not all(isinstance(k, list) and len(k) == 2 for k in note["keys"]):
                raise ValueError
        elif kind == "gap-end":
            int(note["session"]), int(note["start"]), int(note["end"]), str(note["reason"])
            str(note["tr_id"]), str(note["code"])
        else:
            raise ValueError(f"an unknown note {str(kind)[:40]!r}")
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(
            str(exc) if isinstance(exc, ValueError) and str(exc) else f"a {kind} note without its fields"
        ) from None
    return note


def segment_rows(notes: Iterable[Note], segment: str, last_ns: int | None, final: bool) -> list[GapRow]:
    """The gap rows of one segment's notes, in journal order. A ``gap-start`` without its
    ``gap-end`` in the segment is open (``final`` false: the segment is still written) or cut
    at ``last_ns``, the segment's last receive time (its writer is gone)."""
    notes = list(notes)
    rows: list[GapRow] = []
    ended = set()
    for note in notes:
        if note["kisfeed"] == "gap-end":
            ended.add((note["session"], note["tr_id"], note["code"], note["start"]))
            rows.append(
                {
                    "session_id": note["session"],
                    "tr_id": note["tr_id"],
                    "code": note["code"],
                    "start": note["start"],
                    "end": note["end"],
                    "reason": note["reason"],
                    "state": "closed",
                    "journal_segment": segment,
                }
            )
    for note in notes:
        if note["kisfeed"] != "gap-start":
            continue
        for tr_id, code in note["keys"]:
            if (note["session"], tr_id, code, note["start"]) in ended:
                continue
            if final:
                end = max(last_ns or note["start"], note["start"])
                reason = f"{note['reason']}; the recording ended without a clean stop: end is its last journaled frame"
            else:
                end, reason = None, f"{note['reason']}; not received since"
            rows.append(
                {
                    "session_id": note["session"],
                    "tr_id": tr_id,
                    "code": code,
                    "start": note["start"],
                    "end": end,
                    "reason": reason,
                    "state": "cut" if final else "open",
                    "journal_segment": segment,
                }
            )
    rows.sort(key=lambda r: (r["start"], r["tr_id"], r["code"]))
    return rows


def gaps_file(root: Path, segment: str) -> Path:
    """Where the gap rows of a journal segment (``YYYY-MM-DD/stem``) are."""
    day, stem = segment.split("/", 1)
    return root / GAPS_DIR / f"date={day}" / f"{stem}.parquet"


def gap_files(root: Path) -> list[Path]:
    return [p for p in sorted((root / GAPS_DIR).glob("date=*/*.parquet")) if not p.name.startswith(".")]


def write_gaps(root: Path, segment: str, rows: list[GapRow]) -> Path:
    """Write a segment's gap rows (replacing its file whole: hidden name, fsync, rename)."""
    target = gaps_file(root, segment)
    write_parquet(pa.Table.from_pylist(rows, schema=GAPS_SCHEMA), target)
    return target


def empty_gaps() -> pa.Table:
    return pa.Table.from_batches([], GAPS_SCHEMA)
