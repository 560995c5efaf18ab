"""Tab-separated listings start with a header line naming their columns."""

from __future__ import annotations

from typer.testing import CliRunner

from kisfeed.cli import app

from ..store.conftest import mixed_frames, write_journal

runner = CliRunner()


def test_replay_lines_start_with_a_header(tmp_path):
    write_journal(tmp_path, mixed_frames(12))
    result = runner.invoke(app, ["replay", str(tmp_path)])
    assert result.exit_code == 0, result.output
    header, first, *_ = result.stdout.splitlines()
    assert header.split("\t") == ["time", "tr_id", "code", "price", "last_volume", "volume"]
    assert len(first.split("\t")) == 6 and first.split("\t")[1].startswith("H0Z")


def test_sim_list_instruments_starts_with_a_header():
    result = runner.invoke(app, ["sim", "--list-instruments", "--start", "2026-11-20T09:00"])
    assert result.exit_code == 0, result.output
    header, first, *_ = result.stdout.splitlines()
    assert header.split("\t") == [
        "code",
        "tr_id",
        "underlying_code",
        "underlying_name",
        "kind",
        "expiry",
        "strike",
        "tr_ids",
    ]
    assert len(first.split("\t")) == 8
