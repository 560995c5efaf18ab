"""docs/recipes.md cannot rot: every ``sql`` block in it runs, as written, on a recording made
through the real journal and rebuild (index futures and options frames built from the layouts,
night futures trades across midnight) beside a master file written as KIS writes it, and gives
the answer worked out by hand here."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kisfeed.cli.app import app
from kisfeed.schema import KST
from kisfeed.schema.master import MasterEntry, format_master_line, parse_master
from kisfeed.store import query, rebuild

from ..samples import frame, texts
from .conftest import NS0, write_journal

DOC = Path(__file__).parents[2] / "docs" / "recipes.md"
IF, IO, MF = "H0IFCNT0", "H0IOCNT0", "H0MFCNT0"
NIGHT_NS = int(datetime(2026, 11, 20, 23, 59, 59, tzinfo=KST).timestamp()) * 1_000_000_000


def blocks() -> list[str]:
    return re.findall(r"```sql\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


def futures(code: str, at: str, price: str, basis: str, theoretical: str, volume: int, last: int) -> str:
    theoretical_basis = f"{float(theoretical) - float(price) + float(basis):.2f}"  # theo - index
    return frame(
        IF,
        texts(
            IF,
            code=code,
            time=at,
            price=price,
            market_basis=basis,
            theoretical_price=theoretical,
            theoretical_basis=theoretical_basis,
            volume=str(volume),
            last_volume=str(last),
        ),
    )


def option(code: str, at: str, price: str, iv: str, volume: int) -> str:
    return frame(IO, texts(IO, code=code, time=at, price=price, implied_volatility=iv, volume=str(volume)))


def entry(info_type: str, code: str, name: str, strike: float) -> MasterEntry:
    return MasterEntry(
        info_type, code, f"KR4{code}0", name, "", strike, "1", "KOSPI200", "코스피200", "index"
    )


MASTER = [
    entry("1", "A01612", "코스피200 F 202612", 0),
    entry("1", "A01703", "코스피200 F 202703", 0),
    entry("B", "A05612", "미니코스피200 F 202612", 0),
    entry("5", "B01612350", "코스피200 C 202612 350.0", 350),
    entry("5", "B01612352", "코스피200 C 202612 352.5", 352.5),
    entry("5", "B01612355", "코스피200 C 202612 355.0", 355),
    entry("6", "C01612350", "코스피200 P 202612 350.0", 350),
    entry("6", "C01612355", "코스피200 P 202612 355.0", 355),
    entry("5", "B01701355", "코스피200 C 202701 355.0", 355),
    entry("D", "B05612355", "미니코스피200 C 202612 355.0", 355),
]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """2026-11-20: KOSPI200 Dec futures A01612 at 09:00:10, 09:00:40, 09:01:20; the March contract
    and the mini (which trades more, and is not KOSPI200's own) beside it; a Dec option chain with
    a series trading twice before 10:30 and once after; a January and a mini option. Night: A01612
    on H0MFCNT0 at 23:59:59.5 and 00:59:59.5. The master file in the recording's folder."""
    root = tmp_path_factory.mktemp("recipes")
    write_journal(
        root / "data",
        [
            futures("A01612", "090010", "355.00", "1.50", "355.20", 10, 10),
            futures("A01703", "090020", "357.00", "3.50", "357.30", 2, 2),
            futures("A05612", "090030", "355.05", "1.55", "355.25", 500, 500),
            futures("A01612", "090040", "355.10", "1.55", "355.25", 15, 5),
            futures("A01612", "090120", "355.30", "1.60", "355.40", 18, 3),
            option("B01612350", "100000", "8.00", "18.00", 5),
            option("B01612350", "102000", "7.50", "17.50", 9),
            option("B01612352", "101000", "6.40", "17.00", 3),
            option("B01612355", "102959", "5.00", "16.50", 4),
            option("B01612355", "103100", "9.99", "99.00", 6),  # after the smile's time
            option("C01612350", "100500", "4.00", "19.00", 2),
            option("C01612355", "101500", "6.10", "18.50", 1),
            option("B01701355", "100000", "9.00", "20.00", 7),  # another expiry
            option("B05612355", "100000", "5.10", "30.00", 8),  # the mini's chain
        ],
        start_ns=NS0,
    )
    write_journal(
        root / "data",
        [
            frame(MF, texts(MF, code="A01612", time="235959", price="356.00", last_volume="4", volume="4")),
            frame(MF, texts(MF, code="A01612", time="005959", price="356.40", last_volume="6", volume="10")),
        ],
        start_ns=NIGHT_NS + 500_000_000,
        step_ns=3_600 * 1_000_000_000,
        name="night",
    )
    rebuild(root / "data")
    text = "\n".join(format_master_line(e) for e in MASTER) + "\n"
    (root / "fo_idx_code_mts.mst").write_bytes(text.encode("cp949"))  # as KIS ships it
    entries, bad = parse_master(text, "index")
    assert not bad and entries[3].expiry_month == "202612"  # names the project's own parser reads
    return root


@pytest.fixture
def run(recorded, monkeypatch):
    monkeypatch.chdir(recorded)  # the recipes name the master file by its bare name

    def run(sql: str) -> list[dict]:
        return query(sql, root=recorded / "data").to_pylist()

    return run


def test_the_doc_has_the_recipes_this_file_checks():
    assert len(blocks()) == 4
    assert all(block.lstrip().startswith("SET VARIABLE") for block in blocks())


SMILE = [(350.0, 17.5, 19.0, 7.5, 4.0), (352.5, 17.0, None, 6.4, None), (355.0, 16.5, 18.5, 5.0, 6.1)]


def test_the_smile_from_the_master(run):
    rows = run(blocks()[0])
    got = [(r["strike"], r["call_iv"], r["put_iv"], r["call_premium"], r["put_premium"]) for r in rows]
    assert got == SMILE
    assert rows[2]["call_traded_at"] == datetime(2026, 11, 20, 10, 29, 59, tzinfo=KST)
    assert rows[1]["put_traded_at"] is None


def test_the_smile_from_the_codes_agrees_with_the_master(run):
    rows = run(blocks()[1])
    assert [(r["strike"], r["call_iv"], r["put_iv"]) for r in rows] == [s[:3] for s in SMILE]


def test_the_futures_basis_over_a_day(run):
    rows = run(blocks()[2])
    assert [r["minute"] for r in rows] == [
        datetime(2026, 11, 20, 9, 0, tzinfo=KST),
        datetime(2026, 11, 20, 9, 1, tzinfo=KST),
    ]
    assert {r["code"] for r in rows} == {"A01612"}  # the front month: not the mini, not March
    got = [
        (
            r["futures"],
            r["kospi200"],
            r["market_basis"],
            r["theoretical"],
            r["theoretical_basis"],
            r["vs_theoretical"],
        )
        for r in rows
    ]
    want = [(355.10, 353.55, 1.55, 355.25, 1.70, -0.15), (355.30, 353.70, 1.60, 355.40, 1.70, -0.10)]
    for g, w in zip(got, want, strict=True):
        assert g == pytest.approx(w)
    assert [r["contracts"] for r in rows] == [15, 3]


def test_one_contract_by_day_and_by_night(run):
    rows = run(blocks()[3])
    assert [(r["tr_id"], r["trades"], r["contracts"], r["low"], r["high"]) for r in rows] == [
        (IF, 3, 18, 355.0, 355.3),
        (MF, 2, 10, 356.0, 356.4),  # across midnight: rows of two dates
    ]


def test_a_recipe_runs_as_the_doc_says_through_kisfeed_query(recorded, monkeypatch):
    monkeypatch.chdir(recorded)
    result = CliRunner().invoke(app, ["query", "--data", "data", "--format", "json", blocks()[0]])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["strike"], r["call_iv"], r["put_iv"]) for r in rows] == [s[:3] for s in SMILE]
