"""The journal writer: a segment per run and KST day, never overwritten, reopened cleanly after a
crash; write errors in one line."""

from __future__ import annotations

import errno
import os
import subprocess
import sys

import pytest

from kisfeed.exceptions import StoreError
from kisfeed.store import writer as journal_writer
from kisfeed.store.journal import JournalStats, format_line, read_journal, segments
from kisfeed.store.writer import JournalWriter

from ..conftest import seconds
from ..samples import frame
from .conftest import NS0, PING, F, futures, write_journal


def test_same_day_twice_appends_a_segment_and_never_touches_the_first(tmp_path):
    write_journal(tmp_path, [frame(F, futures())] * 3)
    [first] = segments(tmp_path)
    before = first.path.read_bytes()
    write_journal(tmp_path, [frame(F, futures())] * 2, start_ns=NS0 + 60_000_000_000)
    both = segments(tmp_path)
    assert len(both) == 2 and both[0] == first
    assert first.path.read_bytes() == before
    assert len(list(read_journal(tmp_path))) == 5


def test_the_same_segment_name_twice_never_overwrites(tmp_path):
    write_journal(tmp_path, [PING], name="run")
    write_journal(tmp_path, [PING, PING], name="run")
    assert [s.name for s in segments(tmp_path)] == ["2026-11-20/run", "2026-11-20/run-2"]
    assert len(list(read_journal(tmp_path))) == 3


def test_a_partial_last_line_does_not_swallow_the_next_frame(tmp_path):
    write_journal(tmp_path, [PING, PING], name="run", compress=False)
    [seg] = segments(tmp_path)
    with open(seg.path, "ab") as f:  # a crash in the middle of a write
        f.write(format_line(frame(F, futures()), NS0, 1)[:50])
    # reopened after the crash
    write_journal(tmp_path, [frame(F, futures())], name="run", compress=False)
    stats = JournalStats()
    entries = list(read_journal(tmp_path, stats=stats))
    assert [e.text[:1] for e in entries] == ["{", "{", "0"]
    assert [b.line for b in stats.bad] == [3]


def test_a_day_rollover_starts_a_new_segment(tmp_path):
    midnight = NS0 + (15 * 3600) * 1_000_000_000  # 2026-11-21 00:00 KST
    with JournalWriter(tmp_path) as writer:
        writer.append(PING, midnight - 1, 1)
        writer.append(PING, midnight, 1)
    assert [s.day.isoformat() for s in segments(tmp_path)] == ["2026-11-20", "2026-11-21"]
    assert all(s.sealed for s in segments(tmp_path))


def test_an_unwritable_data_directory_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StoreError, match=r"cannot write the journal under .*file"):
        JournalWriter(blocker / "data").open()
    assert blocker.read_text() == "not a directory"


def test_a_full_disk_is_a_clear_error_and_keeps_what_was_written(tmp_path, monkeypatch):
    writer = JournalWriter(tmp_path, compress=False).open()
    writer.append(PING, NS0, 1)
    writer.flush()
    path = writer.segment.path
    before = path.read_bytes()

    def full(fd, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(journal_writer.os, "write", full)
    writer.append(PING, NS0 + 1, 1)
    with pytest.raises(StoreError, match="disk is full"):
        writer.flush()
    with pytest.raises(StoreError, match="disk is full"):
        writer.append(PING, NS0 + 2, 1)
    with pytest.raises(StoreError):
        writer.close()
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert [e.received_ns for e in read_journal(tmp_path)] == [NS0]


def test_append_only_queues_and_flush_makes_it_durable(tmp_path):
    with JournalWriter(tmp_path, fsync_window=60) as writer:  # the thread would wait a minute
        writer.append(PING, NS0, 1)
        assert writer.synced == 0
        writer.flush()
        assert writer.synced == 1
        assert writer.segment is not None and writer.segment.path.stat().st_size > 0


def test_a_segment_that_cannot_be_created_is_a_clear_error(tmp_path):
    (tmp_path / "journal").mkdir()
    (tmp_path / "journal" / "2026-11-20").write_text("a file where the day's directory goes")
    writer = JournalWriter(tmp_path).open()
    writer.append(PING, NS0, 1)
    with pytest.raises(StoreError, match="2026-11-20"):
        writer.flush()
    with pytest.raises(StoreError):
        writer.append(PING, NS0 + 1, 1)
    with pytest.raises(StoreError):
        writer.close()
    assert (tmp_path / "journal" / "2026-11-20").read_text() == "a file where the day's directory goes"


def test_kill_9_loses_at_most_what_was_not_synced_and_the_segment_reopens(tmp_path):
    """kill -9 of the recording process: every frame ``flush`` returned for is on disk; the
    segment, never sealed, is reopened by the next writer of that name and read whole."""
    script = (
        "import os\n"
        "from kisfeed.store.writer import JournalWriter\n"
        f"w = JournalWriter({str(tmp_path)!r}, name='run', fsync_window=60).open()\n"
        f"for i in range(1000): w.append('frame %d' % i, {NS0} + i, 1)\n"
        "w.flush()\n"
        f"for i in range(1000, 1010): w.append('frame %d' % i, {NS0} + i, 1)\n"  # queued, never synced
        "os.kill(os.getpid(), 9)\n"
    )
    assert subprocess.run([sys.executable, "-c", script], timeout=seconds(60)).returncode == -9
    [seg] = segments(tmp_path)
    assert not seg.sealed
    assert [e.text for e in read_journal(tmp_path)] == [f"frame {i}" for i in range(1000)]
    write_journal(tmp_path, [PING], start_ns=NS0 + 2000, name="run")  # the next run, same name
    assert [s.name for s in segments(tmp_path)] == ["2026-11-20/run"]
    assert len(list(read_journal(tmp_path))) == 1001
