"""Decode speed: kisfeed's typed decoder against the official samples' approach.

The official runtime (``kis_auth.py``) splits each message on ``|`` and hands the payload to
``pandas.read_csv(StringIO(payload), sep="^", names=columns, dtype=object)``: every value stays a
string, and a multi-record frame becomes one over-wide row (records lost; reference 2.4). We time
that per message and count the records the frame held, which flatters the naive approach.

Run: ``python benchmarks/decode.py`` (``--quick`` for a short run). Prints one table.
"""

from __future__ import annotations

import argparse
import io
import time

import pandas as pd

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


def rate(fn, text: str, records: int, seconds: float) -> float:
    """Records per second, best of three runs of about ``seconds`` each."""
    loops = 1
    while True:  # calibrate so one run lasts about `seconds`
        start = time.perf_counter()
        for _ in range(loops):
            fn(text)
        elapsed = time.perf_counter() - start
        if elapsed > seconds / 4:
            break
        loops *= 4
    loops = max(1, int(loops * seconds / elapsed))
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(loops):
            fn(text)
        best = min(best, time.perf_counter() - start)
    return loops * records / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs (noisier figures)")
    args = parser.parse_args()
    seconds = 0.2 if args.quick else 1.0
    print(f"{'frame':<22}{'kisfeed rec/s':>15}{'µs/rec':>9}{'naive rec/s':>14}{'ratio':>9}")
    for tr_id, record in (("H0ZFCNT0", FUTURES), ("H0ZOCNT0", OPTION)):
        columns = [f.kis for f in LAYOUTS[tr_id].fields]
        for count in (1, 10):
            text = frame(tr_id, record, count)
            assert len(decode_frame(text)) == count
            ours = rate(decode_frame, text, count, seconds)
            theirs = rate(lambda t, columns=columns: naive(t, columns), text, count, seconds / 2)
            label = f"{tr_id} x{count}"
            print(f"{label:<22}{ours:>15,.0f}{1e6 / ours:>9.2f}{theirs:>14,.0f}{ours / theirs:>8.0f}x")


if __name__ == "__main__":
    main()
