"""The sans-I/O session: subscriptions, the 41 limit, acks, PINGPONG, keys, malformed input."""

from __future__ import annotations

import json

import pytest

from kisfeed.exceptions import (
    AppKeyInUseError,
    ControlMessageError,
    FieldError,
    FrameError,
    MaxSubscriptionsError,
    NotSubscribedError,
    SubscriptionLimitError,
    UnknownTRError,
)
from kisfeed.protocol import Data, Malformed, PingPong, Rejected, Session, Subscribed, Unsubscribed, crypto
from kisfeed.protocol.control import OPSP

from ..samples import frame, texts

F, O = "H0ZFCNT0", "H0ZOCNT0"
KEY, IV = "abcdefghijklmnopabcdefghijklmnop", "0123456789abcdef"
APPROVAL = "3f2c9a10-5b7e-4d21-9c0a-7e6f1d2b8c44"


def ack(msg_cd: str, tr_id: str = F, tr_key: str = "A11612", *, key_iv=(KEY, IV)) -> str:
    body = {"rt_cd": OPSP[msg_cd].rt_cd, "msg_cd": msg_cd, "msg1": OPSP[msg_cd].msg1}
    if msg_cd == "OPSP0000":
        body["output"] = {"iv": key_iv[1], "key": key_iv[0]}
    return json.dumps({"header": {"tr_id": tr_id, "tr_key": tr_key, "encrypt": "N"}, "body": body})


def test_subscribe_sends_one_request_and_ack_confirms_it():
    session = Session(APPROVAL)
    assert session.subscribe(F, "A11612") is True
    (sent,) = session.data_to_send()
    assert json.loads(sent)["body"]["input"] == {"tr_id": F, "tr_key": "A11612"}
    assert json.loads(sent)["header"]["approval_key"] == APPROVAL
    assert session.data_to_send() == []
    assert session.pending_subscribe == {(F, "A11612")}
    assert session.receive(ack("OPSP0000")) == [Subscribed(F, "A11612")]
    assert session.registered == {(F, "A11612")} and not session.pending_subscribe
    assert session.keys[F] == (KEY, IV)
    assert session.subscribe(F, "A11612") is False  # already held: nothing sent
    assert session.data_to_send() == []


def test_already_subscribed_counts_as_registered():
    session = Session(APPROVAL)
    session.subscribe(F, "A11612")
    assert session.receive(ack("OPSP0002")) == [Subscribed(F, "A11612", already=True)]
    assert session.registered == {(F, "A11612")}


def test_the_42nd_registration_is_refused_before_it_is_sent():
    session = Session(APPROVAL)
    codes = [f"A{n:02d}612" for n in range(41)]
    for code in codes[:20]:
        session.subscribe(F, code)
        session.receive(ack("OPSP0000", F, code))
    for code in codes[20:]:
        session.subscribe(F, code)  # pending ones take a slot too
    assert len(session.data_to_send()) == 41
    with pytest.raises(SubscriptionLimitError) as caught:
        session.subscribe(O, "B11612065")
    assert caught.value.limit == 41 and caught.value.tr_key == "B11612065"
    assert session.data_to_send() == []
    # an unsubscribe frees the slot only once the server confirms it
    session.unsubscribe(F, codes[0])
    with pytest.raises(SubscriptionLimitError):
        session.subscribe(O, "B11612065")
    assert session.receive(ack("OPSP0001", F, codes[0])) == [Unsubscribed(F, codes[0])]
    assert session.subscribe(O, "B11612065") is True


def test_the_limit_is_a_setting():
    session = Session(APPROVAL, max_registrations=2)
    session.subscribe(F, "A11612")
    session.subscribe(F, "A11701")
    with pytest.raises(SubscriptionLimitError):
        session.subscribe(F, "A11702")


def test_a_rejected_subscribe_frees_its_slot_and_names_the_error():
    session = Session(APPROVAL, max_registrations=1)
    session.subscribe(F, "A11612")
    (event,) = session.receive(ack("OPSP0008"))
    assert isinstance(event, Rejected) and event.request == "subscribe"
    assert isinstance(event.error, MaxSubscriptionsError)
    assert (event.tr_id, event.tr_key) == (F, "A11612")
    assert session.slots_used == 0
    assert session.subscribe(F, "A11612") is True


def test_unsubscribe_of_something_not_registered():
    session = Session(APPROVAL)
    session.unsubscribe(F, "A11612")
    (event,) = session.receive(ack("OPSP0003"))
    assert isinstance(event, Rejected) and event.request == "unsubscribe"
    assert isinstance(event.error, NotSubscribedError)
    assert not session.pending_unsubscribe


def test_session_level_error_has_no_request():
    session = Session(APPROVAL)
    session.subscribe(F, "A11612")
    text = (
        '{"header":{"tr_id":"(null)","tr_key":"","encrypt":"N"},'
        '"body":{"rt_cd":"9","msg_cd":"OPSP8996","msg1":"ALREADY IN USE appkey"}}'
    )
    (event,) = session.receive(text)
    assert isinstance(event, Rejected) and event.request is None
    assert isinstance(event.error, AppKeyInUseError)


@pytest.mark.parametrize(
    "text",
    [
        '{"header":{"tr_id":"PINGPONG","datetime":"20261120093015"}}',
        '{"header":{"tr_id":"PINGPONG"}}',
    ],
)
def test_pingpong_is_answered_with_the_received_text_unchanged(text):
    session = Session(APPROVAL)
    (event,) = session.receive(text)
    assert isinstance(event, PingPong)
    assert session.data_to_send() == [text]


def test_data_frames_become_records_and_bad_input_becomes_malformed_events():
    session = Session(APPROVAL)
    (event,) = session.receive(frame(F, texts(F), texts(F)))
    assert isinstance(event, Data) and event.tr_id == F and len(event.records) == 2
    events = session.receive(frame(F, texts(F), texts(F, price="x")))
    assert [type(e) for e in events] == [Data, Malformed]
    assert isinstance(events[1].error, FieldError) and events[1].error.record_index == 1
    (bad,) = session.receive("0|H0ZFCNT0|007|garbage")
    assert isinstance(bad, Malformed) and isinstance(bad.error, FrameError)
    (bad,) = session.receive("{not json")
    assert isinstance(bad, Malformed) and isinstance(bad.error, ControlMessageError)


def test_control_text_with_a_lone_surrogate_is_malformed_and_nothing_is_answered():
    # No WebSocket text frame can carry it (it is not UTF-8), but a str can: issue 11, item 22.
    session = Session(APPROVAL)
    (bad,) = session.receive('{"header\udcff":{"tr_id":"PINGPONG"}}')
    assert isinstance(bad, Malformed) and isinstance(bad.error, ControlMessageError)
    assert "not UTF-8" in str(bad.error)
    assert session.data_to_send() == []


def test_encrypted_frames_use_the_key_from_the_ack():
    session = Session(APPROVAL)
    wire = f"1|{F}|001|" + crypto.encrypt("^".join(texts(F)), KEY, IV)
    (event,) = session.receive(wire)
    assert isinstance(event, Malformed)  # no key yet
    session.subscribe(F, "A11612")
    session.receive(ack("OPSP0000"))
    (event,) = session.receive(wire)
    assert isinstance(event, Data) and event.records[0].price == 64300


def test_unknown_tr_is_refused_locally():
    with pytest.raises(UnknownTRError):
        Session(APPROVAL).subscribe("H0STCNT0", "005930")


def test_repr_never_shows_the_approval_key():
    session = Session(APPROVAL)
    session.subscribe(F, "A11612")
    assert APPROVAL not in repr(session)


def test_receive_data_gives_the_records_and_errors_that_receive_gives_as_events():
    session = Session(APPROVAL)
    session.subscribe(F, "A11612")
    session.receive(ack("OPSP0000"))
    encrypted = f"1|{F}|001|" + crypto.encrypt("^".join(texts(F)), KEY, IV)
    for text in [
        frame(F, texts(F)),
        frame(F, texts(F), texts(F, price="x"), texts(F)),
        frame(O, texts(O), texts(O)),
        encrypted,
        "0|H0ZFCNT0|007|garbage",
        "",
    ]:
        records, errors = session.receive_data(text, trading_date=None, received_ns=123)
        events = session.receive(text, trading_date=None, received_ns=123)
        data = [e.records for e in events if isinstance(e, Data)]
        assert (tuple(records),) == tuple(data) if records else data == []
        assert [str(e) for e in errors] == [str(e.error) for e in events if isinstance(e, Malformed)]
        assert all(r.received_ns == 123 for r in records)
    records, errors = session.receive_data(frame(F, texts(F), texts(F, price="x"), texts(F)))
    assert len(records) == 2 and [e.record_index for e in errors] == [1]  # the good ones are kept
