"""What every reader of the fleet's stream shares (``consumer``, ``recording``): the subjects of
a filter, a delivered message's sequences, and a connection with the stream made."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from ..exceptions import FleetError, UsageError
from ..schema import LAYOUTS
from . import jetstream, wire
from .options import NatsOptions

if TYPE_CHECKING:
    from nats.aio.client import Client
    from nats.js import JetStreamContext
    from nats.js.api import ConsumerConfig

__all__ = ["filter_subjects", "reply_sequences", "open_stream", "bind_durable"]


def filter_subjects(
    trs: Iterable[str] | None, codes: Iterable[str] | None, keys: Iterable[tuple[str, str]] | None = None
) -> list[str]:
    """The stream subjects of ``trs`` × ``codes`` (None: every one), records and gap events:
    ``kis.H0ZFCNT0.>`` for a whole TR, ``kis.*.A11612`` for a code on every TR; or of the
    (TR, code) pairs ``keys`` (the registrations a ``Feed`` would hold), if given."""
    if keys is not None:
        if trs is not None or codes is not None:
            raise UsageError("give keys, or trs and codes, not both")
        pairs = list(dict.fromkeys(keys))
        if not pairs:
            raise UsageError("give at least one (TR, code) key, or None for every one")
        return [s for tr, code in pairs for s in filter_subjects([tr], [code])]
    tr_list = None if trs is None else list(dict.fromkeys(trs))
    code_list = None if codes is None else list(dict.fromkeys(codes))
    for tr in tr_list or []:
        if tr not in LAYOUTS:
            raise UsageError(f"unknown TR id {tr!r}: kisfeed has no layout for it")
    for code in code_list or []:
        if not isinstance(code, str) or not code or not code.isascii() or not code.isalnum():
            raise UsageError(f"{code!r} is not an instrument code (e.g. A11612, B11612007)")
    if tr_list == [] or code_list == []:
        raise UsageError("give at least one TR and one code, or None for every one")
    if tr_list is None and code_list is None:
        return [wire.RECORD_SUBJECTS, wire.GAP_SUBJECTS]
    out: list[str] = []
    for tr in tr_list or ["*"]:
        if code_list is None:
            out += [f"kis.{tr}.>", f"kisfeed.gap.{tr}.>"]
        else:
            for code in code_list:
                out += [f"kis.{tr}.{code}", f"kisfeed.gap.{tr}.{code}"]
    return out


def reply_sequences(reply: str) -> tuple[int, int, int]:
    """``(times delivered, stream sequence, pending)`` from a JetStream message's reply subject
    (``$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<dseq>.<ts>.<pending>``, or the form with
    a domain and an account hash before the stream and a token after ``pending``)."""
    tokens = reply.split(".")
    at = 4 if len(tokens) == 9 else 6
    return int(tokens[at]), int(tokens[at + 1]), int(tokens[at + 4])


async def open_stream(options: NatsOptions, first_attempt: float = 10.0) -> tuple[Client, JetStreamContext]:
    """A connection and its JetStream context, the fleet's stream made if it does not exist yet;
    ``FleetError`` if the server cannot be reached, refuses the login or has no JetStream."""
    from nats.js.errors import NotFoundError, ServiceUnavailableError

    nc = await jetstream.connect(options, first_attempt)
    try:
        js = nc.jetstream()
        try:
            await js.stream_info(wire.STREAM)
        except NotFoundError:
            await jetstream.prepare(js)  # a consumer started before any feeder: the stream's defaults
        except ServiceUnavailableError:
            raise FleetError(
                "the NATS server has no JetStream: start it with -js (nats-server -js)"
            ) from None
    except BaseException:
        await nc.close()
        raise
    return nc, js


async def bind_durable(
    js: JetStreamContext, durable: str, subjects: list[str], config: ConsumerConfig
) -> JetStreamContext.PullSubscription:
    """A pull subscription bound to the durable consumer ``durable`` of the stream, filtered to
    ``subjects``: made with ``config``, or an existing one's filters and acks updated
    (nats-server >= 2.10); ``FleetError`` naming it if the server refuses."""
    from nats.js.errors import APIError

    config.name = config.durable_name = durable
    config.filter_subject = subjects[0] if len(subjects) == 1 else None
    config.filter_subjects = subjects if len(subjects) > 1 else None
    try:
        await js.add_consumer(wire.STREAM, config)
    except APIError as exc:
        raise FleetError(f"cannot create the durable consumer {durable}: {exc.description}") from None
    return await js.pull_subscribe_bind(durable, stream=wire.STREAM)
