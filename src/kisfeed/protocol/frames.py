"""Data frames ``E|TR_ID|NNN|payload`` (reference 2.4, 2.5): decode and encode.

* ``E`` is ``0`` (plain) or ``1`` (AES-256-CBC, base64); decided per frame by this character,
  never by the ack's ``encrypt`` header.
* ``NNN`` is the record count, three digits (``001``, ``004``).
* ``payload`` is the fields of every record joined by ``^`` with no record separator, so the
  record width is ``fields ÷ count``. A width above the layout keeps the surplus fields raw on
  the record (``extra``); a width below it fills the rest with ``None`` and sets ``missing``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date

from ..exceptions import FrameError, ParseError
from ..schema.records import CODECS, Record
from . import crypto

__all__ = [
    "split_frame",
    "decode_frame",
    "decode_frame_lenient",
    "encode_frame",
    "decode",
    "MAX_RECORDS",
    "HEADER_LENGTH",
    "PLAIN_HEADERS",
]

MAX_RECORDS = 999  # NNN is three digits


#: Length of a plain data frame's header ``0|TR_ID|NNN|``: every TR id kisfeed knows is 8 characters.
HEADER_LENGTH = len("0|H0ZFCNT0|001|")
#: Every valid plain header → (TR id, record count), so that one dict lookup replaces eight
#: checks on the hot path (the store's bulk scan uses it too).
PLAIN_HEADERS = {f"0|{tr}|{n:03d}|": (tr, n) for tr in CODECS for n in range(1, MAX_RECORDS + 1)}
# The plain one-record headers → their codec's ``decode_one``: the hot path (decode_frame).
_SINGLE = {f"0|{tr}|001|": codec.decode_one for tr, codec in CODECS.items()}


def split_frame(text: str, keys: Mapping[str, tuple[str, str]] | None = None) -> tuple[str, int, list[str]]:
    """``(tr_id, record count, fields)`` of a data frame, decrypted if it is ``E=1``.

    Raises ``FrameError`` if the text is not shaped like a frame, names a TR without a layout,
    cannot be decrypted, or holds a field count that does not divide into its record count.
    """
    tr_id, count, payload = _open(text, keys)
    fields = payload.split("^")
    _width(text, tr_id, count, len(fields))
    return tr_id, count, fields


def _open(text: str, keys: Mapping[str, tuple[str, str]] | None) -> tuple[str, int, str]:
    """``(tr_id, record count, payload)``: the envelope checked, the payload decrypted."""
    plain = PLAIN_HEADERS.get(text[:HEADER_LENGTH])
    if plain is not None:  # the common frame
        tr_id, count = plain
        return tr_id, count, text[HEADER_LENGTH:]
    parts = text.split("|", 3)
    if len(parts) != 4:
        raise FrameError("a data frame has four '|'-separated parts", raw=text)
    flag, tr_id, count_text, payload = parts
    if flag not in ("0", "1"):
        raise FrameError("the first part must be 0 (plain) or 1 (encrypted)", raw=text)
    if tr_id not in CODECS:
        raise FrameError(f"no layout for TR {tr_id!r}", raw=text, tr_id=tr_id or None)
    if len(count_text) != 3 or not count_text.isascii() or not count_text.isdigit():
        raise FrameError(f"record count {count_text!r} is not three digits", raw=text, tr_id=tr_id)
    if flag == "1":
        key_iv = (keys or {}).get(tr_id)
        if key_iv is None:
            raise FrameError("encrypted frame but no key/iv from a subscribe ack", raw=text, tr_id=tr_id)
        try:
            payload = crypto.decrypt(payload, *key_iv)
        except ValueError as exc:
            raise FrameError(str(exc), raw=text, tr_id=tr_id) from None
    if count_text == "000":
        raise FrameError("record count is 000", raw=text, tr_id=tr_id)
    return tr_id, int(count_text), payload


def _width(text: str, tr_id: str, count: int, fields: int) -> int:
    """The record width of a frame of ``fields`` fields, or ``FrameError``."""
    if fields % count:
        raise FrameError(f"{fields} fields do not divide into {count} records", raw=text, tr_id=tr_id)
    return fields // count


def _decode(
    text: str, keys: Mapping[str, tuple[str, str]] | None, trading_date: date | None, received_ns: int | None
) -> tuple[list[Record], list[ParseError]]:
    """Any frame: the fast path, and the careful one if that refuses."""
    tr_id, count, payload = _open(text, keys)
    width = _width(text, tr_id, count, payload.count("^") + 1)
    codec = CODECS[tr_id]
    try:
        return codec.decode_fast(payload, count, width, trading_date, received_ns), []
    except ValueError:
        pass
    records, errors = codec.decode_carefully(payload.split("^"), count, trading_date, received_ns)
    return records, list(errors)


def decode_frame_lenient(
    text: str,
    *,
    keys: Mapping[str, tuple[str, str]] | None = None,
    trading_date: date | None = None,
    received_ns: int | None = None,
) -> tuple[list[Record], list[ParseError]]:
    """Every record that decodes, and one error per record that does not.

    A bad field spoils its own record only: the others of the frame are still delivered.
    A bad envelope raises ``FrameError`` (no record can be trusted then).
    """
    decode_one = _SINGLE.get(text[:HEADER_LENGTH])
    if decode_one is not None:  # the common frame, spelled out here and in decode_frame (a call costs)
        try:
            return decode_one(text[HEADER_LENGTH:], trading_date, received_ns), []
        except ValueError:
            pass
    return _decode(text, keys, trading_date, received_ns)


def decode_frame(
    text: str,
    *,
    keys: Mapping[str, tuple[str, str]] | None = None,
    trading_date: date | None = None,
    received_ns: int | None = None,
) -> list[Record]:
    """Every record of one data frame, or the ``ParseError`` of the first thing wrong in it."""
    decode_one = _SINGLE.get(text[:HEADER_LENGTH])
    if decode_one is not None:  # the common frame, as in decode_frame_lenient
        try:
            return decode_one(text[HEADER_LENGTH:], trading_date, received_ns)
        except ValueError:
            pass
    records, errors = _decode(text, keys, trading_date, received_ns)
    if errors:
        raise errors[0]
    return records


def decode(frame: str, *, trading_date: date | None = None) -> list[Record]:
    """Decode one captured data frame (``0|H0ZFCNT0|001|...``) into typed records.

    Raises ``kisfeed.ParseError`` (``FrameError`` or ``FieldError``) and nothing else for text
    that is not a well-formed frame. Encrypted frames need the session's key: see ``Session``.
    """
    read = _SINGLE.get(frame[:HEADER_LENGTH])
    if read is not None:  # the common frame, as in decode_frame: not a call more on its path
        try:
            return read(frame[HEADER_LENGTH:], trading_date, None)
        except ValueError:
            pass
    return decode_frame(frame, trading_date=trading_date)


def encode_frame(
    tr_id: str,
    records: Iterable[Record | list[str]],
    *,
    key_iv: tuple[str, str] | None = None,
) -> str:
    """A data frame as the server writes it: records (typed, or as lists of field texts)
    joined with ``^``, ``NNN`` zero-padded, encrypted when ``key_iv`` is given."""
    codec = CODECS[tr_id]
    texts: list[str] = []
    count = 0
    for record in records:
        texts.extend(record if isinstance(record, list) else codec.encode(record))
        count += 1
    if not 0 < count <= MAX_RECORDS:
        raise ValueError(f"a frame holds 1 to {MAX_RECORDS} records, not {count}")
    payload = "^".join(texts)
    if key_iv is not None:
        return f"1|{tr_id}|{count:03d}|{crypto.encrypt(payload, *key_iv)}"
    return f"0|{tr_id}|{count:03d}|{payload}"
