"""The fleet's JetStream objects, made once and found by every process: the record stream and
three key-value buckets.

``KISFEED`` (stream)       ``kis.<TR>.<code>`` records and ``kisfeed.gap.<TR>.<code>`` events
                           (``wire``), file storage, de-duplicated by ``Nats-Msg-Id``
``kisfeed-wanted`` (KV)    key ``<TR>.<code>``: a registration the fleet must serve (``fleet add``);
                           its value is empty
``kisfeed-leases`` (KV)    key ``<TR>.<code>``: the feeder serving it, value its feeder id. The
                           bucket's TTL is the lease: a key not renewed within ``lease_seconds``
                           expires on the server, so a feeder killed or cut off loses its codes
                           with no clock shared between machines, and a free key is claimed by
                           ``create`` (compare-and-set on "no revision"), renewed by ``update``
                           (compare-and-set on the revision the feeder holds)
``kisfeed-feeders`` (KV)   key ``<feeder id>``: a live feeder's JSON status (``FeederStatus``),
                           put every renewal, gone ``lease_seconds`` after its feeder

Every process calls ``prepare``: creating what exists with the same settings is a no-op, and
the first feeder or consumer of a fresh server creates them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..exceptions import ConfigError, FleetError
from .wire import GAP_SUBJECTS, RECORD_SUBJECTS, STREAM

if TYPE_CHECKING:
    from nats.aio.client import Client
    from nats.aio.msg import Msg
    from nats.js import JetStreamContext
    from nats.js.kv import KeyValue

    from .options import NatsOptions

__all__ = [
    "FleetSettings",
    "Buckets",
    "connect",
    "prepare",
    "WANTED",
    "LEASES",
    "FEEDERS",
    "key_of",
    "split_key",
    "Lease",
]

log = logging.getLogger("kisfeed.fleet")

WANTED, LEASES, FEEDERS = "kisfeed-wanted", "kisfeed-leases", "kisfeed-feeders"


@dataclass(frozen=True)
class FleetSettings:
    """The fleet's shared settings. Every process of one fleet must use the same values: the
    first to ``prepare`` a server fixes them, and a later one that differs is told so."""

    lease_seconds: float = 6.0
    """A lease not renewed for this long expires (issue 17: a dead feeder's codes are served
    again within 10 s). Renewed every ``lease_seconds / 4``, so three lost renewals in a row
    (a busy event loop, a slow server) do not lose it."""
    duplicate_window: float = 120.0
    """Seconds in which JetStream drops a second message of the same ``Nats-Msg-Id``: longer
    than any hand-over and any feeder's republishing after a server restart (nats-server's
    default is 2 minutes)."""
    max_age: float = 7 * 86_400.0
    """Seconds a record stays in the stream; recorders make the permanent copy."""
    replicas: int = 1
    """JetStream replicas of the stream and the buckets (1 on a single server; 3 in a cluster)."""

    def __post_init__(self) -> None:
        if not 1.0 <= self.lease_seconds <= 600:
            raise ConfigError(f"lease_seconds={self.lease_seconds}: between 1 and 600 seconds")
        if not 1.0 <= self.duplicate_window <= self.max_age:
            raise ConfigError(f"duplicate_window={self.duplicate_window}: at least 1 s, at most max_age")
        if not 1 <= self.replicas <= 5:
            raise ConfigError(f"replicas={self.replicas}: 1 to 5")

    @property
    def renew_every(self) -> float:
        return self.lease_seconds / 4


@dataclass(frozen=True)
class Lease:
    """A key's last value in a bucket: its value, revision and the server's time of it (ns)."""

    value: bytes
    revision: int
    at_ns: int


#: Seconds the server keeps a snapshot's consumer once it is no longer read.
_SNAPSHOT_CONSUMER_LIFE = 2.0


@dataclass(frozen=True)
class Buckets:
    js: JetStreamContext
    wanted: KeyValue
    leases: KeyValue
    feeders: KeyValue

    async def snapshot(self, bucket: str, timeout: float = 5.0) -> dict[str, Lease]:
        """The live keys of ``bucket`` (``WANTED``, ``LEASES`` or ``FEEDERS``) and their last
        values: deleted and expired keys are absent.

        Not nats-py's ``watchall``/``keys``: their end-of-replay marker comes from one message's
        ``num_pending``, which can reach 0 before the replay is done while the bucket is written
        (nats.py issue 842 and pull request 995, open): a feeder then saw a partial ``wanted``,
        released codes still wanted and claimed them again, with a second gap event (seen in
        the three-feeder test). Here the replay is done when the server says so: its consumer
        has nothing pending and every message it delivered has been read. ``TimeoutError`` if
        that takes longer than ``timeout`` (a round fails and the next tries again)."""
        from nats.js.api import DeliverPolicy
        from nats.js.kv import KV_DEL, KV_MARKER_REASON, KV_OP, KV_PURGE

        prefix = f"$KV.{bucket}."
        found: dict[str, Lease] = {}
        read = 0  # the consumer sequence of the last message read

        async def on_message(msg: Msg) -> None:
            nonlocal read
            meta, headers = msg.metadata, msg.headers or {}
            key = msg.subject[len(prefix) :]
            if headers.get(KV_OP) in (KV_DEL, KV_PURGE) or KV_MARKER_REASON in headers:
                found.pop(key, None)  # a delete, a purge, or the server's marker of an expiry
            else:
                at = meta.timestamp
                at_ns = int(at.timestamp() * 1e9) if at else time.time_ns()
                found[key] = Lease(msg.data, meta.sequence.stream, at_ns)
            read = meta.sequence.consumer

        sub = await self.js.subscribe(
            f"{prefix}>",
            stream=f"KV_{bucket}",
            cb=on_message,
            ordered_consumer=True,
            deliver_policy=DeliverPolicy.LAST_PER_SUBJECT,
            # an ephemeral consumer outlives its reader by this long: a short time, or a feeder
            # polling twice a second piles up thousands ("maximum consumers limit reached")
            inactive_threshold=_SNAPSHOT_CONSUMER_LIFE,
        )
        try:
            async with asyncio.timeout(timeout):
                while True:
                    info = await sub.consumer_info()
                    delivered = info.delivered.consumer_seq if info.delivered else 0
                    if info.num_pending == 0 and read >= delivered:
                        return found
                    await asyncio.sleep(0.005)
        finally:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()


def key_of(tr_id: str, code: str) -> str:
    """The KV key of a registration (KV keys allow ``.``; TR ids and codes are alphanumeric)."""
    return f"{tr_id}.{code}"


def split_key(key: str) -> tuple[str, str]:
    tr_id, _, code = key.partition(".")
    return tr_id, code


async def connect(options: NatsOptions, first_attempt: float = 10.0) -> Client:
    """A connection to ``options``' server that reconnects for ever once made; ``FleetError``
    (naming the URL without its secrets) if none is made within ``first_attempt`` seconds or the
    login is refused. The library's own error reports go to the ``kisfeed.fleet`` logger, one
    line each: it would print a traceback per failed reconnect."""
    import nats
    from nats.errors import AuthorizationError
    from nats.errors import Error as NatsLibraryError

    last: list[Exception] = []
    made: list[Client] = []
    refused: list[Exception] = []

    async def error(exc: Exception) -> None:
        last[:] = [exc]
        if not made and (isinstance(exc, AuthorizationError) or "authorization" in str(exc).lower()):
            # the server refused the login: retrying until first_attempt would only hide why
            refused.append(exc)
            attempt.cancel()
        # before the first connection every retry fails alike: FleetError says it once
        level = logging.WARNING if made else logging.DEBUG
        log.log(level, "NATS %s: %s: %s", options.url_shown, type(exc).__name__, exc)

    async def disconnected() -> None:
        if made and (made[0].is_closed or made[0].is_draining):  # our own close(), not a lost server
            return
        log.warning("NATS %s: disconnected; reconnecting", options.url_shown)

    async def reconnected() -> None:
        log.warning("NATS %s: reconnected", options.url_shown)

    attempt = asyncio.ensure_future(
        nats.connect(
            **options.connect_kwargs(),
            error_cb=error,
            disconnected_cb=disconnected,
            reconnected_cb=reconnected,
        )
    )
    try:
        client = await asyncio.wait_for(attempt, first_attempt)
        made.append(client)
        return client
    except asyncio.CancelledError:
        if not refused:
            raise
        raise FleetError(
            f"cannot connect to NATS at {options.url_shown}: the server refused the login "
            f"({refused[0]}): check the user and password, token, nkey or creds file"
        ) from None
    except (OSError, TimeoutError, NatsLibraryError) as exc:
        # nats-py's messages name the server, never the password; the type says what failed
        seen = exc if str(exc) or not last else last[0]
        why = f"{type(seen).__name__}: {seen}" if str(seen) else f"no answer in {first_attempt:g} s"
        raise FleetError(f"cannot connect to NATS at {options.url_shown}: {why}") from None


async def prepare(js: JetStreamContext, settings: FleetSettings | None = None) -> Buckets:
    """The stream and the buckets, created if missing; ``FleetError`` if JetStream is off or an
    existing one has other settings than ``settings``."""
    from nats.js.api import KeyValueConfig, StorageType, StreamConfig
    from nats.js.errors import BadRequestError, NotFoundError, ServiceUnavailableError

    settings = settings or FleetSettings()
    stream = StreamConfig(
        name=STREAM,
        subjects=[RECORD_SUBJECTS, GAP_SUBJECTS],
        storage=StorageType.FILE,
        duplicate_window=settings.duplicate_window,
        max_age=settings.max_age,
        num_replicas=settings.replicas,
    )
    try:
        try:
            info = await js.stream_info(STREAM)
        except NotFoundError:
            await js.add_stream(stream)
        else:
            have = info.config
            if have.duplicate_window != settings.duplicate_window or have.max_age != settings.max_age:
                raise FleetError(
                    f"stream {STREAM} exists with duplicate_window={have.duplicate_window} s and "
                    f"max_age={have.max_age} s; this fleet asks {settings.duplicate_window} and "
                    f"{settings.max_age}: use one setting everywhere"
                )
        made = []
        for name, ttl in (
            (WANTED, None),
            (LEASES, settings.lease_seconds),
            (FEEDERS, settings.lease_seconds),
        ):
            try:
                kv = await js.key_value(name)
            except (NotFoundError, BadRequestError):
                kv = await js.create_key_value(
                    KeyValueConfig(bucket=name, ttl=ttl, storage=StorageType.FILE, replicas=settings.replicas)
                )
            else:
                status = await kv.status()
                if ttl is not None and abs((status.ttl or 0) - ttl) > 1e-3:
                    raise FleetError(
                        f"bucket {name} exists with a lease of {status.ttl} s; this fleet asks "
                        f"lease_seconds={ttl}: use one setting everywhere"
                    )
            made.append(kv)
    except ServiceUnavailableError:
        raise FleetError("the NATS server has no JetStream: start it with -js (nats-server -js)") from None
    return Buckets(js, *made)
