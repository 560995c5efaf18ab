"""The simulated universe's codes, names and master file (sim.instruments, issue 14 gap 10)."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime

from typer.testing import CliRunner

from kisfeed.cli import app
from kisfeed.schema.master import parse_master
from kisfeed.schema.records import KST
from kisfeed.sim import Market, build_universe
from kisfeed.sim.instruments import master_entries, master_lines, spreads, write_master

from ..conftest import without_kis_settings
from .helpers import START

# Real names (KRX Open API ISU_NM 2025-07-21, reference 5.4, LS t8401 fixture): name fitted to 10
# cp949 bytes, the option's strike right-aligned in 10 characters right before "(  10)".
FUTURES_NAME = re.compile(r"^\S+ +F \d{6} \(  10\)$")
OPTION_NAME = re.compile(r"^\S+ +[CP] \d{6} {1,}[\d,]{6,}\(  10\)$")
SPREAD_NAME = re.compile(r"^\S+ +SP \d{4}-\d{4} \(  10\)$")


def samsung_calls(expiry_month: int) -> dict[int, str]:
    """Strike -> code of the 삼성전자 calls of the universe at START in one expiry month."""
    return {
        i.strike: i.code
        for i in build_universe(START)
        if i.kind == "call" and i.underlying.code == "005930" and i.month == expiry_month and i.strike
    }


def test_strike_codes_do_not_encode_the_strike():
    calls = samsung_calls(1)
    # The old scheme (strike in thousands) would give B11612070 and B11612072: neither is listed.
    assert calls[70_000][-3:] != "070" and calls[72_000][-3:] != "072"
    assert all(code[-3:] != f"{strike // 1000 % 1000:03d}" for strike, code in calls.items())
    # Listing numbers: neither the same from month to month nor in the strikes' order.
    assert (
        calls[70_000][-3:] != samsung_calls(2)[70_000][-3:]
        or calls[72_000][-3:] != samsung_calls(2)[72_000][-3:]
    )
    numbers = [int(calls[k][-3:]) for k in sorted(calls)]
    assert numbers != sorted(numbers)


def test_names_are_written_as_kis_and_krx_write_them():
    universe = build_universe(START)
    names = {i.kind: i.name for i in universe if i.underlying.code == "005930" and i.month == 1}
    assert names["future"] == "삼성전자   F 202612 (  10)"  # as the real line of reference 5.4
    assert names["call"].startswith("삼성전자   C 202612 ") and names["call"].endswith("(  10)")
    seventy = next(i for i in universe if i.kind == "put" and i.strike == 70_000 and i.month == 1)
    assert seventy.name == "삼성전자   P 202612    70,000(  10)"  # no space before the parenthesis
    for i in universe:
        assert (FUTURES_NAME if i.kind == "future" else OPTION_NAME).match(i.name), i.name
        head = i.name.split(" F " if i.kind == "future" else f" {i.call_put} ")[0]
        assert len(head.encode("cp949")) == 10, i.name  # "에코프로비엠" is cut to "에코프로비"
    ecopro = next(i for i in universe if i.underlying.code == "247540" and i.kind == "future")
    assert ecopro.name.startswith("에코프로비 F ")


def test_spreads_are_in_the_master_with_krx_codes_and_names_but_not_in_the_market():
    universe = build_universe(START)
    listed = spreads(universe)
    samsung = [s for s in listed if s.near.underlying.code == "005930"]
    assert [s.code for s in samsung][:2] == ["D116C71S", "D116C72S"]  # LS form: D116768S
    assert samsung[0].name == "삼성전자   SP 2612-2701 (  10)"
    assert len(samsung) == 8 and all(s.near.month == 1 for s in samsung)
    entries, bad = parse_master("\n".join(master_lines(universe)))
    assert not bad
    rows = [e for e in entries if e.kind == "spread"]
    assert len(rows) == len(listed) and {e.info_type for e in rows} == {"2", "4"}  # 247540 is KOSDAQ
    assert all(SPREAD_NAME.match(e.name) and e.tr_id is None and e.strike == 0 for e in rows)
    assert rows[0].expiry_month == "202612"  # the near leg's
    market = Market(universe, seed=1, start=START, always_open=True)
    assert not any(c.instrument.code.startswith("D") for c in market.contracts)


def test_the_written_master_reads_back_through_kisfeed_codes(tmp_path, monkeypatch):
    without_kis_settings(monkeypatch, tmp_path)
    universe = build_universe(datetime(2026, 12, 1, 9, 0, tzinfo=KST))
    path = write_master(tmp_path / "fo_stk_code_mts.mst", universe)
    entries, bad = parse_master(path.read_bytes().decode("cp949"))
    assert not bad and entries == [replace(e, atm=e.atm.strip()) for e in master_entries(universe)]
    for line in path.read_bytes().decode("cp949").splitlines():
        assert len(line.split("|")[5]) == 8, line  # acpr[8], strikes of 100,000 and more too
    big = next(e for e in entries if e.strike >= 100_000)
    assert big.strike == float(next(i.strike for i in universe if i.code == big.code))
    runner = CliRunner()
    result = runner.invoke(app, ["codes", "--master", str(path), "삼성전자", "--type", "spread"])
    assert result.exit_code == 0, result.output
    assert "D116C71S" in result.output and "8 instruments" in result.output
    put = next(i for i in universe if i.kind == "put" and i.strike == 70_000 and i.month == 1)
    result = runner.invoke(app, ["codes", "--master", str(path), "삼성전자", "--strike", "70000", "--type", "put",
                                 "--expiry", "202612"])  # fmt: skip
    assert put.code in result.output and "1 instrument" in result.output, result.output
