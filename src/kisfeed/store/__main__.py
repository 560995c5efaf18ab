"""``python -m kisfeed.store ROOT [--follow]``: the converter the recorder runs as a child process.

Without ``--follow`` it is one ``rebuild`` (the recorder's first and last); with it, it converts
until its standard input closes (the recorder closes it to stop it, and a recorder that dies
closes it too). It imports the converter and what that needs (pyarrow, the protocol), not the
client or the command line. It prints its
``ConvertReport`` as one JSON line at the end, also after a failure. A failure is one line on
standard error (never a traceback) and exit code 1: the recorder relays that line (issue 11,
item 23).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

from ..exceptions import KisfeedError
from .converter import Converter, without_pandas


def _main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kisfeed.store")
    parser.add_argument("root")
    parser.add_argument("--follow", action="store_true", help="convert until standard input closes")
    parser.add_argument("--flush-interval", type=float, default=5.0)
    parser.add_argument("--lock-wait", type=float, default=30.0, help="seconds to wait for another converter")
    args = parser.parse_args(argv)
    without_pandas()
    converter = Converter(args.root, flush_interval=args.flush_interval, lock_wait=args.lock_wait)
    try:
        if args.follow:
            _follow(converter)
        else:
            converter.rebuild()
    finally:  # what it finished, also when it fails: the recorder counts those records
        print(converter.report.to_json(), flush=True)
    return 0


def _follow(converter: Converter) -> None:
    # Ctrl-C reaches the whole process group; the recorder handles it and closes our stdin.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The feed comes first: when the cores are busy, conversion waits (the journal already
    # holds everything) and catches up when the market is quiet.
    os.nice(19)
    closed = threading.Event()

    def watch_stdin() -> None:
        # os.read, not sys.stdin's buffer: a daemon thread blocked in a buffered read makes
        # the interpreter abort at exit ("Fatal Python error: _enter_buffered_busy").
        try:
            while os.read(0, 4096):
                pass
        except OSError:
            pass
        finally:
            closed.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    converter.follow(closed.is_set)


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except KisfeedError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
    except Exception as exc:
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
