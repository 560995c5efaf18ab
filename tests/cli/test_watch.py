"""``kisfeed watch --underlying KOSPI200``: the index futures (front months) and one expiry's chain,
as many strikes nearest the money as the free registrations hold (41 per app key, reference 3.1),
said on screen; a chain larger than the registrations; an expiry that is not listed."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from kisfeed.cli import app
from kisfeed.cli.watch import chain_for
from kisfeed.exceptions import ConfigError
from kisfeed.instruments import Master
from kisfeed.schema.master import MasterEntry

from ..conftest import without_kis_settings

runner = CliRunner()


@pytest.fixture(autouse=True)
def no_credentials(monkeypatch, tmp_path):
    without_kis_settings(monkeypatch, tmp_path)
    monkeypatch.setenv("KISFEED_CACHE_DIR", str(tmp_path / "cache"))


def _entry(info_type: str, code: str, name: str, strike: float = 0.0, atm: str = " ") -> MasterEntry:
    return MasterEntry(info_type, code, "KR4" + code, name, atm, strike, "1", "2001", "KOSPI200", "index")


def big_chain() -> Master:
    """KOSPI200 as KIS's index master lists it: two futures months and a mini future, 60 strikes
    of 2.5 points in 2 option months, a Thursday weekly; the ATM strike 550."""
    entries = [
        _entry("1", "A01612", "F 202612"),
        _entry("1", "A01703", "F 202703"),
        _entry("B", "A05612", "미니F 202612"),
    ]
    for month in ("202612", "202703"):
        for n in range(60):
            strike = 477.5 + 2.5 * n
            tail = f"{month[3]}{month[4:]}{int(strike):03d}"
            atm = "1" if strike == 550 else "2"
            entries.append(_entry("5", f"B01{tail}", f"C {month} {strike:7.1f}", strike, atm))
            entries.append(_entry("6", f"C01{tail}", f"P {month} {strike:7.1f}", strike, atm))
    entries.append(_entry("L", "B09612550", "위클리 C 2612W1   550.0", 550.0, "1"))
    return Master(entries, "a test master")


def test_a_chain_larger_than_the_registrations_keeps_the_strikes_nearest_the_money():
    chain = chain_for(big_chain(), "KOSPI200")
    futures = [e for e in chain.entries if e.kind == "future"]
    options = [e for e in chain.entries if e.kind != "future"]
    # the front month of each futures product (KOSPI200 and mini), then (41 - 2) // 2 = 19 strikes
    assert [e.code for e in futures] == ["A01612", "A05612"]
    assert chain.strikes == 19 and len(options) == 38 and len(chain.entries) == 40 <= 41
    strikes = sorted({e.strike for e in options})
    assert strikes == [550 + 2.5 * k for k in range(-9, 10)]  # 9 either side of the ATM
    assert {e.expiry_month for e in options} == {"202612"} and all(e.code[1:3] == "01" for e in options)
    assert (
        "19 strikes nearest the money of 60 listed" in chain.note()
        and "41 free registrations" in chain.note()
    )


def test_the_free_registrations_decide_and_none_left_is_no_strike():
    assert chain_for(big_chain(), "코스피200", registrations=12).strikes == 5
    chain = chain_for(big_chain(), "k200", registrations=2)
    assert chain.strikes == 0 and [e.kind for e in chain.entries] == ["future", "future"]
    assert "the 0 strikes nearest the money of 60 listed" in chain.note()


def test_expiry_chooses_the_chain_and_an_unlisted_one_names_those_listed():
    chain = chain_for(big_chain(), "KOSPI200", expiry="2027-03")
    assert {e.expiry_month for e in chain.entries if e.kind != "future"} == {"202703"}
    with pytest.raises(ConfigError, match=r"no KOSPI200 options expire in 209912; listed: 202612, 202703$"):
        chain_for(big_chain(), "KOSPI200", expiry="209912")


def test_watch_kospi200_shows_the_index_futures_and_the_chain_on_the_simulator():
    result = runner.invoke(app, ["watch", "--underlying", "KOSPI200", "--book", "A01612", "--seconds", "3"])
    assert result.exit_code == 0, result.output
    output = result.output
    # the chain's width said on screen: one future, the book's registration, the strikes that fit
    assert "KOSPI200: 1 future, 2026" in output or "KOSPI200: 1 future, 2027" in output, output
    assert "strikes nearest the money" in output and "39 free registrations" in output
    assert "index futures (H0IFCNT0)" in output and "option chain" in output
    assert "book A01612" in output  # its 5-level ladder (H0IFASP0)


def test_watch_refuses_an_expiry_without_an_underlying_and_an_unknown_underlying():
    result = runner.invoke(app, ["watch", "--expiry", "202612", "A11612", "--seconds", "1"])
    assert result.exit_code == 2 and "--expiry chooses the chain of --underlying" in result.output
    result = runner.invoke(app, ["watch", "--underlying", "NIKKEI225", "--seconds", "1"])
    (line,) = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert result.exit_code == 2 and "'NIKKEI225' is not an underlying" in line and "KOSPI200" in line


def test_watch_night_runs_the_night_session_on_the_night_trs():
    result = runner.invoke(app, ["watch", "--underlying", "KOSPI200", "--night", "--seconds", "4"])
    assert result.exit_code == 0, result.output
    assert "the KRX night session starting" in result.output and "17:59:50 KST" in result.output
    assert "night futures (H0MFCNT0)" in result.output  # the 18:00 uncross trades the front month
    assert "index futures" not in result.output and "H0IOCNT0" not in result.output
