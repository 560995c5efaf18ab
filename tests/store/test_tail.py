"""A segment read while its writer appends: complete lines only, a cut last line only once the
writer is gone, and the writer's lock taken over so that no writer reopens it."""

from __future__ import annotations

import fcntl

import pytest

from kisfeed.store.journal import format_line, segments
from kisfeed.store.tail import SegmentTail, last_received_ns

from ..samples import frame
from .conftest import NS0, F, futures, write_journal


def test_a_growing_segment_gives_its_complete_lines_and_the_cut_one_at_the_end(tmp_path):
    path = tmp_path / "journal" / "2026-11-20" / "090000.000000000-1.kfj"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"a\nb\nc")
    [segment] = segments(tmp_path)
    tail = SegmentTail(segment)
    with open(path, "ab") as writer:
        fcntl.flock(writer.fileno(), fcntl.LOCK_EX)  # as JournalWriter holds it
        assert tail.live()
        assert list(tail.blocks(final=False)) == [b"a\nb"]
        writer.write(b"d\ne\nf")
        writer.flush()
        assert list(tail.blocks(final=False)) == [b"cd\ne"]
        assert list(tail.blocks(final=False)) == []
    assert not tail.live() and tail.owned  # the writer is gone: the tail holds the lock now
    with open(path, "rb") as other, pytest.raises(BlockingIOError):
        fcntl.flock(other.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    assert list(tail.blocks(final=True)) == [b"f"]  # cut by a crash: the careful path names it
    tail.close()


def test_a_sealed_segment_is_read_from_the_line_after_those_consumed(tmp_path):
    write_journal(tmp_path, [frame(F, futures(volume=str(i))) for i in range(5)])
    [segment] = segments(tmp_path)
    assert segment.sealed
    tail = SegmentTail(segment)
    assert not tail.live()
    whole = b"\n".join(tail.blocks(final=True)).split(b"\n")
    tail.lines = 3
    assert b"\n".join(tail.blocks(final=True)).split(b"\n") == whole[3:]


def test_the_last_sound_line_gives_the_receive_time():
    good = format_line(frame(F, futures()), NS0, 1)[:-1]
    assert last_received_ns(good + b"\n" + good[:20]) == NS0
    assert last_received_ns(b"cut") is None
