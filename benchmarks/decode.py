"""Decode speed: kisfeed's typed decoder against the official samples' approach.

The official runtime (``kis_auth.py``) splits each message on ``|`` and hands the payload to
``pandas.read_csv(StringIO(payload), sep="^", names=columns, dtype=object)``: every value stays a
string, and a multi-record frame becomes one over-wide row (records lost; reference 2.4). We time
that per message and count the records the frame held, which flatters the naive approach.

Both public paths are timed: ``kisfeed.decode`` (a captured frame) and ``decode_frame`` (what the
client and the store call), in interleaved rounds with the naive approach on the same frame, so
the ratio holds under a changing load. Run: ``python benchmarks/decode.py`` (``--quick`` for a
short run). Prints one table.
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


def frame(tr_id: str, record: str, count: int) -> str:
    return f"0|{tr_id}|{count:03d}|" + "^".join([record] * count)


def naive(text: str, columns: list[str]) -> pd.DataFrame:
    payload = text.split("|")[3]
    return pd.read_csv(io.StringIO(payload), header=None, sep="^", names=columns, dtype=object)


def best_times(fns: dict[str, Callable[[str], object]], text: str, seconds: float) -> dict[str, float]:
    """Seconds per call of each function, best of interleaved rounds: every round times each
    function in turn, so that a load change on the machine touches all of them alike."""
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
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(20):
        for name, fn in fns.items():
            n = loops[name]
            start = time.perf_counter()
            for _ in range(n):
                fn(text)
            best[name] = min(best[name], (time.perf_counter() - start) / n)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs (noisier figures)")
    args = parser.parse_args()
    seconds = 0.5 if args.quick else 2.5
    print(f"{'frame':<14}{'path':<20}{'µs/rec':>9}{'rec/s':>12}{'naive µs/rec':>14}{'ratio':>8}")
    for tr_id, record in (("H0ZFCNT0", FUTURES), ("H0ZOCNT0", OPTION)):
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
            theirs = best.pop("naive") / count
            for path, per_call in best.items():
                ours = per_call / count
                label = f"{tr_id} x{count}"
                print(
                    f"{label:<14}{path:<20}{ours * 1e6:>9.2f}{1 / ours:>12,.0f}{theirs * 1e6:>14.1f}"
                    f"{theirs / ours:>7.0f}x"
                )


if __name__ == "__main__":
    main()
