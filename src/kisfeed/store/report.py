"""``ConvertReport``: what a conversion did, in a module of its own so that the recording
process reads a converter child's report without importing the converter's libraries (numpy,
pyarrow: issue 13)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

__all__ = ["ConvertReport"]


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
        self.bad_lines += other.bad_lines
        self.errors += other.errors
