"""The night session in the simulated market: the night TRs trade 17:50-06:00 only, continuing
from the day's close, and decode to the right records."""

from __future__ import annotations

import functools
from datetime import date, datetime, time, timedelta

from kisfeed import decode
from kisfeed.protocol import encode_frame
from kisfeed.schema import (
    NightFuturesBook,
    NightFuturesTrade,
    NightOptionBook,
    NightOptionExpected,
    NightOptionTrade,
    Record,
    kst_day,
)
from kisfeed.schema.records import KST
from kisfeed.sim.index import KOSPI200, STRIKE_INTERVAL, IndexInstrument, index_universe
from kisfeed.sim.instruments import Instrument
from kisfeed.sim.market import Market
from kisfeed.sim.night import NightInstrument, NightPlan, night_instruments

NIGHT_TRS = {"H0MFCNT0", "H0MFASP0", "H0EUCNT0", "H0EUASP0", "H0EUANC0"}
TUESDAY = datetime(2026, 11, 24, 15, 0, tzinfo=KST)  # before the day close; the night follows


def universe(start: datetime, form: str = "kis") -> list[Instrument]:
    """The two nearest KOSPI200 futures and the front month's options near the money, and their
    night contracts: a small market, fast to run."""
    index = index_universe(start)
    atm = round(KOSPI200.price / STRIKE_INTERVAL) * STRIKE_INTERVAL
    day: list[Instrument] = [i for i in index if i.strike is None][:2]
    day += [
        i
        for i in index
        if i.strike is not None
        and i.month == 1
        and not i.weekly
        and abs(i.strike - atm) <= 2 * STRIKE_INTERVAL
    ]
    return day + list(night_instruments(day, form))  # type: ignore[arg-type]  # index products only


@functools.lru_cache(maxsize=8)
def run(
    start: datetime, hours: float, form: str = "kis", band: float = 0.0, books: bool = False
) -> tuple[Market, list[tuple[float, str, Record]]]:
    """Every record of ``hours`` from ``start`` with every code watched on its TRs (books: the
    first future's and option's and their night twins', if ``books``: books are most of the
    records), decoded with the trading date a client attaches (the KST date of the receive time)."""
    instruments = universe(start, form)
    plan = NightPlan(code_form=form)  # type: ignore[arg-type]  # form is "kis" | "krx"
    # one book a second at most (not five): fewer records to decode, the same rules
    market = Market(instruments, seed=2, start=start, night=plan, dynamic_limit_band=band, book_interval=1.0)
    first = {instruments[0].code, instruments[2].code}  # the front future, an option
    for i in instruments:
        day_code = i.day_code if isinstance(i, NightInstrument) else i.code
        for tr_id in i.tr_ids:
            if "ASP" not in tr_id or (books and day_code in first):
                market.watch(tr_id, i.code)
    until = (start + timedelta(hours=hours)).timestamp()
    out = []
    while (event := market.next_event()) is not None and event.time < until:
        if event.records:
            frame = encode_frame(event.tr_id, [[t] for t in event.records])
            for record in decode(frame, trading_date=kst_day(int(event.time) * 1_000_000_000)):
                out.append((event.time, event.tr_id, record))
    return market, out


def kst(t: float) -> datetime:
    return datetime.fromtimestamp(t, KST)


def test_the_night_trs_trade_from_17_50_to_06_00_and_the_day_trs_never_then():
    _, records = run(TUESDAY, 19, books=True)  # to Wednesday 10:00
    night_start = datetime(2026, 11, 24, 17, 50, tzinfo=KST)
    night_end = datetime(2026, 11, 25, 6, 0, tzinfo=KST)
    kinds = set()
    for t, tr_id, record in records:
        at = kst(t)
        if tr_id in NIGHT_TRS:
            assert night_start <= at <= night_end, (tr_id, at)
            kinds.add(type(record))
        else:
            assert not night_start <= at <= night_end - timedelta(seconds=1), (tr_id, at)
    assert kinds == {
        NightFuturesTrade,
        NightFuturesBook,
        NightOptionTrade,
        NightOptionBook,
        NightOptionExpected,
    }
    trades = [(t, r) for t, tr, r in records if tr in ("H0MFCNT0", "H0EUCNT0")]
    assert min(kst(t) for t, _ in trades) == datetime(2026, 11, 24, 18, 0, tzinfo=KST)  # the uncross
    # expected prices: in the night's auctions only (the opening's whole 10 minutes, SimConfig)
    for t, tr_id, record in records:
        if tr_id == "H0EUANC0":
            assert isinstance(record, NightOptionExpected)
            at = kst(t).time()
            assert time(17, 50) <= at < time(18) or time(5, 50) <= at < time(6), at


def test_prices_on_the_grids_and_the_session_crossing_midnight():
    _, records = run(TUESDAY, 19)
    seen = []
    for t, _, record in records:
        if isinstance(record, NightFuturesTrade):
            assert record.price is not None and round(record.price * 100) % 5 == 0  # 0.05 points
            seen.append((t, record))
        elif isinstance(record, NightOptionTrade):
            assert record.price is not None
            tick = 1 if record.price < 10 else 5  # 0.01 below 10 points, 0.05 from 10
            assert round(record.price * 100) % tick == 0
    times = [r.time for _, r in seen]
    assert any(x >= time(23) for x in times) and any(x < time(5) for x in times)
    before = [r for t, r in seen if kst(t).time() >= time(18)]
    after = [r for t, r in seen if kst(t).time() < time(6)]
    assert {r.trading_date for r in before} == {date(2026, 11, 24)}  # BSOP_HOUR to 235959 ...
    assert {r.trading_date for r in after} == {date(2026, 11, 25)}  # ... then 000000: the next day
    assert before[-1].time <= time(23, 59, 59) and after[0].time >= time(0)


def test_the_night_continues_from_the_day_close_and_the_next_day_from_the_day_close_again():
    market, records = run(TUESDAY, 19)
    front = next(i for i in market.instruments if isinstance(i, NightInstrument) and i.strike is None)
    day_trades = [(t, r) for t, tr, r in records if tr == "H0IFCNT0" and r.code == front.day_code]
    night_trades = [r for _, tr, r in records if tr == "H0MFCNT0" and r.code == front.code]
    tuesday = [r for t, r in day_trades if kst(t).date() == date(2026, 11, 24)]
    wednesday = [r for t, r in day_trades if kst(t).date() == date(2026, 11, 25)]
    close = tuesday[-1].price
    assert close is not None and night_trades and wednesday
    for r in night_trades:  # the night's base price: the day close
        assert r.price is not None and r.change is not None
        assert round(r.price - r.change, 2) == close
    for r in wednesday:  # the next day's too, not the night's last price
        assert r.price is not None and r.change is not None
        assert round(r.price - r.change, 2) == close
    last_night = night_trades[-1].price
    assert last_night is not None and abs(wednesday[0].price - last_night) < abs(last_night - close) + 5.0
    # open interest carries on through the night
    assert night_trades[0].open_interest is not None and tuesday[-1].open_interest is not None
    assert abs(night_trades[0].open_interest - tuesday[-1].open_interest) <= 200


def test_h0eucnt0_dynamic_limit_flag_before_the_lower_limit_written_by_name():
    _, records = run(TUESDAY, 5, band=0.05)  # to 20:00, the dynamic band on
    options = [r for _, tr, r in records if isinstance(r, NightOptionTrade)]
    assert options
    for r in options:
        assert r.dynamic_limit_flag == "1"
        assert r.dynamic_upper_limit is not None and r.dynamic_lower_limit is not None
        assert r.dynamic_lower_limit < r.dynamic_upper_limit  # the flag did not land in a price
    layout = NightOptionTrade.layout
    names = [f.name for f in layout.fields]
    assert names.index("dynamic_limit_flag") == 54 and names.index("dynamic_lower_limit") == 55


def test_friday_night_runs_to_saturday_then_monday():
    friday = datetime(2026, 11, 27, 15, 0, tzinfo=KST)
    _, records = run(friday, 66)  # to Monday 09:00
    night = [kst(t) for t, tr, _ in records if tr in NIGHT_TRS]
    assert max(night) == datetime(2026, 11, 28, 6, 0, tzinfo=KST)  # Saturday 06:00
    later = [kst(t) for t, tr, _ in records if kst(t) > datetime(2026, 11, 28, 6, 0, tzinfo=KST)]
    assert later and min(later) >= datetime(2026, 11, 30, 8, 30, tzinfo=KST)  # nothing till Monday


def test_no_night_on_the_eve_of_a_long_holiday_and_the_exam_day_opens_at_19_00():
    eve = datetime(2026, 9, 23, 15, 0, tzinfo=KST)  # 추석 from the 24th: KRX closes that night
    _, records = run(eve, 24)
    assert not [tr for _, tr, _ in records if tr in NIGHT_TRS]
    exam = datetime(2026, 11, 19, 15, 0, tzinfo=KST)
    _, records = run(exam, 6)
    night = sorted(kst(t) for t, tr, _ in records if tr in NIGHT_TRS)
    assert night[0] >= datetime(2026, 11, 19, 18, 50, tzinfo=KST)
    trades = [kst(t) for t, tr, _ in records if tr in ("H0MFCNT0", "H0EUCNT0")]
    assert min(trades) == datetime(2026, 11, 19, 19, 0, tzinfo=KST)


def test_the_krx_code_form_and_a_market_starting_in_the_night():
    saturday = datetime(2026, 11, 28, 2, 0, tzinfo=KST)  # inside Friday's night
    market, records = run(saturday, 3, "krx")
    night = [i for i in market.instruments if isinstance(i, NightInstrument)]
    day = {i.code: i for i in market.instruments if not isinstance(i, NightInstrument)}
    for i in night:
        twin = day[i.day_code]
        assert isinstance(twin, IndexInstrument) and i.code == twin.krx_code != twin.code
    assert {r.code for _, tr, r in records if tr in NIGHT_TRS} <= {i.code for i in night}
    assert [kst(t) for t, tr, _ in records if tr in NIGHT_TRS]
    assert all(kst(t) <= datetime(2026, 11, 28, 6, 0, tzinfo=KST) for t, _, _ in records)
