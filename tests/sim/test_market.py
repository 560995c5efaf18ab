"""The universe, codes, master file and the market model, without sockets."""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from datetime import date, datetime, time

import pytest

from kisfeed import Sign, decode
from kisfeed.protocol import encode_frame
from kisfeed.schema.records import KST
from kisfeed.sim import UNDERLYINGS, Market, build_universe, master_lines
from kisfeed.sim.calendar import KrxCalendar
from kisfeed.sim.instruments import expiry_date
from kisfeed.sim.pricing import black_scholes, implied_volatility
from kisfeed.sim.ticks import OPTION_TICKS, STOCK_GRID, Grid

from .helpers import START

FUTURES_CODE = re.compile(r"^A[0-9A-Z]{2}[0-9](0[1-9]|1[0-2])$")  # reference 5.3
CALENDAR = KrxCalendar()
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
    assert expiry_date(2027, 5) == date(2027, 5, 12)  # the 2nd Thursday is 부처님오신날
    assert all(
        expiry_date(2027, m).weekday() == 3 and 8 <= expiry_date(2027, m).day <= 14
        for m in range(1, 13)
        if m != 5
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


def test_krx_phases_weekdays_and_the_last_trading_day():
    # A thin market (1% of the usual trades) over four sessions from the Wednesday before expiry.
    m = market(always_open=False, activity=0.01, start=datetime(2026, 12, 9, 15, 0, tzinfo=KST))
    days: dict[date, list[float]] = defaultdict(list)
    expiring_last: dict[date, float] = {}
    uncrosses: Counter[tuple[float, str]] = Counter()
    while len(days) < 5:
        event = m.next_event()
        when = datetime.fromtimestamp(event.time, KST)
        days[when.date()].append(event.time)
        session = CALENDAR.session(when.date())
        opens, closes = session.open.timestamp(), session.close.timestamp()
        if event.time in (opens, closes):
            uncrosses[event.time, event.code] += 1
            for r in decode(encode_frame(event.instrument.tr_id, [[t] for t in event.records])):
                assert r.buy_volume + r.sell_volume <= r.volume - r.last_volume  # side AUCTION
        if event.instrument.expiry == date(2026, 12, 10):
            expiring_last[when.date()] = event.time
    assert sorted(days)[:4] == [date(2026, 12, 9), date(2026, 12, 10), date(2026, 12, 11), date(2026, 12, 14)]
    for day, times in list(days.items())[:4]:
        s = CALENDAR.session(day)
        assert all(s.open.timestamp() <= t <= s.close.timestamp() for t in times)
        # Nothing while the auctions take orders, but their uncross prints at 08:45:00 / 15:45:00.
        assert not [t for t in times if s.closing_auction.timestamp() <= t < s.close.timestamp()]
    assert max(uncrosses.values()) == 1  # one uncross per contract and auction at most
    # The expiring contract: continuous trading until 15:10, its closing uncross at 15:20:00.
    last_day = CALENDAR.session(date(2026, 12, 10))
    last = expiring_last[date(2026, 12, 10)]
    assert last == last_day.last_day_close.timestamp() or last < last_day.last_day_auction.timestamp()
    assert date(2026, 12, 11) not in expiring_last  # and the contract is gone after it


def test_holidays_are_skipped_and_the_first_day_of_the_year_opens_at_0945():
    m = market(always_open=False, activity=0.01, start=datetime(2026, 9, 23, 15, 0, tzinfo=KST))
    seen = set()
    while len(seen) < 2:
        seen.add(datetime.fromtimestamp(m.next_event().time, KST).date())
    assert seen == {date(2026, 9, 23), date(2026, 9, 28)}  # 추석 on Thursday and Friday
    m = market(always_open=False, activity=0.05, start=datetime(2026, 1, 1, 12, 0, tzinfo=KST))
    first = datetime.fromtimestamp(m.next_event().time, KST)
    assert first == datetime(2026, 1, 2, 9, 45, tzinfo=KST)  # an opening uncross, an hour late


def test_the_exam_day_runs_an_hour_late_and_the_holidays_are_a_setting():
    m = market(always_open=False, activity=0.05, start=datetime(2026, 11, 19, 8, 0, tzinfo=KST))
    times = []
    while (event := m.next_event()).time < datetime(2026, 11, 20, tzinfo=KST).timestamp():
        times.append(event.time)
    exam = CALENDAR.session(date(2026, 11, 19))
    assert min(times) == exam.open.timestamp() and max(times) <= exam.close.timestamp()
    assert max(times) > datetime(2026, 11, 19, 15, 45, tzinfo=KST).timestamp()
    m = market(always_open=False, activity=0.01, start=datetime(2026, 12, 31, 8, 0, tzinfo=KST))
    assert datetime.fromtimestamp(m.next_event().time, KST).date() == date(2027, 1, 4)
    m = market(
        always_open=False, activity=0.01, calendar=KrxCalendar(holidays=()),
        start=datetime(2026, 12, 31, 8, 0, tzinfo=KST),
    )  # fmt: skip
    assert datetime.fromtimestamp(m.next_event().time, KST).date() == date(2026, 12, 31)


def test_the_expiring_contract_uncrosses_at_1520_after_its_closing_auction():
    m = market(always_open=False, start=datetime(2026, 12, 10, 15, 0, tzinfo=KST))
    day = CALENDAR.session(date(2026, 12, 10))
    expiring = {i.code for i in m.instruments if i.expiry == day.day}
    seen: Counter[str] = Counter()
    while (event := m.next_event()).time < day.close.timestamp():
        if event.code in expiring:
            assert (
                event.time < day.last_day_auction.timestamp() or event.time == day.last_day_close.timestamp()
            )
            seen[event.code] += event.time == day.last_day_close.timestamp()
    assert seen and max(seen.values()) == 1


def test_an_auction_prints_once_per_contract_and_thin_series_may_have_none():
    m = market(always_open=False, start=datetime(2026, 11, 20, 8, 0, tzinfo=KST))
    opens = CALENDAR.session(date(2026, 11, 20)).open.timestamp()
    auction, continuous = [], []
    while (event := m.next_event()).time < opens + 600:
        if event.instrument.kind == "future":
            sizes = [int(text.split("^")[9]) for text in event.records]  # LAST_CNQN
            (auction if event.time == opens else continuous).extend(sizes)
    futures = [i for i in m.instruments if i.kind == "future"]
    assert 0 < len(auction) <= len(futures)
    thin = market(always_open=False, activity=0.001, start=datetime(2026, 11, 20, 8, 0, tzinfo=KST))
    codes = set()
    while (event := thin.next_event()).time == opens:
        codes.add(event.code)
    assert len(codes) < len(thin.instruments) / 2  # most series of a thin market have no uncross


def test_the_same_seed_gives_the_same_session_whatever_is_watched():
    start = datetime(2026, 11, 20, 8, 0, tzinfo=KST)
    a, b = market(always_open=False, start=start), market(always_open=False, start=start)
    code = next(i.code for i in a.instruments if i.kind == "put")
    b.watched.clear()
    b.watched.add(code)
    assert [(e.time, e.records) for e in (a.next_event() for _ in range(3000)) if e.code == code] == [
        (e.time, e.records) for e in (b.next_event() for _ in range(3000)) if e.code == code
    ]


def test_staged_limits_and_their_sign_codes():
    # a busy market (50x the usual trades): the spot, whose moves start each stage's 5 minutes,
    # moves at every trade of its contracts, so a stage starts within the seconds skipped below
    m = market(always_open=False, activity=50, start=datetime(2026, 11, 20, 8, 0, tzinfo=KST))
    future = next(c for c in m.contracts if c.instrument.kind == "future" and c.instrument.month == 1)
    other = next(
        c for c in m.contracts if c.instrument.kind == "future" and c.spot_state is not future.spot_state
    )
    # A previous close twice the fair value: every print is at the lower limit. The underlying's
    # own previous close doubled too: it has "fallen" 50 %, so each stage expands 5 min after
    # the stock market opens (the spot does not move before 09:00: ±10 % until then).
    future.prev_close *= 2
    other.prev_close //= 2  # half the fair value: at the upper limit
    spot = future.spot_state
    spot.prev_close *= 2
    spot.trigger = 0.1 * spot.prev_close
    session = CALENDAR.session(date(2026, 11, 20))
    stock_open = session.stock_open.timestamp()

    def lower(band: float) -> int:
        value = future.prev_close * (1 - band)
        return STOCK_GRID.ceil(value)

    at_limit, highs = defaultdict(set), set()
    while (event := m.next_event()).time < stock_open + 900:
        if event.code not in (future.code, other.code):
            continue
        # The stage by the clock: the first until 09:05, the second from 09:05 and the third
        # from 09:10 (each a few ms after, at the underlying's first move); those seconds skipped.
        stage = 0 if event.time < stock_open + 300 else 1 if event.time < stock_open + 600 else 2
        if 0 < (event.time - stock_open) % 300 < 2:
            continue
        for r in decode(encode_frame("H0ZFCNT0", [[t] for t in event.records])):
            if r.code == other.code:
                assert (r.change_sign is Sign.LIMIT_UP) == (r.price == other.limits[0])
                highs.add(r.price)
                continue
            floor = lower((0.1, 0.2, 0.3)[stage])
            assert r.price >= floor and (r.change_sign is Sign.LIMIT_DOWN) == (r.price == floor)
            if r.price == floor:
                at_limit[stage].add(event.time)
    assert all(at_limit[stage] for stage in range(3))
    assert any(t < stock_open for t in at_limit[0])  # 08:45-09:00: the first stage
    assert max(highs) == other.limits[0]  # its stock did not move 10 %: the first stage all along
    assert other.limits[0] < other.prev_close * 1.1


def test_before_0900_futures_trade_against_a_frozen_spot():
    m = market(always_open=False, activity=0.2, start=datetime(2026, 11, 20, 8, 0, tzinfo=KST))
    spots, later = defaultdict(set), defaultdict(set)
    while (event := m.next_event()).time < datetime(2026, 11, 20, 9, 10, tzinfo=KST).timestamp():
        if event.instrument.kind != "future":
            continue
        early = event.time < datetime(2026, 11, 20, 9, 0, tzinfo=KST).timestamp()
        for record in decode(encode_frame("H0ZFCNT0", [[t] for t in event.records])):
            (spots if early else later)[event.instrument.underlying_code].add(
                record.price - record.market_basis
            )
    assert spots and all(len(values) == 1 for values in spots.values())
    assert any(len(values) > 1 for values in later.values())


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
    options = Grid(OPTION_TICKS)
    m = market()
    sizes = Counter()
    for _ in range(5000):
        event = m.next_event()
        sizes[len(event.records)] += 1
        batch = decode(encode_frame(event.instrument.tr_id, [[t] for t in event.records]))
        for record in batch:
            if record.tr_id == "H0ZFCNT0":
                for price in (record.price, record.ask1, record.bid1):
                    assert STOCK_GRID.on_grid(price), price
            else:
                for price in (record.price, record.ask1, record.bid1):
                    assert options.on_grid(price), price
    assert sizes[1] > sizes[2] > 0 and sizes[4] > 0
