"""What conversion has done: its report, and which journal lines finalized files cover."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .dataset import Claim

__all__ = ["ConvertReport", "coverage", "LineCursor"]


@dataclass
class ConvertReport:
    """What conversion did: records written per TR, and every line it could not use."""

    segments: int = 0
    lines: int = 0
    records: dict[str, int] = field(default_factory=dict)
    files: int = 0
    sealed: int = 0
    bad_lines: list[str] = field(default_factory=list)  # "<segment> line <n>: <reason>"
    errors: list[str] = field(default_factory=list)  # frames the protocol refused, with position
    processes: int = 1  # the most that converted one segment at once (see Converter._parts)

    @property
    def total(self) -> int:
        return sum(self.records.values())

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> ConvertReport:
        return cls(**json.loads(text))

    def add(self, other: ConvertReport) -> None:
        self.segments += other.segments
        self.lines += other.lines
        for tr, n in other.records.items():
            self.records[tr] = self.records.get(tr, 0) + n
        self.files += other.files
        self.sealed += other.sealed
        self.processes = max(self.processes, other.processes)
        self.bad_lines += other.bad_lines
        self.errors += other.errors


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


def coverage(root: Path, segment: str, trs: list[str]) -> dict[str, list[tuple[int, int]]]:
    """Per TR, the line ranges whose rows are in finalized files (see ``Claim``)."""
    from .dataset import read_claims  # here: the recorder's process imports ConvertReport, not pyarrow

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
