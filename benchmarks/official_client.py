"""The official KIS sample client, unmodified, against ``kisfeed sim``: does it still work?

KIS publishes a Python sample client (GitHub ``koreainvestment/open-trading-api``,
``examples_user/kis_auth.py`` and ``examples_user/domestic_futureoption/
domestic_futureoption_functions_ws.py``). This script runs it, untouched, against the simulator:
it starts ``kisfeed sim`` on free ports, writes a ``kis_devlp.yaml`` (the demo app key and the
simulator's URLs as ``prod`` and ``ops``) under a temporary ``HOME`` (the client reads
``~/KIS/config/kis_devlp.yaml``; nothing of the user's is read or written), and runs the client
the way its own ``domestic_futureoption_examples_ws.py`` does: ``ka.auth_ws()``,
``ka.KISWebSocket(api_url="/tryitout")``, ``kws.subscribe(request=...)`` with the official request
builders of all fifteen TRs (``TRS``: the six stock ones, ``stock_futures_realtime_conclusion``
H0ZFCNT0 to ``option_exp_ccnl`` H0ZOANC0; the four KOSPI200 index ones,
``index_futures_realtime_conclusion`` H0IFCNT0, ``index_futures_realtime_quote`` H0IFASP0,
``index_option_realtime_conclusion`` H0IOCNT0, ``index_option_realtime_quote`` H0IOASP0; the five
KRX night ones, ``krx_ngt_futures_ccnl`` H0MFCNT0, ``krx_ngt_futures_asking_price`` H0MFASP0,
``krx_ngt_option_ccnl`` H0EUCNT0, ``krx_ngt_option_asking_price`` H0EUASP0,
``krx_ngt_option_exp_ccnl`` H0EUANC0), ``kws.start(on_result=...)``, for ``--seconds`` wall
seconds. The day TRs run in one simulator from 08:39:30 of a trading day (``--start``) at
``--speed 10``, so the opening auction's expected prices (from 08:40) and its 08:45 uncross come
within the first 35 wall seconds, then continuous trading; the night TRs in a second one from
17:55 (``--night-start``), the last minutes of the night session's opening auction and its 18:00
uncross, its trade rates 30 times the calibrated night's (``--night-activity``: the night trades
12 % of the day's volume, and a monthly option may not trade in five minutes). ``--markets
stock,index,night`` chooses the families. Only the driver around those calls is ours (it is
written to the temporary directory and run by ``--python``); no file of the official client is
changed or copied, and none of its code is in this repository.

Per TR it prints the records the simulator sent (its ``--ground-truth``), the records declared
in the frames the client received (each frame's ``NNN``), the frames and DataFrame rows that
reached the client's callback, the DataFrame's column count beside the official list's (68 for
the stock books, 8 for H0ZFANC0, 7 for H0ZOANC0; 50, 38, 58, 38 for H0IFCNT0, H0IFASP0, H0IOCNT0,
H0IOASP0; 49, 38, 56, 38, 8 for H0MFCNT0, H0MFASP0, H0EUCNT0, H0EUASP0, H0EUANC0), and the frames
that failed: a data frame that did not reach the
callback, a ``Connection exception`` the client printed (its reconnect path), or a DataFrame
whose row is not the frame's record. The client parses a frame with ``pandas.read_csv`` on the
``^``-joined body, so a frame of N records gives one row, the last record, and the first N - 1
end up in the index: those are counted as "lost to multi-record frames", a known defect of the
client, not a failure of the simulator.

Defaults: the front-month 삼성전자 future (on the three H0ZF TRs) and its call nearest the money
(on the three H0ZO TRs); the front-month KOSPI200 future and its monthly call nearest the money
on the index and the night TRs, as the simulator lists them for each TR (``--list-instruments``);
``--code TR=CODE`` for another; ``--speed 10``. Exit status 0 when every TR reached the callback with
the official column count and no frame failed, 1 otherwise.

Run::

    python benchmarks/official_client.py --official ~/src/open-trading-api \\
        --python ~/venvs/kis/bin/python [--seconds 60]

``--official`` is a checkout of the official repository (or a copy of its ``examples_user``
directory). ``--python`` is an interpreter with what the client imports: Python 3.12 or newer
(``kis_auth.py`` uses a 3.12 f-string) with pandas, websockets, pycryptodome, PyYAML and
requests; ``pip install pandas websockets pycryptodome pyyaml requests``. This script itself runs
with kisfeed's Python.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FUNCTIONS = "domestic_futureoption_functions_ws.py"
UNDERLYING = "005930"  # 삼성전자
INDEX_ID = "01"  # KOSPI200's underlying id in a code (``A01612``, ``101W9000``; reference 5.1-5.3)
ROW = "{:<9} {:<10} {:>7} {:>7} {:>7} {:>6} {:>8} {:>7} {:>6} {:>6} {:>9}"
#: The official request builder of each TR in ``FUNCTIONS`` (reference 4.5, 4.6; spec/family/README.md).
TRS = {
    "H0ZFCNT0": "stock_futures_realtime_conclusion",
    "H0ZFASP0": "stock_futures_realtime_quote",
    "H0ZFANC0": "futures_exp_ccnl",
    "H0ZOCNT0": "stock_option_ccnl",
    "H0ZOASP0": "stock_option_asking_price",
    "H0ZOANC0": "option_exp_ccnl",
    "H0IFCNT0": "index_futures_realtime_conclusion",
    "H0IFASP0": "index_futures_realtime_quote",
    "H0IOCNT0": "index_option_realtime_conclusion",
    "H0IOASP0": "index_option_realtime_quote",
    "H0MFCNT0": "krx_ngt_futures_ccnl",
    "H0MFASP0": "krx_ngt_futures_asking_price",
    "H0EUCNT0": "krx_ngt_option_ccnl",
    "H0EUASP0": "krx_ngt_option_asking_price",
    "H0EUANC0": "krx_ngt_option_exp_ccnl",
}
START = "2026-11-20T08:39:30"  # a Friday: the opening auction's expected prices from 08:40
#: The night TRs run in a second simulator from the night session's opening auction (orders
#: 17:50-18:00, uncross 18:00; KRX since 2025-06-09, brief "Facts"): a Wednesday, since the
#: Thursday 2026-11-19 is the 수능 exam day, when the night session opens at 19:00.
NIGHT_START = "2026-11-18T17:55:00"
#: The night session trades 12 % of the day's volume (``SimConfig.night_volume_ratio``): a
#: monthly option near the money may not trade in its first 5 minutes, so the night run makes
#: the market 30 times busier (``kisfeed sim --activity``), as the client tests do.
NIGHT_ACTIVITY = 30.0
MARKETS = ("stock", "index", "night")


def market_of(tr_id: str) -> str:
    """``stock``, ``index`` or ``night`` from the TR id's product letters (reference 4.6)."""
    return {"ZF": "stock", "ZO": "stock", "IF": "index", "IO": "index"}.get(tr_id[2:4], "night")


# Run by --python in the official client's domestic_futureoption directory, HOME the temporary
# one. argv: seconds, then FUNCTION=CODE pairs (FUNCTION from domestic_futureoption_functions_ws;
# one code may come under several functions, so the pairs are a list, not a dict).
# Its last stdout line is "RESULT " + JSON.
DRIVER = r"""
import json, logging, os, signal, sys, time

seconds = float(sys.argv[1])
wanted = [arg.split("=", 1) for arg in sys.argv[2:]]
sys.path[:0] = [os.getcwd(), os.path.dirname(os.getcwd())]

import kis_auth as ka
import domestic_futureoption_functions_ws as fo

received = []  # every text the client logs as "received message >> ..."


class Tap(logging.Handler):
    def emit(self, record):
        text = record.getMessage()
        if text.startswith("received message >> "):
            received.append(text[len("received message >> "):])


root = logging.getLogger()
for handler in root.handlers:
    handler.setLevel(logging.WARNING)  # the client logs every frame at INFO; keep it off screen
root.addHandler(Tap())
root.setLevel(logging.INFO)

stats = {}


def on_result(ws, tr_id, result, info):
    raw = received[-1]  # the frame this call is for: logged first, in the same loop iteration
    encrypted, _, count, body = raw.split("|", 3)
    if encrypted == "1":
        body = ka.aes_cbc_base64_dec(info["key"], info["iv"], body)
    fields, width, n = body.split("^"), len(info["columns"]), int(count)
    s = stats.setdefault(tr_id, {"calls": 0, "rows": 0, "bad_rows": 0, "multi_sample": None,
                                 "columns": [], "official": width})
    s["calls"] += 1
    s["rows"] += len(result)
    if result.shape[1] not in s["columns"]:
        s["columns"].append(result.shape[1])
    row = [str(v) for v in result.iloc[-1].tolist()] if len(result) else []
    if len(fields) != n * width or row != fields[-width:]:
        s["bad_rows"] += 1
    if n > 1 and s["multi_sample"] is None:
        s["multi_sample"] = {"records": n, "shape": list(result.shape),
                             "index_levels": result.index.nlevels,
                             "row_is_last_record": row == fields[-width:],
                             "row_is_first_record": row == fields[:width]}


ka.auth_ws()
if "approval_key" not in ka._base_headers_ws:
    print("RESULT " + json.dumps({"error": "auth_ws() got no approval key"}))
    sys.exit(1)
kws = ka.KISWebSocket(api_url="/tryitout")
for function, code in wanted:
    kws.subscribe(request=getattr(fo, function), data=[code])


def stop(signum, frame):
    raise KeyboardInterrupt  # what the client's start() handles: "Closing by KeyboardInterrupt"


signal.signal(signal.SIGALRM, stop)
signal.setitimer(signal.ITIMER_REAL, seconds)
t0 = time.monotonic()
kws.start(on_result=on_result)
elapsed = time.monotonic() - t0

frames, declared, multi = {}, {}, {}
for raw in received:
    if raw[:1] in ("0", "1"):
        parts = raw.split("|", 3)
        tr_id, n = parts[1], int(parts[2])
        frames[tr_id] = frames.get(tr_id, 0) + 1
        declared[tr_id] = declared.get(tr_id, 0) + n
        multi[tr_id] = multi.get(tr_id, 0) + (n > 1)
others = [raw for raw in received if raw[:1] not in ("0", "1")]


def brief(raw):
    try:
        msg = json.loads(raw)
        head, body = msg["header"], msg.get("body") or {}
        status = f"rt_cd {body.get('rt_cd')} {body.get('msg_cd')} {body.get('msg1')}"
        return f"{head['tr_id']} {head.get('tr_key')}: {status}"
    except Exception:
        return raw[:200]


print("RESULT " + json.dumps({"elapsed": elapsed, "frames": frames, "declared": declared, "multi": multi,
                              "stats": stats, "retries": kws.retry_count,
                              "replies": [brief(r) for r in others if "PINGPONG" not in r],
                              "pingpongs": sum("PINGPONG" in r for r in others)}))
"""


def find_official(root: Path) -> Path:
    """The directory holding ``FUNCTIONS``, with ``kis_auth.py`` in it or its parent."""
    for base in (root / "examples_user" / "domestic_futureoption", root / "domestic_futureoption", root):
        if (base / FUNCTIONS).is_file() and (
            (base / "kis_auth.py").is_file() or (base.parent / "kis_auth.py").is_file()
        ):
            return base
    found = sorted(root.rglob(FUNCTIONS))
    for base in (f.parent for f in found):
        if (base / "kis_auth.py").is_file() or (base.parent / "kis_auth.py").is_file():
            return base
    sys.exit(f"{root}: no {FUNCTIONS} with kis_auth.py beside it or one level up")


def listing(start: str) -> list[dict[str, str]]:
    """The simulator's instruments at ``start`` (``kisfeed sim --list-instruments``): code,
    kind, underlying, expiry, strike and every TR each can be subscribed on (``tr_ids``)."""
    command = [sys.executable, "-m", "kisfeed", "sim", "--start", start, "--list-instruments"]
    out = subprocess.run(command, capture_output=True, text=True, check=True, timeout=120).stdout
    head, *rows = (line.split("\t") for line in out.splitlines() if line.strip())
    return [dict(zip(head, row, strict=False)) for row in rows]


def default_code(tr_id: str, instruments: list[dict[str, str]]) -> str | None:
    """The code a TR is run with: the front-month future (futures TRs) or the front expiry's
    call nearest the money (option TRs) of 삼성전자 (stock TRs) or KOSPI200 (index and night TRs,
    the monthly series: underlying id ``01``), among the instruments that list ``tr_id``; the
    money is 삼성전자's start price, or KOSPI200's middle listed strike. None if none lists it."""
    from kisfeed.sim import UNDERLYINGS

    stock = market_of(tr_id) == "stock"
    mine = [
        i
        for i in instruments
        if tr_id in i.get("tr_ids", "").split(",")
        and (i["underlying_code"] == UNDERLYING if stock else i["code"][1:3] == INDEX_ID)
    ]
    futures = [i for i in mine if i["kind"] == "future"]
    if futures:
        return min(futures, key=lambda i: i["expiry"])["code"]
    calls = [i for i in mine if i["kind"] == "call"]
    if not calls:
        return None
    front = [i for i in calls if i["expiry"] == min(c["expiry"] for c in calls)]
    strikes = sorted(float(i["strike"]) for i in front)
    money = (
        next(u.price for u in UNDERLYINGS if u.code == UNDERLYING) if stock else strikes[len(strikes) // 2]
    )
    return min(front, key=lambda i: (abs(float(i["strike"]) - money), float(i["strike"])))["code"]


def start_sim(
    tmp: Path, speed: float, start: str, truth: Path, activity: float = 1.0
) -> tuple[subprocess.Popen[bytes], dict[str, str]]:
    out = tmp / "sim.out"
    command = [sys.executable, "-m", "kisfeed", "sim", "--port", "0", "--rest-port", "0", "--start", start,
               "--speed", str(speed), "--activity", str(activity), "--ground-truth", str(truth)]  # fmt: skip
    with out.open("wb") as sink:
        sim = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        banner = out.read_text(encoding="utf-8", errors="replace")
        if "Serving" in banner:
            ws = re.search(r"WebSocket\s+(ws://\S+)", banner)
            rest = re.search(r"REST base (http://[^\s)]+)", banner)
            key = re.search(r"App key\s+(\S+)\s+secret\s+(\S+)", banner)
            if ws and rest and key:
                return sim, {"ws": ws[1], "rest": rest[1], "key": key[1], "secret": key[2]}
            break
        if sim.poll() is not None:
            break
        time.sleep(0.1)
    sim.kill()
    sys.exit(f"kisfeed sim did not start:\n{out.read_text(encoding='utf-8', errors='replace')}")


def write_config(home: Path, sim: dict[str, str]) -> Path:
    """``~/KIS/config/kis_devlp.yaml`` with every key ``kis_auth.py`` reads (JSON strings are YAML)."""
    values = {
        "my_app": sim["key"], "my_sec": sim["secret"], "paper_app": sim["key"], "paper_sec": sim["secret"],
        "my_htsid": "kisfeed", "my_acct_stock": "00000000", "my_acct_future": "00000000",
        "my_paper_stock": "00000000", "my_paper_future": "00000000", "my_prod": "01",
        "prod": sim["rest"], "ops": sim["ws"], "vps": sim["rest"], "vops": sim["ws"],
        "my_token": "", "my_agent": "kisfeed-benchmark",
    }  # fmt: skip
    config = home / "KIS" / "config"
    config.mkdir(parents=True)
    path = config / "kis_devlp.yaml"
    path.write_text("".join(f"{k}: {json.dumps(v)}\n" for k, v in values.items()), encoding="utf-8")
    return path


def sent_per_tr(truth: Path) -> collections.Counter[str]:
    sent: collections.Counter[str] = collections.Counter()
    if truth.exists():
        for line in truth.read_text(encoding="utf-8").splitlines():
            if line.strip():
                sent[json.loads(line)["tr_id"]] += 1
    return sent


def run_phase(
    args: argparse.Namespace, where: Path, start: str, codes: dict[str, str], activity: float = 1.0
) -> tuple[subprocess.CompletedProcess[str], collections.Counter[str]]:
    """One simulator from ``start`` (its trade rates x ``activity``) and the official client on
    ``codes`` (TR -> code) for ``--seconds``: the client's run and the records the simulator sent
    per TR."""
    with tempfile.TemporaryDirectory(prefix="kisfeed-official-") as name:
        tmp = Path(name)
        truth = tmp / "truth.jsonl"
        sim, urls = start_sim(tmp, args.speed, start, truth, activity)
        try:
            home = tmp / "home"
            config = write_config(home, urls)
            driver = tmp / "driver.py"
            driver.write_text(DRIVER, encoding="utf-8")
            print(f"\nofficial client : {where} (python {args.python})")
            print(
                f"simulator       : {urls['ws']}  REST {urls['rest']}  speed {args.speed:g}x from {start}"
                f", activity {activity:g}"
            )
            print(f"config          : {config} (HOME={home})")
            print(f"subscribed      : {', '.join(f'{tr} {code}' for tr, code in codes.items())}")
            print(f"running         : {args.seconds:g} s ...", flush=True)
            env = {
                **os.environ,
                "HOME": str(home),
                "USERPROFILE": str(home),
                "PYTHONUNBUFFERED": "1",
                "PYTHONDONTWRITEBYTECODE": "1",
            }
            command = [
                args.python,
                str(driver),
                str(args.seconds),
                *(f"{TRS[tr]}={code}" for tr, code in codes.items()),
            ]
            try:
                run = subprocess.run(command, cwd=where, env=env, capture_output=True, text=True,
                                     timeout=args.seconds + 120)  # fmt: skip
            except subprocess.TimeoutExpired as exc:
                out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else exc.stdout or ""
                run = subprocess.CompletedProcess(command, -1, out, "timed out")
        finally:
            sim.send_signal(signal.SIGTERM)
            try:
                sim.wait(timeout=30)
            except subprocess.TimeoutExpired:
                sim.kill()
                sim.wait()
        return run, sent_per_tr(truth)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--official", type=Path, required=True, help="official repo checkout or examples_user copy"
    )
    parser.add_argument(
        "--python", default=sys.executable, help="interpreter for the official client (3.12+)"
    )
    parser.add_argument("--seconds", type=float, default=60.0, help="wall seconds per simulator run")
    parser.add_argument("--speed", type=float, default=10.0, help="simulator speed (sim seconds per second)")
    parser.add_argument(
        "--start", default=START, help="day run's sim clock at start, KST (default: %(default)s)"
    )
    parser.add_argument(
        "--night-start",
        default=NIGHT_START,
        help="night run's sim clock at start, KST (default: %(default)s)",
    )
    parser.add_argument(
        "--night-activity",
        type=float,
        default=NIGHT_ACTIVITY,
        help="the night run's trade rates x this (default: %(default)s)",
    )
    parser.add_argument(
        "--markets",
        default=",".join(MARKETS),
        help="the TR families to run: stock, index, night (default: %(default)s)",
    )
    parser.add_argument("--future", help="code for the H0ZF* TRs (default: front-month 삼성전자)")
    parser.add_argument(
        "--option", help="code for the H0ZO* TRs (default: its front-month call nearest the money)"
    )
    parser.add_argument("--code", action="append", default=[], metavar="TR=CODE", help="code for one TR")
    parser.add_argument("--verbose", action="store_true", help="print everything the client printed")
    args = parser.parse_args()

    markets = [m.strip() for m in args.markets.split(",") if m.strip()]
    if not markets or set(markets) - set(MARKETS):
        parser.error(f"--markets takes {', '.join(MARKETS)}, not {args.markets!r}")
    chosen = dict(item.split("=", 1) for item in args.code)
    if args.future:
        chosen.update(dict.fromkeys((t for t in TRS if t.startswith("H0ZF")), args.future))
    if args.option:
        chosen.update(dict.fromkeys((t for t in TRS if t.startswith("H0ZO")), args.option))
    where = find_official(args.official.expanduser().resolve())
    # the day TRs (stock and index) in one run from --start, the night TRs in another
    phases = [(args.start, ("stock", "index"), 1.0), (args.night_start, ("night",), args.night_activity)]
    ok = True
    for start, families, activity in phases:
        trs = [tr for tr in TRS if market_of(tr) in families and market_of(tr) in markets]
        if not trs:
            continue
        instruments = listing(start)
        codes: dict[str, str] = {}
        for tr in trs:
            code = chosen.get(tr) or default_code(tr, instruments)
            if code is None:
                print(f"{tr}: the simulator lists no instrument for it at {start}")
                ok = False
            else:
                codes[tr] = code
        if codes:
            run, sent = run_phase(args, where, start, codes, activity)
            ok = report(run, codes, sent, verbose=args.verbose) and ok
    print("\nverdict: " + ("the official client works against kisfeed sim" if ok else "FAILED (see above)"))
    return 0 if ok else 1


def report(
    run: subprocess.CompletedProcess[str],
    codes: dict[str, str],
    sent: collections.Counter[str],
    *,
    verbose: bool,
) -> bool:
    """The table of one run; True when every TR reached the callback with the official column
    count and no frame failed."""
    lines = run.stdout.splitlines()
    printed = [line for line in lines if not line.startswith("RESULT ")]
    results = [line for line in lines if line.startswith("RESULT ")]
    tracebacks = run.stderr.count("Traceback (most recent call last)")
    exceptions = [line for line in printed if line.startswith("Connection exception")]
    if verbose:
        print("\n".join(printed))
    if not results or "error" in json.loads(results[-1][7:]):
        print(f"\nthe official client did not finish (exit {run.returncode})")
        print("\n".join(printed[-20:]))
        print(run.stderr[-4000:])
        return False
    r = json.loads(results[-1][7:])

    print(
        f"\nran {r['elapsed']:.1f} s wall; PINGPONGs received {r['pingpongs']} (the client answers each"
        f" with a pong frame); reconnects {r['retries']}"
    )
    head = (
        "TR",
        "code",
        "sent",
        "recv'd",
        "frames",
        "multi",
        "callback",
        "rows",
        "lost",
        "failed",
        "cols/off",
    )
    print(ROW.format(*head))
    failed_total = 0
    for tr_id, code in codes.items():
        stats = r["stats"].get(tr_id, {"calls": 0, "rows": 0, "bad_rows": 0, "columns": [], "official": 0})
        frames, declared = r["frames"].get(tr_id, 0), r["declared"].get(tr_id, 0)
        failed = frames - stats["calls"] + stats["bad_rows"]
        failed_total += failed
        multi, calls, rows = r["multi"].get(tr_id, 0), stats["calls"], stats["rows"]
        columns = "/".join(map(str, stats["columns"])) or "-"
        print(
            ROW.format(
                tr_id,
                code,
                sent[tr_id],
                declared,
                frames,
                multi,
                calls,
                rows,
                declared - rows,
                failed,
                f"{columns}/{stats['official']}",
            )
        )
    print("sent: records the simulator sent (ground truth); recv'd: records declared in the frames")
    print("received; callback/rows: on_result calls and DataFrame rows; lost: records the client's")
    print("read_csv drops from multi-record frames (it keeps the last); failed: frames that did not")
    print("reach on_result or were misparsed; cols/off: the DataFrame's column count(s) / the official")
    print("list's length.")
    for tr_id in codes:
        sample = r["stats"].get(tr_id, {}).get("multi_sample")
        if sample:
            shape, levels, last = tuple(sample["shape"]), sample["index_levels"], sample["row_is_last_record"]
            print(f"{tr_id} multi-record frame of {sample['records']} as the client parsed it: DataFrame")
            print(
                f"  shape {shape}, {levels} index levels (the other records), row is the last record: {last}"
            )
    for reply in r["replies"]:
        print(f"reply: {reply}")
    for line in exceptions:
        print(f"client: {line}")
    if tracebacks:
        print(run.stderr[-4000:])
    ok = all(
        r["stats"].get(tr, {}).get("rows", 0) > 0
        and r["stats"][tr]["columns"] == [r["stats"][tr]["official"]]
        for tr in codes
    ) and not (failed_total or exceptions or tracebacks)
    return ok


if __name__ == "__main__":
    sys.exit(main())
