"""``python -m kisfeed.store.writer_process ROOT``: the journal writer process (``JournalWriter``
with ``mode="process"``, which ``Recorder`` uses).

It reads groups of frames from standard input, one message per group: ``<count> <size>`` as two
little-endian uint32, ``count`` receive times (int64 ns), ``count`` session ids (int32), then
``size`` bytes of the frames' texts, escaped as journal fields and joined by LF. It writes and
fsyncs each group as lines of the day's segment and reports one JSON line on standard output.
When standard input closes (the recorder stops, or dies) it writes what it has, seals the
segment and exits.
"""

from __future__ import annotations

import argparse
import json
import signal
import struct
import sys
from array import array
from pathlib import Path

from ..exceptions import StoreError
from .writer import Segments, journal_write_error


def _serve(root: Path, name: str | None, compress: bool) -> int:
    """Read groups of frames from standard input until it closes (``JournalWriter._drain``
    sends them); write each, then report on standard output."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the group; the parent stops us
    segments = Segments(root / "journal", name, compress)
    source, out = sys.stdin.buffer, sys.stdout

    def report(**extra: object) -> None:
        seg = segments.open.segment if segments.open is not None else None
        try:
            out.write(
                json.dumps(
                    {
                        "synced": segments.synced,
                        "bytes": segments.bytes,
                        "syncs": segments.syncs,
                        "cpu": segments.cpu,
                        "segment": [seg.name, str(seg.path)] if seg else None,
                        **extra,
                    }
                )
                + "\n"
            )
            out.flush()
        except OSError:  # the feed process is gone: nobody to tell, but the frames still go to disk
            pass

    try:
        while len(head := source.read(8)) == 8:
            count, size = struct.unpack("<II", head)
            times, sessions = array("q"), array("i")
            body = source.read(count * 12 + size)
            if len(body) < count * 12 + size:
                break  # the feed process died while sending: that group was never acknowledged
            times.frombytes(body[: count * 8])
            sessions.frombytes(body[count * 8 : count * 12])
            segments.write(body[count * 12 :].split(b"\n"), times, sessions)
            report()
        segments.close()
    except OSError as exc:
        segments.abandon()
        report(error=journal_write_error(exc, segments.journal_dir).args[0])
        return 1
    except StoreError as exc:
        report(error=str(exc))
        return 1
    report()
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m kisfeed.store.writer_process")
    parser.add_argument("root", type=Path)
    parser.add_argument("--name")
    parser.add_argument("--no-compress", action="store_true")
    arguments = parser.parse_args()
    raise SystemExit(_serve(arguments.root, arguments.name, not arguments.no_compress))
