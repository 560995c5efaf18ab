"""The fleet on NATS JetStream (issue 17): feeders that share the wanted registrations by leases
and publish every record to one stream, and the consumers of that stream.

``wire`` (the message format, sans-I/O), ``options`` (the server and its credentials),
``jetstream`` (the stream and the buckets), ``consumer`` (``subscribe``: the stream's records,
typed, with the ``async for`` API of ``kisfeed.connect``), ``recording`` (``kisfeed record
--from``: the stream into a data directory exactly once), ``reading`` (what those two share).
"""

from __future__ import annotations

from .consumer import StreamFeed, StreamStats, subscribe
from .jetstream import FleetSettings
from .options import NatsOptions

__all__ = ["NatsOptions", "FleetSettings", "subscribe", "StreamFeed", "StreamStats"]
