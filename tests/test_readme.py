"""Every example in README.md runs, as written, in this suite: the README cannot drift.

What counts as an example: a fenced ```sh (or bash/shell/console) block, a ```python block, and
every ``$ ``-prefixed line of any other fenced block (a command shown with its output). Fenced
blocks without ``$`` lines are output and are not run.

Each example carries its own check, in HTML comments on the lines right above its fence (hidden
when the markdown is rendered):

``<!-- expect: REGEX -->``
    One per command (a shell block: one per command line, in order; a ``$`` block: one per ``$``
    line; a Python block: one). The command must exit 0 and a line of its output (stdout, then
    stderr) must match REGEX (``re.search``). An example without its expect markers fails
    ``test_every_example_carries_its_checks``, so a new example cannot go unchecked.
``<!-- run-with: OLD => NEW -->``
    A documented substitution in the example's text before it runs, for what cannot run as
    printed: a long duration (``--seconds 3600 => --seconds 3``) or a date, where
    ``{recorded_date}`` stands for the latest trading date recorded so far in ./kisfeed-data
    (records are dated by when they were received). OLD must occur in the example.
``<!-- stop-after: N lines -->``
    For a Python example that streams until interrupted (``async for r in feed``): it runs until
    it has printed N lines, one matching its expect marker, and is then terminated; ending
    before that, or with an error, fails.

The examples run in README order, in one temporary directory (they build on each other: demo
and record write ./kisfeed-data, then query, replay, export and rebuild read it), as real
subprocesses of the installed ``kisfeed`` and of this Python, with ``HOME`` and the approval-key
cache in that directory. Commands that talk to the real server get a running ``kisfeed sim``
through KIS_WS_URL / KIS_REST_URL / KIS_APP_KEY / KIS_APP_SECRET.

The two quick-start commands (``<!-- main-command -->``, ``<!-- test-command -->``) start with
``python3 -m venv .venv && .venv/bin/pip install -e ...``: those set-up steps are checked for
their shape here and proved by a run from a fresh clone, not run inside the suite (which is
itself running in that venv). The rest of the main command runs, with ``.venv/bin/`` read as the
directory of this test's interpreter; the test command must be exactly what ``.ci/run`` runs.
"""

from __future__ import annotations

import os
import queue
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import pytest

from .conftest import seconds

REPO = Path(__file__).parents[1]
README = REPO / "README.md"
BIN = Path(sys.executable).parent  # the venv the suite runs in, where `kisfeed` is installed
SHELLS = {"sh", "bash", "shell", "console"}
FENCE = re.compile(r"^```\s*([\w+-]*)\s*$")
MARKER = re.compile(r"^<!--\s*([\w-]+)\s*(?::\s*(.*?))?\s*-->\s*$")
KNOWN_MARKERS = {"expect", "run-with", "stop-after", "main-command", "test-command"}
SETUP = ("python3 -m venv .venv", ".venv/bin/pip install -e ")
APP_KEY, APP_SECRET = "readme-app-key", "readme-app-secret"


@dataclass
class Example:
    line: int  # the opening fence's line in README.md
    lang: str  # "sh", "python", or "" for an output block with `$ ` lines
    commands: list[str]  # shell commands, or the Python block's whole text (one)
    markers: list[tuple[str, str]] = field(default_factory=list)

    def values(self, name: str) -> list[str]:
        return [value for key, value in self.markers if key == name]

    @property
    def role(self) -> str | None:
        return next((key for key, _ in self.markers if key in ("main-command", "test-command")), None)

    @property
    def id(self) -> str:
        return f"README.md:{self.line}"


def parse_examples(text: str) -> list[Example]:
    """The runnable examples of a README, with the markers on the lines right above each fence."""
    lines = text.splitlines()
    examples: list[Example] = []
    i = 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        end = next(
            (
                j
                for j in range(i + 1, len(lines))
                if FENCE.match(lines[j]) and not FENCE.match(lines[j]).group(1)
            ),
            len(lines),
        )
        body, lang = lines[i + 1 : end], opening.group(1).lower()
        markers = []
        k = i - 1
        while k >= 0 and (m := MARKER.match(lines[k])):
            markers.insert(0, (m.group(1), m.group(2) or ""))
            k -= 1
        if lang in SHELLS:
            examples.append(Example(i + 1, "sh", shell_commands(body), markers))
        elif lang == "python":
            examples.append(Example(i + 1, "python", ["\n".join(body) + "\n"], markers))
        elif dollar := [line[2:] for line in body if line.startswith("$ ")]:
            examples.append(Example(i + 1, "", dollar, markers))
        i = end + 1
    return examples


def shell_commands(body: list[str]) -> list[str]:
    """The command lines of a shell block (continuation lines joined; blanks and comments out)."""
    commands, pending = [], ""
    for line in body:
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        command = (pending + line).strip()
        pending = ""
        if command and not command.startswith("#"):
            commands.append(command)
    return commands


def problems(example: Example) -> list[str]:
    """What is wrong with an example's markers (empty: it carries its checks)."""
    found = [f"unknown marker {name!r}" for name, _ in example.markers if name not in KNOWN_MARKERS]
    if example.role == "test-command":
        return found  # checked by test_the_quick_start_commands, never run from inside the suite
    wanted = 1 if example.lang == "python" else len(example.commands)
    expects = example.values("expect")
    if len(expects) != wanted:
        found.append(
            f"{len(expects)} <!-- expect: REGEX --> marker(s) for {wanted} command(s): "
            "put one per command on the lines right above the fence"
        )
    for pattern in expects:
        try:
            re.compile(pattern)
        except re.error as exc:
            found.append(f"expect {pattern!r}: {exc}")
    for rule in example.values("run-with"):
        if " => " not in rule:
            found.append(f"run-with {rule!r}: write OLD => NEW")
        elif rule.split(" => ")[0] not in "\n".join(example.commands):
            found.append(f"run-with {rule!r}: the example has no {rule.split(' => ')[0]!r}")
    for rule in example.values("stop-after"):
        if example.lang != "python" or not re.fullmatch(r"\d+ lines?", rule):
            found.append(f"stop-after {rule!r}: 'N lines', on a Python example")
    return found


EXAMPLES = parse_examples(README.read_text(encoding="utf-8"))
RUNNABLE = [e for e in EXAMPLES if e.role != "test-command"]


def test_the_readme_has_examples_of_each_kind():
    assert {e.lang for e in EXAMPLES} == {"sh", "python", ""}
    assert [e.role for e in EXAMPLES if e.role] == ["main-command", "test-command"]


def test_every_example_carries_its_checks():
    found = [f"{e.id}: {problem}" for e in EXAMPLES for problem in problems(e)]
    assert found == [], "\n".join(found)


def test_an_example_without_its_checks_is_refused():
    # The rule this module exists for: a new example with no expect marker fails the suite.
    text = "\n".join(
        [
            "<!-- expect: ^ok -->",
            "```sh",
            "kisfeed one",
            "```",
            "",
            "```sh",
            "kisfeed two  # no marker",
            "kisfeed three",
            "```",
            "",
            "```",
            "$ kisfeed four",
            "output, not run",
            "```",
            "",
            "```",
            "just output",
            "```",
            "",
            "<!-- stop-after: 2 lines -->",
            "<!-- expect: [ -->",
            "<!-- run-with: 2026-11-20 -->",
            "```python",
            "print(1)",
            "```",
        ]
    )
    examples = parse_examples(text)
    assert [(e.line, e.lang, e.commands) for e in examples] == [
        (2, "sh", ["kisfeed one"]),
        (6, "sh", ["kisfeed two  # no marker", "kisfeed three"]),
        (11, "", ["kisfeed four"]),
        (23, "python", ["print(1)\n"]),
    ]
    assert problems(examples[0]) == []
    assert "0 <!-- expect: REGEX --> marker(s) for 2 command(s)" in problems(examples[1])[0]
    assert "for 1 command(s)" in problems(examples[2])[0]
    assert [p.split(":")[0] for p in problems(examples[3])] == ["expect '['", "run-with '2026-11-20'"]


def test_the_quick_start_commands():
    main, test = (next(e for e in EXAMPLES if e.role == role) for role in ("main-command", "test-command"))
    for example in (main, test):
        assert len(example.commands) == 1, example.id
        steps = example.commands[0].split(" && ")
        assert steps[0] == SETUP[0] and steps[1].startswith(SETUP[1]), (example.id, steps)
    assert main.commands[0].split(" && ")[1] == ".venv/bin/pip install -e ."
    assert (
        test.commands[0]
        == "python3 -m venv .venv && .venv/bin/pip install -e '.[test]' && .venv/bin/python -m pytest"
    )
    # CI runs what the README says: .ci/run extracts the line after <!-- test-command -->.
    ci = subprocess.run(
        [str(REPO / ".ci" / "run"), "--print"],
        check=False,
        capture_output=True,
        text=True,
        timeout=seconds(30),
    )
    assert ci.returncode == 0, ci.stderr
    assert ci.stdout.strip() == test.commands[0]


# --- running the examples ---------------------------------------------------------------------


def lines_of(stream: IO[str]) -> queue.Queue[str | None]:
    """A queue of a pipe's lines, then None at its end (so a read can be bounded)."""
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        for line in stream:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    return lines


@dataclass
class Workspace:
    path: Path
    env: dict[str, str]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """One directory for all the examples, and a `kisfeed sim` playing the real server."""
    kisfeed = BIN / "kisfeed"
    assert kisfeed.exists(), f"{kisfeed} missing: install kisfeed in the venv that runs the suite"
    path = tmp_path_factory.mktemp("readme")
    env = {name: value for name, value in os.environ.items() if not name.startswith(("KIS_", "KISFEED_"))}
    env.update(
        {
            "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}",
            "HOME": str(path / "home"),  # no user config, no user key cache
            "KISFEED_CACHE_DIR": str(path / "cache"),
            "PYTHONUNBUFFERED": "1",
            "COLUMNS": "100",
        }
    )
    sim = subprocess.Popen(
        [
            str(kisfeed),
            "sim",
            "--port",
            "0",
            "--rest-port",
            "0",
            "--always-open",
            "--activity",  # ten times the calibrated rates: a streaming example's lines in seconds
            "10",
            "--app-key",
            f"{APP_KEY}:{APP_SECRET}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=path,
    )
    try:
        banner, output = lines_of(sim.stdout), []  # type: ignore[arg-type]
        ws = rest = None
        while ws is None or rest is None:  # the banner names both URLs
            line = banner.get(timeout=seconds(30))
            assert line is not None, "kisfeed sim ended:\n" + "\n".join(output)
            output.append(line)
            ws = ws or (m.group(0) if (m := re.search(r"ws://[\w.]+:\d+", line)) else None)
            rest = rest or (m.group(0) if (m := re.search(r"http://[\w.]+:\d+", line)) else None)
        env.update(
            {"KIS_WS_URL": ws, "KIS_REST_URL": rest, "KIS_APP_KEY": APP_KEY, "KIS_APP_SECRET": APP_SECRET}
        )
        yield Workspace(path, env)
    finally:
        sim.send_signal(signal.SIGINT)
        try:
            sim.wait(seconds(20))
        except subprocess.TimeoutExpired:
            sim.kill()
            sim.wait()


def substituted(example: Example, path: Path) -> list[str]:
    commands = list(example.commands)
    for rule in example.values("run-with"):
        old, new = rule.split(" => ", 1)
        if "{recorded_date}" in new:
            dates = sorted(p.name.removeprefix("date=") for p in path.glob("kisfeed-data/*/date=*"))
            assert dates, (
                f"{example.id}: run-with {{recorded_date}}, but nothing is recorded in ./kisfeed-data yet"
            )
            new = new.replace("{recorded_date}", dates[-1])
        commands = [command.replace(old, new) for command in commands]
    if example.role == "main-command":  # set-up steps checked in test_the_quick_start_commands
        steps = commands[0].split(" && ")
        commands = [" && ".join(steps[2:]).replace(".venv/bin/", f"{BIN}/")]
    return commands


def check_output(where: str, command: str, pattern: str, code: int, stdout: str, stderr: str) -> None:
    shown = f"{where}: {command.strip()[:200]}\nexit {code}\n--- stdout\n{stdout[-3000:]}\n--- stderr\n{stderr[-3000:]}"
    assert code == 0, shown
    assert "Traceback" not in stdout + stderr, shown
    assert any(re.search(pattern, line) for line in (stdout + "\n" + stderr).splitlines()), (
        f"no line matches {pattern!r}\n{shown}"
    )


def run_streaming(example: Example, script: Path, pattern: str, workspace: Workspace) -> None:
    """A Python example that runs until interrupted: N lines of output, then terminated."""
    wanted = int(example.values("stop-after")[0].split()[0])
    process = subprocess.Popen(
        [sys.executable, str(script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=workspace.env,
        cwd=workspace.path,
    )
    try:
        out, lines = [], lines_of(process.stdout)  # type: ignore[arg-type]
        while len(out) < wanted:
            line = lines.get(timeout=seconds(60))
            if line is None:  # it ended by itself before its N lines: an error, or a wrong example
                process.wait(seconds(10))
                stderr = process.stderr.read()  # type: ignore[union-attr]
                pytest.fail(
                    f"{example.id}: ended (exit {process.returncode}) after {len(out)} of {wanted} lines"
                    f"\n--- stdout\n" + "\n".join(out) + f"\n--- stderr\n{stderr[-3000:]}"
                )
            out.append(line)
    finally:
        process.terminate()
        process.wait(seconds(20))
    check_output(example.id, script.name, pattern, 0, "\n".join(out), "")


@pytest.mark.parametrize("example", RUNNABLE, ids=[e.id for e in RUNNABLE])
def test_readme_example(example: Example, workspace: Workspace) -> None:
    assert not problems(example), problems(example)
    commands = substituted(example, workspace.path)
    if example.lang == "python":
        script = workspace.path / f"readme_{example.line}.py"
        script.write_text(commands[0], encoding="utf-8")
        pattern = example.values("expect")[0]
        if example.values("stop-after"):
            run_streaming(example, script, pattern, workspace)
            return
        done = subprocess.run(
            [sys.executable, str(script)],
            check=False,
            capture_output=True,
            text=True,
            env=workspace.env,
            cwd=workspace.path,
            timeout=seconds(60),
        )
        check_output(example.id, script.name, pattern, done.returncode, done.stdout, done.stderr)
        return
    for command, pattern in zip(commands, example.values("expect"), strict=True):
        done = subprocess.run(
            [shutil.which("bash") or "/bin/bash", "-c", command],
            check=False,
            capture_output=True,
            text=True,
            env=workspace.env,
            cwd=workspace.path,
            timeout=seconds(60),
        )
        check_output(example.id, command, pattern, done.returncode, done.stdout, done.stderr)


# --- the examples of `kisfeed COMMAND --help` ------------------------------------------------------
# The README says `kisfeed COMMAND --help` lists examples: those are documented commands too. They
# run here after the README's examples, in the same workspace (./kisfeed-data exists by then). A
# help text has no room for markers, so these rules stand in for them: each example exits 0 with
# some output and no traceback; `--seconds N` runs as `--seconds 2`, and `watch`, `demo` and `record`
# without `--seconds` (which run until Ctrl-C) get `--seconds 2`; a serving `kisfeed sim` runs until
# its first line and is then interrupted (exit 0 or 130); `fo_stk_code_mts.mst` (for `--master`)
# is written first by `kisfeed sim --write-master`; the dates of `--from D --to D` become the
# latest trading date recorded in ./kisfeed-data (an export of a range with no rows exits 1).
UNTIL_CTRL_C = {"watch", "demo", "record"}
SHORT = "2"


def help_examples() -> list[tuple[str, str]]:
    """(command, example) for every example in the commands' help texts."""
    import typer.main

    from kisfeed.cli import app

    group = typer.main.get_command(app)
    found = []
    for name, command in sorted(group.commands.items()):  # type: ignore[attr-defined]
        match = re.search(r"Examples?:(.*?)(?:\n\s*\n|\Z)", command.help or "", re.DOTALL)
        if not match:
            continue
        items: list[str] = []
        for part in re.split(r"\s+·\s*|\n", match.group(1)):
            part = part.strip()
            if part.startswith("kisfeed ") or not items:
                items.append(part)
            elif part:
                items[-1] += " " + part  # a long example wrapped onto the next line
        found += [(name, item) for item in items if item]
    return found


HELP_EXAMPLES = help_examples()


def test_the_help_examples_are_commands():
    assert {name for name, _ in HELP_EXAMPLES} >= {"decode", "record", "query", "codes", "watch"}
    assert all(example.startswith(f"kisfeed {name}") for name, example in HELP_EXAMPLES), HELP_EXAMPLES
    # the run rules
    assert as_run("kisfeed watch --underlying 삼성전자")[1:] == [
        "watch",
        "--underlying",
        "삼성전자",
        "--seconds",
        SHORT,
    ]
    assert as_run("kisfeed record A11612 --seconds 3600")[1:] == ["record", "A11612", "--seconds", SHORT]
    assert as_run("kisfeed decode 'a b'")[1:] == ["decode", "a b"]
    assert serves_until_interrupted(as_run("kisfeed sim --port 0 --always-open"))
    assert not serves_until_interrupted(as_run("kisfeed sim --list-instruments"))


def as_run(example: str, recorded: list[str] | None = None) -> list[str]:
    example = re.sub(r"--seconds(\s+|=)\S+", f"--seconds {SHORT}", example)
    if recorded:
        example = re.sub(
            r"(--(?:from|to)(?:\s+|=))\d{4}-\d{2}-\d{2}", lambda m: m.group(1) + recorded[-1], example
        )
    argv = shlex.split(example)
    if argv[1] in UNTIL_CTRL_C and "--seconds" not in argv:
        argv += ["--seconds", SHORT]
    return [str(BIN / "kisfeed"), *argv[1:]]


def serves_until_interrupted(argv: list[str]) -> bool:
    return argv[1] == "sim" and not {"--list-instruments", "--write-master", "--help"} & set(argv)


@pytest.mark.parametrize("name, example", HELP_EXAMPLES, ids=[example for _, example in HELP_EXAMPLES])
def test_help_example(name: str, example: str, workspace: Workspace) -> None:
    master = workspace.path / "fo_stk_code_mts.mst"
    if not master.exists():
        subprocess.run(
            [str(BIN / "kisfeed"), "sim", "--write-master", str(master)],
            check=True,
            capture_output=True,
            env=workspace.env,
            cwd=workspace.path,
            timeout=seconds(60),
        )
    argv = as_run(
        example, sorted(p.name.removeprefix("date=") for p in workspace.path.glob("kisfeed-data/*/date=*"))
    )
    if serves_until_interrupted(argv):
        process = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=workspace.env,
            cwd=workspace.path,
        )
        try:
            first = lines_of(process.stdout).get(timeout=seconds(30))  # type: ignore[arg-type]
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(seconds(20))
        assert first is not None and process.returncode in (0, 130), (
            example,
            process.returncode,
            process.stderr.read(),
        )  # type: ignore[union-attr]
        return
    done = subprocess.run(
        argv,
        check=False,
        capture_output=True,
        text=True,
        env=workspace.env,
        cwd=workspace.path,
        timeout=seconds(60),
    )
    check_output(f"kisfeed {name} --help", example, r"\S", done.returncode, done.stdout, done.stderr)
