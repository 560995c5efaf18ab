"""``kisfeed record``'s choice of what to subscribe: codes on their trade TR by form, ``--tr TR``
groups, ``--with-books``/``--with-expected``, and every refusal (unknown TR, a code of the other
product, more registrations than the app keys hold) as one line and exit 2 before anything
connects or is written; then a short run with books on the embedded simulator."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from kisfeed.cli import app
from kisfeed.cli.codes import check_registrations, simulator_master
from kisfeed.cli.record import plan_subscriptions, tr_for_code
from kisfeed.exceptions import ConfigError, UsageError

from ..conftest import without_kis_settings

runner = CliRunner()
F, FB, FX = "H0ZFCNT0", "H0ZFASP0", "H0ZFANC0"
O, OB, OX = "H0ZOCNT0", "H0ZOASP0", "H0ZOANC0"
FUT, FUT2, CALL = "A11612", "A50612", "B11612007"


@pytest.fixture(autouse=True)
def no_credentials(monkeypatch, tmp_path):
    without_kis_settings(monkeypatch, tmp_path)
    monkeypatch.setenv("KISFEED_CACHE_DIR", str(tmp_path / "cache"))


def test_codes_go_on_their_trade_tr_by_form_as_before():
    assert plan_subscriptions([FUT, CALL, FUT2, FUT]) == {F: [FUT, FUT2], O: [CALL]}
    assert tr_for_code(FUT) == F and tr_for_code(CALL) == O and tr_for_code("XYZ", OB) == OB


def test_index_and_night_codes_go_on_their_own_trs_by_form():
    # KOSPI200 (underlying id 01, reference 5.2-5.3) by day; the 8-character KRX form by night
    plan = plan_subscriptions(["A01612", "B01612350", "101W9000", "201W8185", FUT])
    assert plan == {"H0IFCNT0": ["A01612"], "H0IOCNT0": ["B01612350"], "H0MFCNT0": ["101W9000"],
                    "H0EUCNT0": ["201W8185"], F: [FUT]}  # fmt: skip
    # the KIS form on a night TR, named with --tr (the official H0MFASP0 example, 101W09)
    assert plan_subscriptions(["--tr", "H0MFASP0", "101W09"]) == {"H0MFASP0": ["101W09"]}


def test_index_siblings_have_no_expected_price_and_night_options_have():
    plan = plan_subscriptions(["A01612", "201W8185"], with_books=True, with_expected=True)
    assert plan == {
        "H0IFCNT0": ["A01612"], "H0EUCNT0": ["201W8185"], "H0IFASP0": ["A01612"],
        "H0EUASP0": ["201W8185"], "H0EUANC0": ["201W8185"],
    }  # fmt: skip


@pytest.mark.parametrize(
    "tokens, right",
    [
        (["--tr", "H0IFCNT0", FUT], F),  # a stock future on the index TR
        (["--tr", F, "A01612"], "H0IFCNT0"),  # an index future on the stock TR
        (["--tr", "H0IFCNT0", "101W9000"], "H0MFCNT0"),  # a night code on a day TR
        (["--tr", "H0EUCNT0", CALL], O),  # stock options have no night session
    ],
)
def test_a_code_of_another_market_is_one_line_naming_its_tr(tmp_path, tokens, right):
    with pytest.raises(UsageError, match=f"use {right}$"):
        plan_subscriptions(tokens)
    result = runner.invoke(app, ["record", *tokens, "--data", str(tmp_path / "d"), "--seconds", "1"])
    (line,) = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert result.exit_code == 2 and line.endswith(f"use {right}"), result.output
    assert not (tmp_path / "d").exists()


def test_tr_groups_take_the_codes_after_them_up_to_the_next():
    tokens = [FUT, "--tr", FB, FUT, FUT2, "--tr=H0ZOASP0", CALL, "--tr", F, FUT2]
    assert plan_subscriptions(tokens) == {F: [FUT, FUT2], FB: [FUT, FUT2], OB: [CALL]}


def test_with_books_and_expected_add_each_code_s_siblings_of_its_product():
    plan = plan_subscriptions([FUT, CALL], with_books=True)
    assert plan == {F: [FUT], O: [CALL], FB: [FUT], OB: [CALL]}
    plan = plan_subscriptions(["--tr", FB, FUT, FUT2], with_books=True, with_expected=True)
    assert plan == {FB: [FUT, FUT2], FX: [FUT, FUT2]}  # a book group's books counted once


@pytest.mark.parametrize(
    "tokens, message",
    [
        (
            ["--tr", "H0STCNT0", FUT],
            "--tr H0STCNT0: not a TR kisfeed knows; one of H0ZFCNT0 (stock futures trade",
        ),
        (["--tr", FB, CALL], f"{CALL} is a stock option code (9 characters, reference 5.2) and {FB}"),
        (["--tr", OX, FUT], f"{FUT} is a stock futures code (6 characters, reference 5.2) and {OX}"),
        (["--tr", FB], f"--tr {FB} is followed by no code"),
        ([FUT, "--tr", FB, "--tr", OB, CALL], f"--tr {FB} is followed by no code"),
        ([FUT, "--tr"], "--tr needs a TR id"),
        ([FUT, "--bogus"], "no such option: --bogus"),
        (["A1161"], "cannot tell futures (6 characters) from options (9)"),
    ],
)
def test_what_cannot_be_subscribed_is_refused_with_a_reason(tokens, message):
    with pytest.raises(UsageError) as caught:
        plan_subscriptions(tokens)
    assert message in str(caught.value)


def test_the_wrong_product_names_the_tr_to_use():
    with pytest.raises(UsageError, match=f"use {OB}$"):
        plan_subscriptions(["--tr", FB, CALL])


def test_the_master_refuses_a_tr_its_instrument_has_not():
    master = simulator_master()
    future = next(e for e in master.entries if e.kind == "future")
    put = next(e for e in master.entries if e.kind == "put")
    assert put.tr_ids == (O, OB, OX) and future.tr_ids == (F, FB, FX)
    check_registrations([future, put], {FB: [future.code], OX: [put.code]})
    with pytest.raises(
        ConfigError, match=f"{put.code} is a put .* can be subscribed on {O}, {OB}, {OX}, not {FB}"
    ):
        check_registrations([put], {FB: [put.code]})


def test_a_code_of_a_day_and_a_night_master_goes_on_the_trs_of_either():
    # the simulator lists a KOSPI200 contract in its index master and, under the same KIS code,
    # in its night master (sim/night.py's default code form): H0IFCNT0 by day, H0MFCNT0 by night
    master = simulator_master()
    both = [e for e in master.entries if e.code == "A01612"]
    assert {e.market for e in both} == {"index", "night"}
    check_registrations(both, {"H0IFCNT0": ["A01612"], "H0MFASP0": ["A01612"]})
    with pytest.raises(ConfigError, match=r"H0IFCNT0, H0IFASP0, H0MFCNT0, H0MFASP0, not H0ZFCNT0$"):
        check_registrations(both, {F: ["A01612"]})


def _error(result) -> str:
    (line,) = [line for line in result.output.splitlines() if line.startswith("error:")]
    return line


@pytest.mark.parametrize(
    "args, message",
    [
        (["--tr", "H0ZFXXX0", FUT], "not a TR kisfeed knows"),
        (["--tr", FB, CALL], "is a stock option code"),
        ([FUT, "--tr", OB], f"--tr {OB} is followed by no code"),
        ([FUT, "--secnds", "3"], "no such option: --secnds"),
    ],
)
def test_the_command_refuses_in_one_line_before_starting(tmp_path, args, message):
    result = runner.invoke(app, ["record", *args, "--data", str(tmp_path / "d"), "--seconds", "1"])
    assert result.exit_code == 2, result.output
    assert message in _error(result) and "Traceback" not in result.output
    assert not (tmp_path / "d").exists()


def test_more_registrations_than_the_key_holds_are_refused_before_connecting(tmp_path):
    futures = [e.code for e in simulator_master().entries if e.kind == "future"][:14]
    args = [
        "record",
        *futures,
        "--with-books",
        "--with-expected",
        "--data",
        str(tmp_path / "d"),
        "--seconds",
        "1",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert _error(result) == (
        "error: 14 codes in 42 registrations: more than the 41 that 1 app key can hold (41 each, reference 3.1); "
        "record fewer codes or TRs, or add app keys ([[credentials]] in the config file)"
    )
    assert not (tmp_path / "d").exists()
    # 41 fit: the limit itself is not refused (13 codes x 3 = 39, plus two more on their trade TR)
    assert plan_subscriptions(futures[:13], with_books=True, with_expected=True)


def test_an_unknown_code_in_a_group_is_refused_like_any_other(tmp_path):
    result = runner.invoke(
        app, ["record", "--tr", FB, "A99912", "--data", str(tmp_path / "d"), "--seconds", "1"]
    )
    assert result.exit_code == 2 and "unknown instrument code A99912" in _error(result), result.output


def test_help_documents_the_groups_and_the_flags():
    result = runner.invoke(app, ["record", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for text in ("--tr TR", "--with-books", "--with-expected", FB, "kisfeed record A11612 --tr H0ZFASP0"):
        assert text in result.output, text


def test_a_recording_with_books_names_its_registrations(tmp_path):
    future = next(e.code for e in simulator_master().entries if e.kind == "future")
    result = runner.invoke(
        app, ["record", future, "--with-books", "--data", str(tmp_path / "d"), "--seconds", "2"]
    )
    assert result.exit_code == 0, result.output
    assert "recording 1 code in 2 registrations" in result.output
    assert (tmp_path / "d" / "journal").is_dir()


def test_night_trs_alone_record_the_embedded_simulator_s_night_session(tmp_path):
    from kisfeed.cli.record import night_only

    assert night_only({"H0MFCNT0": ["A01612"], "H0EUANC0": ["B01612560"]})
    assert not night_only({"H0MFCNT0": ["A01612"], "H0IFCNT0": ["A01612"]}) and not night_only({})
    args = ["record", "--tr", "H0MFCNT0", "A01612", "--data", str(tmp_path / "d"), "--seconds", "3"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "the KRX night session starting" in result.output and "H0MFCNT0" in result.output
