"""What conversion has done: its report, which journal lines finalized files cover, and the
done markers of segments it has finished.

A segment that no writer holds any more and that is fully converted is marked done with
``<stem>.converted`` beside it, a JSON summary (its lines, its notes and its dataset files);
later passes skip it, unless one of those files or its gaps file was deleted since.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from ..schema import LAYOUTS
from .dataset import Claim, dataset_files, read_claims
from .gaps import gaps_file
from .journal import Segment
from .report import ConvertReport

__all__ = ["ConvertReport", "coverage", "LineCursor", "DONE_SUFFIX", "is_done", "gaps_lost", "mark_done"]

DONE_SUFFIX = ".converted"


class LineCursor:
    """Membership of increasing line numbers in the line ranges ``coverage`` gives (inclusive,
    merged here): the converter asks it for each line it reads, in order, so a test costs O(1)
    amortized; a line number below one asked before may be answered wrongly."""

    def __init__(self, intervals: list[tuple[int, int]]) -> None:
        merged: list[list[int]] = []
        for a, b in sorted(intervals):
            if merged and a <= merged[-1][1] + 1:
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        self.intervals = merged
        self.i = 0

    def __contains__(self, n: int) -> bool:
        iv, i = self.intervals, self.i
        while i < len(iv) and iv[i][1] < n:
            i += 1
        self.i = i
        return i < len(iv) and iv[i][0] <= n

    def mask(self, lines: np.ndarray) -> np.ndarray:
        """Which of ``lines`` (any order) the intervals hold: the bulk path's test."""
        if not self.intervals:
            return np.zeros(len(lines), dtype=bool)
        starts, ends = np.array(self.intervals).T
        at = np.searchsorted(ends, lines)  # the first interval ending at or after each line
        inside = at < len(ends)
        inside[inside] &= starts[at[inside]] <= lines[inside]
        return inside


def coverage(root: Path, segment: str, trs: list[str]) -> dict[str, list[tuple[int, int]]]:
    """Per TR, the line ranges whose rows are in finalized files (see ``Claim``)."""
    batches: dict[tuple[int, int], tuple[Claim, set[str]]] = {}
    for tr, claim in read_claims(root, segment):
        entry = batches.setdefault((claim.first, claim.last), (claim, set()))
        entry[1].add(tr)
    out: dict[str, list[tuple[int, int]]] = {tr: [] for tr in trs}
    for claim, present in batches.values():
        for tr in out:
            if tr not in claim.trs or tr in present:
                out[tr].append((claim.first, claim.last))
    return out


def _marker(segment: Segment) -> Path:
    return segment.path.parent / (segment.name.split("/", 1)[1] + DONE_SUFFIX)


def _read_marker(segment: Segment) -> dict[str, object] | None:
    try:
        marker = json.loads(_marker(segment).read_text())
    except (OSError, ValueError):  # none, or unreadable: a pass rewrites it
        return None
    return marker if isinstance(marker, dict) else None


def is_done(root: Path, segment: Segment, check_files: bool) -> bool:
    """Whether a segment needs no pass: it is marked done and, if ``check_files``, every file
    its marker lists still exists. A deleted file makes it pending again, and the pass then
    converts exactly what the files that exist do not cover (their claims, ``coverage``):
    issue 11, item 2. A marker without a file list (an earlier kisfeed) is checked the same way,
    by a pass over the segment."""
    marker = _read_marker(segment)
    if marker is None or not check_files:
        return marker is not None
    files = marker.get("files")
    return isinstance(files, list) and all((root / f).is_file() for f in files)


def gaps_lost(root: Path, segment: Segment) -> bool:
    """A done segment with notes whose gaps file is gone (deleted): it must be read again."""
    marker = _read_marker(segment)
    return bool(marker and marker.get("notes")) and not gaps_file(root, segment.name).exists()


def mark_done(root: Path, segment: Segment, lines: int, notes: int = 0) -> None:
    """Mark a segment done: its lines and notes, and its dataset files (relative to ``root``)."""
    stem = segment.name.split("/", 1)[1]
    files = [
        p.relative_to(root).as_posix()
        for tr in sorted(LAYOUTS)
        for p in dataset_files(root, tr, segment.day, prefix=stem + ".")
    ]
    marker = _marker(segment)
    partial = marker.with_name("." + marker.name + ".tmp")
    partial.write_text(json.dumps({"segment": segment.name, "lines": lines, "notes": notes, "files": files}))
    os.replace(partial, marker)
