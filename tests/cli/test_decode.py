"""``kisfeed decode`` on what a user feeds it: a journal (``zstd -dc SEGMENT.kfj.zst |``), its
text column (``| cut -f3``), frames, and the example of its own help (issue 11 items 7 and 11).

Real subprocesses, fed the decompressed journal on stdin as ``zstd -dc`` would.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import zstandard

from kisfeed.protocol import encode_frame

from ..samples import encrypted_ack, frame, texts
from ..store.conftest import PING, write_journal

F, O = "H0ZFCNT0", "H0ZOCNT0"
KEY, IV = "k" * 32, "i" * 16
ACK = encrypted_ack(KEY, IV)
FRAMES = [
    ACK,
    frame(F, texts(F)),
    PING,
    frame(O, texts(O), texts(O, code="C11612070")),  # two records in one frame
    encode_frame(F, [texts(F, code="A11703")], key_iv=(KEY, IV)),  # key from the ack above
    PING,
    frame(F, texts(F, code="A1\\612")),  # a backslash: escaped in the journal
]
SUMMARY = "decoded 5 records from 4 frames; skipped 3 control frames, 0 errors"


def kisfeed(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "kisfeed", *args],
        input=stdin,
        capture_output=True,
        env=env,
        check=False,
        timeout=60 * float(os.environ.get("KISFEED_TEST_TIME_SCALE", "1")),
    )


def journal_bytes(root: Path) -> bytes:
    (segment,) = (root / "journal").glob("*/*.kfj.zst")
    return zstandard.ZstdDecompressor().stream_reader(segment.open("rb")).read()


def test_a_journal_decodes_whole_with_control_frames_skipped_and_counted(tmp_path):
    write_journal(tmp_path, FRAMES)
    result = kisfeed("decode", stdin=journal_bytes(tmp_path))
    out, err = result.stdout.decode(), result.stderr.decode()
    assert result.returncode == 0, err
    assert err.strip().splitlines()[-1] == SUMMARY
    for code in ("A11612", "C11612070", "B11612065", "A11703", "A1\\612"):
        assert code in out, code
    assert "2026-11-20 09:30:15+09:00" in out  # exchange_time: the journal's receive time dates it


def test_the_text_column_of_a_journal_decodes_too(tmp_path):
    write_journal(tmp_path, FRAMES)
    column = b"\n".join(line.split(b"\t")[2] for line in journal_bytes(tmp_path).splitlines())  # cut -f3
    assert b"A1\\\\612" in column  # as the journal escaped it
    result = kisfeed("decode", "--keys", "kis", stdin=column + b"\n")
    assert result.returncode == 0, result.stderr.decode()
    assert result.stderr.decode().strip().splitlines()[-1] == SUMMARY
    assert "A1\\612" in result.stdout.decode() and "STCK_PRPR" in result.stdout.decode()


def test_bad_lines_are_named_counted_and_the_rest_still_decodes(tmp_path):
    write_journal(tmp_path, FRAMES)
    lines = journal_bytes(tmp_path).splitlines()
    corrupt = lines[1][:-1] + (b"0" if lines[1][-1:] != b"0" else b"1")  # a wrong checksum
    bad_field = frame(F, texts(F, price="64,300")).encode()
    data = b"\n".join([lines[0], corrupt, *lines[2:], bad_field, b"hello"]) + b"\n"
    result = kisfeed("decode", stdin=data)
    err = result.stderr.decode()
    assert result.returncode == 1
    assert "line 2: not a frame or journal line: checksum mismatch" in err
    assert "line 8: " in err and "STCK_PRPR" in err and "64,300" in err
    assert "line 9: " in err
    assert (
        err.strip().splitlines()[-1] == "decoded 4 records from 5 frames; skipped 3 control frames, 3 errors"
    )
    assert "Traceback" not in err


def test_the_help_example_runs_as_written():
    help_text = kisfeed("decode", "--help").stdout.decode()
    (example,) = re.findall(r"kisfeed decode '([^']+)'", help_text)
    result = kisfeed("decode", example)
    assert result.returncode == 0, result.stderr.decode()
    assert "A11612" in result.stdout.decode() and "64300" in result.stdout.decode()
    assert (
        result.stderr.decode().strip() == "decoded 1 record from 1 frame; skipped 0 control frames, 0 errors"
    )


def test_a_book_decodes_as_one_row_per_level_not_68_lines():
    from typer.testing import CliRunner

    from kisfeed.cli import app

    from ..client.conftest import book_frame

    result = CliRunner().invoke(
        app,
        ["decode", book_frame("H0ZOASP0", "B11612007", 0, best_ask=250, tick=5, levels=4)],
        env={"COLUMNS": "120"},
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert any("H0ZOASP0 B11612007 09:00:00" in line for line in lines)
    levels = [
        line.split()
        for line in lines
        if line.strip("│ ").split()[:1] and line.strip("│ ").split()[0].isdigit()
    ]
    rows = [[cell for cell in row if cell != "│"] for row in levels]
    assert [row[0] for row in rows] == [str(n) for n in range(1, 11)]  # every level, empty ones too
    assert rows[0][1:] == ["2.5", "1", "1", "2.45", "1", "1"] and rows[9][1:] == [
        "0.0",
        "0",
        "0",
        "0.0",
        "0",
        "0",
    ]
    assert len(lines) < 30
    assert "decoded 1 record from 1 frame" in result.output


@pytest.mark.parametrize("tr_id", ["H0IFASP0", "H0IOASP0", "H0MFASP0", "H0EUASP0"])
def test_a_five_level_book_decodes_as_five_rows_and_its_totals(tr_id):
    from typer.testing import CliRunner

    from kisfeed.cli import app

    result = CliRunner().invoke(app, ["decode", frame(tr_id, texts(tr_id))], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    rows = [
        [cell for cell in line.split() if cell != "│"]
        for line in result.stdout.splitlines()
        if line.strip("│ ").split()[:1] and line.strip("│ ").split()[0] in ("1", "2", "3", "4", "5", "6")
    ]
    assert [row[0] for row in rows] == ["1", "2", "3", "4", "5"]  # 5 levels (reference 4.6), not 10
    assert any(line.strip("│ ").startswith("total") for line in result.stdout.splitlines())
    if tr_id == "H0IFASP0":  # points with 2 decimals at the 0.05 tick (tests/samples.py)
        assert rows[0][1] == "355.3" and rows[0][4] == "355.25"


def test_an_index_futures_trade_decodes_its_price_from_index_5():
    from typer.testing import CliRunner

    from kisfeed.cli import app

    result = CliRunner().invoke(app, ["decode", frame("H0IFCNT0", texts("H0IFCNT0", price="355.25"))])
    assert result.exit_code == 0, result.output
    (price,) = [line for line in result.stdout.splitlines() if line.strip("│ ").startswith("price ")]
    assert "355.25" in price  # FUTS_PRPR is field 5 of H0IFCNT0, field 2 of H0ZFCNT0 (reference 4.6)
