"""A user's script passes ``mypy --strict`` and sees the precise types of the public API (issue 12)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "tests" / "typing" / "user_script.py"

# Line of each reveal_type in user_script.py → the type mypy must reveal there.
EXPECTED = {
    10: "kisfeed.schema.base.Record",  # kisfeed.decode(frame) yields records
    12: "int | None",  # FuturesTrade.price, after isinstance narrowing
    14: "int",  # ... and after "is not None"
    17: "kisfeed.client.feed.Feed",
    20: "kisfeed.schema.base.Record",  # async for over the feed: not Any
    21: "dict[str, Any]",
    22: "datetime.datetime | None",
    24: "float | None",  # OptionTrade.price: premiums carry decimals
    26: "kisfeed.client.feed.FeedStats",
    27: "polars.dataframe.frame.DataFrame",  # store.query(as_="polars")
    30: "tuple[tuple[float, int, int, fallback=kisfeed.schema.base.Level], ...]",  # a book's levels, in order (issue 15)
    31: "int",
    33: "int | None",  # FuturesBook.ask10: KRW, whatever its wire position
    35: "int | None",  # OptionExpected.quantity: None when the frame has 7 fields
}


def run_mypy(tmp_path: Path, *files: Path) -> str:
    env = {**os.environ, "MYPYPATH": str(ROOT / "src")}
    # cwd outside the repository: no pyproject settings, as for a user. Imports are followed
    # silently: kisfeed is checked as a dependency, as it is once installed.
    args = [
        "--strict",
        "--follow-imports=silent",
        "--cache-dir",
        str(tmp_path / "cache"),
        "--no-color-output",
    ]
    result = subprocess.run(
        [sys.executable, "-m", "mypy", *args, *map(str, files)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    return result.stdout


def test_the_user_script_passes_mypy_strict_with_the_precise_types(tmp_path):
    typo = tmp_path / "typo.py"
    typo.write_text("import kisfeed\n\nkisfeed.conect()\n")
    out = run_mypy(tmp_path, SCRIPT, typo)
    revealed = {
        int(m[1]): m[2] for m in re.finditer(r"user_script\.py:(\d+): note: Revealed type is \"(.*)\"", out)
    }
    connect = revealed.pop(15)
    assert connect.startswith("def (app_key: str | None =, app_secret: str | None =, *,"), connect
    assert connect.endswith("-> kisfeed.client.feed.Feed"), connect
    assert revealed == EXPECTED, out
    assert not re.search(r"user_script\.py:\d+: error", out), out
    # A misspelt name is an error, not an attribute of type object from the lazy __getattr__.
    assert re.search(r'typo\.py:3: error: Module has no attribute "conect"', out), out
