"""The KIS night-session master files ``fo_cme_code.mst`` (futures) and ``fo_eurex_code.mst``
(options), as data.

Both are named after the CME and Eurex links that KRX's own night session replaced on
2025-06-09; KIS still ships them for the KRX night session (third-party parsers quoting 2026
lines, below). Unlike the stock and index masters (``kisfeed.schema.master``, ``|``-separated)
they are **fixed width in cp949 bytes**, no separator, no header, one instrument a line. The
official parsers (koreainvestment/open-trading-api ``stocks_info/domestic_cme_future_code.py``
and ``domestic_eurex_option_code.py``) read these columns:

==========  ==========  ============================================================
 bytes       futures     options
==========  ==========  ============================================================
 0:1         상품종류     상품종류 (the index master's: 1 futures, 2 spread, 5 call, 6 put, ...)
 1:10        단축코드     단축코드: the KIS short code (``A01612``, ``B01610745``)
 10:22       표준코드     표준코드 (``KR4…``)
 22:63/59    한글종목명   한글종목명 (``F 202612``; ``C 202610   745.0``), 41 / 37 bytes
 59:63       (name)       3 bytes of padding, then ATM구분 at 62
 63:71       행사가       행사가 (``00000.00``, ``00745.00``)
 71:72       월물구분코드 월물구분코드 (blank for options)
 72:81       기초자산 단축코드 (``2001`` = KOSPI200 in KIS's index codes)
 81:         기초자산 명 (``KOSPI200``), padded to 40 bytes: a line is 121 bytes
==========  ==========  ============================================================

Sources of the layout beyond the official parsers: two third-party parsers (kispilot's
``night_option.py`` and its futures sibling, 2026) that quote real lines,
``1A01612   KR4A016C0004F 202612 … 00000.0012001     KOSPI200`` and
``5B01610745KR4B016A7454C 202610   745.0 … 200745.00 2001     KOSPI200``, and state the 121-byte
width; they note that the official futures parser reads 행사가 as ``[63:72]`` (strike and month
class together) and that the official options parser slices characters, not bytes, and
mends the drift with ``lstrip`` after position 59. The reader here takes byte positions and
tolerates what the official parsers tolerate: short lines (missing trailing fields are
empty), blank padding of any width between an option's name and its ATM class, a strike with
commas or without decimals, a ``\\r`` line end. A line it cannot read is returned as bad with
its number, never dropped silently.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Literal

from .master import KINDS, MasterEntry

__all__ = [
    "NIGHT_FUTURES_MASTER",
    "NIGHT_OPTIONS_MASTER",
    "NightProduct",
    "format_night_line",
    "night_product",
    "parse_night_master",
    "read_night_master",
    "write_night_master",
]

NIGHT_FUTURES_MASTER = "fo_cme_code.mst"
NIGHT_OPTIONS_MASTER = "fo_eurex_code.mst"
NightProduct = Literal["futures", "option"]
ENCODING = "cp949"
NAME_BYTES: dict[NightProduct, int] = {"futures": 41, "option": 37}
UNDERLYING_NAME_BYTES = 40
_OPTION_TAIL = 59  # where the official options parser splits a line (then lstrips the rest)


def night_product(path: str | Path) -> NightProduct:
    """Which layout a night master file has, from its name (ValueError for any other file)."""
    name = Path(path).name
    if name.startswith(NIGHT_FUTURES_MASTER):
        return "futures"
    if name.startswith(NIGHT_OPTIONS_MASTER):
        return "option"
    raise ValueError(f"{name}: not a night master ({NIGHT_FUTURES_MASTER} or {NIGHT_OPTIONS_MASTER})")


def _fit(text: str, width: int) -> bytes:
    """``text`` in cp949, cut at a whole character and space-padded to ``width`` bytes."""
    data = text.encode(ENCODING)
    while len(data) > width:
        text = text[:-1]
        data = text.encode(ENCODING)
    return data + b" " * (width - len(data))


def _strike_text(strike: float) -> str:
    text = f"{strike:08.2f}"
    return text if len(text) <= 8 else f"{strike:08.0f}"  # the 8 bytes of 행사가 (as kisfeed.schema.master)


def format_night_line(entry: MasterEntry, product: NightProduct) -> str:
    """One line of ``fo_cme_code.mst`` (futures) or ``fo_eurex_code.mst`` (options), without the
    line break, as text whose cp949 encoding has the byte widths of the module docstring."""
    head = _fit(entry.info_type, 1) + _fit(entry.code, 9) + _fit(entry.standard_code, 12)
    name = _fit(entry.name, NAME_BYTES[product])
    if product == "option":
        name += b"   " + _fit(entry.atm, 1)
    tail = (
        _fit(_strike_text(entry.strike), 8)
        + _fit(entry.month_class if product == "futures" else "", 1)
        + _fit(entry.underlying_code, 9)
        + _fit(entry.underlying_name, UNDERLYING_NAME_BYTES)
    )
    return (head + name + tail).decode(ENCODING)


def _text(data: bytes) -> str:
    return data.decode(ENCODING).strip()


def _number(text: str) -> float:
    return float(text.replace(",", "") or 0)


def _parse_line(raw: bytes, product: NightProduct) -> MasterEntry:
    """One line's entry; ValueError (UnicodeDecodeError included) if it is not one."""
    info_type, code, standard = _text(raw[0:1]), _text(raw[1:10]), _text(raw[10:22])
    if info_type not in KINDS or not code:
        raise ValueError("no product type or no short code")
    if product == "futures":
        name, atm, month = _text(raw[22:63]), "", _text(raw[71:72])
        strike_text, underlying = _text(raw[63:71]), raw[72:81]
        underlying_name = raw[81:]
    else:
        # As the official parser: the rest after the name, lstripped, whatever padding came
        # before the ATM class; by byte position only if that reading has no ATM class (blank).
        name, month = _text(raw[22:_OPTION_TAIL]), ""
        tail = raw[_OPTION_TAIL:].lstrip(b" ")
        if tail[0:1] in (b"1", b"2", b"3"):
            atm, strike_text, underlying, underlying_name = (
                _text(tail[0:1]),
                _text(tail[1:9]),
                tail[9:19],
                tail[19:],
            )
        else:
            atm, strike_text, underlying, underlying_name = "", _text(raw[63:71]), raw[72:81], raw[81:]
    return MasterEntry(
        info_type,
        code,
        standard,
        name,
        atm,
        _number(strike_text),
        month,
        _text(underlying),
        _text(underlying_name),
        market="night",
    )


def parse_night_master(
    data: bytes | str, product: NightProduct
) -> tuple[list[MasterEntry], list[tuple[int, str]]]:
    """Entries of a night master's content (bytes as read from the file; text is encoded back
    to cp949 first), and (line number, line) of every line that is not one."""
    raw = data.encode(ENCODING) if isinstance(data, str) else data
    entries: list[MasterEntry] = []
    bad: list[tuple[int, str]] = []
    for number, line in enumerate(raw.split(b"\n"), 1):
        line = line.rstrip(b"\r")
        if not line.strip():
            continue
        try:
            entries.append(_parse_line(line, product))
        except ValueError:
            bad.append((number, line.decode(ENCODING, errors="replace")))
    return entries, bad


def read_night_master(path: str | Path) -> tuple[list[MasterEntry], list[tuple[int, str]]]:
    """Read a ``fo_cme_code.mst`` or ``fo_eurex_code.mst`` file (the layout from its name)."""
    return parse_night_master(Path(path).read_bytes(), night_product(path))


def write_night_master(
    path: str | Path, entries: list[MasterEntry], product: NightProduct | None = None
) -> Path:
    """Write ``entries`` as a night master (the layout from the file name unless ``product``):
    cp949, one line each, ``\\n`` line ends. Entries are written as night entries."""
    target = Path(path)
    layout = product or night_product(target)
    lines = [format_night_line(replace(e, market="night"), layout) for e in entries]
    target.write_bytes("".join(line + "\n" for line in lines).encode(ENCODING))
    return target
