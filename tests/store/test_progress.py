"""What conversion has done: its report, and which journal lines finalized files cover."""

from __future__ import annotations

import random

from kisfeed.store import Converter, ConvertReport, segments
from kisfeed.store.dataset import dataset_files
from kisfeed.store.progress import LineCursor, coverage

from ..samples import frame
from .conftest import F, O, futures, mixed_frames, write_journal


def test_a_report_survives_json_and_adds_up():
    a = ConvertReport(segments=1, lines=10, records={F: 4}, files=2, bad_lines=["s line 3: crc"])
    b = ConvertReport(segments=2, lines=5, records={F: 1, O: 3}, sealed=1, errors=["s line 9: bad"])
    assert ConvertReport.from_json(a.to_json()) == a
    a.add(b)
    assert a == ConvertReport(
        segments=3,
        lines=15,
        records={F: 5, O: 3},
        files=2,
        sealed=1,
        bad_lines=["s line 3: crc"],
        errors=["s line 9: bad"],
    )
    assert a.total == 8


def test_the_cursor_answers_as_the_intervals_do_for_increasing_lines():
    rng = random.Random(12)
    for _ in range(200):
        intervals = []
        for _ in range(rng.randrange(6)):
            start = rng.randrange(1, 60)
            intervals.append((start, start + rng.randrange(8)))  # overlapping, adjacent, unsorted
        cursor = LineCursor(intervals)
        for line in range(1, 80):
            assert (line in cursor) == any(a <= line <= b for a, b in intervals), (intervals, line)


def test_coverage_is_the_lines_whose_files_are_all_there(tmp_path):
    write_journal(tmp_path, [frame(F, futures())] * 5 + mixed_frames(19))  # ends in data
    Converter(tmp_path).rebuild()
    [segment] = segments(tmp_path)
    covered = coverage(tmp_path, segment.name, [F, O])
    assert covered == {F: [(1, 24)], O: [(1, 24)]}
    for path in dataset_files(tmp_path, O):
        path.unlink()  # lost in a crash: its batch's O lines are no longer covered, F's still are
    assert coverage(tmp_path, segment.name, [F, O]) == {F: [(1, 24)], O: []}
