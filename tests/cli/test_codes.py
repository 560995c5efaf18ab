"""``kisfeed codes`` over KIS's two masters, the stock one and the index one (reference 5.4): an
index contract is found by any of its underlying's names and listed with the index TRs; an
unknown underlying is one line listing what exists; a master with garbage lines counts them."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from kisfeed.cli import app

from ..conftest import without_kis_settings
from ..test_instruments import INDEX_MASTER
from .test_commands import MASTER

runner = CliRunner()


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch, tmp_path):
    without_kis_settings(monkeypatch, tmp_path)
    monkeypatch.setenv("KISFEED_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def masters(tmp_path) -> list[str]:
    stock, index = tmp_path / "fo_stk_code_mts.mst", tmp_path / "fo_idx_code_mts.mst"
    stock.write_bytes(MASTER.encode("cp949"))
    index.write_bytes(INDEX_MASTER.encode("cp949"))
    return ["--master", str(stock), "--master", str(index)]


def _rows(output: str) -> dict[str, list[str]]:
    return {line.split()[0]: line.split() for line in output.splitlines() if line[:1] in "ABC"}


def test_codes_lists_index_contracts_with_the_index_trs(masters):
    result = runner.invoke(app, ["codes", *masters, "KOSPI200"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    rows = _rows(result.output)
    assert rows["A01612"][:2] == ["A01612", "H0IFCNT0"] and "H0IFASP0" in rows["A01612"]
    assert rows["B01612352"][1] == "H0IOCNT0" and "352.5" in rows["B01612352"]  # a half strike
    assert not any(code.startswith("A11") for code in rows)  # 삼성전자 is not KOSPI200
    # the two files' 4 garbage lines: counted, never dropped silently
    assert "(4 unreadable lines skipped)" in result.output and "7 instruments" in result.output


@pytest.mark.parametrize("name", ["코스피200", "kospi200", "K200", "2001"])
def test_underlying_finds_an_index_by_any_of_its_names(masters, name):
    result = runner.invoke(app, ["codes", *masters, "--underlying", name, "--type", "put"])
    assert result.exit_code == 0, result.output
    assert set(_rows(result.output)) == {"C01612350", "CAFBZW970"}


def test_an_unknown_underlying_is_one_line_listing_what_exists(masters):
    result = runner.invoke(app, ["codes", *masters, "--underlying", "NIKKEI225"])
    assert result.exit_code == 2
    (line,) = [line for line in result.output.splitlines() if line.strip()]
    assert line.startswith("error: 'NIKKEI225' is not an underlying")
    assert "KOSPI200" in line and "삼성전자" in line and "SK하이닉스" in line


def test_the_simulator_s_master_finds_its_kospi200_products(tmp_path):
    result = runner.invoke(app, ["codes", "--offline", "코스피200", "--type", "future"])
    assert result.exit_code == 0, result.output
    rows = [line.split() for line in result.output.splitlines() if line.startswith("A01")]
    assert {row[1] for row in rows} == {"H0IFCNT0", "H0MFCNT0"}  # by day, and by night


def test_a_night_master_lists_its_contracts_on_the_night_trs(masters, tmp_path):
    from ..test_instruments import _night_files

    night = tmp_path / "night"
    night.mkdir()
    paths = []
    for name, data in _night_files(night).items():
        (tmp_path / name).write_bytes(data)
        paths += ["--master", str(tmp_path / name)]
    result = runner.invoke(app, ["codes", *masters, *paths, "A01612"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    trs = sorted(line.split()[1] for line in result.output.splitlines() if line.startswith("A01612"))
    assert trs == ["H0IFCNT0", "H0MFCNT0"]  # one row per master: by day and by night


def test_a_master_of_garbage_alone_is_a_one_line_error(tmp_path: Path):
    path = tmp_path / "fo_idx_code_mts.mst"
    path.write_bytes(b"\x00\x01garbage\n|||\nnot|a|master\n")
    result = runner.invoke(app, ["codes", "--master", str(path)])
    assert result.exit_code == 2 and "holds no master lines" in result.output
