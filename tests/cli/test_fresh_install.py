"""The main job from a fresh virtual environment: install kisfeed, run ``kisfeed demo --seconds 5``
as a subprocess, then run the query the demo prints."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

from ..conftest import seconds

REPO = Path(__file__).parents[2]


def test_demo_from_a_fresh_virtual_environment(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    install = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", str(REPO)],
        capture_output=True,
        text=True,
        timeout=seconds(600),
    )
    assert install.returncode == 0, install.stderr[-3000:]
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path), "LANG": "C.UTF-8"}
    demo = subprocess.run(
        [str(venv / "bin" / "kisfeed"), "demo", "--seconds", "5"],
        capture_output=True,
        text=True,
        timeout=seconds(120),
        cwd=tmp_path,
        env=env,
    )
    assert demo.returncode == 0, demo.stdout[-2000:] + demo.stderr[-2000:]
    assert "Traceback" not in demo.stdout + demo.stderr
    assert "option chain" in demo.stdout and "stock futures" in demo.stdout  # the board was shown
    assert "recorded" in demo.stdout and str(tmp_path / "kisfeed-data") in demo.stdout
    assert (tmp_path / "kisfeed-data").is_dir()
    query_line = next(
        line.strip() for line in demo.stdout.splitlines() if line.strip().startswith("kisfeed query")
    )
    query = subprocess.run(
        [str(venv / "bin" / "kisfeed"), *shlex.split(query_line)[1:]],
        capture_output=True,
        text=True,
        timeout=seconds(60),
        cwd=tmp_path,
        env=env,
    )
    assert query.returncode == 0, query.stdout + query.stderr
    assert "code" in query.stdout and "trades" in query.stdout
    assert "A11" in query.stdout  # a Samsung Electronics future traded and was recorded
