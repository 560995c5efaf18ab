"""The embedded simulator (watch, record, demo without credentials) says its time is simulated
and runs the busy start of the last KRX trading day rather than inventing trades at night."""

from __future__ import annotations

from datetime import datetime

from typer.testing import CliRunner

from kisfeed.cli import app
from kisfeed.cli.codes import simulator_master
from kisfeed.cli.embedded import describe_embedded, embedded_config
from kisfeed.cli.live import silent_codes
from kisfeed.schema.records import KST
from kisfeed.sim import Simulator
from kisfeed.sim.calendar import KrxCalendar

from ..conftest import without_kis_settings


def test_the_embedded_simulator_replays_the_last_trading_day_from_just_before_the_open() -> None:
    config = embedded_config()
    assert config.start is not None and not config.always_open and config.speed > 1
    calendar = KrxCalendar()
    day = config.start.date()
    assert calendar.is_trading_day(day) and day <= datetime.now(KST).date()
    assert 0 < (calendar.session(day).open - config.start).total_seconds() <= 60  # the 08:45 uncross
    line = describe_embedded(config)
    assert f"{config.start:%Y-%m-%d from %H:%M:%S} KST" in line and "not the current market" in line


def test_the_codes_it_checks_against_are_the_codes_it_serves() -> None:
    served = {i.code for i in Simulator(embedded_config()).instruments}
    listed = {e.code for e in simulator_master().entries if e.kind != "spread"}
    assert served == listed


def test_record_names_the_subscribed_codes_that_brought_no_record(monkeypatch, tmp_path) -> None:
    without_kis_settings(monkeypatch, tmp_path)
    monkeypatch.setenv("KISFEED_CACHE_DIR", str(tmp_path / "cache"))
    # stock series, which `record` subscribes on its default TRs (the KOSPI200 products: issue 16)
    busiest = [i for i in Simulator(embedded_config()).busiest() if i.market == "stock"]
    busy, quiet = busiest[0].code, busiest[-1].code  # the front futures; a series that never trades
    result = CliRunner().invoke(
        app, ["record", busy, quiet, "--data", str(tmp_path / "data"), "--seconds", "2"]
    )
    assert result.exit_code == 0, result.output
    assert f"no record from 1 of 2 codes: {quiet} (a quiet series" in result.output
    assert busy not in result.output.split("no record from")[1]


def test_silent_codes_lists_a_few_and_counts_the_rest() -> None:
    F = "H0ZFCNT0"
    assert silent_codes([(F, "A"), (F, "B")], {(F, "A"), (F, "B")}) is None
    keys = ((F, f"C{n}") for n in [*range(12), 0])  # any iterable, read once
    line = silent_codes(keys, {(F, "C11")}, shown=3)
    assert line is not None and line.startswith("no record from 11 of 12 codes: C0, C1, C2 and 8 more")


def test_silent_codes_counts_per_tr_and_code() -> None:
    F, FB, FX = "H0ZFCNT0", "H0ZFASP0", "H0ZFANC0"
    wanted = [(F, "A"), (FB, "A"), (FX, "A"), (F, "B")]
    line = silent_codes(wanted, {(F, "A"), (F, "B")})  # A's trades came, its book did not
    assert line is not None and line.startswith(
        "no record from 2 of 4 subscriptions: A H0ZFASP0, A H0ZFANC0 ("
    )
    assert line.endswith("expected prices come only in the single-price auctions)")
    assert "auctions" not in (silent_codes(wanted[:2], {(F, "A")}) or "")
