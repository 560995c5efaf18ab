"""``POST /oauth2/Approval`` (reference 1.3, 7.1): keys for good credentials, KIS-shaped errors
for bad ones, and never a secret in a reply."""

from __future__ import annotations

import asyncio
import re

import httpx

from kisfeed.sim import Simulator

from .helpers import post_approval, quiet, run

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
GOOD = {"grant_type": "client_credentials", "appkey": "demo-app-key", "secretkey": "demo-app-secret"}


def approvals(*calls: tuple) -> list[tuple[int, dict]]:
    async def body():
        async with Simulator(quiet()) as sim:
            return [await asyncio.to_thread(post_approval, sim.rest_url, *call) for call in calls]

    return run(body)


def test_good_credentials_get_a_fresh_36_character_approval_key_each_time():
    (status1, first), (status2, second) = approvals((GOOD,), (GOOD,))
    assert status1 == status2 == 200
    assert set(first) == {"approval_key"}  # no expiry field (ref 1.3)
    assert UUID.match(first["approval_key"]) and len(first["approval_key"]) == 36
    assert first["approval_key"] != second["approval_key"]


def test_unknown_app_key_and_wrong_secret_get_kis_error_codes():
    unknown, wrong = approvals(({**GOOD, "appkey": "nobody"},), ({**GOOD, "secretkey": "not-the-secret"},))
    assert unknown == (403, {"error_description": "유효하지 않은 AppKey입니다.", "error_code": "EGW00103"})
    assert wrong == (403, {"error_description": "유효하지 않은 AppSecret입니다.", "error_code": "EGW00105"})


def test_malformed_requests_and_other_routes_are_refused_without_echoing_secrets():
    replies = approvals(
        (b"not json",),
        ({**GOOD, "grant_type": "password"},),
        (GOOD, "GET"),
        (GOOD, "POST", "/oauth2/tokenP"),
    )
    assert [status for status, _ in replies] == [400, 400, 405, 404]
    for _, body in replies:
        assert set(body) == {"error_description", "error_code"}
        assert "demo-app-secret" not in str(body)


def test_an_httpx_client_gets_a_key_as_the_official_code_sends_it():
    # The official auth_ws sends these headers (ref 1.3); the endpoint must not mind them.
    async def body():
        async with Simulator(quiet()) as sim:
            headers = {"Content-Type": "application/json", "Accept": "text/plain", "charset": "UTF-8"}
            async with httpx.AsyncClient() as client:
                response = await client.post(sim.approval_url, json=GOOD, headers=headers)
                key = response.json()["approval_key"]
            return response.status_code, sim.keys.app_key_of(key)

    assert run(body) == (200, "demo-app-key")
