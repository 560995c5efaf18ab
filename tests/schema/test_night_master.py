"""The night masters ``fo_cme_code.mst`` / ``fo_eurex_code.mst``: fixed width in cp949 bytes."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from kisfeed.schema.master import MasterEntry
from kisfeed.schema.night_master import (
    format_night_line,
    night_product,
    parse_night_master,
    read_night_master,
    write_night_master,
)

# Written by hand in the official layout (byte positions of the module docstring), as the
# third-party parsers quote real 2026 lines: futures 121 bytes, options 121 bytes.
FUTURES_LINE = (
    "1" + "A01612".ljust(9) + "KR4A016C0004" + "F 202612".ljust(41) + "00000.00" + "1"
    + "2001".ljust(9) + "KOSPI200".ljust(40)
)  # fmt: skip
OPTION_LINE = (
    "5" + "B01610745" + "KR4B016A7454" + "C 202610   745.0".ljust(37) + "   2" + "00745.00" + " "
    + "2001".ljust(9) + "KOSPI200".ljust(40)
)  # fmt: skip


def test_a_hand_written_futures_line_in_the_official_layout():
    assert len(FUTURES_LINE.encode("cp949")) == 121
    [entry], bad = parse_night_master(FUTURES_LINE.encode("cp949"), "futures")
    assert bad == []
    assert (entry.info_type, entry.code, entry.standard_code, entry.name) == (
        "1", "A01612", "KR4A016C0004", "F 202612"
    )  # fmt: skip
    assert (entry.strike, entry.month_class, entry.underlying_code, entry.underlying_name) == (
        0.0, "1", "2001", "KOSPI200"
    )  # fmt: skip
    assert entry.kind == "future" and entry.market == "night"
    assert entry.tr_ids == ("H0MFCNT0", "H0MFASP0")


def test_a_hand_written_option_line_in_the_official_layout():
    assert len(OPTION_LINE.encode("cp949")) == 121
    [entry], bad = parse_night_master(OPTION_LINE, "option")
    assert bad == []
    assert (entry.code, entry.name, entry.atm, entry.strike) == ("B01610745", "C 202610   745.0", "2", 745.0)
    assert (entry.underlying_code, entry.underlying_name, entry.kind) == ("2001", "KOSPI200", "call")
    assert entry.tr_ids == ("H0EUCNT0", "H0EUASP0", "H0EUANC0")


def test_widths_are_bytes_a_hangul_name_takes_two_each():
    entry = MasterEntry(
        "6", "C01610745", "KR4C016A7459", "미니 P 202610 745.0", "3", 745.0, "", "2001", "코스피200"
    )
    line = format_night_line(entry, "option")
    data = line.encode("cp949")
    assert len(data) == 121  # 미니 is 4 bytes, 코스피 6: padded in bytes, not characters
    assert data[62:63] == b"3" and data[63:71] == b"00745.00"
    [back], bad = parse_night_master(data, "option")
    assert bad == [] and back == replace(entry, market="night")


def test_the_official_parsers_tolerance_drifted_tail_short_lines_crlf():
    # the options tail one byte early (as a character-sliced writer would leave it): the official
    # parser lstrips after position 59 and so does the reader when the byte position fails
    drifted = OPTION_LINE[:59] + OPTION_LINE[60:]
    short = FUTURES_LINE[:72]  # ends after the month class: no underlying
    text = (drifted + "\r\n").encode("cp949")
    [option], bad = parse_night_master(text, "option")
    assert bad == [] and (option.atm, option.strike, option.underlying_code) == ("2", 745.0, "2001")
    [future], bad = parse_night_master(short.encode("cp949"), "futures")
    assert bad == [] and (future.code, future.underlying_code, future.underlying_name) == ("A01612", "", "")


def test_a_bad_line_is_reported_with_its_number_never_dropped():
    data = "\n".join([FUTURES_LINE, "X" + FUTURES_LINE[1:], "", "1" + " " * 30, FUTURES_LINE]).encode("cp949")
    entries, bad = parse_night_master(data, "futures")
    assert [e.code for e in entries] == ["A01612", "A01612"]
    assert [n for n, _ in bad] == [2, 4]  # an unknown product type; no short code
    garbled = FUTURES_LINE.encode("cp949")[:30] + b"\xff\xfe" + FUTURES_LINE.encode("cp949")[32:]
    assert parse_night_master(garbled, "futures")[1][0][0] == 1  # not cp949: a bad line


def test_files_round_trip_by_name(tmp_path: Path):
    [future] = parse_night_master(FUTURES_LINE, "futures")[0]
    [option] = parse_night_master(OPTION_LINE, "option")[0]
    futures_path = write_night_master(tmp_path / "fo_cme_code.mst", [future])
    options_path = write_night_master(tmp_path / "fo_eurex_code.mst", [option])
    assert futures_path.read_bytes() == (FUTURES_LINE + "\n").encode("cp949")
    assert options_path.read_bytes() == (OPTION_LINE + "\n").encode("cp949")
    assert read_night_master(futures_path) == ([future], [])
    assert read_night_master(options_path) == ([option], [])
    with pytest.raises(ValueError, match="not a night master"):
        night_product(tmp_path / "fo_idx_code_mts.mst")
