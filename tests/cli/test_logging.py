"""Logging from the command line (-v/-vv, --log-level, $KISFEED_LOG) and what it must never show:
the app key, its secret and the approval key, whatever the level."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys

import pytest

from kisfeed.cli.common import redact

from ..conftest import seconds
from .test_stop import Command

KEY, SECRET = "PSlogging-test-app-key-4d1c", "logging-test-app-secret-8e2b"


@pytest.fixture
def server(tmp_path):
    """``kisfeed sim`` with our own app key, in a subprocess; its URLs."""
    sim = Command(
        [
            "sim",
            "--port",
            "0",
            "--rest-port",
            "0",
            "--always-open",
            "--speed",
            "10",
            "--app-key",
            f"{KEY}:{SECRET}",
        ],
        tmp_path,
    )
    banner = ""
    while "Serving" not in banner:
        banner += sim.wait_for(r".", where="out")
    yield {
        "KIS_WS_URL": re.search(r"ws://127\.0\.0\.1:\d+", banner).group(0),
        "KIS_REST_URL": re.search(r"REST base (http://127\.0\.0\.1:\d+)", banner).group(1),
    }
    sim.stop(2)


@pytest.mark.parametrize("how", [["-vv"], ["--log-level", "debug"], "KISFEED_LOG=debug"])
def test_debug_logging_of_a_real_session_shows_no_secret(tmp_path, server, how):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KIS_", "KISFEED_"))}
    env.update(
        server,
        KIS_APP_KEY=KEY,
        KIS_APP_SECRET=SECRET,
        HOME=str(tmp_path),
        KISFEED_CACHE_DIR=str(tmp_path / "cache"),
    )
    flags = how if isinstance(how, list) else []
    if isinstance(how, str):
        env[how.split("=")[0]] = how.split("=")[1]
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "kisfeed",
            *flags,
            "record",
            "A11612",
            "--data",
            str(tmp_path / "d"),
            "--seconds",
            "1",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=seconds(120),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    # the subscribe message was logged, as a frame without its text (kisfeed.wslog)
    assert re.search(
        r" DEBUG kisfeed\.websockets: > TEXT \[\d+ bytes, not logged: may carry a key\]", done.stderr
    )
    (cached,) = (tmp_path / "cache").glob("approval-*.json")
    approval_key = json.loads(cached.read_text())["approval_key"]
    output = done.stdout + done.stderr
    for secret in (KEY, SECRET, approval_key, approval_key[:24], approval_key[-12:]):
        assert secret not in output, secret


def test_without_a_flag_only_warnings_are_logged(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KIS_", "KISFEED_"))}
    env["HOME"] = str(tmp_path)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "kisfeed",
            "record",
            "A11612",
            "--data",
            str(tmp_path / "d"),
            "--seconds",
            "1",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=seconds(120),
    )
    assert done.returncode == 0, done.stderr
    assert "DEBUG" not in done.stderr and "INFO" not in done.stderr


def test_an_unknown_log_level_is_a_usage_error():
    done = subprocess.run(
        [sys.executable, "-m", "kisfeed", "--log-level", "loud", "version"],
        capture_output=True,
        text=True,
        timeout=seconds(60),
    )
    assert (
        done.returncode == 2
        and "error: log level is one of debug, info, warning, error, not 'loud'" in done.stderr
    )


def test_the_redaction_covers_configured_secrets_json_fields_and_exception_text():
    redact.secrets.add("configured-secret-value")
    try:
        record = logging.LogRecord(
            "kisfeed.x",
            logging.DEBUG,
            __file__,
            1,
            "sent %s with configured-secret-value",
            ('{"appkey":"A","secretkey":"B"}',),
            None,
        )
        try:
            raise ValueError('{"approval_key":"0123abcd-0000-4000-8000-00000000beef')  # cut short, as logs do
        except ValueError:
            record.exc_info = sys.exc_info()
        assert redact.filter(record)
        text = logging.Formatter().format(record)
        assert (
            "configured-secret-value" not in text and '"appkey":"***"' in text and '"secretkey":"***"' in text
        )
        assert "beef" not in text and "ValueError" in text
    finally:
        redact.secrets.discard("configured-secret-value")
