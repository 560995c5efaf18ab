"""``kisfeed sim``: instrument list, master file, argument errors, and a real serving run."""

from __future__ import annotations

import asyncio
import json
import re
from collections import Counter
from unittest.mock import ANY

from typer.testing import CliRunner

from kisfeed.cli import app
from kisfeed.schema.master import parse_master

from .helpers import recv, request, sim_process

runner = CliRunner()
START = ["--start", "2026-11-20T09:00"]


def test_list_instruments_prints_one_code_per_line_with_tr_and_underlying():
    result = runner.invoke(app, ["sim", "--list-instruments", *START])
    assert result.exit_code == 0, result.output
    header, *lines = result.output.splitlines()
    assert header.split("\t") == [
        "code",
        "tr_id",
        "underlying_code",
        "underlying_name",
        "kind",
        "expiry",
        "strike",
        "tr_ids",
    ]
    rows = [line.split("\t") for line in lines]
    index = [row for row in rows if row[1].startswith("H0I")]  # the KOSPI200 products, after the stocks'
    night = [row for row in rows if row[1] in ("H0MFCNT0", "H0EUCNT0")]  # their night contracts, last
    stocks = rows[: len(rows) - len(index) - len(night)]
    kinds = Counter(row[4] for row in stocks)
    assert kinds["future"] == 90 and kinds["call"] == kinds["put"] > 10 * 9 * 9  # sim.listing: 9 months
    assert len(stocks) == sum(kinds.values()) and "spread" not in kinds  # spreads do not trade
    assert stocks[0][:4] == ["A11612", "H0ZFCNT0", "005930", "삼성전자"]
    for code, tr_id, underlying, name, kind, _expiry, strike, tr_ids in stocks:
        assert tr_id == ("H0ZFCNT0" if kind == "future" else "H0ZOCNT0")
        product = "F" if kind == "future" else "O"  # trades, book, expected (reference 4.5)
        assert tr_ids == f"H0Z{product}CNT0,H0Z{product}ASP0,H0Z{product}ANC0"
        assert re.fullmatch(r"\d{6}", underlying) and name
        assert len(code) == (6 if kind == "future" else 9) and (strike == "") == (kind == "future")
    assert index and index == rows[len(stocks) : len(stocks) + len(index)]
    assert night == rows[len(stocks) + len(index) :]  # sim/night.py: same codes, the night TRs
    assert [row[0] for row in night] == [row[0] for row in index]
    for row in night:
        night_trs = "H0MFCNT0,H0MFASP0" if row[4] == "future" else "H0EUCNT0,H0EUASP0,H0EUANC0"
        assert row[2] == "KOSPI200" and row[7] == night_trs
    assert Counter(row[4] for row in index)["future"] == 7  # KRX: 7 quarterly months
    assert {row[6] for row in index} >= {"", "552.5", "560"}  # strikes in points, as the master's
    for _code, tr_id, _underlying, _name, kind, _expiry, _strike, tr_ids in index:
        product = "F" if kind == "future" else "O"  # index products: trades and book, no expected
        assert tr_id == f"H0I{product}CNT0" and tr_ids == f"H0I{product}CNT0,H0I{product}ASP0"


def test_write_master_writes_the_kis_master_format(tmp_path):
    path = tmp_path / "fo_stk_code_mts.mst"
    result = runner.invoke(app, ["sim", "--write-master", str(path), *START])
    assert result.exit_code == 0, result.output
    lines = path.read_bytes().decode("cp949").splitlines()
    assert Counter(line[0] for line in lines) == {"1": 81, "2": 72, "3": 9, "4": 8, "5": ANY, "6": ANY}
    assert lines[0] == "1|A11612|KR4A116C0003|삼성전자   F 202612 (  10)| |00000.00|1|005930|삼성전자"
    for line in lines:
        info, code, standard, name, atm, strike, _month, _underlying, _underlying_name = line.split("|")
        assert standard.startswith("KR4") and len(standard) == 12
        assert re.search(r" ((F|C|P) 20\d{4}|SP \d{4}-\d{4}) ", name) and name.endswith("(  10)")
        if info in ("5", "6"):
            assert atm in ("1", "2", "3") and float(strike) > 0 and len(code) == 9 and len(strike) == 8
        elif info in ("2", "4"):
            assert atm == " " and strike == "00000.00" and len(code) == 8 and code.startswith("D")
        else:
            assert atm == " " and strike == "00000.00" and len(code) == 6
    # the KOSPI200 products: their own master beside it (fo_idx_code_mts.mst, reference 5.4)
    entries, bad = parse_master((tmp_path / "fo_idx_code_mts.mst").read_bytes().decode("cp949"), "index")
    assert bad == [] and {e.info_type for e in entries} == {"1", "5", "6", "L", "M", "N", "O"}
    assert entries[0].code == "A01612" and entries[0].name == "F 202612"
    assert f"wrote {len(entries)} instruments to" in result.output


def test_bad_arguments_exit_with_a_usage_error():
    for args in (["--fault", "explode@1"], ["--fault", "drop"], ["--app-key", "no-secret"],
                 ["--client-ping", "sometimes"], ["--speed", "0"], ["--start", "yesterday"],
                 ["--unknown-codes", "ignore"], ["--profile", "empty"], ["--volatility-unit", "points"],
                 ["--greek-decimals", "-1"], ["--activity", "0"], ["--book-interval", "0"],
                 ["--expected-codes", "311"], ["--expected-codes", "311,"]):  # fmt: skip
        result = runner.invoke(app, ["sim", *args])
        assert result.exit_code == 2, (args, result.output)


def test_the_command_serves_prints_its_urls_and_the_demo_pair_and_stops_on_ctrl_c(tmp_path):
    truth = tmp_path / "truth.jsonl"
    with sim_process("--speed", "inf", "--always-open", *START, "--ground-truth", str(truth)) as sim:
        assert "demo-app-key" in sim.banner and "demo-app-secret" in sim.banner

        async def use() -> list[str]:
            import websockets

            key = await sim.approval_key()
            async with websockets.connect(sim.ws_url, ping_interval=None) as ws:
                await ws.send(request(key, "H0ZFCNT0", "A11612"))
                frames = []
                while len(frames) < 5:
                    message = await recv(ws)
                    if message[0] == "0":
                        frames.append(message)
                return frames

        frames = asyncio.run(use())
    process = sim.process
    assert process.returncode == 130  # Ctrl-C: interrupted (README, exit codes)
    assert "stopped (interrupted)" in process.stdout.read()
    recorded = [json.loads(line) for line in truth.read_text().splitlines()]
    sent = ["^".join(r["fields"]) for r in recorded if r["tr_id"] == "H0ZFCNT0"]
    received = "^".join(frame.split("|", 3)[3] for frame in frames)
    assert "^".join(sent).startswith(received)


def test_the_wire_settings_reach_the_simulator(monkeypatch):
    seen = []

    class Recording:  # stands in for Simulator: --list-instruments reads .tape and .instruments
        def __init__(self, config) -> None:
            seen.append(config)
            self.tape, self.instruments = None, []

    monkeypatch.setattr("kisfeed.cli.sim.Simulator", Recording)
    args = ["--unknown-codes", "refuse", "--profile", "filled", "--volatility-unit", "percent"]
    args += ["--greek-decimals", "4", "--activity", "30", "--book-interval", "0.5", "--expected-codes", "1,2"]
    result = runner.invoke(app, ["sim", *args, "--list-instruments"])
    assert result.exit_code == 0, result.output
    [config] = seen
    assert (config.unknown_codes, config.profile, config.volatility_unit, config.greek_decimals) == (
        "refuse", "filled", "percent", 4,
    )  # fmt: skip
    assert (config.activity, config.book_interval, config.expected_codes) == (30, 0.5, ("1", "2"))
    result = runner.invoke(app, ["sim", "--list-instruments"])
    assert (seen[1].unknown_codes, seen[1].profile, seen[1].volatility_unit, seen[1].greek_decimals) == (
        "silence", "observed", "fraction", 2,
    )  # fmt: skip
