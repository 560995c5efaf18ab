"""``kisfeed fleet add/remove/status`` and a feeder's edges (issue 17, items 4 and 5): codes
checked as ``record`` checks them, NATS credentials refused in one line without the password,
a feeder that never claims beyond its capacity, and its ``/metrics``."""

from __future__ import annotations

import json
import signal
import urllib.request

import pytest

from ..conftest import seconds
from .conftest import NatsServer
from .fleet_parts import Feeder, Sim, busy_codes, fleet, wait_until
from .test_feeders import write_master

PASSWORD = "nats-pass-5e1d"


@pytest.fixture
def secured(tmp_path):
    """A nats-server that asks for user ``u`` and ``PASSWORD``."""
    server = NatsServer(tmp_path / "nats", "--user", "u", "--pass", PASSWORD)
    server.store.mkdir()
    server.start()
    try:
        yield server
    finally:
        server.stop(kill=True)


@pytest.mark.parametrize(
    ("args", "why"),
    [
        (["ZZZ"], "cannot tell futures"),
        (["--tr", "H0XXCNT0", "A11612"], "not a TR kisfeed knows"),
        (["A11699", "--master", "MASTER"], "unknown instrument code A11699"),
        (
            ["A11612", "--tr", "H0ZOCNT0", "A11612", "--master", "MASTER"],
            "is the stock option trade: use H0ZFCNT0",
        ),
    ],
)
def test_an_unknown_code_is_a_usage_error_before_connecting(tmp_path, args, why):
    master = write_master(tmp_path) if "MASTER" in args else ""
    done = fleet("nats://127.0.0.1:1", "add", *[master if a == "MASTER" else a for a in args])
    assert done.returncode == 2, done.stdout + done.stderr
    assert why in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_wrong_nats_credentials_are_one_line_without_the_password(secured):
    host = secured.url.removeprefix("nats://")
    for url, args, env in [
        (f"nats://{host}", ["status", "--nats-user", "u"], {"KISFEED_NATS_PASSWORD": "wrong-" + PASSWORD}),
        (f"nats://u:wrong-{PASSWORD}@{host}", ["status"], {}),
    ]:
        done = fleet(url, *args, env=env)
        assert done.returncode == 1, done.stdout + done.stderr
        assert done.stderr.startswith("error: cannot connect to NATS at nats://"), done.stderr
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert "refused the login" in done.stderr  # says why: the server refused the login
        assert PASSWORD not in done.stdout + done.stderr
    good = fleet(f"nats://{host}", "status", "--nats-user", "u", env={"KISFEED_NATS_PASSWORD": PASSWORD})
    assert good.returncode == 0, good.stderr
    assert "0 feeders" in good.stdout and PASSWORD not in good.stdout + good.stderr


def test_a_feeder_never_claims_beyond_its_capacity_and_serves_metrics(secured, tmp_path):
    url = f"nats://u:{PASSWORD}@127.0.0.1:{secured.port}"
    master = write_master(tmp_path)
    codes = busy_codes(5)
    sim = Sim(tmp_path)
    feeder = Feeder(tmp_path, sim, url, "small", 0, feed="max_registrations = 2")
    try:
        assert fleet(url, "add", *codes, "--master", master).returncode == 0

        def settled():
            done = fleet(url, "status", "--json")
            found = json.loads(done.stdout)
            return found if len(found["served"]) == 2 else None

        found = wait_until(settled, 20, "two codes served")
        (me,) = found["feeders"]
        assert (me["capacity"], me["serving"], len(found["unserved"])) == (2, 2, 3)
        assert found["stream"]["messages"] > 0
        text = fleet(url, "status").stdout
        assert "serving 2/2" in text and "3 unserved" in text and PASSWORD not in text
        metrics = urllib.request.urlopen(feeder.metrics, timeout=seconds(10)).read().decode()
        assert 'kisfeed_fleet_codes_served{feeder="small"} 2' in metrics
        assert 'kisfeed_fleet_capacity{feeder="small"} 2' in metrics
        assert 'kisfeed_fleet_nats_connected{feeder="small"} 1' in metrics
        assert 'kisfeed_fleet_kis_sessions_connected{feeder="small"} 1' in metrics
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(feeder.metrics.replace("/metrics", "/"), timeout=seconds(10))
        code, out, err = feeder.command.stop(signal.SIGINT)
        assert code == 130, out + err
        assert PASSWORD not in out + err and "Traceback" not in err
    finally:
        if feeder.command.process.poll() is None:
            feeder.kill()
        sim.stop()
