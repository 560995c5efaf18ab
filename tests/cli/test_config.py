"""``load_config``: where the file is looked for, precedence (options > environment > file), each
kind of bad file as one ConfigError line, and the warning for a secret others can read. Then a
home directory kisfeed cannot look into: tests run as root here, and permission bits do not stop
root, so the OSError is provoked another way that no user can bypass, a HOME whose name is too
long for the file system (ENAMETOOLONG), which ``Path.is_file`` raises just as it raises EACCES
for an unreadable home."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kisfeed.cli.config import DEFAULT_DATA, load_config
from kisfeed.exceptions import ConfigError

from ..conftest import seconds, without_kis_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch, tmp_path):
    """No KIS_*/KISFEED_* setting from the machine, a home with no config, the test's directory."""
    without_kis_settings(monkeypatch, tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


def write(path: Path, text: str, mode: int = 0o600) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)
    return path


def test_no_file_anywhere_gives_the_defaults():
    config = load_config()
    assert config.path is None and config.warnings == []
    assert config.credentials == [] and not config.has_credentials
    assert config.ws_url is None and config.rest_url is None and config.feed == {}
    assert config.data == Path(DEFAULT_DATA)


def test_the_file_is_the_first_of_option_env_working_directory_home(tmp_path, monkeypatch):
    home = write(tmp_path / "home" / ".config" / "kisfeed" / "config.toml", 'ws_url = "ws://home"\n')
    assert load_config().path == home
    write(tmp_path / "kisfeed.toml", 'ws_url = "ws://cwd"\n')
    assert load_config().ws_url == "ws://cwd"
    monkeypatch.setenv("KISFEED_CONFIG", str(write(tmp_path / "env.toml", 'ws_url = "ws://env"\n')))
    assert load_config().ws_url == "ws://env"
    assert load_config(write(tmp_path / "named.toml", 'ws_url = "ws://named"\n')).ws_url == "ws://named"


def test_options_win_over_the_environment_which_wins_over_the_file(tmp_path, monkeypatch):
    write(
        tmp_path / "kisfeed.toml",
        'app_key = "file-key"\napp_secret = "file-secret"\nws_url = "ws://file"\n'
        'rest_url = "http://file"\ndata = "file-data"\n[feed]\nwatchdog = 90\n'
        '[[credentials]]\napp_key = "second"\napp_secret = "second-secret"\n',
        0o644,
    )
    config = load_config()
    assert config.path == Path("kisfeed.toml")
    assert (config.ws_url, config.rest_url, config.data) == ("ws://file", "http://file", Path("file-data"))
    assert config.credentials == [("file-key", "file-secret"), ("second", "second-secret")]
    assert config.feed == {"watchdog": 90}
    assert config.connect_kwargs() == {
        "credentials": config.credentials,
        "ws_url": "ws://file",
        "rest_url": "http://file",
        "watchdog": 90,
    }
    for name, value in [
        ("KIS_WS_URL", "ws://env"),
        ("KIS_REST_URL", "http://env"),
        ("KISFEED_DATA", "env-data"),
        ("KIS_APP_KEY", "env-key"),
        ("KIS_APP_SECRET", "env-secret"),
    ]:
        monkeypatch.setenv(name, value)
    config = load_config()
    assert (config.ws_url, config.rest_url, config.data) == ("ws://env", "http://env", Path("env-data"))
    # the first pair comes from one place; [[credentials]] add to it
    assert config.credentials == [("env-key", "env-secret"), ("second", "second-secret")]
    config = load_config(
        app_key="opt-key",
        app_secret="opt-secret",
        ws_url="ws://opt",
        rest_url="http://opt",
        data=tmp_path / "d",
    )
    assert (config.ws_url, config.rest_url, config.data) == ("ws://opt", "http://opt", tmp_path / "d")
    assert config.credentials[0] == ("opt-key", "opt-secret")


@pytest.mark.parametrize(
    ("environment", "options"),
    [({"KIS_APP_KEY": "env-key"}, {}), ({}, {"app_secret": "opt-secret"})],
)
def test_a_key_never_takes_its_secret_from_another_place(tmp_path, monkeypatch, environment, options):
    write(tmp_path / "kisfeed.toml", 'app_key = "file-key"\napp_secret = "file-secret"\n')
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match="an app key needs its app secret, and the reverse"):
        load_config(**options)


def test_a_named_file_that_is_not_there_is_an_error(tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match=r"^config file missing\.toml not found$"):
        load_config("missing.toml")
    monkeypatch.setenv("KISFEED_CONFIG", str(tmp_path / "gone.toml"))
    with pytest.raises(ConfigError, match=r"gone\.toml not found$"):
        load_config()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("app_key = [unclosed\n", r"kisfeed\.toml is not valid TOML: .*\(at line 1, column \d+\)$"),
        ('colour = "red"\nsize = 3\n', r"kisfeed\.toml: unknown settings colour, size$"),
        ('[feed]\ncolour = "red"\n', r"kisfeed\.toml: unknown \[feed\] setting colour; known: custtype, "),
        ("feed = 3\n", r"unknown \[feed\] setting \(not a table\)"),
        ("ws_url = 5\n", r"kisfeed\.toml: ws_url must be a string$"),
        ("data = 5\n", r"kisfeed\.toml: data must be a string$"),
        ('app_key = 5\napp_secret = "s"\n', r"kisfeed\.toml: app_key must be a string$"),
        ('[feed]\nwatchdog = "60"\n', r"kisfeed\.toml: \[feed\] watchdog must be a number, not '60'$"),
        ("[feed]\nqueue_size = 5.5\n", r"\[feed\] queue_size must be a whole number, not 5\.5$"),
        ("[feed]\npong_frame = 1\n", r"\[feed\] pong_frame must be true or false, not 1$"),
        ("[feed]\nwatchdog = -1\n", r"kisfeed\.toml: \[feed\] intervals and timeouts cannot be negative$"),
        ("[feed]\nqueue_size = -5\n", r"kisfeed\.toml: \[feed\] queue_size .* must be at least 1$"),
        ('[feed]\noverflow = "sometimes"\n', r"kisfeed\.toml: \[feed\] overflow must be block, "),
        ("credentials = 3\n", r"credentials must be a list of \[\[credentials\]\] tables$"),
        ('[[credentials]]\napp_key = "k"\n', r"\[\[credentials\]\] #1 needs app_key and app_secret strings$"),
    ],
)
def test_a_bad_file_is_one_config_error_line_naming_the_file(tmp_path, text, message):
    write(tmp_path / "kisfeed.toml", text)
    with pytest.raises(ConfigError, match=message) as raised:
        load_config()
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize(
    "text",
    ['app_key = "k"\napp_secret = "s"\n', '[[credentials]]\napp_key = "k"\napp_secret = "s"\n'],
)
@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_a_secret_others_can_read_is_warned_about(tmp_path, text, mode):
    write(tmp_path / "kisfeed.toml", text, mode)
    warnings = load_config().warnings
    assert warnings == ["kisfeed.toml holds an app secret but others can read it: chmod 600 kisfeed.toml"]


@pytest.mark.parametrize("text", ['app_key = "k"\napp_secret = "s"\n', 'ws_url = "ws://x"\n'])
def test_no_warning_for_a_private_file_or_one_without_a_secret(tmp_path, text):
    write(tmp_path / "kisfeed.toml", text, 0o600 if "secret" in text else 0o644)
    assert load_config().warnings == []


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
