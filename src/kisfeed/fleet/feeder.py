"""A feeder (issue 17, item 1): claims wanted registrations by leases, serves them with its own
app keys and publishes every record it receives to the stream.

One round every ``poll_interval`` seconds reads the three buckets (a snapshot of each: the last
value of every key), releases what is no longer wanted and claims a share of what is unserved
(``leases.plan_claims``) with ``create``, the compare-and-set on "no revision". Another task
renews the leases it holds every ``FleetSettings.renew_every`` with ``update(last=revision)``; a
lease that expired meanwhile (the server restarted, the loop stalled) is created again if
nobody took it, else lost: its registration is unsubscribed. Leases expire on the server
(``kisfeed-leases``' TTL), so a feeder killed or cut off loses its codes with no clock shared
between machines.

Only the winner of a claim publishes the gap event of the key it claimed (``wire.GapEvent``),
so there is one per gap: from when the key was last known served (the last renewal of its
lease, the server's time of that revision) or else when it became wanted (the wanted entry's
time), to when this feeder's subscription was acknowledged.

App keys and secrets stay in this process: the status a feeder puts in ``kisfeed-feeders``
holds how many keys it has, never which.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
import socket
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ..exceptions import FrameError, KisfeedError
from ..protocol.frames import HEADER_LENGTH, PLAIN_HEADERS, split_frame
from . import jetstream, wire
from .jetstream import FEEDERS, LEASES, WANTED, FleetSettings, Lease, split_key
from .leases import plan_claims, plan_releases
from .publisher import Publisher

if TYPE_CHECKING:
    from ..client import Feed
    from .options import NatsOptions

__all__ = ["Feeder"]

log = logging.getLogger("kisfeed.fleet")

#: Rounds between two reads of the other feeders' statuses when nothing is unserved (only
#: their room matters, to a claim's share).
_FEEDERS_EVERY = 4

#: Seconds a key this feeder could not subscribe (the server refused it) is left to others.
_REFUSED_FOR = 30.0
#: Seconds a stopping feeder gives NATS to take its goodbyes (lease and status deletes), which
#: the server's TTLs make for it if NATS is down.
_GOODBYE = 2.0


class Feeder:
    """``async with``-less: ``await Feeder(...).run(stop)`` serves until ``stop`` is set, then
    deletes its leases (others take over at once), publishes what it has and closes."""

    def __init__(
        self,
        nats: NatsOptions,
        credentials: Sequence[tuple[str, str]],
        *,
        feeder_id: str | None = None,
        settings: FleetSettings | None = None,
        connect_kwargs: dict[str, Any] | None = None,
        metrics_port: int | None = None,
        metrics_host: str = "127.0.0.1",
        poll_interval: float = 0.5,
    ) -> None:
        self.host = socket.gethostname()
        self.id = feeder_id or f"{self.host}-{os.getpid()}"
        self.nats = nats.with_name(f"kisfeed-feeder-{self.id}")
        self._messages = wire.FrameMessages(self.id)
        self.credentials = list(credentials)
        self.settings = settings or FleetSettings()
        self.connect_kwargs = dict(connect_kwargs or {})
        self.metrics_port, self.metrics_host = metrics_port, metrics_host
        self.metrics_address: str | None = None
        self.poll_interval = poll_interval
        self.started_ns = time.time_ns()
        self.held: dict[str, int] = {}  # key -> the revision of its lease this feeder holds
        self.claims = self.losses = self.malformed = self.gaps = 0
        self.errors = 0  # failed lease/bucket operations, refused subscriptions
        self.capacity = 0
        self.publisher: Publisher | None = None
        self.feed: Feed | None = None
        self.nats_connected = False
        self._last_lease: dict[str, Lease] = {}
        self._feeders: dict[str, Lease] = {}  # the last statuses read (every _FEEDERS_EVERY rounds)
        self._rounds_done = 0
        self._stopping = False
        self._refused: dict[str, float] = {}  # key -> monotonic time until which it is left alone
        self._rng = random.Random()
        self._buckets: jetstream.Buckets | None = None
        self._lock = asyncio.Lock()  # claims, renewals and releases change ``held`` one at a time
        # (not held while subscribing: renewals must not wait for it)

    # --- running ---------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event, started: Callable[[Feeder], None] | None = None) -> None:
        """Serve until ``stop``. ``FleetError`` if NATS cannot be reached, the feed's errors
        (``AuthError``, ``FeedError``) if KIS refuses or cannot be reached."""
        import kisfeed

        from .metrics import serve_metrics

        nc = await jetstream.connect(self.nats)
        self.nats_connected = True
        tasks: list[asyncio.Task[None]] = []
        metrics: asyncio.Server | None = None
        try:
            js = nc.jetstream()
            self._buckets = await jetstream.prepare(js, self.settings)
            self.publisher = Publisher(nc, js)
            tasks.append(asyncio.create_task(self.publisher.run(), name="publisher"))
            async with kisfeed.connect(
                credentials=self.credentials, on_frame=self._on_frame, **self.connect_kwargs
            ) as feed:
                self.feed = feed
                self.capacity = feed.capacity
                if self.metrics_port is not None:
                    metrics = await serve_metrics(self, self.metrics_host, self.metrics_port)
                    port = metrics.sockets[0].getsockname()[1]
                    self.metrics_address = f"http://{self.metrics_host}:{port}/metrics"
                await self._put_status()
                tasks += [
                    asyncio.create_task(self._drain(feed), name="drain"),
                    asyncio.create_task(self._rounds(), name="rounds"),
                    asyncio.create_task(self._renewals(), name="renewals"),
                ]
                if started is not None:
                    started(self)
                stopping = asyncio.create_task(stop.wait())
                done, _ = await asyncio.wait([stopping, *tasks], return_when=asyncio.FIRST_COMPLETED)
                stopping.cancel()
                for task in done:
                    if task is not stopping and not task.cancelled() and task.exception() is not None:
                        raise task.exception()  # type: ignore[misc]
                await self._cancel([t for t in tasks if t.get_name() in ("rounds", "renewals")])
                await self._release_all()
            # the feed is closed: what it received is queued; publish it, then say goodbye
            if not await self.publisher.flush(5.0):  # never silent: the CLI says how many, exits 1
                log.error("feeder %s: %d records not acknowledged by NATS", self.id, self.publisher.pending)
            with contextlib.suppress(Exception):
                async with asyncio.timeout(_GOODBYE):  # else gone with its status' TTL
                    await self._buckets.feeders.delete(self.id)
        finally:
            await self._cancel(tasks)
            if metrics is not None:
                metrics.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(nc.close(), 5.0)

    async def _cancel(self, tasks: list[asyncio.Task[None]]) -> None:
        """Cancel ``tasks`` and wait for their end, cancelling again while one goes on: on
        Python 3.11 ``asyncio.wait_for`` (nats-py's requests use it) drops a cancellation
        that arrives as its awaitable completes, so a loop that was cancelled once may go on
        (seen: a feeder's rounds after SIGTERM, once in ~50 demo runs). ``_stopping`` ends
        the loops too."""
        self._stopping = True
        for task in tasks:
            task.cancel()
        for task in tasks:
            while not task.done():
                await asyncio.wait([task], timeout=0.5)
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                task.result()

    async def _drain(self, feed: Feed) -> None:
        """Consume the feed's typed records (publishing takes the raw frames): a feed that
        ends (refused credentials) ends the feeder with its error."""
        while True:
            await feed.next_batch(10_000)

    # --- publishing --------------------------------------------------------------------------------

    def _on_frame(self, text: str, received_ns: int, _session: int) -> None:
        """Every record of a data frame, one message each (``wire``), queued to publish."""
        head = PLAIN_HEADERS.get(text[:HEADER_LENGTH])
        if head is not None:
            tr_id, count = head
            fields = text[HEADER_LENGTH:].split("^")
        elif text[:1] == "{":  # a control message: replies, PINGPONG
            return
        else:
            try:
                tr_id, count, fields = split_frame(text)  # an E=1 frame needs the session's key
            except FrameError:
                self.malformed += 1
                return
        messages = self._messages(tr_id, count, fields, received_ns)
        if messages is None:  # the client counts and skips it too
            self.malformed += 1
            return
        assert self.publisher is not None
        put = self.publisher.put
        for message in messages:
            put(message)

    # --- leases ------------------------------------------------------------------------------------

    async def _rounds(self) -> None:
        while not self._stopping:
            try:
                await self._round()
            except (KisfeedError, asyncio.CancelledError):
                raise
            except Exception as exc:  # NATS restarting: the next round tries again
                self.errors += 1
                log.warning("feeder %s: round failed: %s: %s", self.id, type(exc).__name__, exc)
            await asyncio.sleep(self.poll_interval)

    async def _round(self) -> None:
        assert self._buckets is not None and self.feed is not None
        # leases first, then wanted: a holder deletes a lease only after its key stopped being
        # wanted, so a lease missing here is either of a key the wanted read below no longer
        # has, or truly unserved; in the other order a key removed meanwhile looked unserved
        # and was claimed, with a gap event, just to be released (6 of 100 keys in one run)
        leases = await self._buckets.snapshot(LEASES)
        wanted = await self._buckets.snapshot(WANTED)
        if self._rounds_done % _FEEDERS_EVERY == 0 or any(k not in leases for k in wanted):
            self._feeders = await self._buckets.snapshot(FEEDERS)  # fresh when claiming: the share
        self._rounds_done += 1
        feeders = self._feeders
        # the last lease seen of each wanted key: a claim's gap starts at its last renewal,
        # which an expired lease no longer shows
        self._last_lease = {k: v for k, v in self._last_lease.items() if k in wanted}
        self._last_lease.update((k, v) for k, v in leases.items() if k in wanted)
        async with self._lock:
            released = plan_releases(wanted, self.held)
            for key in released:  # unsubscribed below, outside the lock
                await self._release(key, "no longer wanted", unsubscribe=False)
            now = time.monotonic()
            self._refused = {k: t for k, t in self._refused.items() if t > now}
            taken = {k: v.value.decode(errors="replace") for k, v in leases.items()}
            taken.update(dict.fromkeys(self.held, self.id))
            claims = plan_claims(
                wanted,
                taken,
                held=len(self.held),
                capacity=self.capacity,
                feeders_with_room=1 + sum(_has_room(v.value) for k, v in feeders.items() if k != self.id),
                avoid=self._refused,
                rng=self._rng,
            )
            won: list[str] = []
            for key in claims:
                try:
                    self.held[key] = await self._buckets.leases.create(key, self.id.encode())
                except Exception as exc:  # another feeder was faster: its lease stands
                    if not _lost_race(exc):
                        raise
                    continue
                won.append(key)
                self.claims += 1
        await self._unsubscribe(released)
        if won:
            # outside the lock: subscribing takes 50 ms a code (reference 3.3) and more under
            # load, and renewals must go on meanwhile, or a short lease claimed at the start of
            # a long subscribe expires before its first renewal
            await self._subscribe(won, wanted)
        if won or released:
            await self._put_status()  # ``fleet status`` shows the change at once

    async def _subscribe(self, keys: list[str], wanted: dict[str, Lease]) -> None:
        assert self.feed is not None and self.publisher is not None
        by_tr: dict[str, list[str]] = {}
        for key in keys:
            tr_id, code = split_key(key)
            by_tr.setdefault(tr_id, []).append(code)
        for tr_id, codes in by_tr.items():
            try:
                await self.feed.subscribe(tr_id, codes)
            except KisfeedError as exc:  # a rejected code (OPSP8992): left to others for a while
                self.errors += 1
                log.warning("feeder %s: subscribing %s %s: %s", self.id, tr_id, ",".join(codes), exc)
        end_ns = time.time_ns()
        subscribed = self.feed.subscriptions
        for key in keys:
            if split_key(key) not in subscribed:
                self._refused[key] = time.monotonic() + _REFUSED_FOR
                async with self._lock:
                    await self._release(key, "refused by the KIS server")
                continue
            tr_id, code = split_key(key)
            lease = self._last_lease.get(key)
            if lease is not None:  # the previous holder's lease, expired or deleted since
                start, why = lease.at_ns, f"the lease of feeder {lease.value.decode(errors='replace')} ended"
            else:
                since = wanted.get(key)
                start, why = (since.at_ns if since else end_ns), "wanted and not served"
            self.publisher.put(wire.gap_message(wire.GapEvent(tr_id, code, min(start, end_ns), end_ns, why)))
            self.gaps += 1
            log.info("feeder %s: serving %s (gap %.1f s: %s)", self.id, key, (end_ns - start) / 1e9, why)

    async def _unsubscribe(self, keys: list[str]) -> None:
        assert self.feed is not None
        by_tr: dict[str, list[str]] = {}
        for key in keys:
            tr_id, code = split_key(key)
            by_tr.setdefault(tr_id, []).append(code)
        for tr_id, codes in by_tr.items():
            with contextlib.suppress(KisfeedError):
                await self.feed.unsubscribe(tr_id, codes)

    async def _release(self, key: str, why: str, unsubscribe: bool = True) -> None:
        """Delete ``key``'s lease (compare-and-set: only if still ours) and unsubscribe it
        (or let the caller unsubscribe it, outside the lock)."""
        assert self._buckets is not None and self.feed is not None
        revision = self.held.pop(key, None)
        if unsubscribe:
            await self._unsubscribe([key])
        if revision is not None:
            with contextlib.suppress(Exception):
                await self._buckets.leases.delete(key, last=revision)
        log.info("feeder %s: released %s (%s)", self.id, key, why)

    async def _release_all(self) -> None:
        """Delete every held lease at once, for at most ``_GOODBYE`` seconds: with NATS down each
        delete would wait for its request timeout in turn (20 s for 4 keys), and the leases
        expire on the server anyway."""
        assert self._buckets is not None
        leases = self._buckets.leases
        async with self._lock:
            deletes = [leases.delete(key, last=revision) for key, revision in self.held.items()]
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(_GOODBYE):
                    await asyncio.gather(*deletes, return_exceptions=True)
            self.held.clear()

    async def _renewals(self) -> None:
        while not self._stopping:
            await asyncio.sleep(self.settings.renew_every)
            try:
                await self._renew()
                await self._put_status()
            except (KisfeedError, asyncio.CancelledError):
                raise
            except Exception as exc:  # NATS restarting: the leases last lease_seconds
                self.errors += 1
                log.warning("feeder %s: renewing failed: %s: %s", self.id, type(exc).__name__, exc)

    async def _renew(self) -> None:
        """Every held lease renewed at once: one round trip for all, not one per key in turn
        (41 in turn, behind a busy connection's publishes, could outlast a short lease)."""
        async with self._lock:
            outcomes = await asyncio.gather(
                *(self._renew_one(key, revision) for key, revision in list(self.held.items())),
                return_exceptions=True,
            )
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome

    async def _renew_one(self, key: str, revision: int) -> None:
        assert self._buckets is not None
        leases, me = self._buckets.leases, self.id.encode()
        try:
            self.held[key] = await leases.update(key, me, last=revision)
            return
        except Exception as exc:
            if not _lost_race(exc):
                raise
        try:  # expired meanwhile (a server restart, a stall): ours again if nobody took it
            self.held[key] = await leases.create(key, me)
            return
        except Exception as exc:
            if not _lost_race(exc):
                raise
        self.losses += 1
        await self._release(key, "lease lost to another feeder")

    # --- status ------------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """What ``fleet status`` shows of this feeder: never an app key."""
        p = self.publisher
        feed = self.feed
        sessions = sum(feed.stats().connected.values()) if feed is not None else 0
        return {
            "id": self.id,
            "host": self.host,
            "pid": os.getpid(),
            "app_keys": len(self.credentials),
            "sessions": sessions,
            "capacity": self.capacity,
            "serving": len(self.held),
            # registrations of the KIS sessions: above "serving" while released codes' unsubscribe
            # requests are on their way (their records still come, and are published)
            "subscribed": len(feed.subscriptions) if feed is not None else 0,
            "published": p.published if p else 0,
            "duplicates": p.duplicates if p else 0,
            "pending": p.pending if p else 0,
            "retries": p.retries if p else 0,
            "overflow": p.overflow if p else 0,
            "errors": self.errors + (p.errors if p else 0),
            "claims": self.claims,
            "losses": self.losses,
            "gaps": self.gaps,
            "malformed": self.malformed,
            "started_ns": self.started_ns,
            "metrics": self.metrics_address,
        }

    async def _put_status(self) -> None:
        assert self._buckets is not None and self.publisher is not None
        self.nats_connected = self.publisher.nc.is_connected
        await self._buckets.feeders.put(self.id, json.dumps(self.status()).encode())


def _has_room(value: bytes) -> bool:
    try:
        status = json.loads(value)
        return int(status["serving"]) < int(status["capacity"])
    except (ValueError, KeyError, TypeError):
        return False


def _lost_race(exc: Exception) -> bool:
    """Whether a ``create``/``update`` failed on its compare-and-set (the key has another
    revision: someone else holds it), rather than on the way to the server."""
    from nats.js.errors import KeyWrongLastSequenceError

    return isinstance(exc, KeyWrongLastSequenceError)
