"""The universe, codes, master file and the market model, without sockets."""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from datetime import date, datetime, time

import pytest

from kisfeed import decode
from kisfeed.protocol import encode_frame
from kisfeed.schema.records import KST
from kisfeed.sim import UNDERLYINGS, Market, build_universe, master_lines
from kisfeed.sim.instruments import expiry_date
from kisfeed.sim.pricing import black_scholes, implied_volatility

from .helpers import START

FUTURES_CODE = re.compile(r"^A[0-9A-Z]{2}[0-9](0[1-9]|1[0-2])$")  # reference 5.3
OPTION_CODE = re.compile(r"^[BC][0-9A-Z]{2}[0-9](0[1-9]|1[0-2])[0-9]{3}$")


def market(**changes) -> Market:
    settings = {"seed": 1, "start": START, "always_open": True}
    settings.update(changes)
    universe = build_universe(settings["start"])
    m = Market(universe, **settings)
    m.watched.update(i.code for i in universe)
    return m


def records(m: Market, count: int):
    out = []
    while len(out) < count:
        event = m.next_event()
        out += decode(encode_frame(event.instrument.tr_id, [[text] for text in event.records]))
    return out


def test_the_universe_has_real_underlyings_nine_expiries_and_strikes_around_the_money():
    universe = build_universe(START)
    assert len(UNDERLYINGS) >= 8
    names = {i.underlying_name for i in universe}
    assert {
        "삼성전자",
        "SK하이닉스",
        "현대차",
        "LG에너지솔루션",
        "기아",
        "NAVER",
        "셀트리온",
        "KB금융",
    } <= names
    for u in UNDERLYINGS:
        mine = [i for i in universe if i.underlying is u]
        futures = [i for i in mine if i.kind == "future"]
        assert [f.month for f in futures] == list(range(1, 10))  # sim.listing: the KRX cycle
        assert [f.expiry for f in futures][:2] == [date(2026, 12, 10), date(2027, 1, 14)]  # 2nd Thursdays
        for expiry in (f.expiry for f in futures):
            for kind in ("call", "put"):
                strikes = sorted(i.strike for i in mine if i.kind == kind and i.expiry == expiry)
                assert len(strikes) >= 5
                assert strikes[0] < u.price < strikes[-1]
    for i in universe:
        assert (FUTURES_CODE if i.kind == "future" else OPTION_CODE).match(i.code), i.code
        assert i.tr_id == ("H0ZFCNT0" if i.kind == "future" else "H0ZOCNT0")
    assert len({i.code for i in universe}) == len(universe)


def test_expiry_is_the_second_thursday():
    assert expiry_date(2026, 8) == date(2026, 8, 13)
    assert expiry_date(2026, 10) == date(2026, 10, 8)
    assert all(
        expiry_date(2027, m).weekday() == 3 and 8 <= expiry_date(2027, m).day <= 14 for m in range(1, 13)
    )


def test_front_month_rolls_after_the_last_trading_day_closes():
    on_expiry = build_universe(datetime(2026, 12, 10, 15, 0, tzinfo=KST))
    after_close = build_universe(datetime(2026, 12, 10, 15, 30, tzinfo=KST))
    assert on_expiry[0].code == "A11612" and after_close[0].code == "A11701"


def test_master_file_line_matches_the_known_kis_line():
    # The 2026 master line quoted in reference 5.3, column for column.
    universe = build_universe(datetime(2026, 7, 20, 9, 0, tzinfo=KST))
    line = master_lines([universe[0]])[0]
    assert line == "1|A11608|KR4A11680001|삼성전자   F 202608 (  10)| |00000.00|1|005930|삼성전자"
    for line in master_lines(universe):
        columns = line.split("|")
        assert len(columns) == 9
        assert columns[0] in set("123456") and columns[6] in set("1234")
        line.encode("cp949")


def test_black_scholes_obeys_put_call_parity_and_implied_volatility_inverts_it():
    s, k, t, r, q, v = 71_500, 72_000, 0.1, 0.03, 0.02, 0.3
    call, put = black_scholes(s, k, t, r, q, v, True), black_scholes(s, k, t, r, q, v, False)
    assert call.price - put.price == pytest.approx(s * math.exp(-q * t) - k * math.exp(-r * t), abs=1e-6)
    assert 0 < call.delta < 1 and -1 < put.delta < 0 and call.gamma > 0 and call.vega > 0
    assert implied_volatility(call.price, s, k, t, r, q, True) == pytest.approx(v, abs=1e-6)
    assert implied_volatility(put.price, s, k, t, r, q, False, guess=1.5) == pytest.approx(v, abs=1e-6)
    assert math.isnan(implied_volatility(1.0, s, 60_000, t, r, q, True))  # below intrinsic


def test_the_same_seed_gives_the_same_trades_whatever_is_watched():
    a, b = market(), market()
    b.watched.clear()
    b.watched.add("A11612")
    wanted = [
        (e.time, e.records) for e in (a.next_event() for _ in range(3000)) if e.instrument.code == "A11612"
    ]
    only = [
        (e.time, e.records) for e in (b.next_event() for _ in range(3000)) if e.instrument.code == "A11612"
    ]
    assert wanted == only and wanted
    other = market(seed=2)
    assert [e.records for e in (other.next_event() for _ in range(50))] != [
        e.records for e in (market().next_event() for _ in range(50))
    ]


def test_krx_hours_weekdays_and_the_last_trading_day():
    # A thin market (1% of the usual trades) over four sessions from the Wednesday before expiry.
    m = market(always_open=False, activity=0.01, start=datetime(2026, 12, 9, 15, 0, tzinfo=KST))
    days: dict[date, list[time]] = defaultdict(list)
    expiring_last: dict[date, time] = {}
    while len(days) < 4:
        event = m.next_event()
        when = datetime.fromtimestamp(event.time, KST)
        days[when.date()].append(when.time())
        if event.instrument.expiry == date(2026, 12, 10):
            expiring_last[when.date()] = when.time()
    assert sorted(days) == [date(2026, 12, 9), date(2026, 12, 10), date(2026, 12, 11), date(2026, 12, 14)]
    for times in days.values():
        assert time(9, 0) <= min(times) and max(times) < time(15, 45)
    assert expiring_last[date(2026, 12, 10)] < time(15, 20)  # last trading day ends at 15:20
    assert date(2026, 12, 11) not in expiring_last  # and the contract is gone after it


def test_stocks_close_at_1530_so_futures_trade_against_a_frozen_spot():
    m = market(always_open=False, activity=0.2, start=datetime(2026, 11, 20, 15, 25, tzinfo=KST))
    spots = defaultdict(set)
    while True:
        event = m.next_event()
        when = datetime.fromtimestamp(event.time, KST)
        if when.date() != date(2026, 11, 20):
            break
        if when.time() < time(15, 30) or event.instrument.kind != "future":
            continue
        for record in decode(encode_frame("H0ZFCNT0", [[t] for t in event.records])):
            spots[event.instrument.underlying_code].add(record.price - record.market_basis)
    assert spots and all(len(values) == 1 for values in spots.values())


def test_prices_sit_on_their_tick_grid_and_sweeps_share_an_instant():
    from kisfeed.sim.instruments import futures_tick

    m = market()
    sizes = Counter()
    for _ in range(5000):
        event = m.next_event()
        sizes[len(event.records)] += 1
        batch = decode(encode_frame(event.instrument.tr_id, [[t] for t in event.records]))
        for record in batch:
            if record.tr_id == "H0ZFCNT0":
                for price in (record.price, record.ask1, record.bid1):
                    assert price % futures_tick(price) == 0, price
            else:
                for price in (record.price, record.ask1, record.bid1):
                    assert price % (10 if price < 10_000 else 50) == 0, price
    assert sizes[1] > sizes[2] > 0 and sizes[4] > 0
