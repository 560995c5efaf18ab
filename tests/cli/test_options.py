"""Every command's options, found by walking the typer app (so a new command or option is
covered without a new test): numeric ranges, help with an example, and --version."""

from __future__ import annotations

import inspect
import re
import shlex

import pytest
from typer.testing import CliRunner

from kisfeed import __version__
from kisfeed.cli import app
from kisfeed.cli.common import NUMBER_RULES, numeric_options

runner = CliRunner()


def _commands() -> dict[str, object]:
    """Every command by its words: ``record``, and a sub-app's as ``fleet feed``."""
    found = {info.name or info.callback.__name__: info.callback for info in app.registered_commands}
    for group in app.registered_groups:
        for info in group.typer_instance.registered_commands:
            found[f"{group.name} {info.name or info.callback.__name__}"] = info.callback
    return found


NUMERIC = [
    (name, flag, bound, kind)
    for name, callback in _commands().items()
    for flag, bound, kind in numeric_options(inspect.unwrap(callback)).values()
]


# what each command needs before it looks at its options (its required arguments)
REQUIRED = {
    "record": ["A11612"],
    "query": ["SELECT 1"],
    "replay": ["no-such-journal"],
    "export": ["--from", "2026-11-20", "--to", "2026-11-20", "--out", "out"],
    "fleet add": ["A11612"],
    "fleet remove": ["A11612"],
}


def test_the_walk_finds_the_numeric_options():
    flags = {(name, flag) for name, flag, _, _ in NUMERIC}
    assert {
        ("record", "--seconds"),
        ("record", "--fsync-window"),
        ("sim", "--port"),
        ("replay", "--speed"),
        ("query", "--limit"),
        ("demo", "--seconds"),
    } <= flags


@pytest.mark.parametrize("command, flag, bound, kind", NUMERIC, ids=[f"{c} {f}" for c, f, _, _ in NUMERIC])
def test_every_numeric_option_has_a_rule_and_refuses_a_value_out_of_range(command, flag, bound, kind):
    assert flag in NUMBER_RULES, f"{command} {flag}: add its range to NUMBER_RULES in cli/common.py"
    for bad in [bound.invalid()] + (["nan"] if kind is float else []):  # typer refuses "nan" for an int
        result = runner.invoke(app, [*command.split(), *REQUIRED.get(command, []), flag, bad])
        assert result.exit_code == 2, (command, flag, bad, result.output)
        errors = [line for line in result.output.splitlines() if line.startswith("error:")]
        assert errors == [f"error: {flag} must be {bound.describe()}, not {bad}"], result.output
        assert "Traceback" not in result.output


def test_record_seconds_minus_one_is_refused_before_anything_runs(tmp_path):
    result = runner.invoke(app, ["record", "A11612", "--data", str(tmp_path / "d"), "--seconds", "-1"])
    assert result.exit_code == 2 and "error: --seconds must be greater than 0, not -1" in result.output
    assert not (tmp_path / "d").exists()  # refused before the recorder made anything


def test_a_port_above_65535_is_refused():
    result = runner.invoke(app, ["sim", "--port", "70000"])
    assert result.exit_code == 2 and "--port must be from 0 to 65535, not 70000" in result.output


def test_version_option_and_command():
    for args in (["--version"], ["version"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0 and result.output.strip() == __version__


@pytest.mark.parametrize("name", list(_commands()))
def test_every_command_help_has_an_example_whose_options_exist(name):
    result = runner.invoke(app, [*name.split(), "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    at = next((n for n, line in enumerate(lines) if re.match(r"\s*Examples?:", line)), None)
    assert at is not None, f"kisfeed {name} --help shows no 'Example:' line:\n{result.output}"
    examples = [lines[at].split(":", 1)[1].strip()] + [
        line.strip() for line in lines[at + 1 :] if line.strip().startswith("kisfeed ")
    ]
    examples = [e.split("   ")[0] for e in examples if e]  # text after three spaces is a comment
    assert examples
    for example in examples:
        words = shlex.split(example)
        assert words[: 1 + len(name.split())] == ["kisfeed", *name.split()], example
        for word in words[2:]:
            if word.startswith("--"):
                assert word.split("=")[0] in result.output, f"{example}: {word} is not an option of {name}"
    assert "<bool>" not in result.output  # a flag takes no value
    assert "(s)" not in result.output


def test_the_command_list_gives_each_command_one_whole_line():
    result = runner.invoke(app, ["--help"], env={"COLUMNS": "80"})
    assert result.exit_code == 0
    listing = result.output.split("Commands:")[1].splitlines()[1:]
    names = [
        line.split()[0] for line in listing if line.startswith("  ") and not line.startswith("  Example:")
    ]
    groups = [group.name for group in app.registered_groups]  # listed after the commands
    assert names == [n for n in _commands() if " " not in n] + groups  # no line continues the one above
    assert "..." not in result.output.split("Commands:")[1]  # no summary cut short
    assert "<bool>" not in result.output and "--version" in result.output


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (["record", "A11612", "--seconds", "abc"], "error: Invalid value for '--seconds'"),
        (["record", "A11612", "--from"], "error: Option '--from' requires an argument."),
        (["no-such-command"], "error: No such command 'no-such-command'."),
    ],
)
def test_clicks_own_refusals_are_one_line_and_exit_2(tmp_path, argv, line):
    # through the console script's main(), as a user runs it (CliRunner bypasses main)
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "kisfeed", *argv], capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(line) and len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_bare_kisfeed_prints_the_help_and_exits_2(tmp_path):
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "kisfeed"], capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    assert done.returncode == 2 and done.stdout.startswith("Usage: kisfeed") and "error" not in done.stderr
