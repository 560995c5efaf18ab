"""A feeder's ``/metrics`` in the Prometheus text format (issue 17, item 4), served by
``asyncio.start_server``: one small HTTP/1.0 answer per request, no dependency added."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .feeder import Feeder

__all__ = ["serve_metrics", "render"]

#: name, type, help, the status field it shows
_METRICS = [
    (
        "kisfeed_fleet_records_published_total",
        "counter",
        "Messages JetStream acknowledged as new.",
        "published",
    ),
    (
        "kisfeed_fleet_duplicates_total",
        "counter",
        "Messages JetStream already held (hand-overs, retries).",
        "duplicates",
    ),
    ("kisfeed_fleet_publish_errors_total", "counter", "Failed publishes and lease operations.", "errors"),
    ("kisfeed_fleet_publish_retries_total", "counter", "Messages sent again after a failure.", "retries"),
    (
        "kisfeed_fleet_publish_overflow_total",
        "counter",
        "Messages lost to a full publish buffer.",
        "overflow",
    ),
    ("kisfeed_fleet_publish_pending", "gauge", "Messages queued or awaiting acknowledgement.", "pending"),
    ("kisfeed_fleet_codes_served", "gauge", "Registrations this feeder holds a lease of.", "serving"),
    ("kisfeed_fleet_capacity", "gauge", "Registrations its app keys hold (41 each).", "capacity"),
    ("kisfeed_fleet_lease_claims_total", "counter", "Leases claimed.", "claims"),
    ("kisfeed_fleet_lease_losses_total", "counter", "Leases lost to another feeder.", "losses"),
    ("kisfeed_fleet_gap_events_total", "counter", "Gap events published.", "gaps"),
    ("kisfeed_fleet_malformed_frames_total", "counter", "Frames skipped as malformed.", "malformed"),
    ("kisfeed_fleet_kis_sessions_connected", "gauge", "KIS WebSocket sessions connected.", "sessions"),
]


def render(feeder: Feeder) -> str:
    status = feeder.status()
    label = f'{{feeder="{_escape(feeder.id)}"}}'
    lines: list[str] = []
    for name, kind, help_, field in _METRICS:
        lines += [f"# HELP {name} {help_}", f"# TYPE {name} {kind}", f"{name}{label} {status[field]}"]
    connected = 1 if feeder.publisher is not None and feeder.publisher.nc.is_connected else 0
    name = "kisfeed_fleet_nats_connected"
    lines += [
        f"# HELP {name} 1 while connected to NATS.",
        f"# TYPE {name} gauge",
        f"{name}{label} {connected}",
    ]
    return "\n".join(lines) + "\n"


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


async def serve_metrics(feeder: Feeder, host: str, port: int) -> asyncio.Server:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readline(), 5.0)
            path = request.split()[1].decode(errors="replace") if len(request.split()) > 1 else ""
            if path.split("?")[0] == "/metrics":
                status, body = "200 OK", render(feeder).encode()
                kind = "text/plain; version=0.0.4; charset=utf-8"
            else:
                status, body, kind = "404 Not Found", b"not found: try /metrics\n", "text/plain"
            writer.write(
                f"HTTP/1.0 {status}\r\nContent-Type: {kind}\r\nContent-Length: {len(body)}\r\n"
                f"Connection: close\r\n\r\n".encode()
                + body
            )
            await writer.drain()
        except (OSError, TimeoutError, IndexError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    return await asyncio.start_server(answer, host, port)
