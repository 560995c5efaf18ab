"""Helpers for store tests: journals written from frames we make ourselves, with known times."""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from pathlib import Path

import msgspec

from kisfeed.protocol import Data, Session
from kisfeed.schema import KST, LAYOUTS, Kind, Record, same_values
from kisfeed.store.converter import rebuild
from kisfeed.store.recorder import Recorder
from kisfeed.store.writer import JournalWriter

from ..client.conftest import codes, collect, feed_for, running, sim_config
from ..conftest import seconds
from ..samples import frame, texts

F, O = "H0ZFCNT0", "H0ZOCNT0"
FB, OB, FX, OX = "H0ZFASP0", "H0ZOASP0", "H0ZFANC0", "H0ZOANC0"  # books, expected prices
#: The KOSPI200 index and KRX night TRs (issue 16): trades, 5-level books, the night expected price.
MARKET_TRS = (
    "H0IFCNT0",
    "H0IFASP0",
    "H0IOCNT0",
    "H0IOASP0",
    "H0MFCNT0",
    "H0MFASP0",
    "H0EUCNT0",
    "H0EUASP0",
    "H0EUANC0",
)
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
    out: dict[str, list[Record]] = {tr: [] for tr in LAYOUTS}
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


def mixed_frames(n: int, books: bool = False) -> list[str]:
    """n trade frames: futures and options, one and several records, PINGPONG now and then;
    with ``books``, each trade frame followed by order-book and expected-price frames
    (``sibling_frames``)."""
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
        if books:
            out += sibling_frames(i)
    return out


def book_levels(tr_id: str, asks: int, bids: int, **changes: str) -> list[str]:
    """The sample book of ``tr_id`` with only its first ``asks`` and ``bids`` levels published,
    the others empty as KIS writes them (price 0 / 0.00, quantity and count 0)."""
    layout = LAYOUTS[tr_id]
    zero = "0.00" if layout.by_name["ask1"].kind is Kind.DECIMAL else "0"
    empty = {
        f"{side}{n}{part}": zero if part == "" else "0"
        for side, depth in (("ask", asks), ("bid", bids))
        for n in range(depth + 1, layout.depth + 1)
        for part in ("", "_qty", "_count")
    }
    return texts(tr_id, **(empty | changes))


def sibling_frames(i: int) -> list[str]:
    """The book and expected-price frames that follow trade frame ``i`` in ``mixed_frames``: a
    futures book per frame (sizes moving, a negative ``*_ICDC``), an option book with fewer
    levels every other frame (empty levels), one frame of an index or night TR (``market_frame``),
    now and then the expected prices of both products: H0ZOANC0 with 7 fields, with 8, and two
    records of 7 in one frame."""
    out = [
        frame(
            FB,
            texts(
                FB, ask1_qty=str(1 + i % 40), total_ask_qty_change=str(-(i % 50)), time=f"0900{i % 60:02d}"
            ),
        ),
        frame(OB, book_levels(OB, 3 - i % 2, 6 - 3 * (i % 2), bid1_qty=str(i % 30 + 1))),
    ]
    out.append(market_frame(i))
    if i % 7 == 0:
        out.append(frame(FX, texts(FX, quantity=str(i), change=str(-100 - i))))
    elif i % 7 == 3:
        out.append(frame(OX, texts(OX, price=f"{1200 + i % 50}.00")))  # 7 fields
    elif i % 7 == 5:
        out.append(frame(OX, texts(OX) + [str(i)]))  # 8: the optional quantity present
    elif i % 7 == 6:
        out.append(frame(OX, texts(OX, change="-5.00"), texts(OX, change="-6.00")))
    return out


def market_frame(i: int) -> str:
    """A frame of one of the nine index and night TRs, in turn (``MARKET_TRS``): values moving
    with ``i``, books with fewer levels now and then, two records in one frame every other round."""
    tr = MARKET_TRS[i % len(MARKET_TRS)]
    layout = LAYOUTS[tr]
    if layout.category == "trade":
        make = [texts(tr, last_volume=str(1 + i % 7), volume=str(5000 + i))]
    elif layout.category == "book":
        make = [book_levels(tr, 5 - i % 3, 5 - i % 2, ask1_qty=str(1 + i % 40)) if i % 3 else texts(tr)]
    else:
        make = [texts(tr, quantity=str(i))]
    if (i // len(MARKET_TRS)) % 2:
        make.append(make[0])
    return frame(tr, *make)


def legacy_order(tr_id: str, **changes: str) -> list[str]:
    """The sample book written in the 5-level order the legacy sample reads H0ZFASP0 in (levels
    1-5, totals, 6-10: H0ZOASP0's order): under the 10-level list its prices read out of order."""
    by_name = dict(zip((f.name for f in LAYOUTS[tr_id].fields), texts(tr_id, **changes)))
    return [by_name[f.name] for f in LAYOUTS[OB].fields]


def edge_frames() -> list[str]:
    """Frames of the four book and expected-price TRs at their edges: empty levels, a book with
    none, negative ``*_ICDC``, several records in a frame, H0ZOANC0 of 7, 8 and 9 fields (the
    9th kept in ``extra``) and of 6 (``missing``), a book of 70 fields (``extra``), and books the protocol refuses as out of order
    (``BookOrderError``): a futures book in the legacy order, an option book with a NaN price,
    and a frame holding one of those beside a good one. ``refused_lines`` says which."""
    seven = texts(OX)
    return [
        frame(FB, texts(FB)),
        frame(FB, book_levels(FB, 0, 0, total_ask_qty_change="-12", total_bid_qty_change="-3")),
        frame(FB, book_levels(FB, 1, 7, time="090002"), book_levels(FB, 4, 2, time="090002")),
        frame(FB, legacy_order(FB)),
        frame(OB, texts(OB)),
        frame(OB, book_levels(OB, 0, 1, total_bid_qty_change="-40")),
        frame(OB, texts(OB, ask2="nan")),
        frame(OB, texts(OB), texts(OB, bid2="1300.00")),
        frame(FX, texts(FX)),
        frame(FX, texts(FX, change="-1500", change_rate="-2.28", quantity="0")),
        frame(OX, seven),
        frame(OX, [*seven, "41"]),
        frame(OX, seven, seven),
        frame(OX, [*seven, "41", "X"]),
        frame(OX, seven[:6]),
        frame(FB, [*texts(FB, time="090003"), "X", ""]),  # two fields past the layout, kept raw
    ]


#: The 1-based lines of ``edge_frames`` written alone that hold a book the protocol refuses.
REFUSED_LINES = [4, 7, 8]


# Trades at known receive times, for the bars (test_bars, tests/cli/test_bars.py).
def kst_ns(day: int, hh: int, mm: int, ss: int, ms: int = 0) -> int:
    """KST 2026-11-<day> hh:mm:ss.ms as ns since the epoch."""
    at = datetime(2026, 11, day, hh, mm, ss, tzinfo=KST)
    return int(at.timestamp()) * 1_000_000_000 + ms * 1_000_000


def journal(root: Path, frames: list[tuple[str, int]], name: str = "rec") -> None:
    """Journal each frame as received at its own time (ns), then rebuild the dataset."""
    with JournalWriter(root, name=name) as writer:
        for text, ns in frames:
            writer.append(text, ns, 1)
    rebuild(root)


def trade(code: str, hhmmss: str, price: str, last: int, volume: int, tr: str = F) -> str:
    return frame(
        tr, texts(tr, code=code, time=hhmmss, price=price, last_volume=str(last), volume=str(volume))
    )


async def record_from_simulator(tmp_path, count: int, **sim_changes) -> tuple[list[Record], list, object]:
    data = tmp_path / "data"
    async with running(sim_config(**sim_changes)) as sim:
        futures, options = codes(sim, F)[:3], codes(sim, O)[:4]
        async with Recorder(data, flush_interval=0.3) as recorder:
            async with feed_for(sim, tmp_path, on_frame=recorder.on_frame) as feed:
                await feed.subscribe(F, futures)
                await feed.subscribe(O, options)
                delivered = await collect(feed, count)
                # Once the replies are in, the simulator sends nothing more for these codes, so
                # everything it sent has been received (and journaled).
                await asyncio.wait_for(feed.unsubscribe(F, futures), seconds(10))
                await asyncio.wait_for(feed.unsubscribe(O, options), seconds(10))
        sent = dict(sim.sent)
    return delivered, sent, recorder
