"""Fixtures for client tests: a simulator on 127.0.0.1:0 and a feed with fast test settings."""

from __future__ import annotations

import asyncio
import itertools
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, time

import pytest

import kisfeed
from kisfeed.protocol.frames import encode_frame
from kisfeed.schema import CODECS, KST, LAYOUTS, Record
from kisfeed.sim import SimConfig, Simulator

from ..conftest import seconds

APP_KEY, APP_SECRET = "PStest-app-key-0001", "test-app-secret-0001"


def quick_backoff():
    return itertools.repeat(0.05)


def sim_config(**changes) -> SimConfig:
    """An always-open simulator 30 times busier than the calibrated market (most series of which
    trade a few times a day): client tests load the client, and a few minutes of simulated time
    must not cross midnight, where cumulative volumes (the ground truth's order) restart. So the
    sim clock starts at 10:00 KST today, not now: a suite run at 23:55 KST once crossed it."""
    base = dict(
        app_keys={APP_KEY: APP_SECRET},
        always_open=True,
        start=datetime.combine(datetime.now(KST).date(), time(10, 0), KST),
        activity=30.0,
        speed=60.0,
        seed=11,
        ping_interval=0.2,
        pong_timeout=2.0,
    )
    base.update(changes)
    return SimConfig(**base)


@asynccontextmanager
async def running(config: SimConfig | None = None) -> AsyncIterator[Simulator]:
    async with Simulator(config or sim_config()) as sim:
        yield sim


def feed_for(
    sim: Simulator, tmp_path, credentials=((APP_KEY, APP_SECRET),), **settings
) -> kisfeed.client.Feed:
    defaults = dict(
        backoff=quick_backoff,
        subscribe_interval=0.0,
        watchdog=seconds(5),
        reply_timeout=seconds(10),
        key_in_use_delay=0.2,
    )
    defaults.update(settings)
    return kisfeed.connect(
        credentials=list(credentials),
        ws_url=sim.ws_url,
        rest_url=sim.rest_url,
        cache_dir=tmp_path / "cache",
        **defaults,
    )


def codes(sim: Simulator, tr_id: str) -> list[str]:
    """The served codes of one TR, the busiest first (most series trade a few times a day)."""
    return [i.code for i in sim.busiest(tr_id)]


async def collect(feed, count: int, timeout: float = 20) -> list[Record]:
    """The next ``count`` records of the feed (fails the test if they do not come in time)."""
    out: list[Record] = []

    async def take() -> None:
        async for record in feed:
            out.append(record)
            if len(out) >= count:
                return

    await asyncio.wait_for(take(), seconds(timeout))
    return out


def wire(record: Record) -> tuple[str, ...]:
    return tuple(CODECS[record.tr_id].encode(record))


def canonical(tr_id: str, fields: list[str]) -> tuple[str, ...]:
    """Wire texts as kisfeed would write the same values (``92.3100`` and ``92.31`` are one value)."""
    codec = CODECS[tr_id]
    (record,), errors = codec.decode_carefully(list(fields), 1)
    assert not errors
    return tuple(codec.encode(record))


def sent_by_code(sim: Simulator) -> dict[str, list[tuple[str, ...]]]:
    """The simulator's ground truth, per instrument code, in send order."""
    out: dict[str, list[tuple[str, ...]]] = defaultdict(list)
    for session_id in sorted(sim.sent):
        for tr_id, fields in sim.sent[session_id]:
            out[fields[0]].append(canonical(tr_id, fields))
    # A code moved from a lost session to an older live one: order each code's trades by
    # cumulative volume (ACML_VOL), which every trade raises, not by session.
    volume = LAYOUTS["H0ZFCNT0"].by_name["volume"].index
    assert volume == LAYOUTS["H0ZOCNT0"].by_name["volume"].index
    for trades in out.values():
        trades.sort(key=lambda fields: int(fields[volume]))
    return out


def received_by_code(records: list[Record]) -> dict[str, list[tuple[str, ...]]]:
    out: dict[str, list[tuple[str, ...]]] = defaultdict(list)
    for record in records:
        out[record.code].append(wire(record))
    return out


def assert_exact_prefix(records: list[Record], sim: Simulator) -> None:
    """Per code, the records received are exactly the first ones the simulator sent."""
    sent = sent_by_code(sim)
    for code, got in received_by_code(records).items():
        assert got == sent[code][: len(got)], code


def assert_no_loss_no_duplicate(records: list[Record], sim: Simulator) -> None:
    """Per code, what was received is in the order sent, never twice, and nothing in between is
    missing (a record may be missing only at the very end, still in flight)."""
    sent = sent_by_code(sim)
    for code, got in received_by_code(records).items():
        assert len(set(got)) == len(got), f"duplicate record for {code}"
        assert got == sent[code][: len(got)], code


def assert_ordered_no_duplicate(records: list[Record], sim: Simulator) -> None:
    """Per code: received ⊆ sent, in send order, never twice. For faults that lose what was in
    flight on the socket that died (the server wrote it, the network dropped it)."""
    sent = sent_by_code(sim)
    for code, got in received_by_code(records).items():
        assert len(set(got)) == len(got), f"duplicate record for {code}"
        position = {fields: i for i, fields in enumerate(sent[code])}
        indexes = [position[f] for f in got]  # KeyError: a record the simulator never sent
        assert indexes == sorted(indexes), f"records of {code} out of order"


def book_fields(
    tr_id: str, code: str, n: int, *, best_ask: int = 64400, tick: int = 100, levels: int = 10
) -> list[str]:
    """The wire texts of a 10-level book in ``tr_id``'s own field order (the two book TRs order
    their fields differently, reference 4.5): asks rise and bids fall from level 1 by ``tick``
    (option prices are hundredths: 250 is 2.50), each level's quantity ``n`` + level so that
    the books of a test are told apart; levels past ``levels`` empty (``0``/``0.00``, 0, 0), the
    totals the sums of the published levels."""
    values: dict[str, str] = {"code": code, "time": "090000"}
    option = LAYOUTS[tr_id].product == "option"
    for level in range(1, 11):
        shown = level <= levels
        ask, bid = (best_ask + tick * (level - 1), best_ask - tick * level) if shown else (0, 0)
        values[f"ask{level}"] = f"{ask / 100:.2f}" if option else str(ask)
        values[f"bid{level}"] = f"{bid / 100:.2f}" if option else str(bid)
        for side in ("ask", "bid"):
            values[f"{side}{level}_qty"] = str(n + level if shown else 0)
            values[f"{side}{level}_count"] = str(level if shown else 0)
    for side in ("ask", "bid"):
        values[f"total_{side}_qty"] = str(sum(n + level for level in range(1, levels + 1)))
        values[f"total_{side}_count"] = str(sum(range(1, levels + 1)))
        values[f"total_{side}_qty_change"] = "-3"
    return [values[f.name] for f in LAYOUTS[tr_id].fields]


def book_frame(tr_id: str, code: str, n: int, **kwargs: int) -> str:
    return encode_frame(tr_id, [book_fields(tr_id, code, n, **kwargs)])


@pytest.fixture
def events():
    return []
