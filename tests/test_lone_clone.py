"""The suite runs from a lone clone: no test and no module reads a path beside the repository.

The project was started in a workspace with a ``shared/`` folder (seed specs, protocol reference)
beside the checkout; CI has it, users do not. What the tests need from it is copied into
``tests/data`` (the spec pages) and ``docs/`` (the protocol reference). This test keeps it so: a
string literal in tests/ or src/ that builds a path through a ``shared`` folder fails it.
"""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

REPO = Path(__file__).parents[1]
# "shared" as a whole path component: "../shared/spec", "shared", "shared/docs/x.md", "..\\shared";
# not the word in prose ("shared by watch and demo").
SHARED_PATH = re.compile(r"(^|[/\\])shared([/\\]|$)")
QUOTES = re.compile(r"""^[rbuf]*('''|\"\"\"|'|")(.*)\1$""", re.DOTALL | re.IGNORECASE)
# Python 3.12 splits an f-string into tokens; its text parts are FSTRING_MIDDLE.
FSTRING_MIDDLE = getattr(tokenize, "FSTRING_MIDDLE", None)


def shared_paths(source: str) -> list[tuple[int, str]]:
    """(line, literal) of every string literal in ``source`` naming a ``shared`` folder."""
    found = []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.STRING:
            text = QUOTES.sub(r"\2", token.string)
        elif token.type == FSTRING_MIDDLE:
            text = token.string
        else:
            continue
        if SHARED_PATH.search(text):
            found.append((token.start[0], token.string))
    return found


def test_the_detector_finds_each_way_of_naming_the_folder():
    built = 'SPEC = Path(__file__).parents[3] / "shared" / "spec"\n'
    relative = "text = open('../shared/spec/page.txt').read()\n"
    inside = 'DOC = "shared/docs/kis-realtime-protocol.md"  # a comment naming ../shared is fine\n'
    formatted = 'path = f"{root}/shared/spec"\n'
    prose = '"""Running a feed, shared by watch and demo."""\n# ../shared in a comment\n'
    for source in (built, relative, inside, formatted):
        assert [line for line, _ in shared_paths(source)] == [1], source
    assert shared_paths(prose) == []


def test_no_test_or_module_reads_the_shared_folder():
    # This file is left out: its detector's examples name the folder on purpose.
    offenders = [
        f"{path.relative_to(REPO)}:{line}: {literal}"
        for tree in ("tests", "src")
        for path in sorted((REPO / tree).rglob("*.py"))
        if path != Path(__file__)
        for line, literal in shared_paths(path.read_text(encoding="utf-8"))
    ]
    assert offenders == [], "copy what is needed into the repository instead:\n" + "\n".join(offenders)
