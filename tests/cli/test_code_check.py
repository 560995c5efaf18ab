"""One check of instrument codes for every command that takes them (watch, record): an unknown
code is exit 2 with the same one-line message, before anything connects or is written."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from kisfeed.cli import app
from kisfeed.cli.codes import simulator_master

from ..conftest import without_kis_settings
from .test_commands import master_file  # noqa: F401 - the fixture

runner = CliRunner()


@pytest.fixture(autouse=True)
def no_credentials(monkeypatch, tmp_path):
    without_kis_settings(monkeypatch, tmp_path)
    monkeypatch.setenv("KISFEED_CACHE_DIR", str(tmp_path / "cache"))


def _error(result) -> str:
    (line,) = [line for line in result.output.splitlines() if line.startswith("error:")]
    return line


def test_record_and_watch_refuse_an_unknown_code_alike_with_the_closest_codes(tmp_path):
    # B11612065 is the code the README once used: not in the simulator's universe (strike codes
    # are listing numbers there, far below 065)
    record = runner.invoke(
        app, ["record", "A11612", "B11612065", "--data", str(tmp_path / "d"), "--seconds", "1"]
    )
    watch = runner.invoke(app, ["watch", "A11612", "B11612065", "--seconds", "1"])
    assert record.exit_code == watch.exit_code == 2, record.output + watch.output
    assert _error(record) == _error(watch)
    assert _error(record).startswith(
        "error: unknown instrument code B11612065 in the simulator's instruments"
    )
    assert "close: B11612" in _error(record) and "kisfeed codes" in _error(record)
    assert not (tmp_path / "d").exists()  # refused before the recorder started


def test_record_and_watch_refuse_a_spread_code_before_starting(tmp_path):
    # The master lists calendar spreads (D..., types 2/4); kisfeed has no real-time TR for them.
    spread = next(e.code for e in simulator_master().entries if e.kind == "spread")
    refusal = f"error: {spread}: spreads have no real-time trade TR in kisfeed"
    watch = runner.invoke(app, ["watch", spread, "--seconds", "1"])
    assert watch.exit_code == 2 and _error(watch) == refusal, watch.output
    # record first places a code by its length (8: neither futures nor options), then the master
    record = runner.invoke(app, ["record", spread, "--data", str(tmp_path / "d"), "--seconds", "1"])
    assert record.exit_code == 2 and "--tr" in _error(record), record.output
    args = ["record", "--tr", "H0ZFCNT0", spread, "--data", str(tmp_path / "d"), "--seconds", "1"]
    record = runner.invoke(app, args)
    assert record.exit_code == 2 and _error(record) == refusal, record.output
    assert not (tmp_path / "d").exists()


def test_record_checks_codes_against_a_given_master_file(tmp_path, master_file):  # noqa: F811
    record = runner.invoke(
        app,
        ["record", "A11612", "--master", str(master_file), "--data", str(tmp_path / "d"), "--seconds", "1"],
    )
    assert record.exit_code == 2 and f"unknown instrument code A11612 in {master_file}" in record.output
