"""One simulated KRX trading day of the whole universe: how much each series trades.

Runs the market model (no sockets) through one regular session with every code watched, and
prints, for futures and options apart, the per-series distribution of trades, contracts, the
longest silence and the quoted spread, beside the official example frames' figures
(reference 6, "Liquidity"; docs/sim-calibration.md), and the books and expected prices
(H0ZFASP0/H0ZOASP0, H0ZFANC0/H0ZOANC0) of the ``--books`` busiest series: records, records a
minute, levels a side. Also prints how long the day took to simulate. Run: ``python benchmarks/sim_day.py`` (``--day 2026-11-20 --seed 1``).
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time
from collections import defaultdict
from datetime import date, datetime, timedelta
from datetime import time as clock

from kisfeed import Book, FuturesTrade, OptionTrade, decode
from kisfeed.protocol.frames import encode_frame
from kisfeed.schema.records import KST
from kisfeed.sim.instruments import build_universe
from kisfeed.sim.market import Market

EXAMPLES = {  # the official example frames (2024, 09:00 open)
    "futures": "H0ZFCNT0 111V06 at 09:16:39: 141 trades, 1,724 contracts, OI 32,053, spread 1 tick",
    "options": "H0ZOCNT0 211V05059 at 09:19:40: 29 trades, 563 contracts, OI 1,134, spread 3 ticks",
}


def quantiles(values: list[float], form: str = ",.0f") -> str:
    ordered = sorted(values)
    n = len(ordered)
    p90 = ordered[min(n - 1, int(0.9 * n))]
    low, mid, high, top = (
        format(x, form) for x in (ordered[0], statistics.median(ordered), p90, ordered[-1])
    )
    return f"{low:>8} {mid:>8} {high:>8} {top:>9}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--day", type=date.fromisoformat, default=date(2026, 11, 20))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--books", type=int, default=41, help="series whose books and expected prices are watched"
    )
    args = parser.parse_args()
    start = datetime.combine(args.day, datetime.min.time(), KST) + timedelta(hours=8)
    universe = build_universe(start)
    market = Market(universe, seed=args.seed, start=start)
    market.watched.update(i.code for i in universe)
    rates = market.rates()
    watched = sorted(universe, key=lambda i: -rates[i.code])[: args.books]
    for i in watched:
        for tr_id in i.tr_ids[1:]:  # the book and expected-price TRs
            market.watch(tr_id, i.code)
    siblings: dict[str, int] = defaultdict(int)  # tr_id -> records
    levels: dict[str, list[int]] = defaultdict(list)  # book tr_id -> levels of each side of each book
    trades: dict[str, int] = defaultdict(int)
    volume: dict[str, int] = {}
    oi: dict[str, int] = {}
    spreads: dict[str, list[int]] = defaultdict(list)
    times: dict[str, list[float]] = defaultdict(list)
    at_0919: dict[str, tuple[int, int]] = {}
    first_change: dict[str, float] = {}  # the day's first print against the previous close, %
    volume_rate: dict[str, float] = {}  # the day's volume against the previous day's, %
    began = time.perf_counter()
    records = 0
    while (event := market.next_event()) is not None:
        when = datetime.fromtimestamp(event.time, KST)
        if when.date() != args.day:
            break
        code = event.instrument.code
        if event.tr_id != event.instrument.tr_id:  # a book or an expected price
            for record in decode(encode_frame(event.tr_id, [[t] for t in event.records])):
                siblings[event.tr_id] += 1
                if isinstance(record, Book):
                    levels[event.tr_id] += [len(record.asks), len(record.bids)]
            continue
        for record in decode(encode_frame(event.instrument.tr_id, [[t] for t in event.records])):
            assert isinstance(record, FuturesTrade | OptionTrade)
            records += 1
            trades[code] += 1
            volume[code], oi[code] = record.volume, record.open_interest
            first_change.setdefault(code, record.change_rate)
            volume_rate[code] = record.volume_rate
            spreads[code].append(int(record.ask1 - record.bid1))
            times[code].append(event.time)
            if when.time() <= clock(9, 19, 40):
                at_0919[code] = (trades[code], record.volume)
    elapsed = time.perf_counter() - began
    # silences within continuous trading (08:45-15:35): the closing auction is ten quiet minutes for all
    open_, close = (datetime.combine(args.day, t, KST).timestamp() for t in (clock(8, 45), clock(15, 35)))
    print(
        f"one day ({args.day}, seed {args.seed}): {records:,} records in {elapsed:.2f} s of CPU-bound simulation"
    )
    print(f"{'':28} {'min':>8} {'median':>8} {'p90':>8} {'max':>9}")
    for kind, option in (("futures", False), ("options", True)):
        codes = [i.code for i in universe if (i.strike is not None) == option]
        print(f"{kind}: {len(codes)} series, {sum(1 for c in codes if trades[c] == 0)} with no trade all day")
        print(f"  {'trades per series':26} {quantiles([trades[c] for c in codes])}")
        print(f"  {'contracts per series':26} {quantiles([volume.get(c, 0) for c in codes])}")
        print(f"  {'trades by 09:19:40':26} {quantiles([at_0919.get(c, (0, 0))[0] for c in codes])}")
        silences = [
            max(b - a for a, b in _pairs([open_, *(t for t in times[c] if t < close), close])) / 60
            for c in codes
        ]
        print(f"  {'longest silence, minutes':26} {quantiles(silences)}")
        traded = [c for c in codes if spreads[c]]
        if traded:
            print(f"  {'median spread, won':26} {quantiles([statistics.median(spreads[c]) for c in traded])}")
        front = [i.code for i in universe if (i.strike is not None) == option and i.month == 1]
        print(f"  {'front month: trades':26} {quantiles([trades[c] for c in front])}  ({len(front)} series)")
        traded_rates = [volume_rate[c] for c in traded if volume_rate[c]]
        print(f"  {'first print vs prev close %':26} {quantiles([first_change[c] for c in traded], '.2f')}")
        print(f"  {'day volume vs previous %':26} {quantiles(traded_rates)}")
        busiest = max(codes, key=lambda c: trades[c])
        print(
            f"  busiest {busiest}: {trades[busiest]:,} trades, {volume.get(busiest, 0):,} contracts, OI {oi.get(busiest, 0):,}"
        )
        print(f"  example: {EXAMPLES[kind]}")
    books_report(siblings, levels, len(watched), args.day)


def books_report(siblings: dict[str, int], levels: dict[str, list[int]], series: int, day: date) -> None:
    """Records of the book and expected-price TRs, and a rate per series and minute of the day
    (08:30-15:45: 435 minutes)."""
    print(f"books and expected prices of the {series} busiest series (all six TRs watched for them):")
    for tr_id in ("H0ZFASP0", "H0ZOASP0", "H0ZFANC0", "H0ZOANC0"):
        n = siblings.get(tr_id, 0)
        depth = f", levels a side {quantiles(levels[tr_id])}" if levels.get(tr_id) else ""
        print(f"  {tr_id}: {n:>9,} records, {n / max(series, 1) / 435:6.2f} a series and minute{depth}")


def _pairs(values: list[float]) -> list[tuple[float, float]]:
    return list(itertools.pairwise(values))


if __name__ == "__main__":
    main()
