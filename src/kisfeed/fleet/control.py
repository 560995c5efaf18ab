"""The fleet's control and visibility (issue 17, item 4): what is wanted (``kisfeed fleet
add/remove`` write ``kisfeed-wanted``; the feeders read it) and who serves what (``kisfeed fleet
status``: the feeders' statuses, the leases, the stream and the lag of its durable consumers)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from . import jetstream, wire
from .jetstream import FleetSettings

if TYPE_CHECKING:
    from nats.js import JetStreamContext

__all__ = ["open_buckets", "add", "remove", "status"]


async def open_buckets(js: JetStreamContext, settings: FleetSettings | None = None) -> jetstream.Buckets:
    """The fleet's buckets as they are, whatever lease the feeders were started with; made
    (``jetstream.prepare``, with ``settings``) only on a server that has none yet."""
    from nats.js.errors import BadRequestError, NotFoundError, ServiceUnavailableError

    from ..exceptions import FleetError

    try:
        return jetstream.Buckets(
            js,
            *[await js.key_value(name) for name in (jetstream.WANTED, jetstream.LEASES, jetstream.FEEDERS)],
        )
    except (NotFoundError, BadRequestError):
        return await jetstream.prepare(js, settings)
    except ServiceUnavailableError:
        raise FleetError("the NATS server has no JetStream: start it with -js (nats-server -js)") from None


async def add(buckets: jetstream.Buckets, keys: Iterable[str]) -> int:
    """Make ``keys`` wanted; the number that were not."""
    have = await buckets.snapshot(jetstream.WANTED)
    new = 0
    for key in keys:
        if key not in have:
            await buckets.wanted.put(key, b"")
            new += 1
    return new


async def remove(buckets: jetstream.Buckets, keys: Iterable[str]) -> int:
    """Make ``keys`` unwanted (their feeders unsubscribe and free the leases); the number that
    were wanted."""
    have = await buckets.snapshot(jetstream.WANTED)
    gone = 0
    for key in keys:
        if key in have:
            await buckets.wanted.delete(key)
            gone += 1
    return gone


async def status(js: JetStreamContext, buckets: jetstream.Buckets) -> dict[str, Any]:
    """The fleet as ``fleet status --json`` prints it."""
    from nats.js.errors import NotFoundError

    wanted = await buckets.snapshot(jetstream.WANTED)
    leases = {
        k: v.value.decode(errors="replace") for k, v in (await buckets.snapshot(jetstream.LEASES)).items()
    }
    feeders = []
    for name, entry in sorted((await buckets.snapshot(jetstream.FEEDERS)).items()):
        try:
            feeders.append(json.loads(entry.value))
        except ValueError:
            feeders.append({"id": name, "error": "unreadable status"})
    served = {k: leases[k] for k in sorted(wanted) if k in leases}
    out: dict[str, Any] = {
        "feeders": feeders,
        "wanted": len(wanted),
        "served": served,
        "unserved": sorted(k for k in wanted if k not in leases),
        "stream": None,
        "consumers": [],
    }
    try:
        info = await js.stream_info(wire.STREAM)
    except NotFoundError:
        return out
    state = info.state
    out["stream"] = {
        "messages": state.messages,
        "bytes": state.bytes,
        "first_seq": state.first_seq,
        "last_seq": state.last_seq,
    }
    for consumer in await js.consumers_info(wire.STREAM):
        if not consumer.config.durable_name:  # ephemeral: an ordered consumer of someone's session
            continue
        out["consumers"].append(
            {
                "name": consumer.name,
                "pending": consumer.num_pending,  # stream messages not yet delivered: the lag
                "ack_pending": consumer.num_ack_pending,
                "delivered": consumer.delivered.stream_seq if consumer.delivered else None,
            }
        )
    return out
