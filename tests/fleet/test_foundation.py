"""The fleet's message format, connection options and JetStream objects (issue 17)."""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest

from kisfeed.exceptions import ConfigError, FleetError, MalformedMessageError
from kisfeed.fleet import jetstream, wire
from kisfeed.fleet.options import NatsOptions
from kisfeed.schema import KST, LAYOUTS

from ..conftest import seconds
from ..samples import texts

NS = int(datetime(2026, 12, 1, 10, 0, tzinfo=KST).timestamp()) * 1_000_000_000


def test_a_trade_id_is_tr_date_code_and_cumulative_volume_whichever_feeder_sent_it():
    fields = texts("H0ZFCNT0")
    volume = fields[LAYOUTS["H0ZFCNT0"].by_name["volume"].index]
    one = wire.record_message("H0ZFCNT0", fields, NS, "feeder-a")
    other = wire.record_message("H0ZFCNT0", fields, NS + 5_000_000_000, "feeder-b")
    assert one.headers[wire.MSG_ID] == f"H0ZFCNT0.20261201.{fields[0]}.{volume}"
    assert one.headers[wire.MSG_ID] == other.headers[wire.MSG_ID]
    assert one.subject == f"kis.H0ZFCNT0.{fields[0]}"
    # the next trading day's trade of the same volume is another trade
    tomorrow = wire.record_message("H0ZFCNT0", fields, NS + 86_400 * 1_000_000_000, "feeder-a")
    assert tomorrow.headers[wire.MSG_ID] != one.headers[wire.MSG_ID]


def test_a_book_id_is_its_content_and_the_update_before_so_only_the_same_sequence_is_one():
    fields = texts("H0ZFASP0")
    same = wire.message_id("H0ZFASP0", list(fields), NS, "before")
    assert wire.message_id("H0ZFASP0", list(fields), NS + 1, "before") == same
    changed = list(fields)
    changed[-1] = "9" + changed[-1]
    assert wire.message_id("H0ZFASP0", changed, NS, "before") != same
    assert wire.message_id("H0ZFASP0", list(fields), NS, "another") != same


def test_frame_messages_chain_books_keep_trades_and_take_every_width_consumers_take():
    book, other = texts("H0ZFASP0"), texts("H0ZFASP0")
    other[-1] = "9" + other[-1]
    # a book back to an earlier state (X, Y, X): three messages, three ids
    one, two = wire.FrameMessages("a"), wire.FrameMessages("b")
    sequence = [book, other, book]
    ids = [m.headers[wire.MSG_ID] for f in sequence for m in one("H0ZFASP0", 1, list(f), NS) or []]
    assert len(set(ids)) == 3
    # another feeder that received the same updates gives the same ids from its second one on
    again = [m.headers[wire.MSG_ID] for f in sequence for m in two("H0ZFASP0", 1, list(f), NS + 7) or []]
    assert again[1:] == ids[1:]
    # a trade's id is its cumulative volume, whatever came before
    trade = texts("H0ZFCNT0")
    (first,) = one("H0ZFCNT0", 1, trade, NS) or []
    (second,) = two("H0ZFCNT0", 1, trade, NS) or []
    assert first.headers[wire.MSG_ID] == second.headers[wire.MSG_ID]
    # H0ZOANC0 with 7 of its 8 fields, two records a frame; a trade with a field KIS appended
    seven = texts("H0ZOANC0")[:7]
    assert [m.payload.decode() for m in one("H0ZOANC0", 2, seven + seven, NS) or []] == ["^".join(seven)] * 2
    (wider,) = one("H0ZFCNT0", 1, [*trade, "X"], NS) or []
    assert wire.parse_record(wider.subject, wider.payload, wider.headers).fields == [*trade, "X"]
    # what no consumer would take: fields that do not divide, records too narrow
    assert one("H0ZFCNT0", 2, trade + trade[:-1], NS) is None
    assert one("H0ZFCNT0", 1, trade[:10], NS) is None


def test_a_record_message_parses_back_to_its_fields_and_frame():
    fields = texts("H0ZOCNT0")
    message = wire.record_message("H0ZOCNT0", fields, NS, "f1")
    parsed = wire.parse_record(message.subject, message.payload, message.headers)
    assert (parsed.tr_id, parsed.fields, parsed.received_ns, parsed.feeder) == ("H0ZOCNT0", fields, NS, "f1")
    assert wire.frame_text("H0ZOCNT0", fields) == "0|H0ZOCNT0|001|" + "^".join(fields)


@pytest.mark.parametrize(
    ("subject", "payload", "headers", "why"),
    [
        ("kis.H0XXCNT0.A01612", None, None, "not a kis.<TR>.<code> subject"),
        ("kis.H0ZFCNT0", None, None, "not a kis.<TR>.<code> subject"),
        ("kis.H0ZFCNT0.A01612", b"\xff\xfe", None, "not UTF-8"),
        ("kis.H0ZFCNT0.A01612", b"A01612^1^2", None, "3 fields"),
        ("kis.H0ZFCNT0.B99999", None, None, "starting with the subject's code"),
        ("kis.H0ZFCNT0.A01612", None, {wire.RECEIVED_NS: "soon"}, "integer nanoseconds"),
        ("kis.H0ZFCNT0.A01612", None, {wire.MSG_ID: "x"}, "Nats-Msg-Id"),
    ],
)
def test_a_malformed_message_is_a_named_one_line_error(subject, payload, headers, why):
    fields = texts("H0ZFCNT0", code="A01612")
    good = wire.record_message("H0ZFCNT0", fields, NS, "f1")
    with pytest.raises(MalformedMessageError, match=why) as caught:
        wire.parse_record(
            subject, good.payload if payload is None else payload, {**good.headers, **(headers or {})}
        )
    assert "\n" not in str(caught.value)


def test_a_gap_event_is_the_gap_end_note_the_store_already_reads():
    event = wire.GapEvent("H0ZFCNT0", "A01612", NS, NS + 7_000_000_000, "feeder f1 lost its lease")
    message = wire.gap_message(event)
    assert message.subject == "kisfeed.gap.H0ZFCNT0.A01612"
    assert wire.parse_gap(message.subject, message.payload) == event
    with pytest.raises(MalformedMessageError):
        wire.parse_gap("kisfeed.gap.H0ZFCNT0.A50612", message.payload)
    with pytest.raises(MalformedMessageError):
        wire.parse_gap(message.subject, b"[]")


def test_options_hide_every_secret_and_refuse_bad_settings(tmp_path):
    options = NatsOptions("nats://alice:s3cret@127.0.0.1:4222", token=None)
    assert options.url_shown == "nats://***@127.0.0.1:4222"
    hidden = NatsOptions("nats://127.0.0.1:4222", user="bob", password="pw-9", name="x")
    assert "pw-9" not in repr(hidden) and "pw-9" not in hidden.url_shown
    assert "tok-1" not in repr(NatsOptions(token="tok-1"))
    for bad, why in [
        ({"url": "http://127.0.0.1:4222"}, "expected nats://"),
        ({"url": "nats://127.0.0.1:99999"}, "port"),
        ({"tls_cert": tmp_path / "c.pem"}, "together"),
        ({"token": "t", "user": "u"}, "not both"),
        ({"creds": tmp_path / "missing.creds"}, "not a readable file"),
    ]:
        with pytest.raises(ConfigError, match=why):
            NatsOptions(**bad)
    env = {"KISFEED_NATS_URL": "nats://10.0.0.1:4222", "KISFEED_NATS_TOKEN": "tok"}
    from_env = NatsOptions.from_env(env, url=None)
    assert (from_env.url, from_env.token) == ("nats://10.0.0.1:4222", "tok")
    assert NatsOptions.from_env(env, url="nats://given:1").url == "nats://given:1"


def test_an_unreachable_server_is_a_fleet_error_without_the_password():
    with pytest.raises(FleetError, match=r"cannot connect to NATS at nats://\*\*\*@127\.0\.0\.1:1") as caught:
        asyncio.run(jetstream.connect(NatsOptions("nats://me:hunter2@127.0.0.1:1"), first_attempt=1.0))
    assert "hunter2" not in str(caught.value)


async def test_prepare_makes_the_stream_and_buckets_once_and_refuses_other_settings(nats_server):
    nc = await jetstream.connect(NatsOptions(nats_server.url))
    try:
        js = nc.jetstream()
        buckets = await jetstream.prepare(js)
        await jetstream.prepare(js)  # a second process: a no-op
        info = await js.stream_info(wire.STREAM)
        assert set(info.config.subjects or []) == {wire.RECORD_SUBJECTS, wire.GAP_SUBJECTS}
        # a lease is compare-and-set: created once, renewed by the holder's revision only
        revision = await buckets.leases.create("H0ZFCNT0.A01612", b"f1")
        with pytest.raises(Exception, match="wrong last sequence"):
            await buckets.leases.create("H0ZFCNT0.A01612", b"f2")
        assert await buckets.leases.update("H0ZFCNT0.A01612", b"f1", last=revision) > revision
        with pytest.raises(Exception, match="wrong last sequence"):
            await buckets.leases.update("H0ZFCNT0.A01612", b"f2", last=revision)
        with pytest.raises(FleetError, match="lease_seconds=9"):
            await jetstream.prepare(js, jetstream.FleetSettings(lease_seconds=9))
        with pytest.raises(FleetError, match="duplicate_window"):
            await jetstream.prepare(js, jetstream.FleetSettings(duplicate_window=30))
        # JetStream drops a second message with the same id
        fields = texts("H0ZFCNT0")
        for feeder in ("f1", "f2"):
            m = wire.record_message("H0ZFCNT0", fields, NS, feeder)
            await js.publish(m.subject, m.payload, headers=m.headers)
        assert (await js.stream_info(wire.STREAM)).state.messages == 1
    finally:
        await asyncio.wait_for(nc.close(), seconds(5))


def test_settings_are_checked():
    for bad in ({"lease_seconds": 0.5}, {"duplicate_window": 0}, {"replicas": 0}):
        with pytest.raises(ConfigError):
            jetstream.FleetSettings(**bad)


async def test_the_nats_py_internals_the_publisher_reaches_into_are_still_there(nats_server):
    # fleet/publisher.py empties nats-py's unsent buffer on a disconnect so that records keep
    # their order (design principle 13: one place, a named version, a test that fails if they move)
    nc = await jetstream.connect(NatsOptions(nats_server.url))
    try:
        assert isinstance(nc._pending, list)
        assert isinstance(nc._pending_data_size, int)
        assert callable(nc._disconnected_cb)
    finally:
        await asyncio.wait_for(nc.close(), seconds(5))
