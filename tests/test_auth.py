"""Approval keys: issued over HTTP (MockTransport at the design's seam), cached 0600, renewed."""

from __future__ import annotations

import json
import logging
import stat
import time

import httpx
import pytest

from kisfeed.auth import ApprovalKeys, Credentials
from kisfeed.exceptions import AuthError, ConfigError

KEY, SECRET = "PSappkey-recognisable-1234", "secret-recognisable-5678"


class Server:
    """A stand-in for /oauth2/Approval: counts calls, checks the body, hands out numbered keys."""

    def __init__(self, status: int = 200) -> None:
        self.calls: list[dict] = []
        self.status = status

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.calls.append(body)
        assert request.url.path == "/oauth2/Approval" and request.method == "POST"
        if self.status != 200 or body != {
            "grant_type": "client_credentials",
            "appkey": KEY,
            "secretkey": SECRET,
        }:
            return httpx.Response(
                403, json={"error_code": "EGW00103", "error_description": "유효하지 않은 AppKey입니다."}
            )
        return httpx.Response(200, json={"approval_key": f"aaaaaaaa-bbbb-cccc-dddd-{len(self.calls):012d}"})


def keys(tmp_path, server, **kwargs) -> ApprovalKeys:
    return ApprovalKeys(
        "https://kis.example:9443",
        transport=httpx.MockTransport(server),
        cache_dir=tmp_path / "cache",
        **kwargs,
    )


async def test_issued_once_then_cached_on_disk_with_mode_0600(tmp_path):
    server = Server()
    first = await keys(tmp_path, server).get(Credentials(KEY, SECRET))
    again = await keys(tmp_path, server).get(Credentials(KEY, SECRET))  # a new program start
    assert first == again == "aaaaaaaa-bbbb-cccc-dddd-000000000001"
    assert len(server.calls) == 1
    (path,) = (tmp_path / "cache").iterdir()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "cache").stat().st_mode) == 0o700
    assert KEY not in path.name and SECRET not in path.read_text()


async def test_fresh_and_expired_keys_are_issued_again(tmp_path):
    server = Server()
    approvals = keys(tmp_path, server, reuse=3600)
    creds = Credentials(KEY, SECRET)
    (await approvals.get(creds))
    assert (await approvals.get(creds, fresh=True)).endswith("2")
    (path,) = (tmp_path / "cache").iterdir()
    data = json.loads(path.read_text())
    data["issued_at"] = time.time() - 3601
    path.write_text(json.dumps(data))
    assert (await approvals.get(creds)).endswith("3")
    approvals.forget(creds)
    assert not path.exists()
    assert (await approvals.get(creds)).endswith("4")


async def test_a_corrupt_cache_file_is_replaced(tmp_path):
    server = Server()
    approvals = keys(tmp_path, server)
    (await approvals.get(Credentials(KEY, SECRET)))
    (path,) = (tmp_path / "cache").iterdir()
    path.write_text("{not json")
    assert (await approvals.get(Credentials(KEY, SECRET))).endswith("2")


async def test_a_changed_secret_is_never_answered_from_the_cache(tmp_path):
    server = Server()
    (await keys(tmp_path, server).get(Credentials(KEY, SECRET)))
    with pytest.raises(AuthError):  # a wrong secret is asked about, and refused, at once
        (await keys(tmp_path, server).get(Credentials(KEY, "wrong-secret")))
    assert [call["secretkey"] for call in server.calls] == [SECRET, "wrong-secret"]
    assert (await keys(tmp_path, server).get(Credentials(KEY, SECRET))).endswith("1")  # still cached
    assert len(server.calls) == 2
    for path in (tmp_path / "cache").iterdir():
        for secret in (SECRET, "wrong-secret"):
            assert secret not in path.name and secret not in path.read_text()


async def test_a_new_secret_gets_its_own_key(tmp_path):
    issued: list[str] = []

    def any_secret(request: httpx.Request) -> httpx.Response:
        issued.append(json.loads(request.content)["secretkey"])
        return httpx.Response(200, json={"approval_key": f"key-{len(issued)}"})

    approvals = ApprovalKeys(
        "https://kis.example:9443", transport=httpx.MockTransport(any_secret), cache_dir=tmp_path / "cache"
    )
    assert (await approvals.get(Credentials(KEY, "secret-A"))) == "key-1"
    assert (await approvals.get(Credentials(KEY, "secret-B"))) == "key-2"
    assert (await approvals.get(Credentials(KEY, "secret-A"))) == "key-1"
    assert issued == ["secret-A", "secret-B"]


async def test_nothing_secret_is_logged(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    server = Server()
    key = await keys(tmp_path, server).get(Credentials(KEY, SECRET))
    with pytest.raises(AuthError):
        (await keys(tmp_path, server).get(Credentials(KEY, "wrong-secret")))
    (tmp_path / "file").write_text("")
    (
        await ApprovalKeys(
            "https://kis.example:9443",
            transport=httpx.MockTransport(server),
            cache_dir=tmp_path / "file" / "cache",
        ).get(Credentials(KEY, SECRET))
    )
    assert "issued an approval key" in caplog.text and "cannot cache" in caplog.text
    for secret in (KEY, SECRET, "wrong-secret", key):
        assert secret not in caplog.text


async def test_wrong_credentials_are_a_clear_error_without_secrets(tmp_path):
    with pytest.raises(AuthError) as caught:
        (await keys(tmp_path, Server()).get(Credentials(KEY, "wrong-secret")))
    assert caught.value.msg_cd == "EGW00103" and not caught.value.retryable
    assert KEY not in str(caught.value) and "wrong-secret" not in str(caught.value)


async def test_unreachable_endpoint_is_retryable(tmp_path):
    def refuse(request):
        raise httpx.ConnectError("refused")

    with pytest.raises(AuthError) as caught:
        (await keys(tmp_path, refuse).get(Credentials(KEY, SECRET)))
    assert caught.value.retryable


def test_credentials_never_show_in_repr_and_come_from_the_environment(monkeypatch):
    creds = Credentials(KEY, SECRET)
    assert KEY not in repr(creds) and SECRET not in repr(creds) and KEY not in creds.label
    monkeypatch.setenv("KIS_APP_KEY", KEY)
    monkeypatch.setenv("KIS_APP_SECRET", SECRET)
    assert Credentials.from_env() == creds
    monkeypatch.delenv("KIS_APP_SECRET")
    with pytest.raises(ConfigError, match="KIS_APP_SECRET"):
        Credentials.from_env()


async def test_an_unusable_cache_directory_does_not_stop_the_feed(tmp_path, caplog):
    (tmp_path / "file").write_text("")  # a cache dir below a regular file cannot be created
    approvals = ApprovalKeys(
        "https://kis.example:9443",
        transport=httpx.MockTransport(Server()),
        cache_dir=tmp_path / "file" / "cache",
    )
    assert (await approvals.get(Credentials(KEY, SECRET))).endswith("1")
    assert "cannot cache the approval key" in caplog.text
