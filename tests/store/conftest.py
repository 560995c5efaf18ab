"""Helpers for store tests: journals written from frames we make ourselves, with known times."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import msgspec

from kisfeed.protocol import Data, Session
from kisfeed.schema import KST, Kind, Record, same_values
from kisfeed.store.writer import JournalWriter

from ..samples import frame, texts

F, O = "H0ZFCNT0", "H0ZOCNT0"
DAY = date(2026, 11, 20)
NS0 = int(datetime(2026, 11, 20, 9, 0, 0, tzinfo=KST).timestamp()) * 1_000_000_000
PING = '{"header":{"tr_id":"PINGPONG","datetime":"20261120090000"}}'


# Where the lines are made: in the writer thread, or in the writer process (Recorder's choice).
def futures(**changes: str) -> list[str]:
    return texts(F, **changes)


def option(**changes: str) -> list[str]:
    return texts(O, **changes)


def write_journal(
    root: Path,
    frames: list[str],
    *,
    start_ns: int = NS0,
    step_ns: int = 1_000_000,
    session: int = 1,
    name: str | None = None,
    compress: bool = True,
) -> list[tuple[str, int, int]]:
    """Journal ``frames`` (received ``step_ns`` apart from ``start_ns``); returns what was written
    as (text, received_ns, session)."""
    written = []
    with JournalWriter(root, name=name, compress=compress) as writer:
        for i, text in enumerate(frames):
            ns = start_ns + i * step_ns
            writer.append(text, ns, session)
            written.append((text, ns, session))
    return written


def expected(written: list[tuple[str, int, int]]) -> dict[str, list[Record]]:
    """Per TR, the records the live feed makes of the written frames: the protocol decides, with
    one ``Session`` per recorded session (AES keys from acks), as the client does."""
    out: dict[str, list[Record]] = {F: [], O: []}
    sessions: dict[int, Session] = {}
    for text, ns, session in written:
        state = sessions.setdefault(session, Session(""))
        day = datetime.fromtimestamp(ns // 1_000_000_000, KST).date()
        for event in state.receive(text, trading_date=day, received_ns=ns):
            if isinstance(event, Data):
                out[event.tr_id].extend(event.records)
    return out


def nulls_for_empty(record: Record) -> Record:
    """The dataset stores an empty wire field as null whatever its kind; the protocol's fast path
    keeps an empty code or flag as "" (its careful path gives None)."""
    changes = {
        f.name: None
        for f in record.layout.fields
        if f.kind in (Kind.CODE, Kind.FLAG) and getattr(record, f.name) == ""
    }
    return msgspec.structs.replace(record, **changes) if changes else record


def assert_same_records(got: list[Record], want: list[Record]) -> None:
    assert len(got) == len(want)
    for i, (a, b) in enumerate(zip(got, want)):
        assert same_values(a, nulls_for_empty(b)), (i, a, b)


def mixed_frames(n: int) -> list[str]:
    """n frames: futures and options, one and several records, PINGPONG now and then."""
    out = []
    for i in range(n):
        if i % 10 == 9:
            out.append(PING)
        elif i % 3:
            out.append(
                frame(F, futures(last_volume=str(i + 1), volume=str(1000 + i), price=str(64000 + i % 300)))
            )
        elif i % 2:
            out.append(frame(O, option(volume=str(i)), option(volume=str(i + 1), price="1255.00")))
        else:
            out.append(frame(O, option(volume=str(i), delta="nan", gamma="-nan")))
    return out
