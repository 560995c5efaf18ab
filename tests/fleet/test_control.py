"""``kisfeed fleet add/remove/status`` and a feeder's edges (issue 17, items 4 and 5): codes
checked as ``record`` checks them, NATS credentials refused in one line without the password,
a feeder that never claims beyond its capacity, and its ``/metrics``."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import urllib.request

import pytest
from typer.testing import CliRunner

from kisfeed.cli.app import app
from kisfeed.fleet import wire

from ..cli.test_stop import Command
from ..conftest import seconds
from .conftest import running_nats
from .fleet_parts import KEYS, LEASE, Feeder, Sim, busy_codes, fleet, master_file, wait_until

PASSWORD = "nats-pass-5e1d"
runner = CliRunner()


def fleet_here(url: str, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    """``kisfeed fleet ARGS --nats URL`` in this process (quicker than a process each): exit
    code and output (stdout and stderr)."""
    result = runner.invoke(app, ["fleet", *args, "--nats", url], env=env)
    return result.exit_code, result.output


@pytest.fixture
def secured(tmp_path):
    """A nats-server that asks for user ``u`` and ``PASSWORD``."""
    with running_nats(tmp_path / "nats", "--user", "u", "--pass", PASSWORD) as server:
        yield server


def test_an_unknown_code_is_a_usage_error_before_connecting(tmp_path_factory):
    master = master_file(tmp_path_factory.getbasetemp())
    for args, why in [
        (["ZZZ"], "cannot tell futures"),
        (["--tr", "H0XXCNT0", "A11612"], "not a TR kisfeed knows"),
        (["A11699", "--master", master], "unknown instrument code A11699"),
        (["--tr", "H0ZOCNT0", "A11612"], "is the stock option trade: use H0ZFCNT0"),
    ]:
        code, output = fleet_here("nats://127.0.0.1:1", "add", *args)  # refused before connecting
        assert code == 2, output
        assert why in output and len(output.strip().splitlines()) == 1, output
    code, output = fleet_here("nats://127.0.0.1:1", "feed", env={"KIS_APP_KEY": "", "KISFEED_CONFIG": ""})
    assert code == 2 and "a feeder needs app keys" in output, output


def test_wrong_nats_credentials_are_one_line_without_the_password(secured):
    host = secured.url.removeprefix("nats://")
    for url, args, env in [
        (f"nats://{host}", ["status", "--nats-user", "u"], {"KISFEED_NATS_PASSWORD": "wrong-" + PASSWORD}),
        (f"nats://u:wrong-{PASSWORD}@{host}", ["status"], {}),
    ]:
        code, output = fleet_here(url, *args, env=env)
        assert code == 1, output
        assert output.startswith("error: cannot connect to NATS at nats://"), output
        assert len(output.strip().splitlines()) == 1, output
        assert "refused the login" in output  # says why
        assert PASSWORD not in output
    code, output = fleet_here(
        f"nats://{host}", "status", "--nats-user", "u", env={"KISFEED_NATS_PASSWORD": PASSWORD}
    )
    assert code == 0, output
    assert "0 feeders" in output and PASSWORD not in output


async def add_durable(url: str, name: str) -> None:
    import nats
    from nats.js.api import ConsumerConfig

    nc = await nats.connect(url)
    try:
        await nc.jetstream().add_consumer(wire.STREAM, ConsumerConfig(durable_name=name))
    finally:
        await nc.close()


def test_a_feeder_never_claims_beyond_its_capacity_and_serves_metrics(secured, tmp_path, tmp_path_factory):
    url = f"nats://u:{PASSWORD}@127.0.0.1:{secured.port}"
    master = master_file(tmp_path_factory.getbasetemp())
    codes = busy_codes(5)
    sim = Sim(tmp_path)
    feeder = Feeder(tmp_path, sim, url, "small", 0, feed="max_registrations = 2").ready()
    try:
        assert fleet(url, "add", *codes, "--master", master).returncode == 0

        def settled():
            done = fleet(url, "status", "--json")
            found = json.loads(done.stdout)
            return found if len(found["served"]) == 2 and found["feeders"][0]["serving"] == 2 else None

        found = wait_until(settled, 20, "two codes served")
        (me,) = found["feeders"]
        assert (me["capacity"], me["serving"], len(found["unserved"])) == (2, 2, 3)
        assert found["stream"]["messages"] > 0
        # a durable consumer's lag: what the stream holds that it has not been given yet
        asyncio.run(add_durable(url, "recorder-1"))
        (lag,) = json.loads(fleet(url, "status", "--json").stdout)["consumers"]
        assert lag["name"] == "recorder-1" and lag["pending"] >= found["stream"]["messages"] > 0
        text = fleet(url, "status").stdout
        assert "consumer recorder-1: " in text
        assert "serving 2/2" in text and "3 unserved" in text and PASSWORD not in text
        metrics = urllib.request.urlopen(feeder.metrics, timeout=seconds(10)).read().decode()
        assert 'kisfeed_fleet_codes_served{feeder="small"} 2' in metrics
        assert 'kisfeed_fleet_capacity{feeder="small"} 2' in metrics
        assert 'kisfeed_fleet_nats_connected{feeder="small"} 1' in metrics
        assert 'kisfeed_fleet_kis_sessions_connected{feeder="small"} 1' in metrics
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(feeder.metrics.replace("/metrics", "/"), timeout=seconds(10))
        # an app secret the server refuses ends a feeder with one error line, without the secret
        bad = Command(["fleet", "feed", "--nats", url, "--app-key", KEYS[1][0], "--app-secret", "wrong-secret-1f",
                       "--ws-url", sim.ws_url, "--rest-url", sim.rest_url, "--lease-seconds", f"{LEASE:g}"], tmp_path)  # fmt: skip
        assert bad.process.wait(seconds(30)) == 1
        _, out, err = bad.stop(signal.SIGTERM)
        assert err.strip().splitlines()[-1].startswith("error: EGW00105"), err
        assert "wrong-secret-1f" not in out + err and PASSWORD not in out + err
        code, out, err = feeder.command.stop(signal.SIGINT)
        assert code == 130, out + err
        assert PASSWORD not in out + err and "Traceback" not in err
    finally:
        if feeder.command.process.poll() is None:
            feeder.kill()
        sim.stop()


def test_the_demo_runs_two_feeders_that_share_its_codes_then_cleans_up(nats_server, tmp_path):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith(("KIS_", "KISFEED_"))}
    env.update(HOME=str(tmp_path), KISFEED_CACHE_DIR=str(tmp_path / "cache"))
    done = subprocess.run(
        [sys.executable, "-m", "kisfeed", "fleet", "demo", "--nats", nats_server.url, "--seconds", "3"],
        capture_output=True, text=True, timeout=seconds(90), env=env, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 feeders:" in done.stdout
    assert re.search(r"(\d+) registrations wanted, \1 served, 0 unserved", done.stdout), done.stdout
    assert "demo-a" in done.stdout and "demo-b" in done.stdout
    assert "demo stopped" in done.stderr and "Traceback" not in done.stderr
    code, output = fleet_here(nats_server.url, "status")
    assert code == 0 and "0 registrations wanted" in output and "0 feeders" in output, output
