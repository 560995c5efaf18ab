"""The journal writer: a segment per run and KST day, never overwritten, reopened cleanly after a
crash; write errors in one line; the writer process, which outlives the recorder it serves."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import time

import pytest

from kisfeed.exceptions import StoreError
from kisfeed.store import writer as journal_writer
from kisfeed.store.journal import JournalStats, format_line, read_journal, segments
from kisfeed.store.writer import JournalWriter

from ..conftest import seconds
from ..samples import frame
from .conftest import MODES, NS0, PING, F, futures, write_journal


@MODES
def test_same_day_twice_appends_a_segment_and_never_touches_the_first(tmp_path, mode):
    write_journal(tmp_path, [frame(F, futures())] * 3, mode=mode)
    [first] = segments(tmp_path)
    before = first.path.read_bytes()
    write_journal(tmp_path, [frame(F, futures())] * 2, start_ns=NS0 + 60_000_000_000, mode=mode)
    both = segments(tmp_path)
    assert len(both) == 2 and both[0] == first
    assert first.path.read_bytes() == before
    assert len(list(read_journal(tmp_path))) == 5


@MODES
def test_the_same_segment_name_twice_never_overwrites(tmp_path, mode):
    write_journal(tmp_path, [PING], name="run", mode=mode)
    write_journal(tmp_path, [PING, PING], name="run", mode=mode)
    assert [s.name for s in segments(tmp_path)] == ["2026-11-20/run", "2026-11-20/run-2"]
    assert len(list(read_journal(tmp_path))) == 3


@MODES
def test_a_partial_last_line_does_not_swallow_the_next_frame(tmp_path, mode):
    write_journal(tmp_path, [PING, PING], name="run", compress=False)
    [seg] = segments(tmp_path)
    with open(seg.path, "ab") as f:  # a crash in the middle of a write
        f.write(format_line(frame(F, futures()), NS0, 1)[:50])
    # reopened after the crash
    write_journal(tmp_path, [frame(F, futures())], name="run", compress=False, mode=mode)
    stats = JournalStats()
    entries = list(read_journal(tmp_path, stats=stats))
    assert [e.text[:1] for e in entries] == ["{", "{", "0"]
    assert [b.line for b in stats.bad] == [3]


@MODES
def test_a_day_rollover_starts_a_new_segment(tmp_path, mode):
    midnight = NS0 + (15 * 3600) * 1_000_000_000  # 2026-11-21 00:00 KST
    with JournalWriter(tmp_path, mode=mode) as writer:
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


@MODES
def test_append_only_queues_and_flush_makes_it_durable(tmp_path, mode):
    with JournalWriter(tmp_path, fsync_window=60, mode=mode) as writer:  # the thread would wait a minute
        writer.append(PING, NS0, 1)
        assert writer.synced == 0
        writer.flush()
        assert writer.synced == 1
        assert writer.segment is not None and writer.segment.path.stat().st_size > 0


@MODES
def test_a_segment_that_cannot_be_created_is_a_clear_error(tmp_path, mode):
    (tmp_path / "journal").mkdir()
    (tmp_path / "journal" / "2026-11-20").write_text("a file where the day's directory goes")
    writer = JournalWriter(tmp_path, mode=mode).open()
    writer.append(PING, NS0, 1)
    with pytest.raises(StoreError, match="2026-11-20"):
        writer.flush()
    with pytest.raises(StoreError):
        writer.append(PING, NS0 + 1, 1)
    with pytest.raises(StoreError):
        writer.close()
    assert (tmp_path / "journal" / "2026-11-20").read_text() == "a file where the day's directory goes"


def test_a_killed_writer_process_is_an_error_and_what_it_wrote_stays(tmp_path):
    writer = JournalWriter(tmp_path, mode="process").open()
    writer.append(PING, NS0, 1)
    writer.flush()
    writer._child.kill()  # the OOM killer, say
    writer._child.wait()
    writer.append(PING, NS0 + 1, 1)
    with pytest.raises(StoreError, match="journal writer process"):
        writer.flush()
    with pytest.raises(StoreError):
        writer.close()
    assert [e.received_ns for e in read_journal(tmp_path)] == [NS0]


def test_the_writer_process_writes_what_it_got_when_the_feed_process_dies(tmp_path):
    """kill -9 of the recording process: the child still writes every group it was sent, and
    seals its segment although nobody reads its reports any more."""
    script = (
        "import os, threading\n"
        "from kisfeed.store.writer import JournalWriter\n"
        "class Piped:\n"  # the child's stdin, telling when a group is in the pipe
        "    def __init__(self, f): self.f, self.done = f, threading.Event()\n"
        "    def write(self, b): return self.f.write(b)\n"
        "    def flush(self): self.f.flush(); self.done.set()\n"
        f"w = JournalWriter({str(tmp_path)!r}, mode='process', fsync_window=60).open()\n"
        "w._child.stdin = pipe = Piped(w._child.stdin)\n"
        f"for i in range(1000): w.append('frame %d' % i, {NS0} + i, 1)\n"
        "w._wake.set()\n"  # one group: the writer thread waits fsync_window for anything else
        f"assert pipe.done.wait({seconds(30)})\n"
        "os.kill(os.getpid(), 9)\n"  # at once: the child has not written the group yet, most likely
    )
    subprocess.run([sys.executable, "-c", script], timeout=60)
    deadline = time.monotonic() + seconds(30)
    while not segments(tmp_path) or not all(s.sealed for s in segments(tmp_path)):
        assert time.monotonic() < deadline, "the writer process did not finish"
        time.sleep(0.05)
    assert [e.text for e in read_journal(tmp_path)] == [f"frame {i}" for i in range(1000)]
