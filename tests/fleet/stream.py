"""A small publisher of the fleet's format for the consumer tests: records built from
``tests/samples.py`` (a trade's cumulative volume made unique, so that each one is a distinct
trade and a distinct ``Nats-Msg-Id``), published through ``wire.record_message`` and
``js.publish`` as a feeder would, without a feeder."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime

from nats.js import JetStreamContext

from kisfeed.fleet import wire
from kisfeed.schema import KST, LAYOUTS

from ..samples import texts

#: 10:00 KST on a weekday: receive times of the published records (their trading date).
BASE_NS = int(datetime(2026, 12, 1, 10, 0, tzinfo=KST).timestamp()) * 1_000_000_000


def trade(code: str, volume: int, tr_id: str = "H0ZFCNT0") -> list[str]:
    """A trade of ``code`` whose cumulative volume (its id in the stream) is ``volume``."""
    fields = texts(tr_id)
    fields[0] = code
    fields[LAYOUTS[tr_id].by_name["volume"].index] = str(volume)
    return fields


def book(code: str, level1_qty: int) -> list[str]:
    fields = texts("H0ZFASP0")
    fields[0] = code
    fields[LAYOUTS["H0ZFASP0"].by_name["ask1_qty"].index] = str(level1_qty)
    return fields


def message(tr_id: str, fields: list[str], n: int = 0) -> wire.Message:
    """The message of a record received ``n`` ms after ``BASE_NS``."""
    return wire.record_message(tr_id, fields, BASE_NS + n * 1_000_000, "test-publisher")


async def publish(js: JetStreamContext, messages: list[wire.Message], retry_for: float = 0) -> list[int]:
    """Publish and await each ack; the stream sequences. With ``retry_for`` a failed publish
    (the server restarting) is repeated, as a feeder does, until acknowledged: the same
    ``Nats-Msg-Id`` makes a repeat of a stored message a no-op."""
    sequences = []
    for m in messages:
        deadline = time.monotonic() + retry_for
        while True:
            try:
                ack = await js.publish(m.subject, m.payload, headers=m.headers, timeout=2)
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.1)
        sequences.append(ack.seq)
    return sequences
