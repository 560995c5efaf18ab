"""The journal: line format, compression, bad lines, the sealed segment's frame index."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import zstandard

from kisfeed.store.journal import (
    JournalStats,
    format_line,
    parse_line,
    read_journal,
    seal,
    segments,
)

from ..samples import frame
from .conftest import PING, F, futures, mixed_frames, write_journal


def unzstd(data: bytes) -> bytes:
    """What `zstd -d` gives: every frame's content, skippable frames passed over."""
    return zstandard.ZstdDecompressor().stream_reader(data, read_across_frames=True).read()


def plain_lines(path: Path) -> list[bytes]:
    """A segment's lines, decompressed as `zstd -d` would, without kisfeed's reader."""
    data = unzstd(path.read_bytes()) if path.name.endswith(".zst") else path.read_bytes()
    assert data.endswith(b"\n")
    return data[:-1].split(b"\n")


def test_the_documented_line_format_read_with_plain_tools(tmp_path):
    odd = "line1\nline2\r\ttab \\ backslash 한글"
    written = write_journal(tmp_path, [frame(F, futures()), PING, odd], session=7)
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


def test_a_sealed_segment_is_zstd_of_the_plain_lines_a_cut_last_line_included(tmp_path):
    write_journal(tmp_path, mixed_frames(400), compress=False)
    [seg] = segments(tmp_path)
    plain = seg.path.read_bytes() + b"1763596800000000000\t1\t0|H0ZF"  # a last line a crash cut
    seg.path.write_bytes(plain)
    sealed = seal(seg)
    assert not seg.path.exists() and unzstd(sealed.path.read_bytes()) == plain
    stats = JournalStats()
    assert len(list(read_journal(tmp_path, stats=stats))) == 400 and stats.bad_lines == 1


def test_a_segment_sealed_with_the_old_frame_index_is_read_whole(tmp_path):
    # Before issue 13, seal wrote zstd frames of whole lines and then an index of them in a zstd
    # skippable frame (RFC 8878 §3.1.2), for rebuild's parts: journals recorded then still read.
    written = write_journal(tmp_path, mixed_frames(50), compress=False)
    [seg] = segments(tmp_path)
    plain = seg.path.read_bytes()
    half = plain.index(b"\n", len(plain) // 2) + 1
    parts = (plain[:half], plain[half:])
    frames = [zstandard.ZstdCompressor().compress(part) for part in parts]
    index = json.dumps({"frames": [[len(f), p.count(b"\n")] for f, p in zip(frames, parts)]}).encode()
    skippable = struct.pack("<II", 0x184D2A5E, len(index) + 12) + index
    tail = struct.pack("<II", zlib.crc32(index), len(index)) + b"KFJI"
    seg.path.with_name(seg.path.name + ".zst").write_bytes(b"".join(frames) + skippable + tail)
    seg.path.unlink()
    [seg] = segments(tmp_path)
    assert seg.sealed
    assert [(e.text, e.received_ns, e.session) for e in read_journal(tmp_path)] == written
