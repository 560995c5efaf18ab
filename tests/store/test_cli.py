"""The store commands' failure paths and reports (the happy paths run in the other tests)."""

from __future__ import annotations

from typer.testing import CliRunner

from kisfeed.cli.app import app
from kisfeed.cli.record import tr_for_code

from .conftest import F, O, mixed_frames, write_journal

runner = CliRunner()


def test_codes_choose_their_tr():
    assert tr_for_code("A11612") == F and tr_for_code("B11612065") == O
    assert tr_for_code("XYZ", "H0ZOCNT0") == O


def test_record_refuses_a_code_it_cannot_place(tmp_path):
    result = runner.invoke(app, ["record", "A1161", "--data", str(tmp_path / "d"), "--seconds", "1"])
    assert result.exit_code == 2 and "--tr" in result.output


def test_record_into_an_unwritable_directory_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    for name in ("KIS_APP_KEY", "KIS_APP_SECRET", "KISFEED_CONFIG", "KISFEED_DATA"):
        monkeypatch.delenv(name, raising=False)
    blocker = tmp_path / "file"
    blocker.write_text("keep me")
    result = runner.invoke(app, ["record", "A11612", "--data", str(blocker / "data"), "--seconds", "1"])
    assert result.exit_code == 1, result.output
    assert "error:" in result.output and str(blocker) in result.output and "Traceback" not in result.output
    assert blocker.read_text() == "keep me"


def test_rebuild_reports_what_it_restored_and_the_bad_lines(tmp_path):
    write_journal(tmp_path, mixed_frames(40), compress=False)
    seg = next((tmp_path / "journal").glob("*/*.kfj"))
    seg.write_bytes(seg.read_bytes() + b"cut line")
    result = runner.invoke(app, ["rebuild", "--data", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "rebuilt" in result.output and "1 compressed" in result.output
    assert "1 journal line skipped" in result.output and "line 41" in result.output
    again = runner.invoke(app, ["rebuild", "--data", str(tmp_path)])
    assert again.exit_code == 0 and "rebuilt 0 records" in again.output


def test_rebuild_without_a_journal(tmp_path):
    result = runner.invoke(app, ["rebuild", "--data", str(tmp_path)])
    assert result.exit_code == 2 and "no journal" in result.output
