"""Control replies, PINGPONG and requests: every msg_cd of reference 2.2 maps to a named outcome."""

from __future__ import annotations

import json

import pytest

from kisfeed import exceptions as ex
from kisfeed.protocol import OPSP, ControlReply, Ping, parse_control, server_error, subscribe_request


def reply(msg_cd: str, rt_cd: str, msg1: str, *, tr_id="H0ZFCNT0", tr_key="A11612", output=None) -> str:
    body = {"rt_cd": rt_cd, "msg_cd": msg_cd, "msg1": msg1}
    if output is not None:
        body["output"] = output
    return json.dumps({"header": {"tr_id": tr_id, "tr_key": tr_key, "encrypt": "N"}, "body": body})


SUCCESS = {"OPSP0000", "OPSP0001", "OPSP0002"}
EXPECTED_ERRORS = {
    "OPSP0003": ex.NotSubscribedError,
    "OPSP0007": ex.ServerInternalError,
    "OPSP0008": ex.MaxSubscriptionsError,
    "OPSP0009": ex.ServerInternalError,
    "OPSP0010": ex.InvalidApprovalError,
    "OPSP0011": ex.InvalidApprovalError,
    "OPSP8991": ex.InvalidRequestError,
    "OPSP8992": ex.InvalidRequestError,
    "OPSP8993": ex.InvalidRequestError,
    "OPSP8994": ex.InvalidRequestError,
    "OPSP8995": ex.InvalidRequestError,
    "OPSP8996": ex.AppKeyInUseError,
    "OPSP8997": ex.InvalidRequestError,
    "OPSP8998": ex.InvalidRequestError,
    "OPSP8999": ex.ServerInternalError,
    "OPSP9990": ex.InvalidRequestError,
    "OPSP9991": ex.InvalidRequestError,
    "OPSP9992": ex.InvalidRequestError,
    "OPSP9993": ex.ServerInternalError,
    "OPSP9994": ex.InvalidApprovalError,
    "OPSP9995": ex.ServerInternalError,
    "OPSP9996": ex.InvalidApprovalError,
    "OPSP9997": ex.InvalidRequestError,
    "OPSP9998": ex.InvalidRequestError,
    "OPSP9999": ex.InvalidRequestError,
}


def test_the_table_covers_every_listed_code():
    assert set(OPSP) == SUCCESS | set(EXPECTED_ERRORS)


def test_subscribe_success_carries_key_and_iv():
    text = reply(
        "OPSP0000",
        "0",
        "SUBSCRIBE SUCCESS",
        output={"iv": "0123456789abcdef", "key": "abcdefghijklmnopabcdefghijklmnop"},
    )
    message = parse_control(text)
    assert message == ControlReply(
        "H0ZFCNT0",
        "A11612",
        "N",
        "0",
        "OPSP0000",
        "SUBSCRIBE SUCCESS",
        key="abcdefghijklmnopabcdefghijklmnop",
        iv="0123456789abcdef",
    )
    assert message.ok and server_error(message) is None


@pytest.mark.parametrize("msg_cd", sorted(SUCCESS))
def test_success_codes_are_not_errors(msg_cd):
    message = parse_control(reply(msg_cd, OPSP[msg_cd].rt_cd, OPSP[msg_cd].msg1))
    assert message.ok
    assert server_error(message) is None


@pytest.mark.parametrize("msg_cd, error", sorted(EXPECTED_ERRORS.items()))
def test_every_error_code_maps_to_its_named_error(msg_cd, error):
    message = parse_control(reply(msg_cd, OPSP[msg_cd].rt_cd, OPSP[msg_cd].msg1))
    assert not message.ok
    exc = server_error(message)
    assert type(exc) is error
    assert (exc.msg_cd, exc.msg1, exc.tr_id, exc.tr_key) == (msg_cd, OPSP[msg_cd].msg1, "H0ZFCNT0", "A11612")
    assert isinstance(exc, ex.ServerError)


def test_app_key_in_use_as_captured():
    # The reply captured in 2025-11 (reference 2.2): header tr_id "(null)", rt_cd "9".
    text = (
        '{"header":{"tr_id":"(null)","tr_key":"","encrypt":"N"},'
        '"body":{"rt_cd":"9","msg_cd":"OPSP8996","msg1":"ALREADY IN USE appkey"}}'
    )
    exc = server_error(parse_control(text))
    assert isinstance(exc, ex.AppKeyInUseError) and exc.retryable
    assert exc.tr_id is None and exc.tr_key is None and exc.rt_cd == "9"


def test_unknown_code_is_kept_verbatim():
    exc = server_error(parse_control(reply("OPSP7777", "1", "SOMETHING NEW")))
    assert isinstance(exc, ex.UnknownServerError)
    assert exc.msg_cd == "OPSP7777" and exc.msg1 == "SOMETHING NEW"
    # an unlisted code with rt_cd "0" is a success we do not know yet, not a failure
    assert parse_control(reply("OPSP0100", "0", "NEW SUCCESS")).ok


@pytest.mark.parametrize(
    "text, stamp",
    [
        ('{"header":{"tr_id":"PINGPONG","datetime":"20261120093015"}}', "20261120093015"),
        ('{"header":{"tr_id":"PINGPONG"}}', None),
        ('{"header": {"tr_id": "PINGPONG", "datetime": "20261120093015"}}', "20261120093015"),
    ],
)
def test_pingpong_with_or_without_datetime(text, stamp):
    assert parse_control(text) == Ping(text, stamp)


@pytest.mark.parametrize(
    "text",
    [
        "{",
        "{}",
        "[]",
        '{"header": 1}',
        '{"header": {"tr_id": "H0ZFCNT0"}}',
        '{"header": {"tr_id": "H0ZFCNT0"}, "body": {"rt_cd": "0"}}',
        '{"header": {"tr_id": []}, "body": {}}',
        "null",
        '"PINGPONG"',
    ],
)
def test_malformed_control_messages_raise_the_named_error(text):
    with pytest.raises(ex.ControlMessageError) as caught:
        parse_control(text)
    assert caught.value.raw == text


def test_subscribe_and_unsubscribe_requests_follow_the_spec_tables():
    sub = json.loads(subscribe_request("approval-0000", "H0ZOCNT0", "B11612065"))
    assert sub == {
        "header": {"approval_key": "approval-0000", "custtype": "P", "tr_type": "1", "content-type": "utf-8"},
        "body": {"input": {"tr_id": "H0ZOCNT0", "tr_key": "B11612065"}},
    }
    unsub = json.loads(
        subscribe_request("approval-0000", "H0ZFCNT0", "A11612", subscribe=False, custtype="B")
    )
    assert unsub["header"]["tr_type"] == "2" and unsub["header"]["custtype"] == "B"


def test_server_errors_never_show_keys():
    exc = server_error(parse_control(reply("OPSP0011", "1", "invalid approval : NOT FOUND")))
    assert "approval" in str(exc) and exc.retryable
