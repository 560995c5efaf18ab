"""Books of the simulated market (sim/book.py, sim/publish.py; reference 4.5, issue 15): the
book model on its own, then full simulated days of a dozen codes watched on all three of their
TRs, every record checked (tests/sim/invariants.py)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time

import pytest

from kisfeed.schema.records import KST
from kisfeed.sim import Market, build_universe
from kisfeed.sim.book import DEFERRED, MERGED, NOW, QUOTE, Base, Book, after_print, depth, slot_of
from kisfeed.sim.calendar import KrxCalendar
from kisfeed.sim.ticks import STOCK_GRID

from .helpers import chosen, watched_day
from .invariants import BookTrail, check_book

CALENDAR = KrxCalendar()


def base(seed: int = 1, levels: int = 10, chance: float = 0.0) -> Base:
    return Base(QUOTE, seed, 64_500, 64_400, levels, 20.0, STOCK_GRID, 70_000, 58_000, chance)


def test_a_base_draws_levels_on_the_grid_best_first_within_the_limits():
    asks, bids = base().sides()
    assert len(asks) == len(bids) == 10
    assert [a[0] for a in asks] == sorted(a[0] for a in asks) and asks[0][0] == 64_500
    assert [b[0] for b in bids] == sorted((b[0] for b in bids), reverse=True) and bids[0][0] == 64_400
    assert all(STOCK_GRID.on_grid(x[0]) and 1 <= x[2] <= x[1] for x in asks + bids)
    assert base().sides() == (asks, bids)  # one seed, one book
    near_limit = Base(QUOTE, 1, 69_800, 58_200, 10, 20.0, STOCK_GRID, 70_000, 58_000, 0.0)
    up, down = near_limit.sides()
    assert [a[0] for a in up] == [69_800, 69_900, 70_000]  # nothing offered above the daily limit
    assert [b[0] for b in down] == [58_200, 58_100, 58_000]
    thin = base(levels=depth(10)).sides()
    assert len(thin[0]) <= 2 and len(thin[1]) <= 2


def test_a_sweep_consumes_the_levels_it_walks():
    post = base().sides()  # what the order left: the ask now at 64,500, partly left
    prices, qtys = [64_300, 64_400, 64_500], [5, 7, 3]
    first = after_print(post, prices, qtys, 0, buy=True, partial=True)
    # after the first print the next two levels are still there, the last with what is left
    assert [(a[0], a[1]) for a in first[0][:2]] == [(64_400, 7), (64_500, 3 + post[0][0][1])]
    assert first[1] == post[1]  # a buy leaves the bids alone
    assert after_print(post, prices, qtys, 2, buy=True, partial=True) == post
    whole = after_print(post, [64_400], [9], 0, buy=True, partial=False)
    assert whole == post


def test_the_filter_publishes_once_a_slot_and_the_latest_state():
    book = Book()
    book.until = 10**12
    assert book.publish(base(1), 100) == NOW
    assert book.publish(base(2), 100) == DEFERRED and book.slot == 101 and book.pending
    assert book.publish(base(3), 100) == MERGED and book.base is not None and book.base.seed == 3
    book.pending = False  # the market publishes at the start of slot 101
    assert book.publish(base(4), 102) == NOW
    changing = Book()
    changing.until = 10**12
    changing.publish(base(5, chance=0.5), 0)
    slot = changing.next_change(0)
    assert slot is not None and changing.change_at(slot)
    assert changing.publish(base(6), slot) == DEFERRED  # the slot of a change is taken
    assert changing.previous_totals() != (0, 0)


def test_slots_hold_their_start():
    t = datetime(2026, 11, 20, 8, 45, tzinfo=KST).timestamp()
    assert slot_of(t, 5) == int(t) * 5 and slot_of(t + 0.2, 5) == int(t) * 5 + 1
    assert slot_of(slot_of(t + 7.4, 5) / 5, 5) == slot_of(t + 7.4, 5)


# An expiry day (the December contracts' auction and close differ from the others'); the whole
# of an ordinary Friday's books is test_every_book_of_the_day_passes_with_a_one_second_filter's
@pytest.mark.parametrize("day", [date(2026, 12, 10)])
def test_a_full_day_of_books_is_coherent_with_its_trades(day: date):
    codes = chosen(day)
    market, records = watched_day(day, codes)
    session = CALENDAR.session(day)
    trail = BookTrail(filled=True, whole_day=True)
    slots: dict[str, int] = {}
    depth_of: dict[str, list[int]] = defaultdict(list)
    for t, r in records:
        trail.feed(r)
        if r.layout.category == "book":
            slot = slot_of(t, 5)
            assert slot > slots.get(r.code, -1), (r.code, r.time)  # one book a code and 0.2 s at most
            slots[r.code] = slot
            depth_of[r.code].append(len(r.asks))
            # between the open and the close only: the night's book is empty, changes stop
            assert session.auction_start.timestamp() < t <= session.close.timestamp()
    assert trail.books > 1000 and trail.matched > 100 and trail.crossed > 0
    rates = market.rates()
    busy, thin = codes[0], codes[-1]
    assert rates[busy] > 100 * rates[thin]
    assert max(depth_of[busy]) == 10 and max(depth_of.get(thin, [0])) <= 3  # thin books where trading is thin


def test_a_book_watched_late_shows_the_records_of_a_book_watched_all_day():
    day = date(2026, 11, 20)
    start = datetime.combine(day, time(8, 0), KST)
    universe = build_universe(start)
    codes = chosen(day)[:3] + chosen(day)[-2:]

    def run(late: bool) -> dict[str, list[tuple[float, list[str]]]]:
        market = Market(universe, seed=3, start=start)
        if not late:
            for code in codes:
                market.watch("H0ZFASP0" if code.startswith("A") else "H0ZOASP0", code)
        out: dict[str, list[tuple[float, list[str]]]] = defaultdict(list)
        midday = datetime.combine(day, time(11, 0), KST).timestamp()
        while (event := market.next_event()).time < midday + 1800:
            if late and event.time >= midday and not market.watched_books:
                for code in codes:
                    market.watch("H0ZFASP0" if code.startswith("A") else "H0ZOASP0", code)
            if late and midday + 600 <= event.time < midday + 601:  # dropped and taken again
                for code in codes:
                    market.watch("H0ZFASP0" if code.startswith("A") else "H0ZOASP0", code, on=False)
                    market.watch("H0ZFASP0" if code.startswith("A") else "H0ZOASP0", code)
            if event.records and event.tr_id.endswith("ASP0") and event.time >= midday + 60:
                out[event.code].append((event.time, event.records))
        return out

    early, late = run(False), run(True)
    assert early == late and sum(map(len, early.values())) > 100


def test_every_book_of_the_day_passes_with_a_one_second_filter():
    day = date(2026, 11, 20)
    codes = chosen(day)[:2]
    _, records = watched_day(day, codes, book_interval=1.0)
    seconds: dict[tuple[str, str], int] = defaultdict(int)
    for _, r in records:
        if r.layout.category == "book":
            check_book(r, crossed=True)
            seconds[r.code, r.time] += 1
    assert seconds and max(seconds.values()) == 1


def test_top_is_level_one_and_the_totals_of_the_levels():
    for seed in range(200):
        for b in (
            base(seed),
            base(seed, levels=3),
            Base(QUOTE, seed, 69_800, 58_200, 10, 9.0, STOCK_GRID, 70_000, 58_000, 0.0),
        ):
            asks, bids = b.sides()
            assert b.top() == (
                asks[0][0],
                bids[0][0],
                asks[0][1],
                bids[0][1],
                sum(x[1] for x in asks),
                sum(x[1] for x in bids),
            )
