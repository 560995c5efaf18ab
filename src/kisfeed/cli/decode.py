"""``kisfeed decode``: captured frames or journal lines → typed fields, one table per record
(an order book as one row per level).

A line of input is one of:

* a data frame as KIS sends it (``0|H0ZFCNT0|001|A11612^...``);
* a journal line (``received_ns<TAB>session<TAB>text<TAB>crc32``, ``kisfeed.store.journal``), so
  ``zstd -dc SEGMENT.kfj.zst | kisfeed decode`` works: its receive time gives the trading date;
* a journal's text column alone (``... | cut -f3``), whose escapes are undone;
* a control message (a subscribe reply, PINGPONG): skipped and counted, never an error.

Frames go through a ``kisfeed.protocol.Session`` per recorded session, as in replay, so an
encrypted frame decodes with the key of the subscribe reply before it. The last line on stderr
counts everything: ``decoded 120 records from 118 frames; skipped 3 control frames, 0 errors``.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, BinaryIO, TypeGuard, get_args

import typer
from rich.markup import escape
from rich.table import Table

from ..protocol import Data, Malformed, Session
from ..schema import Record
from ..schema.base import KeyStyle
from ..schema.layouts import layout_for
from .common import EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_USAGE, console, err_console, fail
from .ladder import BookRecord

KEY_STYLES: tuple[KeyStyle, ...] = get_args(KeyStyle)


def _is_key_style(text: str) -> TypeGuard[KeyStyle]:
    return text in KEY_STYLES


# received_ns TAB session TAB text TAB crc32: what store.journal writes (parse_line checks it)
_JOURNAL_LINE = re.compile(rb"[0-9]+\t[0-9]+\t.*\t[0-9a-fA-F]{8}", re.DOTALL)


@dataclass
class _Counts:
    records: int = 0
    frames: int = 0
    control: int = 0
    errors: int = 0

    def line(self) -> str:
        return (
            f"decoded {self.records:,} record{'s' * (self.records != 1)} from {self.frames:,} "
            f"frame{'s' * (self.frames != 1)}; skipped {self.control:,} control "
            f"frame{'s' * (self.control != 1)}, {self.errors:,} error{'s' * (self.errors != 1)}"
        )


def _text_of(line: bytes) -> tuple[str, int | None, int]:
    """``(frame text, received_ns or None, session)`` of one input line; ``ValueError`` saying
    why for a journal line that is corrupt or text that is not UTF-8."""
    from ..store.journal import parse_line, unescape

    if _JOURNAL_LINE.fullmatch(line):
        received_ns, session, text = parse_line(line)
        return text, received_ns, session
    try:
        text = line.decode()
    except UnicodeDecodeError:
        raise ValueError("not UTF-8 text") from None
    if "\\" in text:  # a journal's text column (cut -f3) keeps the journal's escapes
        try:
            text = unescape(text)
        except ValueError:
            pass  # not escaped after all: the protocol decides about the text as it is
    return text, None, 0


def _lines(frame: str | None, stream: BinaryIO) -> Iterable[bytes]:
    if frame is not None:
        yield frame.encode()
        return
    for raw in stream:
        line = raw.rstrip(b"\r\n")
        if line.strip():
            yield line


def _print(record: Record, keys: KeyStyle) -> None:
    if isinstance(record, BookRecord):
        table = _levels(record)
    else:
        table = Table(title=f"{record.tr_id} {record.code}", show_header=False)
        for name, value in record.to_dict(keys=keys).items():
            table.add_row(name, "" if value is None else str(value))
    if record.extra:
        table.add_row("(extra)", "^".join(record.extra))
    if record.missing:
        table.add_row("(missing)", f"{record.missing} fields absent")
    console.print(table)


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _levels(book: BookRecord) -> Table:
    """A book as one row per level, every level of the layout as received, empty ones (price 0)
    included, then the six totals: 12 rows instead of 68 for a 10-level book (H0ZFASP0/H0ZOASP0,
    reference 4.5), 7 instead of 38 for a 5-level one (H0IFASP0/H0IOASP0/H0MFASP0/H0EUASP0, 4.6)."""
    table = Table(title=f"{book.tr_id} {book.code} {_text(book.time)}")
    for name in ("level", "ask", "ask qty", "ask orders", "bid", "bid qty", "bid orders"):
        table.add_column(name, justify="right")
    for n in range(1, (layout_for(book.tr_id).depth or 10) + 1):
        table.add_row(
            str(n),
            *(
                _text(getattr(book, f"{side}{n}{part}"))
                for side in ("ask", "bid")
                for part in ("", "_qty", "_count")
            ),
        )
    table.add_row(
        "total", "", _text(book.total_ask_qty), _text(book.total_ask_count),
        "", _text(book.total_bid_qty), _text(book.total_bid_count), end_section=False,
    )  # fmt: skip
    table.add_row(
        "change", "", _text(book.total_ask_qty_change), "", "", _text(book.total_bid_qty_change), ""
    )
    return table


def _error(message: str) -> None:
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False)


def decode_command(
    frame: Annotated[
        str | None,
        typer.Argument(
            help="A data frame; without it, lines from stdin: frames, journal lines or their text column."
        ),
    ] = None,
    keys: Annotated[str, typer.Option(help="Key style: english, kis or korean.")] = "english",
) -> None:
    """Decode captured data frames or journal lines into typed fields, one table per record (an
    order book, 10 levels or 5, as one row per level and its totals).

    Control messages (PINGPONG, subscribe replies) are skipped and counted; a line that does not
    decode is one error line on stderr, and the exit code is then 1. A recorded journal decodes
    from stdin: zstd -dc SEGMENT.kfj.zst | kisfeed decode

    Example: kisfeed decode '0|H0ZFCNT0|001|A11612^093015^64300^5^-300'
    """
    if not _is_key_style(keys):
        raise fail(f"--keys must be english, kis or korean, not {keys!r}", EXIT_USAGE)
    from ..schema import kst_day

    counts = _Counts()
    sessions: dict[int, Session] = {}  # one per recorded session, which keeps its AES keys
    try:
        for number, line in enumerate(_lines(frame, sys.stdin.buffer), 1):
            where = "" if frame is not None else f"line {number}: "
            try:
                text, received_ns, session_id = _text_of(line)
            except ValueError as exc:
                counts.errors += 1
                _error(f"{where}not a frame or journal line: {exc}")
                continue
            trading_date = None if received_ns is None else kst_day(received_ns)
            session = sessions.get(session_id) or sessions.setdefault(session_id, Session(""))
            events = session.receive(text, trading_date=trading_date, received_ns=received_ns)
            session.data_to_send()  # PINGPONG answers: nothing is sent from here
            data = False
            for event in events:
                if isinstance(event, Data):
                    data = True
                    for record in event.records:
                        counts.records += 1
                        _print(record, keys)
                elif isinstance(event, Malformed):
                    data = True
                    counts.errors += 1
                    _error(f"{where}{event.error}")
            if data:
                counts.frames += 1
            else:  # PINGPONG, a subscribe reply: not data (reference 2.2, 2.3)
                counts.control += 1
    except BrokenPipeError:  # `kisfeed decode ... | head`: the reader has all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise typer.Exit(0) from None
    except KeyboardInterrupt:
        err_console.print(counts.line(), highlight=False)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    err_console.print(counts.line(), highlight=False)
    raise typer.Exit(EXIT_FAILURE if counts.errors else 0)
