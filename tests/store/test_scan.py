"""The bulk scan of journal lines: it calls a line plain exactly when the line is a plain data
frame with plain digits (the careful path, which takes every other line, may accept more: int()
reads "+5"), and finds its parts; records split from multi-record frames; blocks of whole lines."""

from __future__ import annotations

import io
import zlib

import numpy as np
import pytest

from kisfeed.protocol.frames import HEADER_LENGTH
from kisfeed.schema import LAYOUTS
from kisfeed.store.journal import format_line, iter_blocks
from kisfeed.store.scan import HEADERS, scan, split_records

from ..samples import frame, texts
from .conftest import NS0, PING, F, O, futures, option

OX = "H0ZOANC0"  # 8 fields of which the last is optional (Layout.required = 7)


def plain_line(line: bytes) -> tuple[int, int, int, int, bytes] | None:
    """A plain data frame with plain digits, written out line by line: ``(tr index, count, ns,
    session, payload)``, or None."""
    head = line[:-9]
    if len(line) < 14 or line[-9] != 9 or zlib.crc32(head) != int(line[-8:], 16):
        return None
    parts = head.split(b"\t")
    if len(parts) != 3 or not all(p.isdigit() and p.isascii() for p in parts[:2]):
        return None
    ns, session, text = parts
    found = HEADERS.get(text[:HEADER_LENGTH])
    if found is None or b"\\" in text or len(ns) > 19 or len(session) > 9:
        return None
    tr, count, carets, short = found
    payload = text[HEADER_LENGTH:]
    if count > 1 and payload.count(b"^") not in (carets, short):
        return None
    return tr, count, int(ns), int(session), payload


def lines() -> list[bytes]:
    good = format_line(frame(F, futures()), NS0, 1)[:-1]
    crc_of = lambda head: head + b"\t%08x" % zlib.crc32(head)  # noqa: E731
    return [
        good,
        format_line(frame(O, option(), option(volume="7")), NS0 + 1, 2)[:-1],  # two records
        format_line(frame(F, futures(), futures(), count=3), NS0 + 2, 1)[:-1],  # fields of two, says three
        format_line(frame(OX, texts(OX), texts(OX)), NS0 + 2, 1)[:-1],  # two records of 7 fields
        format_line(frame(OX, texts(OX) + ["5"], texts(OX) + ["6"]), NS0 + 2, 1)[:-1],  # two of 8
        format_line(frame(OX, texts(OX) + ["5"], texts(OX)), NS0 + 2, 1)[:-1],  # 15 fields: not two records
        format_line(frame(F, futures(code="A1\\612")), NS0 + 3, 1)[:-1],  # escaped
        format_line(PING, NS0 + 4, 1)[:-1],  # control
        format_line("1|H0ZFCNT0|001|encrypted", NS0 + 5, 1)[:-1],  # encrypted
        good[:-1] + (b"0" if good[-1:] != b"0" else b"1"),  # checksum wrong
        good.upper(),  # the checksum in upper-case hex, which int(..., 16) reads too
        crc_of(b"+5\t1\t" + frame(F, futures()).encode()),  # "+5": int() takes it, the scan not
        crc_of(b"5\t\t" + frame(F, futures()).encode()),  # no session
        crc_of(b"1" * 20 + b"\t1\t" + frame(F, futures()).encode()),  # past int64
        b"",
        b"short",
        good[: len(good) // 2],  # cut by a crash
        good,
    ]


def test_scan_calls_plain_exactly_the_plain_data_frames_and_finds_their_parts():
    block = lines()
    found = scan(b"\n".join(block))
    data = b"\n".join(block)
    assert len(found.plain) == len(block)
    for i, line in enumerate(block):
        want = plain_line(line)
        assert bool(found.plain[i]) == (want is not None), (i, line[:60])
        if want is not None:
            payload = data[found.payload[i] : found.payload_end[i]]
            got = (int(found.tr[i]), int(found.count[i]), int(found.ns[i]), int(found.session[i]), payload)
            assert got == want, i
    assert found.plain[0] and found.plain[1] and not found.plain[2]  # the corpus holds both kinds
    assert found.plain[3] and found.plain[4] and not found.plain[5]  # H0ZOANC0: 7 or 8 fields a record


def test_records_are_split_from_their_frames_in_order():
    width = LAYOUTS[F].width
    one = [f"{r}^".encode() * (width - 1) + str(r).encode() for r in range(6)]  # six records
    payloads = [one[0], b"^".join(one[1:4]), one[4], b"^".join(one[5:6])]
    assert split_records(payloads, np.array([1, 3, 1, 1]), width - 1) == one
    assert split_records(one[:2], np.array([1, 1]), width - 1) == one[:2]


@pytest.mark.parametrize("size", [1, 7, 64, 1 << 16])
def test_blocks_are_whole_lines_and_a_cut_last_line_comes_alone(size):
    data = b"first\n\nthird line\n" + b"x" * 100 + b"\ncut"
    blocks = list(iter_blocks(io.BytesIO(data), size))
    assert blocks[-1] == b"cut"
    assert b"\n".join(blocks) == data
    assert all(b"cut" not in b for b in blocks[:-1])


def test_an_empty_block_is_one_line_that_is_not_plain():
    found = scan(b"")
    assert found.plain.tolist() == [False] and found.starts.tolist() == found.ends.tolist() == [0]
