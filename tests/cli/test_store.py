"""cli/store.py beyond tests/store/test_cli.py (the store commands' failure paths) and the store
tests that run record, query, replay and export end to end."""

from __future__ import annotations

from typer.testing import CliRunner

from kisfeed.cli.app import app
from kisfeed.store.writer import JournalWriter

from ..samples import frame, texts


def test_replay_summary_lists_a_record_without_a_code(tmp_path):
    """An empty code field decodes to None (kinds.py); the summary sorts per code and used to
    fail comparing None with a code."""
    with JournalWriter(tmp_path) as writer:
        writer.append(frame("H0ZFCNT0", texts("H0ZFCNT0", code=""), texts("H0ZFCNT0")), 1, 1)
    result = CliRunner().invoke(app, ["replay", "--summary", str(tmp_path / "journal")])
    assert result.exit_code == 0, result.output
    rows = [
        [cell.strip() for cell in line.split("│")[1:4]]
        for line in result.stdout.splitlines()
        if "H0Z" in line
    ]
    assert rows == [["H0ZFCNT0", "", "1"], ["H0ZFCNT0", "A11612", "1"]]
