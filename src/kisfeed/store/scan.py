"""Journal lines in bulk: one numpy pass over a block of lines instead of Python work per line.

``scan`` finds, for a block of complete lines, which ones are *plain* (checksum right, ``ns`` and
session plain digits, a known data header, no escape and, for a frame of several records, the
header's number of fields) and where their parts are, with numpy over the bytes; only the CRC
itself and the payload slices stay per line, as C-level ``map`` calls. Every line it does not
call plain takes the converter's careful path (``journal.parse_line``, then the protocol), so
what a line becomes never depends on which path took it: the scan is only ever stricter than
``parse_line`` (``int`` accepts ``+``, ``_`` and spaces; the scan only digits), and a one-record
frame of the wrong width, which it lets through, is refused by the columnar path and decoded by
the protocol (``columns.FrameRows``).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from itertools import repeat

import numpy as np

from ..protocol.frames import HEADER_LENGTH, PLAIN_HEADERS
from ..schema import LAYOUTS

__all__ = ["Scan", "scan", "split_records", "TRS", "HEADERS"]

_HEX = np.full(256, 255, dtype=np.uint8)
for _i, _c in enumerate(b"0123456789abcdef"):
    _HEX[_c] = _i
for _i, _c in enumerate(b"ABCDEF", 10):
    _HEX[_c] = _i  # int(..., 16) takes upper case too
_INT63 = np.uint64(2**63 - 1)


@dataclass
class Scan:
    """Per line of a block: ``plain`` (see the module docstring) and, for plain lines, the
    TR's index in ``trs``, the record count, ``ns``, session and the payload's byte range."""

    starts: np.ndarray
    ends: np.ndarray  # index of each line's LF (or the block's end)
    plain: np.ndarray
    tr: np.ndarray
    count: np.ndarray
    ns: np.ndarray
    session: np.ndarray
    payload: np.ndarray  # start of the payload (after the frame header)
    payload_end: np.ndarray  # the TAB before the CRC


def _digits(arr: np.ndarray, a: np.ndarray, b: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Values of the fields ``arr[a:b]`` that are 1–``width`` ASCII digits (and fit int64)."""
    length = b - a
    pos = b[:, None] - width + np.arange(width)
    inside = pos >= a[:, None]
    d = arr[np.clip(pos, 0, len(arr) - 1)].astype(np.int16) - 48
    ok = (length >= 1) & (length <= width) & np.all(~inside | ((d >= 0) & (d <= 9)), axis=1)
    d = np.where(inside & ok[:, None], d, 0).astype(np.uint64)
    values = d @ (np.uint64(10) ** np.arange(width - 1, -1, -1, dtype=np.uint64))
    ok &= values <= _INT63
    return values.astype(np.int64), ok


#: The TRs the protocol knows, in the order ``Scan.tr`` numbers them.
TRS = sorted({tr for tr, _ in PLAIN_HEADERS.values()})
#: Plain data frame headers as bytes (``b"0|H0ZFCNT0|001|"``) → (TR as its index in TRS, record
#: count, the number of "^" a frame of whole records has, and of whole records lacking only their
#: optional fields: H0ZOANC0's 7 of 8, ``Layout.required``; the two are equal for other layouts).
HEADERS: dict[bytes, tuple[int, int, int, int]] = {
    k.encode(): (TRS.index(tr), n, n * LAYOUTS[tr].width - 1, n * LAYOUTS[tr].required - 1)
    for k, (tr, n) in PLAIN_HEADERS.items()
}
# HEADERS as a code per header (0: none) and its values as arrays by code, so that the lookup of
# every line is one C-level ``map``.
_CODE = {k: i for i, k in enumerate(HEADERS, 1)}
_TR, _COUNT, _CARETS, _SHORT = (np.array(c, dtype=np.int64) for c in zip((-1, 0, -1, -1), *HEADERS.values()))


def scan(data: bytes) -> Scan:
    """Scan the lines of ``data`` (complete lines, LF-separated, no final LF): see the module
    docstring, and ``HEADERS`` for the frames it knows."""
    if not data:  # one empty line
        none = np.zeros(1, dtype=np.int64)
        return Scan(none, none, np.zeros(1, dtype=bool), none, none, none, none, none, none)
    arr = np.frombuffer(data, dtype=np.uint8)
    size = len(arr)
    # LF and TAB in one pass: the only bytes below 11 in a sound block (the journal escapes the
    # rest of the control characters that matter), four in a line of ~300.
    low = np.flatnonzero(arr < 11)
    nl = low[arr[low] == 10]
    tabs = low[arr[low] == 9]
    ends = np.append(nl, size)
    starts = np.concatenate(([0], nl + 1))
    n = len(starts)
    head_end = np.maximum(ends - 9, starts)  # the checksum's TAB
    # Exactly three TABs in the line, the last one before the checksum.
    first = np.searchsorted(tabs, starts)
    three = (np.searchsorted(tabs, ends) - first) == 3
    t = np.where(three, first, 0)[:, None] + np.arange(3)
    t = tabs[np.clip(t, 0, max(len(tabs) - 1, 0))] if len(tabs) else np.zeros((n, 3), dtype=np.int64)
    ok = three & (ends - starts >= 14) & (t[:, 2] == head_end)
    # The checksum: 8 hex digits after the TAB, equal to the CRC-32 of the head.
    hex_pos = np.clip(head_end[:, None] + 1 + np.arange(8), 0, size - 1)
    nibbles = _HEX[arr[hex_pos]]
    ok &= np.all(nibbles != 255, axis=1)
    stated = (nibbles.astype(np.uint32) << np.arange(28, -1, -4, dtype=np.uint32)).sum(
        axis=1, dtype=np.uint32
    )
    crc32 = zlib.crc32
    actual = np.fromiter(
        map(crc32, map(data.__getitem__, map(slice, starts.tolist(), head_end.tolist()))),
        dtype=np.uint32,
        count=n,
    )
    ok &= stated == actual
    ns, ok_ns = _digits(arr, starts, t[:, 0], 19)
    session, ok_session = _digits(arr, t[:, 0] + 1, t[:, 1], 9)
    ok &= ok_ns & ok_session
    # The frame header: a plain data frame of a known TR (a TAB in the window cannot match).
    text = t[:, 1] + 1
    window = arr[np.clip(text[:, None] + np.arange(HEADER_LENGTH), 0, size - 1)]
    keys = np.ascontiguousarray(window).view(f"S{HEADER_LENGTH}").ravel().tolist()
    code = np.fromiter(map(_CODE.get, keys, repeat(0)), dtype=np.int64, count=n)
    tr, count, carets, short = _TR[code], _COUNT[code], _CARETS[code], _SHORT[code]
    ok &= tr >= 0
    # No escape anywhere in the line (the careful path unescapes it: journal.parse_line).
    if b"\\" in data:  # rare: a C-level search spares a numpy pass over the block
        ok[np.unique(np.searchsorted(ends, np.flatnonzero(arr == 92)))] = False
    payload = text + HEADER_LENGTH
    payload_end = t[:, 2]
    # Whole records in a frame of several: the header's number of fields, which split_records
    # relies on (else the protocol decides). A one-record frame of the wrong width is caught by
    # the CSV reader instead (columns.FrameRows), which spares counting every line's "^".
    idx = np.flatnonzero(ok & (count > 1))
    count_in = data.count
    have = np.fromiter(
        map(count_in, [b"^"] * len(idx), payload[idx].tolist(), payload_end[idx].tolist()),
        dtype=np.int64,
        count=len(idx),
    )
    ok[idx[(have != carets[idx]) & (have != short[idx])]] = False
    return Scan(starts, ends, ok, tr, count, ns, session, payload, payload_end)


def split_records(payloads: list[bytes], counts: np.ndarray, carets: int) -> list[bytes]:
    """Payloads of frames with ``counts`` records each, as one payload per record, in order
    (reference 2.4: a multi-record frame has no record separator; each record has ``carets + 1``
    fields, which ``scan`` checked). The multi-record frames are split together: the "^" ending
    each record becomes a LF in one joined buffer, which one ``split`` cuts; the records then
    take their frames' places among the one-record payloads."""
    multi = np.flatnonzero(counts > 1)
    if not len(multi):
        return payloads
    c = counts[multi]
    joined = np.frombuffer(b"\n".join([payloads[k] for k in multi.tolist()]), dtype=np.uint8).copy()
    at = np.flatnonzero(joined == 94)
    per = c * (carets + 1) - 1  # "^" in each frame
    cuts = c - 1  # record ends in each frame: its (carets + 1)-th, 2 (carets + 1)-th ... "^"
    k = np.arange(int(cuts.sum())) - np.repeat(np.cumsum(cuts) - cuts, cuts) + 1
    joined[at[np.repeat(np.cumsum(per) - per, cuts) + k * (carets + 1) - 1]] = 10
    records = joined.tobytes().split(b"\n")
    out = np.empty(int(counts.sum()), dtype=object)
    start = np.cumsum(counts) - counts  # each frame's first record in the output
    single = np.flatnonzero(counts == 1)
    out[start[single]] = [payloads[i] for i in single.tolist()]
    out[np.repeat(start[multi], c) + np.arange(len(records)) - np.repeat(np.cumsum(c) - c, c)] = records
    return out.tolist()
