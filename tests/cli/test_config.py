"""A home directory kisfeed cannot look into. Tests run as root here, and permission bits do not
stop root, so the OSError is provoked another way that no user can bypass: a HOME whose name is
too long for the file system (ENAMETOOLONG), which ``Path.is_file`` raises just as it raises
EACCES for an unreadable home."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from kisfeed.cli.config import load_config
from kisfeed.exceptions import ConfigError

from ..conftest import seconds


@pytest.fixture
def unreadable_home(tmp_path) -> str:
    return str(tmp_path / ("h" * 300))  # one path component longer than NAME_MAX (255)


def test_an_unreadable_default_location_is_skipped_with_a_warning(monkeypatch, tmp_path, unreadable_home):
    monkeypatch.setenv("HOME", unreadable_home)
    monkeypatch.delenv("KISFEED_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    config = load_config()
    assert config.path is None
    assert any("cannot check" in w and "config.toml" in w for w in config.warnings), config.warnings


def test_an_unreadable_named_config_is_a_config_error(unreadable_home):
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(unreadable_home + "/config.toml")


def test_every_command_that_loads_config_runs_with_an_unreadable_home(tmp_path, unreadable_home):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KIS_", "KISFEED_"))}
    env["HOME"] = unreadable_home
    (tmp_path / "data").mkdir()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "kisfeed",
            "query",
            "--data",
            str(tmp_path / "data"),
            "SELECT 42 AS answer",
            "--format",
            "csv",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=seconds(60),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["answer", "42"]
    assert "Traceback" not in done.stderr and "warning: cannot check" in done.stderr
    named = subprocess.run(
        [sys.executable, "-m", "kisfeed", "query", "--config", unreadable_home + "/c.toml", "SELECT 1"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=seconds(60),
    )
    assert named.returncode == 2 and "Traceback" not in named.stderr
    assert [line for line in named.stderr.splitlines() if line.startswith("error:")] == [
        f"error: cannot read config file {unreadable_home}/c.toml: File name too long"
    ]
