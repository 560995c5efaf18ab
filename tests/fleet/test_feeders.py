"""Feeders on a real nats-server and a real ``kisfeed sim`` with several app keys, as processes
(issue 17): every wanted code served once, the stream equal to what the simulator sent, a
killed feeder's codes taken over within the lease bound with one gap event each, and a server
restart survived with nothing acknowledged lost."""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter

import nats

from kisfeed.fleet import wire
from kisfeed.fleet.jetstream import LEASES
from kisfeed.schema import LAYOUTS

from ..conftest import seconds
from .fleet_parts import (
    Sim,
    busy_codes,
    fleet,
    gaps,
    master_file,
    read_stream,
    records_by_code,
    start_feeders,
    status,
    wait_until,
)

VOLUME = LAYOUTS["H0ZFCNT0"].by_name["volume"].index


def served_by(url: str, keys: set[str]) -> dict[str, str] | None:
    """key -> feeder when every key is served and every feeder's count agrees, else None."""
    found = status(url)
    served = {k: v for k, v in found["served"].items() if k in keys}
    counts = Counter(served.values())
    if set(served) != keys or any(f["serving"] != counts.get(f["id"], 0) for f in found["feeders"]):
        return None
    return served


def assert_no_duplicate(messages) -> None:
    ids = [h[wire.MSG_ID] for s, _p, h in messages if s.startswith("kis.")]
    assert len(ids) == len(set(ids))
    for code, records in records_by_code(messages).items():
        volumes = [int(r[VOLUME]) for r in records]
        assert volumes == sorted(set(volumes)), code  # every trade once, in order


def test_three_feeders_serve_100_codes_once_and_the_stream_is_the_ground_truth(
    nats_server, tmp_path, tmp_path_factory
):
    master = master_file(tmp_path_factory.getbasetemp())
    codes = busy_codes(100)
    sim = Sim(tmp_path, speed=10)
    feeders = start_feeders(tmp_path, sim, nats_server.url, ["f0", "f1", "f2"])
    try:
        added = fleet(nats_server.url, "add", *codes, "--master", master)
        assert added.returncode == 0, added.stderr
        assert "100 registrations wanted (100 new)" in added.stdout
        keys = {f"{'H0ZFCNT0' if len(c) == 6 else 'H0ZOCNT0'}.{c}" for c in codes}
        served = wait_until(lambda: served_by(nats_server.url, keys), 30, "all 100 codes served")
        load = Counter(served.values())
        assert set(load) <= {"f0", "f1", "f2"} and max(load.values()) <= 41, load
        time.sleep(1)  # records flow
        # removing every code makes the feeders unsubscribe: the simulator stops sending, so
        # what it sent is all that a feeder received (and must have published)
        removed = fleet(nats_server.url, "remove", *codes, "--master", master)
        assert removed.returncode == 0, removed.stderr
        wait_until(  # the leases released and the unsubscribes answered: nothing more is sent
            lambda: all(f["serving"] == f["subscribed"] == 0 for f in status(nats_server.url)["feeders"]),
            30,
            "all released and unsubscribed",
        )
        logs = []
        for feeder in feeders:
            code, out, err = feeder.stop()
            assert code == 0, out + err
            logs += err.splitlines()
    finally:
        for feeder in feeders:
            if feeder.command.process.poll() is None:
                feeder.kill()
        sim.stop()
    messages = read_stream(nats_server.url)
    sent = sim.sent_by_code()
    got = records_by_code(messages)
    assert sum(len(v) for v in sent.values()) > 300, "the simulator sent too little to tell"
    assert set(got) == set(sent)
    for code in sent:
        assert got[code] == sent[code], code  # every record, in order, once
    assert_no_duplicate(messages)
    events = gaps(messages)
    twice = Counter(f"{e.tr_id}.{e.code}" for e in events) - Counter(keys)
    assert not twice, "\n".join(
        [
            f"{e.code} {e.reason} {(e.end_ns - e.start_ns) / 1e9:.2f} s"
            for e in events
            if f"{e.tr_id}.{e.code}" in twice
        ]
        + [line for line in logs if any(key in line for key in twice)]  # their claims and releases
    )
    assert sorted(f"{e.tr_id}.{e.code}" for e in events) == sorted(keys)  # one each: newly wanted
    assert all(e.reason == "wanted and not served" and e.start_ns <= e.end_ns for e in events)


def test_a_killed_feeders_codes_are_served_again_within_the_lease_bound(
    nats_server, tmp_path, tmp_path_factory
):
    master = master_file(tmp_path_factory.getbasetemp())
    codes = busy_codes(20)
    keys = {f"{'H0ZFCNT0' if len(c) == 6 else 'H0ZOCNT0'}.{c}" for c in codes}
    sim = Sim(tmp_path)
    feeders = dict(zip(("a", "b"), start_feeders(tmp_path, sim, nats_server.url, ["a", "b"]), strict=True))
    try:
        assert fleet(nats_server.url, "add", *codes, "--master", master).returncode == 0
        served = wait_until(lambda: served_by(nats_server.url, keys), 30, "all codes served")
        victim = max(("a", "b"), key=lambda f: sum(o == f for o in served.values()))
        taken = {k for k, owner in served.items() if owner == victim}
        survivor = "b" if victim == "a" else "a"
        time.sleep(1)
        killed_at = time.monotonic()
        feeders[victim].kill()
        wait_until(
            lambda: (s := served_by(nats_server.url, keys)) and set(s.values()) == {survivor},
            20,
            "the survivor serves every code",
            every=0.1,
        )
        took = time.monotonic() - killed_at
        assert took <= seconds(10), f"fail-over took {took:.1f} s"  # issue 17: within the lease bound
        time.sleep(1)
        code, out, err = feeders[survivor].stop()
        assert code == 0, out + err
    finally:
        for feeder in feeders.values():
            if feeder.command.process.poll() is None:
                feeder.kill()
        sim.stop()
    messages = read_stream(nats_server.url)
    assert_no_duplicate(messages)
    events = gaps(messages)
    over = [e for e in events if e.reason.startswith("the lease of feeder")]
    assert sorted(f"{e.tr_id}.{e.code}" for e in over) == sorted(taken)  # one gap event per key
    assert all(e.reason == f"the lease of feeder {victim} ended" for e in over)
    assert all(0 < e.end_ns - e.start_ns <= seconds(10) * 1e9 for e in over)


def test_a_lease_taken_meanwhile_is_released_and_a_lapsed_one_is_taken_back(
    nats_server, tmp_path, tmp_path_factory
):
    """The renewal's two edges, made on the server by hand: a key whose lease another feeder
    created after ours lapsed (``thief``) is given up and unsubscribed, counted as a loss; a key
    whose lease lapsed and nobody took is created again, served on without a gap event."""
    master = master_file(tmp_path_factory.getbasetemp())
    codes = busy_codes(4)
    keys = {f"{'H0ZFCNT0' if len(c) == 6 else 'H0ZOCNT0'}.{c}" for c in codes}
    stolen, lapsed = sorted(keys)[:2]
    sim = Sim(tmp_path)
    (feeder,) = start_feeders(tmp_path, sim, nats_server.url, ["a"])
    try:
        assert fleet(nats_server.url, "add", *codes, "--master", master).returncode == 0
        wait_until(lambda: served_by(nats_server.url, keys), 30, "all codes served")

        async def meddle() -> None:
            nc = await nats.connect(nats_server.url)
            try:
                leases = await nc.jetstream().key_value(LEASES)
                await leases.delete(stolen)
                await leases.create(stolen, b"thief")
                await leases.delete(lapsed)
            finally:
                await nc.close()

        asyncio.run(meddle())

        def settled() -> dict | None:  # status reads the leases, then the feeders: not one instant
            found = status(nats_server.url)
            lost = any(f["losses"] for f in found["feeders"])
            return found if lost and found["served"].get(lapsed) == "a" else None

        found = wait_until(settled, 20, "a loss counted, the lapsed lease created again")
        (me,) = found["feeders"]
        assert me["serving"] == 3 and found["served"][stolen] == "thief"
        code, out, err = feeder.stop()
        assert code == 0, out + err
        assert "4 leases claimed, 1 lease lost" in err
    finally:
        if feeder.command.process.poll() is None:
            feeder.kill()
        sim.stop()
    events = gaps(read_stream(nats_server.url))
    assert sorted(f"{e.tr_id}.{e.code}" for e in events) == sorted(keys)  # the first claims only


def test_feeders_survive_a_server_restart_and_nothing_acknowledged_is_lost(
    nats_server, tmp_path, tmp_path_factory
):
    master = master_file(tmp_path_factory.getbasetemp())
    codes = busy_codes(10)
    keys = {f"{'H0ZFCNT0' if len(c) == 6 else 'H0ZOCNT0'}.{c}" for c in codes}
    sim = Sim(tmp_path)
    feeders = start_feeders(tmp_path, sim, nats_server.url, ["r0", "r1"])
    try:
        assert fleet(nats_server.url, "add", *codes, "--master", master).returncode == 0
        wait_until(lambda: served_by(nats_server.url, keys), 30, "all codes served")
        time.sleep(1)
        before = read_stream(nats_server.url)
        assert before
        nats_server.restart()
        wait_until(lambda: served_by(nats_server.url, keys), 30, "all codes served after the restart")
        wait_until(lambda: len(read_stream(nats_server.url)) > len(before) + 100, 20, "records arrive after")
        for feeder in feeders:
            code, out, err = feeder.stop()
            assert code == 0, out + err
            assert "Traceback" not in err
    finally:
        for feeder in feeders:
            if feeder.command.process.poll() is None:
                feeder.kill()
        sim.stop()
    after = read_stream(nats_server.url)
    assert after[: len(before)] == before  # what JetStream acknowledged is all still there
    assert_no_duplicate(after)
    assert {s.split(".", 1)[1] for s, _p, _h in after if s.startswith("kis.")} == keys


def test_a_feeder_stopped_with_records_nats_never_acknowledged_says_how_many_and_exits_1(
    nats_server, tmp_path, tmp_path_factory
):
    master = master_file(tmp_path_factory.getbasetemp())
    codes = busy_codes(4)
    keys = {f"{'H0ZFCNT0' if len(c) == 6 else 'H0ZOCNT0'}.{c}" for c in codes}
    sim = Sim(tmp_path)
    (feeder,) = start_feeders(tmp_path, sim, nats_server.url, ["lonely"])
    try:
        assert fleet(nats_server.url, "add", *codes, "--master", master).returncode == 0
        wait_until(lambda: served_by(nats_server.url, keys), 30, "all codes served")
        nats_server.stop(kill=True)  # records go on arriving from KIS, with nowhere to go
        time.sleep(1.5)
        code, out, err = feeder.stop()
    finally:
        if feeder.command.process.poll() is None:
            feeder.kill()
        sim.stop()
    assert code == 1, out + err
    assert re.search(
        r"stopped: .*, [\d,]+ records? not acknowledged by NATS$", err.strip().splitlines()[-1]
    ), err
