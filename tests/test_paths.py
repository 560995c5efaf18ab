"""kisfeed's directories: the environment decides the cache (KISFEED_CACHE_DIR, then
XDG_CACHE_HOME, then ~/.cache), HOME the config home; a private file is 0600 in a 0700
directory, even where a wider file was before."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from kisfeed import paths


def test_the_cache_directory_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("KISFEED_CACHE_DIR", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    assert paths.cache_dir() == tmp_path / "home" / ".cache" / "kisfeed"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert paths.cache_dir() == tmp_path / "xdg" / "kisfeed"
    monkeypatch.setenv("KISFEED_CACHE_DIR", str(tmp_path / "mine"))
    assert paths.cache_dir() == tmp_path / "mine"


def test_the_config_home_is_under_home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert paths.config_home() == tmp_path / ".config" / "kisfeed"


def test_a_private_file_is_for_the_user_alone(tmp_path):
    target = tmp_path / "new" / "key.json"
    paths.write_private(target, "one")
    assert target.read_text() == "one"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert stat.S_IMODE(target.parent.stat().st_mode) == 0o700
    target.chmod(0o644)
    paths.write_private(target, "two")
    assert target.read_text() == "two" and stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sorted(os.listdir(target.parent)) == ["key.json"]  # no temporary file left behind


def test_a_private_file_under_a_file_is_an_oserror_for_the_caller(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(OSError):
        paths.write_private(Path(tmp_path / "file" / "key.json"), "x")
