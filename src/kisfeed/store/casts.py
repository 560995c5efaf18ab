"""Field texts to typed Arrow columns: the columnar path's casts, held to ``kinds.WIRE``.

Arrow's CSV reader splits ``^``-joined field texts in C++ without the GIL, and Arrow casts
type them; a text these casts would read otherwise than the protocol (``kinds.parse_value``)
raises ``BadRows`` naming its rows, which then go the protocol's way (``columns.FrameRows``).
A book whose levels are out of order is such a row too (``book_disorder``).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from ..schema import Kind, Layout, layout_for
from .dataset import ARROW_TYPES, MEMORY_POOL

__all__ = ["BadRows", "SAFE", "SUSPICIOUS", "cast_column", "read_fields", "book_disorder"]


class BadRows(Exception):
    """Rows whose values the columnar path does not take; the protocol decides about them."""

    def __init__(self, mask: np.ndarray) -> None:
        self.mask = mask


# The texts Arrow's casts read exactly as the protocol does: kinds.WIRE's patterns, bounded so
# that the value fits (int64: 18 digits; float64: 300 digits before the point). Arrow reads more
# (hex "0x10", "+5", "1e5", "inf", "nan(...)", a 400-digit inf), which WIRE refuses, so a batch
# holding any byte of SUSPICIOUS is checked value by value against these, and a DECIMAL column
# that came out infinite goes back to the protocol. tests/schema/test_wire and
# tests/store/test_casts hold them to WIRE.
SAFE = {
    Kind.INT: r"^-?[0-9]{1,18}$",
    Kind.SIGNED: r"^-?[0-9]{1,18}$",
    Kind.PRICE: r"^-?[0-9]{1,18}$",
    Kind.DECIMAL: r"^-?([0-9]{1,300}(\.[0-9]{0,30})?|\.[0-9]{1,30})$|^-?[nN][aA][nN]$",
}
SUSPICIOUS = (b"x", b"X", b"(", b"+", b"e", b"E", b"i", b"I")


def _mask(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return np.asarray(values.to_numpy(zero_copy_only=False), dtype=bool)


def _unsafe_rows(col: pa.Array, kind: Kind) -> np.ndarray:
    ok = pc.or_(pc.match_substring_regex(col, SAFE[kind]), pc.equal(col, ""))
    return ~_mask(pc.fill_null(ok, True))


def _fixed_digits(col: pa.Array, width: int) -> tuple[np.ndarray, np.ndarray]:
    """The digits (one row of ``width`` per non-null value) of a string column whose texts are
    all exactly ``width`` ASCII digits, and which rows are not null; ``BadRows`` for any other
    text. Read straight from the column's buffers: a regular expression per value over the TIME
    and SIGN columns cost more than the rest of their conversion (benchmarks/record.py)."""
    n = len(col)
    _, offsets, data = col.buffers()
    starts = np.frombuffer(offsets, dtype=np.int32, count=n + 1, offset=col.offset * 4)
    valid = np.ones(n, dtype=bool) if col.null_count == 0 else ~_mask(col.is_null())
    bad = valid & (np.diff(starts) != width)
    if bad.any():
        raise BadRows(bad)
    raw = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
    count = int(np.count_nonzero(valid))
    if starts[-1] - starts[0] == count * width:  # the texts lie end to end (read_csv's nulls are empty)
        digits = raw[starts[0] : starts[-1]].reshape(count, width)
    else:
        digits = raw[starts[:-1][valid][:, None] + np.arange(width)]
    digits = digits - np.uint8(48)  # wraps below "0", so one comparison checks both ends
    bad = np.any(digits > 9, axis=1)
    if bad.any():
        raise BadRows(_spread(bad, valid))
    return digits, valid


def _spread(values: np.ndarray, valid: np.ndarray, fill: int = 0) -> np.ndarray:
    """``values`` of the valid rows as a value per row (``fill`` where not valid)."""
    if len(values) == len(valid):
        return values
    out = np.full(len(valid), fill, dtype=values.dtype)
    out[valid] = values
    return out


def cast_column(col: pa.Array | pa.ChunkedArray, kind: Kind, suspicious: bool) -> pa.Array | pa.ChunkedArray:
    """One column of field texts as its Arrow type; ``BadRows`` for texts to leave to the
    protocol. ``suspicious``: the batch holds a byte of ``SUSPICIOUS`` somewhere."""
    if kind is Kind.CODE or kind is Kind.FLAG:
        return col  # empty fields are already null (read_csv)
    if kind is Kind.TIME or kind is Kind.SIGN:
        if isinstance(col, pa.ChunkedArray):  # the CSV reader's blocks: one copy of short texts
            col = col.combine_chunks()
        digits, valid = _fixed_digits(col, 6 if kind is Kind.TIME else 1)
        if kind is Kind.SIGN:  # "0".."5" (kinds._parse_sign)
            wrong = digits[:, 0] > 5
            if wrong.any():
                raise BadRows(_spread(wrong, valid))
            return pa.array(_spread(digits[:, 0].astype(np.int8), valid), pa.int8(), mask=~valid)
        # exactly HHMMSS, a valid time of day (kinds._TimeCache)
        d = digits.astype(np.int32)
        h, m, sec = d[:, 0] * 10 + d[:, 1], d[:, 2] * 10 + d[:, 3], d[:, 4] * 10 + d[:, 5]
        wrong = (h > 23) | (m > 59) | (sec > 59)
        if wrong.any():
            raise BadRows(_spread(wrong, valid))
        ms = _spread((h * 3600 + m * 60 + sec) * 1000, valid)
        unset = ms == 0  # 000000: "not set", null (kinds.NOT_SET)
        return pa.array(ms, pa.int32(), mask=~valid | unset).cast(pa.time32("ms"))
    if col.type != pa.string():  # typed by the CSV reader (see _TYPED)
        return _finite(col, kind)
    if suspicious:
        bad = _unsafe_rows(col, kind)
        if bad.any():
            raise BadRows(bad)
    try:
        return _finite(pc.cast(col, ARROW_TYPES[kind]), kind)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        bad = _unsafe_rows(col, kind)
        if not bad.any():
            raise
        raise BadRows(bad) from None


def _finite(col: pa.Array | pa.ChunkedArray, kind: Kind) -> pa.Array | pa.ChunkedArray:
    """``col``, or ``BadRows`` for the DECIMAL values that came out infinite: Arrow reads a text
    of 400 digits as inf, which the protocol refuses (kinds.WIRE: finite unless NaN)."""
    if kind is Kind.DECIMAL:
        inf = pc.is_inf(col)
        if pc.any(inf).as_py():
            raise BadRows(_mask(pc.fill_null(inf, False)))
    return col


_CSV_PARSE = pcsv.ParseOptions(
    delimiter="^",
    quote_char=False,
    double_quote=False,
    escape_char=False,
    newlines_in_values=False,
    ignore_empty_lines=False,
)


# Kinds the CSV reader may type itself when a batch holds nothing suspicious: its numeric
# parsing is the cast's (same ParseValue) except that it trims spaces, so a batch holding a space
# goes the string way. Typing while splitting saves building ~45 string columns and casting them
# (the rebuild figures of benchmarks/record.py). TIME and SIGN keep their checks (``cast_column``).
_TYPED = (Kind.INT, Kind.SIGNED, Kind.PRICE, Kind.DECIMAL)


def read_fields(tr_id: str, lines: list[bytes]) -> tuple[pa.Table, bool]:
    """Records of ``^``-joined field texts (one per line) as a table of columns (Arrow's CSV
    reader splits them in C++ without the GIL: the fastest way from journal text to columns),
    and whether a byte of ``SUSPICIOUS`` occurs anywhere (see ``SAFE``). Numeric columns come
    typed when nothing in the batch could parse differently; else every column is a string."""
    layout = layout_for(tr_id)
    names = [f.name for f in layout.fields]
    if layout.required < layout.width:
        lines = _completed(lines, layout)
    data = b"\n".join(lines)
    suspicious = any(b in data for b in SUSPICIOUS)
    buffer = pa.py_buffer(data)
    if not suspicious and b" " not in data:
        try:
            return _csv(
                buffer,
                names,
                {f.name: ARROW_TYPES[f.kind] if f.kind in _TYPED else pa.string() for f in layout.fields},
            ), suspicious
        except pa.ArrowInvalid:  # a value the casts refuse: the string way finds which rows
            pass
    return _csv(buffer, names, {n: pa.string() for n in names}), suspicious


def _completed(lines: list[bytes], layout: Layout) -> list[bytes]:
    """Records lacking only optional trailing fields (``Layout.required``: H0ZOANC0's 8th,
    ``ANTC_CNQN``, which the official list lacks, reference 4.5) with those fields empty: they
    read as null, the record stays complete (``missing`` 0), as the protocol decodes it. Any
    other width is left as it is, for the protocol to decide (``FrameRows``)."""
    optional = layout.width - layout.required
    out = []
    for line in lines:
        absent = layout.width - 1 - line.count(b"^")
        out.append(line + b"^" * absent if 0 < absent <= optional else line)
    return out


def book_disorder(columns: dict[str, pa.Array | pa.ChunkedArray], layout: Layout) -> np.ndarray:
    """The rows of a book's typed columns that ``schema.records.book_order`` refuses (the
    protocol raises ``BookOrderError`` for them): a price after an empty level (0 or null), asks
    not strictly rising or bids not strictly falling from level 1, a NaN price. A row's verdict,
    over the whole batch at once; tests/store/test_casts holds it to ``book_order``."""
    bad = np.zeros(len(columns["code"]), dtype=bool)
    for side, rising in (("ask", True), ("bid", False)):
        prices = np.column_stack(
            [_filled(columns[f"{side}{n}"]) for n in range(1, layout.depth + 1)]
        )  # int64 (futures KRW) or float64 (option premiums): compared in their own type
        published = prices != 0  # NaN included: refused below
        leading = np.logical_and.accumulate(published, axis=1)
        bad |= np.any(published != leading, axis=1)  # a price after an empty level
        inner, outer = prices[:, :-1], prices[:, 1:]
        step = outer > inner if rising else outer < inner  # False for NaN
        bad |= np.any(leading[:, 1:] & ~step, axis=1)
        if prices.dtype.kind == "f":
            bad |= np.any(published & np.isnan(prices), axis=1)
    return bad


def _filled(col: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A numeric column as numpy, null as 0 (``book_order`` takes None for an empty level)."""
    return np.asarray(pc.fill_null(col, pa.scalar(0, col.type)).to_numpy())


# Bytes the CSV reader parses at a time: 1 MiB keeps a block's column builders in cache, which
# one block for the whole batch does not (its chunks are combined later; benchmarks/record.py).
_BLOCK = 1 << 20


def _csv(buffer: pa.Buffer, names: list[str], types: dict[str, pa.DataType]) -> pa.Table:
    return pcsv.read_csv(
        buffer,
        read_options=pcsv.ReadOptions(column_names=names, use_threads=False, block_size=_BLOCK),
        parse_options=_CSV_PARSE,
        convert_options=pcsv.ConvertOptions(
            column_types=types, null_values=[""], strings_can_be_null=True, quoted_strings_can_be_null=False
        ),
        memory_pool=MEMORY_POOL,
    )
