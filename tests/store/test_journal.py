"""The journal: line format, compression, bad lines, appending days, write errors."""

from __future__ import annotations

import copy
import errno
import json
import os
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest
import zstandard

from kisfeed.exceptions import StoreError
from kisfeed.store import writer as journal_writer
from kisfeed.store.journal import (
    JournalStats,
    format_line,
    frame_index,
    parse_line,
    read_frames,
    read_journal,
    seal,
    segments,
)
from kisfeed.store.writer import JournalWriter

from ..conftest import seconds
from ..samples import frame
from .conftest import NS0, PING, F, futures, mixed_frames, write_journal

# Where the lines are made: in the writer thread, or in the writer process (Recorder's choice).
MODES = pytest.mark.parametrize("mode", ["thread", "process"])


def unzstd(data: bytes) -> bytes:
    """What `zstd -d` gives: every frame's content, skippable frames passed over."""
    return zstandard.ZstdDecompressor().stream_reader(data, read_across_frames=True).read()


def plain_lines(path: Path) -> list[bytes]:
    """A segment's lines, decompressed as `zstd -d` would, without kisfeed's reader."""
    data = unzstd(path.read_bytes()) if path.name.endswith(".zst") else path.read_bytes()
    assert data.endswith(b"\n")
    return data[:-1].split(b"\n")


@MODES
def test_the_documented_line_format_read_with_plain_tools(tmp_path, mode):
    odd = "line1\nline2\r\ttab \\ backslash 한글"
    written = write_journal(tmp_path, [frame(F, futures()), PING, odd], session=7, mode=mode)
    [seg] = segments(tmp_path)
    assert seg.sealed and seg.path.name.endswith(".kfj.zst")
    assert seg.path.parent.name == "2026-11-20"  # the KST day of the receive time
    lines = plain_lines(seg.path)
    assert len(lines) == 3
    for line, (text, ns, _session) in zip(lines, written):
        fields = line.split(b"\t")
        assert len(fields) == 4  # tabs inside the text are escaped
        assert fields[0] == str(ns).encode() and fields[1] == b"7"
        assert fields[3] == b"%08x" % zlib.crc32(line[: line.rindex(b"\t")])
        unescaped = (
            fields[2]
            .decode()
            .replace("\\\\", "\0")
            .replace("\\n", "\n")
            .replace("\\r", "\r")
            .replace("\\t", "\t")
            .replace("\0", "\\")
        )
        assert unescaped == text
    assert [(e.text, e.received_ns, e.session) for e in read_journal(tmp_path)] == written


def test_format_and_parse_are_inverse():
    for text in ["", "0|H0ZFCNT0|001|a^b", "\\n is not a newline", "\n\n", "\t\\\r"]:
        line = format_line(text, 123, 4)
        assert line.endswith(b"\n") and line.count(b"\n") == 1
        assert parse_line(line[:-1]) == (123, 4, text)


def test_corrupt_and_truncated_lines_are_reported_with_their_position_and_skipped(tmp_path):
    write_journal(tmp_path, mixed_frames(20), compress=False)
    [seg] = segments(tmp_path)
    lines = seg.path.read_bytes().split(b"\n")[:-1]
    lines[3] = lines[3][:60] + b"Z" + lines[3][61:]  # one changed character: CRC mismatch
    lines[7] = lines[7][:40]  # cut short
    lines.insert(10, b"garbage without tabs")
    seg.path.write_bytes(b"\n".join(lines) + b"\n" + lines[0][:25])  # and a last line a crash cut
    stats = JournalStats()
    entries = list(read_journal(tmp_path, stats=stats))
    assert stats.lines == 22 and stats.entries == 18 and stats.bad_lines == 4
    assert [b.line for b in stats.bad] == [4, 8, 11, 22]
    assert all(b.segment == seg.name for b in stats.bad)
    assert "checksum mismatch" in stats.bad[0].reason
    assert [e.line for e in entries] == [n for n in range(1, 22) if n not in (4, 8, 11)]


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


def test_a_sealed_segment_is_indexed_zstd_frames_of_whole_lines(tmp_path):
    write_journal(tmp_path, mixed_frames(400), compress=False)
    [seg] = segments(tmp_path)
    plain = seg.path.read_bytes() + b"1763596800000000000\t1\t0|H0ZF"  # a last line a crash cut
    seg.path.write_bytes(plain)
    sealed = seal(seg, frame_bytes=4096)
    assert unzstd(sealed.path.read_bytes()) == plain  # the index is a frame decoders skip
    frames = frame_index(sealed)
    assert frames is not None and len(frames) > 10
    line = 1
    for i, f in enumerate(frames):
        data = b"".join(read_frames(sealed, frames[i : i + 1]))
        assert f.first_line == line and data.count(b"\n") == f.lines
        assert data.endswith(b"\n") or f is frames[-1]  # whole lines; the cut one ends the last
        assert plain.split(b"\n")[line - 1] == data.split(b"\n")[0]
        line += f.lines
    start = len(b"".join(read_frames(sealed, frames[:3])))
    assert b"".join(read_frames(sealed, frames[3:])) == plain[start:]  # read from any frame on
    stats = JournalStats()
    assert len(list(read_journal(tmp_path, stats=stats))) == 400 and stats.bad_lines == 1


def test_a_segment_sealed_without_an_index_or_with_a_damaged_one_is_read_whole(tmp_path):
    written = write_journal(tmp_path, mixed_frames(50), compress=False)
    [seg] = segments(tmp_path)
    old = seg.path.with_name(seg.path.name + ".zst")  # as kisfeed sealed before the index
    old.write_bytes(zstandard.ZstdCompressor().compress(seg.path.read_bytes()))
    seg.path.unlink()
    [seg] = segments(tmp_path)
    assert seg.sealed and frame_index(seg) is None
    assert [(e.text, e.received_ns, e.session) for e in read_journal(tmp_path)] == written
    seg.path.unlink()
    write_journal(tmp_path, mixed_frames(50), compress=False, name=seg.name.split("/")[1])
    [seg] = segments(tmp_path)
    sealed = seal(seg, frame_bytes=1024)
    data = sealed.path.read_bytes()
    length = struct.unpack("<I", data[-8:-4])[0]
    frames, index = data[: -20 - length], json.loads(data[-12 - length : -12])
    assert len(index["frames"]) > 2

    def with_index(table, crc=None):  # the layout the journal's docstring gives
        text = json.dumps(table).encode()
        return (
            frames
            + struct.pack("<II", 0x184D2A5E, len(text) + 12)
            + text
            + struct.pack("<II", zlib.crc32(text) if crc is None else crc, len(text))
            + b"KFJI"
        )

    sealed.path.write_bytes(with_index(index))
    assert frame_index(sealed) is not None
    sizes, counts = copy.deepcopy(index), copy.deepcopy(index)
    sizes["frames"][1][0] += 1  # sizes that do not add up to the frames' bytes
    counts["frames"][1][1] += 1  # a digit changed after the CRC was taken
    damaged = [
        data[:-1] + b"X",  # not the tag
        with_index(sizes),
        with_index(counts, crc=zlib.crc32(json.dumps(index).encode())),
    ]
    for bad in damaged:
        sealed.path.write_bytes(bad)
        assert frame_index(sealed) is None
        assert [(e.text, e.received_ns, e.session) for e in read_journal(tmp_path)] == written
