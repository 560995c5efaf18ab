"""Decode speed: kisfeed's typed decoder against the official samples' approach.

The official runtime (``kis_auth.py``) splits each message on ``|`` and hands the payload to
``pandas.read_csv(StringIO(payload), sep="^", names=columns, dtype=object)``: every value stays a
string, and a multi-record frame becomes one over-wide row (records lost; reference 2.4). We time
that per message and count the records the frame held, which flatters the naive approach.

Both public paths are timed: ``kisfeed.decode`` (a captured frame) and ``decode_frame`` (what the
client and the store call), in interleaved rounds with the naive approach on the same frame, so
the ratio holds under a changing load, for the fifteen TRs: trades, 10-level books (68 fields; the
issue-15 target is a book record at most twice a trade record's cost), 5-level books and
expected prices, of stock F/O, KOSPI200 F/O and the night session (issue 16). Run:
``python benchmarks/decode.py`` (``--quick`` for a short run). Prints one table, then each book's
cost over its product's trade record's.

Each figure is the best round of two clocks: wall time, and this thread's CPU time, which leaves
out the time the process waited for a core while other processes ran (on a shared two-core
machine that wait can be most of a round). Ratios are of figures by the same clock.
"""

from __future__ import annotations

import argparse
import io
import time
from collections.abc import Callable

import pandas as pd

import kisfeed
from kisfeed.protocol import decode_frame
from kisfeed.schema import LAYOUTS

FUTURES = (
    "A11612^090001^64300^5^-300^-0.47^64500^64800^64100^3^12345^7950000000^64299.50^250.00^0.00^"
    "64300.00^64800.00^500.00^23456^-120^090000^5^-200^091500^5^-500^090300^2^200^0.51^104.20^0.50^"
    "3^249.50^64400^64300^12^30^1500^1600^100^6000^6300^1234^2345^85.12^70700^57900^N"
)
OPTION = (
    "B11612065^100502^1250.00^2^150.00^13.64^1100.00^1300.00^1050.00^5^842^10525000^1243.55^5210^"
    "-35^090012^2^150.00^093001^5^-50.00^091512^2^200.00^0.48^1250.00^300.00^950.00^0.5512^0.0009^"
    "92.3100^-41.2200^18.0500^31.42^6.45^2^-56350.00^28.77^96.51^0.52^-63050.00^1260.00^1250.00^"
    "10^14^311^300^-11^420^422^310^290^120.40"
)


def by_name(tr_id: str, texts: dict[str, str]) -> str:
    """A record in ``tr_id``'s wire order from its texts by field name."""
    return "^".join(texts[f.name] for f in LAYOUTS[tr_id].fields)


def named(tr_id: str, record: str) -> dict[str, str]:
    return dict(zip((f.name for f in LAYOUTS[tr_id].fields), record.split("^")))


def book(tr_id: str, code: str, top: float, tick: float, depth: int) -> str:
    """A book record by field name in ``tr_id``'s wire order: ``depth`` levels a side around
    ``top``, the rest empty, totals the level sums (as KRX publishes them since 2024)."""
    decimals = LAYOUTS[tr_id].by_name["ask1"].kind.python_type is float
    price = (lambda v: f"{v:.2f}") if decimals else (lambda v: str(round(v)))
    empty = price(0)
    by_name = {"code": code, "time": "090001"}
    for side, sign in (("ask", 1), ("bid", -1)):
        qty_total = count_total = 0
        for n in range(1, LAYOUTS[tr_id].depth + 1):
            published = n <= depth
            qty, count = (7 * n % 23 + 1, n % 4 + 1) if published else (0, 0)
            by_name[f"{side}{n}"] = price(top + sign * tick * n) if published else empty
            by_name[f"{side}{n}_qty"], by_name[f"{side}{n}_count"] = str(qty), str(count)
            qty_total, count_total = qty_total + qty, count_total + count
        by_name[f"total_{side}_qty"], by_name[f"total_{side}_count"] = str(qty_total), str(count_total)
    by_name["total_ask_qty_change"], by_name["total_bid_qty_change"] = "-3", "12"
    return "^".join(by_name[f.name] for f in LAYOUTS[tr_id].fields)


# A busy futures book (10 levels a side) and a thinner option book (4 a side, the rest empty).
FUTURES_BOOK = book("H0ZFASP0", "A11612", 64300, 100, 10)
OPTION_BOOK = book("H0ZOASP0", "B11612065", 1250, 10, 4)
FUTURES_EXPECTED = "A11612^084130^64400^-200^5^-0.31^311^23"
OPTION_EXPECTED = "B11612065^154012^1260.00^10.00^2^0.80^121"
# KOSPI200 futures in index points (H0IFCNT0 puts the price at index 5, H0MFCNT0 lacks the block
# volume), a KOSPI200 call, and the 5-level books: the same fields by name as the stock TRs.
_POINTS = {"price": "355.25", "change": "2.35", "change_rate": "0.67", "open": "353.10", "high": "356.00"}
_POINTS |= {"low": "352.40", "theoretical_price": "355.62", "market_basis": "1.87", "ask1": "355.30"}
_POINTS |= {"bid1": "355.25", "vs_open": "2.15", "vs_high": "-0.75", "vs_low": "2.85", "spread": "0.00"}
_POINTS |= {"dynamic_upper_limit": "362.35", "dynamic_lower_limit": "348.15", "block_volume": "120"}
_INDEX_FUTURES = named("H0ZFCNT0", FUTURES) | {"code": "A01612"} | _POINTS
_INDEX_OPTION = named("H0ZOCNT0", OPTION) | {"code": "B01612355", "price": "3.45", "ask1": "3.50"}
_INDEX_OPTION |= {
    "bid1": "3.45",
    "average_volatility": "17.85",
    "block_volume": "40",
    "dynamic_limit_flag": "N",
}
_INDEX_OPTION |= {"dynamic_upper_limit": "5.45", "dynamic_lower_limit": "1.45"}
RECORDS = {
    "H0ZFCNT0": FUTURES,
    "H0ZOCNT0": OPTION,
    "H0ZFASP0": FUTURES_BOOK,
    "H0ZOASP0": OPTION_BOOK,
    "H0ZFANC0": FUTURES_EXPECTED,
    "H0ZOANC0": OPTION_EXPECTED,
    "H0IFCNT0": by_name("H0IFCNT0", _INDEX_FUTURES),
    "H0IFASP0": book("H0IFASP0", "A01612", 355.25, 0.05, 5),
    "H0IOCNT0": by_name("H0IOCNT0", _INDEX_OPTION),
    "H0IOASP0": book("H0IOASP0", "B01612355", 3.45, 0.01, 5),
    "H0MFCNT0": by_name("H0MFCNT0", _INDEX_FUTURES),
    "H0MFASP0": book("H0MFASP0", "A01612", 355.25, 0.05, 5),
    "H0EUCNT0": by_name("H0EUCNT0", _INDEX_OPTION),
    "H0EUASP0": book("H0EUASP0", "B01612355", 3.45, 0.01, 3),
    "H0EUANC0": "B01612355^175512^3.40^-0.05^5^-1.45^311^12",
}


def frame(tr_id: str, record: str, count: int) -> str:
    return f"0|{tr_id}|{count:03d}|" + "^".join([record] * count)


def naive(text: str, columns: list[str]) -> pd.DataFrame:
    payload = text.split("|")[3]
    return pd.read_csv(io.StringIO(payload), header=None, sep="^", names=columns, dtype=object)


def best_times(
    fns: dict[str, Callable[[str], object]], text: str, seconds: float
) -> dict[str, tuple[float, float]]:
    """Seconds per call of each function, wall and CPU, each the best of interleaved rounds:
    every round times each function in turn, so that a load change on the machine touches all
    of them alike."""
    loops = {}
    for name, fn in fns.items():  # calibrate: one timing of each lasts about seconds / 20
        n = 1
        while True:
            start = time.perf_counter()
            for _ in range(n):
                fn(text)
            elapsed = time.perf_counter() - start
            if elapsed > seconds / 80:
                break
            n *= 4
        loops[name] = max(1, int(n * seconds / 20 / elapsed))
    wall = dict.fromkeys(fns, float("inf"))
    cpu = dict.fromkeys(fns, float("inf"))
    for _ in range(20):
        for name, fn in fns.items():
            n = loops[name]
            start, start_cpu = time.perf_counter(), time.thread_time()
            for _ in range(n):
                fn(text)
            cpu[name] = min(cpu[name], (time.thread_time() - start_cpu) / n)
            wall[name] = min(wall[name], (time.perf_counter() - start) / n)
    return {name: (wall[name], cpu[name]) for name in fns}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs (noisier figures)")
    parser.add_argument("--trs", nargs="+", choices=RECORDS, default=list(RECORDS), help="these TRs only")
    args = parser.parse_args()
    seconds = 0.5 if args.quick else 2.5
    print(
        f"{'frame':<14}{'path':<16}{'µs/rec':>8}{'rec/s':>10}{'naive µs/rec':>14}{'ratio':>7}"
        f"{'cpu µs/rec':>12}{'naive':>9}{'ratio':>7}"
    )
    single: dict[str, float] = {}  # decode_frame µs per record of a one-record frame, by TR
    for tr_id in args.trs:
        record = RECORDS[tr_id]
        columns = [f.kis for f in LAYOUTS[tr_id].fields]
        for count in (1, 10):
            text = frame(tr_id, record, count)
            assert len(decode_frame(text)) == count and kisfeed.decode(text) == decode_frame(text)
            best = best_times(
                {
                    "kisfeed.decode": kisfeed.decode,
                    "decode_frame": decode_frame,
                    "naive": lambda t, columns=columns: naive(t, columns),
                },
                text,
                seconds,
            )
            theirs, theirs_cpu = (t / count for t in best.pop("naive"))
            for path, (per_call, per_call_cpu) in best.items():
                ours, ours_cpu = per_call / count, per_call_cpu / count
                label = f"{tr_id} x{count}"
                if count == 1 and path == "decode_frame":
                    single[tr_id] = ours
                print(
                    f"{label:<14}{path:<16}{ours * 1e6:>8.2f}{1 / ours:>10,.0f}{theirs * 1e6:>14.1f}"
                    f"{theirs / ours:>6.0f}x{ours_cpu * 1e6:>12.2f}{theirs_cpu * 1e6:>9.1f}"
                    f"{theirs_cpu / ours_cpu:>6.0f}x"
                )
    for book_tr, trade_tr in (
        ("H0ZFASP0", "H0ZFCNT0"),
        ("H0ZOASP0", "H0ZOCNT0"),
        ("H0IFASP0", "H0IFCNT0"),
        ("H0IOASP0", "H0IOCNT0"),
    ):
        if book_tr not in single or trade_tr not in single:
            continue
        ratio = single[book_tr] / single[trade_tr]
        print(f"{book_tr} x1 / {trade_tr} x1 (decode_frame): {ratio:.2f} (target <= 2)")


if __name__ == "__main__":
    main()
