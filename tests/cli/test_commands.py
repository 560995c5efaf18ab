"""The kisfeed command, in process: codes, doctor, watch, the board and bad input (a bad config file
included; load_config itself is tests/cli/test_config.py)."""

from __future__ import annotations

import asyncio
import io
import threading
from datetime import datetime
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from kisfeed.cli import app
from kisfeed.cli.board import Board
from kisfeed.cli.codes import simulator_master
from kisfeed.cli.doctor import market_state
from kisfeed.client import FeedStats
from kisfeed.schema import KST
from kisfeed.schema.master import parse_master
from kisfeed.sim import SimConfig, Simulator

from ..conftest import without_kis_settings
from ..samples import frame, texts

runner = CliRunner()
KEY, SECRET = "PSrecognisable-app-key-7f3a", "recognisable-app-secret-9c1e"

MASTER = "\n".join(
    [
        # the realistic line of reference 5.3, then options (opaque strike codes, names as KRX
        # writes them) and a spread (KRX code and name form, sim.instruments.Spread)
        "1|A11608|KR4A11680001|삼성전자   F 202608 (  10)| |00000.00|1|005930|삼성전자",
        "1|A11609|KR4A11690009|삼성전자   F 202609 (  10)| |00000.00|2|005930|삼성전자",
        "5|B11608041|KR4B11680414|삼성전자   C 202608    70,000(  10)|1|70000.00|1|005930|삼성전자",
        "6|C11608041|KR4C11680413|삼성전자   P 202608    70,000(  10)|1|70000.00|1|005930|삼성전자",
        "6|C11608043|KR4C11680439|삼성전자   P 202608    72,000(  10)|2|72000.00|1|005930|삼성전자",
        "2|D116869S|KR4D116869S0|삼성전자   SP 2608-2609 (  10)| |00000.00|1|005930|삼성전자",
        "1|A50608|KR4A50680006|SK하이닉스 F 202608 (  10)| |00000.00|1|000660|SK하이닉스",
        "this line is not a master line",
    ]
)


@pytest.fixture
def master_file(tmp_path) -> Path:
    path = tmp_path / "fo_stk_code_mts.mst"
    path.write_bytes(MASTER.encode("cp949"))
    return path


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch, tmp_path):
    without_kis_settings(monkeypatch, tmp_path)
    monkeypatch.setenv("KISFEED_CACHE_DIR", str(tmp_path / "cache"))


def test_master_lines_parse_into_entries():
    entries, bad = parse_master(MASTER)
    assert [e.code for e in entries] == [
        "A11608",
        "A11609",
        "B11608041",
        "C11608041",
        "C11608043",
        "D116869S",
        "A50608",
    ]
    assert bad == [(8, "this line is not a master line")]
    call = entries[2]
    assert (call.kind, call.tr_id, call.strike, call.expiry_month, call.multiplier, call.atm) == (
        "call",
        "H0ZOCNT0",
        70000.0,
        "202608",
        10,
        "1",
    )
    assert entries[5].kind == "spread" and entries[5].tr_id is None and entries[5].expiry_month == "202608"


def test_codes_finds_instruments_in_a_kis_master_file(master_file):
    result = runner.invoke(app, ["codes", "--master", str(master_file), "삼성전자", "--type", "put"])
    assert result.exit_code == 0, result.output
    assert "C11608041" in result.output and "C11608043" in result.output
    assert "B11608041" not in result.output and "A11608" not in result.output
    assert "2 instruments" in result.output and str(master_file) in result.output
    result = runner.invoke(app, ["codes", "--master", str(master_file), "000660"])
    assert "A50608" in result.output and "SK하이닉스" in result.output
    result = runner.invoke(app, ["codes", "--master", str(master_file), "삼성", "--expiry", "2026-09"])
    assert "A11609" in result.output and "1 instrument" in result.output
    result = runner.invoke(app, ["codes", "--master", str(master_file), "--strike", "72000"])
    assert "C11608043" in result.output and "1 instrument" in result.output


def test_codes_without_network_or_file_uses_the_simulator_and_says_so():
    result = runner.invoke(app, ["codes", "--offline", "삼성전자", "--type", "future"])
    assert result.exit_code == 0, result.output
    assert "simulator" in result.output
    assert "future" in result.output and "9 instruments" in result.output  # sim.listing's 9 months


@pytest.mark.parametrize(
    "args, message",
    [
        (["codes", "--offline", "no-such-thing"], "no instrument matches"),
        (["codes", "--offline", "--type", "swap"], "--type is future, call, put or spread"),
        (["codes", "--master", "/nonexistent/master.mst"], "cannot read master file"),
        (["watch", "Z99999", "--seconds", "1"], "unknown instrument code"),
        (["watch", "--underlying", "없는회사", "--seconds", "1"], "is not an underlying"),
        (["watch", "--seconds", "1"], "give instrument codes or --underlying"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, message):
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert len([line for line in result.output.splitlines() if line.startswith("error:")]) == 1


def test_a_malformed_config_file_is_a_clear_error(tmp_path):
    (tmp_path / "kisfeed.toml").write_text("app_key = [unclosed\n")
    result = runner.invoke(app, ["doctor"])
    assert result.exit_code == 2 and "is not valid TOML" in result.output and "Traceback" not in result.output
    (tmp_path / "kisfeed.toml").write_text('[feed]\noverflow = "sometimes"\n')
    result = runner.invoke(app, ["watch", "A11612", "--seconds", "1"])
    assert result.exit_code == 2 and "overflow must be" in result.output
    (tmp_path / "kisfeed.toml").write_text('colour = "red"\n')
    assert "unknown setting colour" in runner.invoke(app, ["doctor"]).output


def test_the_board_renders_futures_and_the_option_chain_in_a_fixed_console():
    master = simulator_master()
    by_code = master.by_code()
    future = next(e for e in master.entries if e.kind == "future" and e.underlying_name == "삼성전자")
    call = next(e for e in master.entries if e.kind == "call" and e.underlying_name == "삼성전자")
    board = Board(by_code, title="kisfeed · test")
    board.update(__import__("kisfeed").decode(frame("H0ZFCNT0", texts("H0ZFCNT0", code=future.code)))[0])
    board.update(__import__("kisfeed").decode(frame("H0ZOCNT0", texts("H0ZOCNT0", code=call.code)))[0])
    board.state = "connected"
    board.stats = FeedStats(
        frames=2,
        records=2,
        bytes=900,
        parse_errors=0,
        dropped=3,
        reconnects=1,
        queued=0,
        subscriptions={0: 2},
        connected={0: True},
        last_frame_age=0.1,
    )
    console = Console(width=120, height=60, file=io.StringIO(), record=True, color_system=None)
    console.print(board.render())
    text = console.export_text()
    for column in (
        "code",
        "name",
        "last",
        "chg",
        "chg%",
        "volume",
        "OI",
        "basis",
        "bid",
        "ask",
        "call last",
        "IV",
        "delta",
        "vol",
        "strike",
        "put last",
    ):
        assert column in text, column
    row = next(line for line in text.splitlines() if future.code in line)
    for value in ("삼성전자", "64,300", "-300", "-0.46", "12,345", "23,456", "+250", "64,400"):
        assert value in row, (value, row)
    strike_row = next(
        line for line in text.splitlines() if f"{call.strike:,.0f}" in line and "1,250.00" in line
    )
    assert "31.42" in strike_row and "0.551" in strike_row and "842" in strike_row
    assert "connected" in text and "reconnects 1" in text and "drops 3" in text


def test_market_state():
    assert market_state(datetime(2026, 11, 20, 10, 0, tzinfo=KST)).startswith("open")
    assert market_state(datetime(2026, 11, 20, 15, 45, tzinfo=KST)).startswith("closed")
    assert market_state(datetime(2026, 11, 21, 10, 0, tzinfo=KST)).startswith("closed (weekend")
    assert market_state(datetime(2026, 11, 20, 8, 50, tzinfo=KST)).startswith("open")  # since 2024-11-04
    assert market_state(datetime(2026, 12, 31, 10, 0, tzinfo=KST)).startswith("closed: KRX holiday")
    assert "09:45-15:45" in market_state(datetime(2026, 12, 31, 16, 0, tzinfo=KST))  # next: 2027-01-04


class ServerThread:
    """A simulator in a thread of its own, so that commands under test can run their own loop."""

    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self.ready = threading.Event()
        self.thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    async def _main(self) -> None:
        self.loop, self.stop = asyncio.get_running_loop(), asyncio.Event()
        async with Simulator(self.config) as sim:
            self.sim = sim
            self.ready.set()
            await self.stop.wait()

    def __enter__(self) -> Simulator:
        self.thread.start()
        assert self.ready.wait(20), "the simulator did not start"
        return self.sim

    def __exit__(self, *exc_info: object) -> None:
        self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(20)


def test_doctor_and_watch_against_a_server_never_print_secrets(monkeypatch, tmp_path):
    config = SimConfig(app_keys={KEY: SECRET}, always_open=True, speed=60)
    with ServerThread(config) as sim:
        monkeypatch.setenv("KIS_APP_KEY", KEY)
        monkeypatch.setenv("KIS_APP_SECRET", SECRET)
        monkeypatch.setenv("KIS_WS_URL", sim.ws_url)
        monkeypatch.setenv("KIS_REST_URL", sim.rest_url)
        doctor = runner.invoke(app, ["doctor"])
        master = tmp_path / "master.mst"
        runner.invoke(app, ["sim", "--write-master", str(master)])
        future = next(i.code for i in sim.instruments if i.tr_id == "H0ZFCNT0")
        watch = runner.invoke(app, ["watch", future, "--seconds", "2", "--master", str(master)])
    assert doctor.exit_code == 0, doctor.output
    for name in ("configuration", "credentials", "approval key", "websocket", "clock", "market"):
        assert name in doctor.output
    assert "1 app key configured (values hidden)" in doctor.output
    assert watch.exit_code == 0, watch.output
    assert "kisfeed · KIS" in watch.output and future in watch.output
    for output in (doctor.output, watch.output):
        assert KEY not in output and SECRET not in output


def test_unreachable_server_is_a_one_line_error(monkeypatch, master_file):
    monkeypatch.setenv("KIS_APP_KEY", KEY)
    monkeypatch.setenv("KIS_APP_SECRET", SECRET)
    monkeypatch.setenv("KIS_REST_URL", "http://127.0.0.1:9")  # discard port: nothing listens
    monkeypatch.setenv("KIS_WS_URL", "ws://127.0.0.1:9")
    result = runner.invoke(app, ["watch", "A11608", "--seconds", "1", "--master", str(master_file)])
    assert result.exit_code == 1, result.output
    assert "unreachable" in result.output and "Traceback" not in result.output
    assert KEY not in result.output and SECRET not in result.output
    doctor = runner.invoke(app, ["doctor"])
    assert doctor.exit_code == 1 and "FAIL" in doctor.output and SECRET not in doctor.output


def test_help_lists_every_command_with_examples():
    result = runner.invoke(app, ["--help"])
    for command in ("demo", "watch", "codes", "doctor", "sim", "decode"):
        assert command in result.output
    assert "Examples" in runner.invoke(app, ["codes", "--help"]).output


def test_decode_prints_typed_fields_and_names_a_bad_field():
    wire = frame("H0ZFCNT0", texts("H0ZFCNT0")[:46])  # a short record: flagged, not passed off
    result = runner.invoke(app, ["decode", wire, "--keys", "kis"])
    assert result.exit_code == 0, result.output
    assert "STCK_PRPR" in result.output and "64300" in result.output and "3 fields absent" in result.output
    result = runner.invoke(app, ["decode"], input=frame("H0ZFCNT0", texts("H0ZFCNT0", price="x")) + "\n")
    assert result.exit_code == 1 and "field 2" in result.output and "STCK_PRPR" in result.output
    assert runner.invoke(app, ["decode", wire, "--keys", "french"]).exit_code == 2


def test_codes_shows_the_trs_each_code_can_use(master_file):
    result = runner.invoke(app, ["codes", "--master", str(master_file), "삼성전자"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    (header,) = [line for line in lines if line.split()[:2] == ["code", "TR"]]
    assert header.split()[-2:] == ["book", "expected"] and "…" not in result.output
    rows = {line.split()[0]: line.split() for line in lines if line.split() and line.split()[0][:1] in "ABCD"}
    future, put, spread = rows["A11608"], rows["C11608041"], rows["D116869S"]
    assert (future[1], *future[-2:]) == ("H0ZFCNT0", "H0ZFASP0", "H0ZFANC0")
    assert (put[1], *put[-2:]) == ("H0ZOCNT0", "H0ZOASP0", "H0ZOANC0")
    assert (spread[1], *spread[-2:]) == ("-", "-", "-")  # a spread: none
    assert len(rows) == 6  # one line per instrument


def test_codes_prints_every_value_whole_on_a_narrow_terminal(master_file):
    result = runner.invoke(app, ["codes", "--master", str(master_file), "삼성전자"], env={"COLUMNS": "50"})
    assert result.exit_code == 0 and "…" not in result.output, result.output
    assert any(line.rstrip().endswith("H0ZOASP0 H0ZOANC0") for line in result.output.splitlines())
