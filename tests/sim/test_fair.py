"""KRX-style theoretical prices: simple-rate carry less the dividends going ex before expiry."""

from __future__ import annotations

from datetime import date

import pytest

from kisfeed.sim.fair import DIVIDENDS, Dividend, carry, ex_dividend

DEC, JAN = date(2026, 12, 10), date(2027, 1, 14)  # last trading days of the Dec-26 and Jan-27 contracts


def test_no_dividend_before_expiry_gives_a_positive_basis() -> None:
    # 현대차 Dec-2026 from 2026-11-20: its next ex-date (Feb) falls after expiry
    terms = carry(date(2026, 11, 20), DEC, 0.03, DIVIDENDS["005380"])
    assert terms.dividends_fv == 0
    assert terms.futures(214_500) - 214_500 == pytest.approx(214_500 * 0.03 * 20 / 365)  # ≈ +353


def test_a_dividend_before_expiry_comes_off_the_futures_price() -> None:
    samsung = DIVIDENDS["005930"]
    dec, jan = (carry(date(2026, 12, 1), last, 0.03, samsung) for last in (DEC, JAN))
    assert dec.dividends_fv == 0  # the Dec-29 ex-date is after the Dec contract's last day
    # Jan-2027 pays the Dec-29 ex-date's 361 won, carried 16 days to expiry
    assert jan.dividends_fv == pytest.approx(361 * (1 + 0.03 * 16 / 365))
    assert jan.futures(71_500) == pytest.approx(71_500 * (1 + 0.03 * 44 / 365) - jan.dividends_fv)
    assert jan.option_spot(71_500) == pytest.approx(71_500 - 361 / (1 + 0.03 * 28 / 365))


def test_on_its_ex_date_a_dividend_has_left_the_spot() -> None:
    dividends = (Dividend(date(2026, 12, 29), 361),)
    assert carry(date(2026, 12, 29), JAN, 0.03, dividends).dividends_fv == 0
    assert carry(date(2026, 12, 28), JAN, 0.03, dividends).dividends_fv > 0
    assert (
        ex_dividend(dividends, date(2026, 12, 29)) == 361 and ex_dividend(dividends, date(2026, 12, 28)) == 0
    )


def test_the_last_day_has_no_carry() -> None:
    terms = carry(DEC, DEC, 0.03, DIVIDENDS["005930"])
    assert terms.futures(71_500) == 71_500
