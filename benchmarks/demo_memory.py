"""Resident memory of ``kisfeed demo``: every process it runs, and all of them together.

Runs ``python -m kisfeed demo --seconds N`` (``--rounds`` times; ``--record CODE ...`` runs
``kisfeed record CODE ... --seconds N`` instead, on the embedded simulator) and samples every ``--every``
seconds, from ``/proc``, the resident set (``VmRSS``) of the process and of all its descendants.
Prints, per process (named by its command line), the peak it reached (``VmHWM``, the kernel's
own high-water mark, read at the last sample before it ended) and, for the tree, the highest
sum of the samples taken at one instant: the figure issue 13 targets (<= 150 MB). Resident sets
count shared library pages once per process, so processes that share a library count it twice,
as a user's ``ps`` or ``top`` would.

Run: ``python benchmarks/demo_memory.py`` (Linux only). Prints a table; nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _children() -> dict[int, list[int]]:
    """Parent pid → child pids, for every process now."""
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])  # after the command name, which may hold spaces
        tree.setdefault(ppid, []).append(int(entry))
    return tree


def _descendants(root: int) -> list[int]:
    tree, found, todo = _children(), [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += tree.get(pid, [])
    return found


def _status(pid: int) -> tuple[str, int, int] | None:
    """(name, VmRSS, VmHWM) in kB, or None if the process is gone (or a zombie)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    if "VmRSS" not in fields:
        return None
    words = [a.decode(errors="replace") for a in argv if a and not a.startswith(b"/")]
    # "python -m kisfeed demo ..." → "-m kisfeed demo": the module names the role (paths left out)
    name = " ".join(words[:3]) if words else "?"
    return name, int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


def measure(seconds: float, every: float, record: list[str]) -> tuple[dict[int, tuple[str, int]], int, float]:
    """Peak per process (pid → (name, kB)), the peak total (kB), and the wall time of the run."""
    data = Path(tempfile.mkdtemp(prefix="kisfeed-demo-mem-"))
    command = [sys.executable, "-m", "kisfeed", *(["record", *record] if record else ["demo"])]
    command += ["--seconds", str(seconds), "--data", str(data)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIS_")}  # the embedded simulator
    started = time.perf_counter()
    run = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    peaks: dict[int, tuple[str, int]] = {}
    total = 0
    while run.poll() is None:
        now = 0
        for pid in _descendants(run.pid):
            seen = _status(pid)
            if seen is None:
                continue
            name, rss, hwm = seen
            now += rss
            peaks[pid] = (name, max(hwm, peaks.get(pid, ("", 0))[1]))
        total = max(total, now)
        time.sleep(every)
    wall = time.perf_counter() - started
    assert run.stderr is not None
    if run.returncode:
        sys.exit(
            f"{' '.join(command[2:4])} exited with {run.returncode}: {run.stderr.read().decode()[-500:]}"
        )
    shutil.rmtree(data, ignore_errors=True)
    return peaks, total, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="the demo's --seconds")
    parser.add_argument("--every", type=float, default=0.2, help="sampling interval, seconds")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument(
        "--record", nargs="+", default=[], metavar="CODE", help="measure kisfeed record instead"
    )
    args = parser.parse_args()
    what = f"kisfeed record {' '.join(args.record)}" if args.record else "kisfeed demo"
    print(f"{what} --seconds {args.seconds:g}: peak resident memory (MB), sampled every {args.every} s")
    print(f"{'round':>5}  {'process':<44}  {'peak RSS':>9}")
    for r in range(1, args.rounds + 1):
        peaks, total, wall = measure(args.seconds, args.every, args.record)
        for name, kb in sorted(peaks.values(), key=lambda p: -p[1]):
            print(f"{r:>5}  {name:<44}  {kb / 1024:>9.1f}")
        print(f"{r:>5}  {'sum of per-process peaks':<44}  {sum(kb for _, kb in peaks.values()) / 1024:>9.1f}")
        target = "" if args.record else " (target <= 150)"
        print(f"{r:>5}  {'peak total at one instant' + target:<44}  {total / 1024:>9.1f}")
        print(f"{r:>5}  {'wall time, s':<44}  {wall:>9.1f}")


if __name__ == "__main__":
    main()
