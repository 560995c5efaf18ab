"""``kisfeed record --from nats://…``: the stream into the dataset exactly once, through a durable
consumer acknowledged only for what the journal has synced; a recorder SIGKILLed mid-stream and
restarted; gap events in the ``gaps`` view; an unreachable server (issue 17, item 3). Real
nats-server, real ``kisfeed`` processes."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner, Result

from kisfeed.cli import app
from kisfeed.fleet import jetstream, wire
from kisfeed.fleet.options import NatsOptions
from kisfeed.fleet.recording import default_durable, recent_ids
from kisfeed.store import query
from kisfeed.store.writer import JournalWriter

from ..conftest import seconds
from .stream import BASE_NS, message, publish, trade

runner = CliRunner()


async def record_in_process(*args: str) -> Result:
    """``kisfeed record ...`` in this process (no interpreter to start), on a thread of its own:
    the command runs its own event loop."""
    return await asyncio.to_thread(runner.invoke, app, ["record", *args, "--status-interval", "0"])


def recorder(url: str, data: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kisfeed",
            "record",
            "--from",
            url,
            "--data",
            str(data),
            "--status-interval",
            "0",
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def started(process: subprocess.Popen[str]) -> str:
    """Wait for a recorder's "recording ..." line (its signal handlers are in place by then)."""
    assert process.stderr is not None
    said = ""
    while not said.startswith("recording "):
        said = process.stderr.readline()
        assert said, "the recorder ended before recording"
    return said


def journaled(data: Path) -> int:
    return sum(p.stat().st_size for p in (data / "journal").glob("*/*.kfj"))


def trades_in(data: Path) -> list[tuple[str, int]]:
    rows = query("SELECT code, volume FROM futures_trades ORDER BY code, volume", root=data)
    return list(zip(rows.column("code").to_pylist(), rows.column("volume").to_pylist(), strict=True))


async def js_of(url: str):
    nc = await jetstream.connect(NatsOptions(url))
    js = nc.jetstream()
    await jetstream.prepare(js)
    return nc, js


async def consumed(js, durable: str) -> None:
    """Until the durable consumer has nothing pending and nothing awaiting acknowledgement."""
    while True:
        info = await js.consumer_info(wire.STREAM, durable)
        if info.num_pending == 0 and info.num_ack_pending == 0:
            return
        await asyncio.sleep(0.2)


async def test_the_dataset_holds_the_stream_once_with_its_gaps_across_runs(nats_server, tmp_path):
    data = tmp_path / "data"
    nc, js = await js_of(nats_server.url)
    try:
        first = [
            message("H0ZFCNT0", trade(code, v), v) for v in range(1, 101) for code in ("A11612", "A01612")
        ]
        event = wire.GapEvent(
            "H0ZFCNT0", "A11612", BASE_NS + 5_000_000_000, BASE_NS + 9_000_000_000, "no feeder"
        )
        gap = wire.gap_message(event)
        await publish(js, first)
        await js.publish(gap.subject, gap.payload, headers=gap.headers)
        await js.publish("kis.H0ZFCNT0.A11612", b"A11612^garbage", headers={wire.MSG_ID: "junk"})

        done = await record_in_process(
            "--from",
            nats_server.url,
            "--data",
            str(data),
            "--seconds",
            "1",
        )
        assert done.exit_code == 0, done.stderr
        assert trades_in(data) == sorted((code, v) for code in ("A11612", "A01612") for v in range(1, 101))
        assert (
            "202 messages fetched up to sequence 202, 0 already journaled skipped, 1 malformed skipped, 1 gap event"
            in done.stdout
        )
        gaps = query('SELECT tr_id, code, start, "end", reason FROM gaps', root=data).to_pylist()
        assert [(g["tr_id"], g["code"], g["reason"]) for g in gaps] == [("H0ZFCNT0", "A11612", "no feeder")]
        assert gaps[0]["end"].timestamp() - gaps[0]["start"].timestamp() == 4.0
        assert str(data) in done.stderr and default_durable(data) in done.stderr

        # a second run of the same recorder takes up where the first stopped: only the new ones
        await publish(js, [message("H0ZFCNT0", trade("A11612", v), v) for v in range(101, 151)])
        done = await record_in_process(
            "--from",
            nats_server.url,
            "A11612",
            "--data",
            str(data),
            "--seconds",
            "1",
        )
        assert done.exit_code == 0, done.stderr
        assert "50 messages fetched" in done.stdout
        assert trades_in(data) == sorted(
            [(c, v) for c in ("A11612", "A01612") for v in range(1, 101)]
            + [("A11612", v) for v in range(101, 151)]
        )
        assert len(query("SELECT * FROM gaps", root=data)) == 1
    finally:
        await nc.close()


async def test_a_redelivery_of_what_the_journal_holds_is_skipped(nats_server, tmp_path):
    """Synced but not acknowledged (a recorder killed between the two): the server delivers
    those again, and the journal's last frames say they are in already."""
    data = tmp_path / "data"
    nc, js = await js_of(nats_server.url)
    try:
        messages = [message("H0ZFCNT0", trade("A11612", v), v) for v in range(1, 21)]
        await publish(js, messages)
        # the journal of the killed run: the first 10, synced
        with JournalWriter(data) as journal:
            for m in messages[:10]:
                parsed = wire.parse_record(m.subject, m.payload, m.headers)
                journal.append(wire.frame_text("H0ZFCNT0", parsed.fields), parsed.received_ns, 1)
        # its consumer delivered those 10 and heard no ack
        from nats.js.api import AckPolicy, ConsumerConfig

        durable = default_durable(data)
        await js.add_consumer(
            wire.STREAM,
            ConsumerConfig(name=durable, durable_name=durable, ack_policy=AckPolicy.EXPLICIT, ack_wait=1.0),
        )
        sub = await js.pull_subscribe_bind(durable, stream=wire.STREAM)
        assert len(await sub.fetch(10, timeout=2)) == 10
        await sub.unsubscribe()

        done = await record_in_process(
            "--from",
            nats_server.url,
            "--data",
            str(data),
            "--seconds",
            "2",
            "--ack-wait",
            "1",
        )
        assert done.exit_code == 0, done.stderr
        assert "10 already journaled skipped" in done.stdout
        assert trades_in(data) == [("A11612", v) for v in range(1, 21)]
        info = await js.consumer_info(wire.STREAM, durable)
        assert (info.num_ack_pending, info.num_pending) == (0, 0)
    finally:
        await nc.close()


def test_the_journals_last_frames_are_read_from_its_end(tmp_path):
    messages = [message("H0ZFCNT0", trade("A11612", v), v) for v in range(1, 5001)]  # ~1.5 MB
    event = wire.GapEvent("H0ZFCNT0", "A11612", BASE_NS, BASE_NS + 1, "no feeder")
    ids = []  # what names each message: its receive time and frame text
    with JournalWriter(tmp_path, compress=False) as journal:  # a killed run's: not sealed
        for n, m in enumerate(messages):
            parsed = wire.parse_record(m.subject, m.payload, m.headers)
            ids.append((parsed.received_ns, wire.frame_text("H0ZFCNT0", parsed.fields)))
            journal.append(ids[-1][1], parsed.received_ns, 1)
            if n == 4990:
                journal.append(event.note, BASE_NS, 0)
    assert recent_ids(tmp_path, 100) == (set(ids[-100:]), {event.note})
    assert recent_ids(tmp_path, 20_000)[0] == set(ids)  # the whole segment, when it takes that
    assert recent_ids(tmp_path / "nothing-here", 100) == (set(), set())


async def test_a_recorder_killed_mid_stream_and_restarted_writes_each_record_once(nats_server, tmp_path):
    data = tmp_path / "data"
    nc, js = await js_of(nats_server.url)
    total = 2000
    try:
        first = recorder(nats_server.url, data, "--ack-wait", "1")
        await asyncio.to_thread(started, first)

        async def publisher() -> None:  # about 1,000 records a second
            for start in range(1, total + 1, 50):
                await publish(
                    js, [message("H0ZFCNT0", trade("A11612", v), v) for v in range(start, start + 50)]
                )
                await asyncio.sleep(0.05)

        publishing = asyncio.create_task(publisher())
        while journaled(data) == 0:  # recording, mid-stream
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)
        first.send_signal(signal.SIGKILL)
        first.wait()
        assert not publishing.done(), "the kill came after the stream's end: publish more"
        second = recorder(nats_server.url, data, "--ack-wait", "1")
        await asyncio.to_thread(started, second)
        await publishing
        stream_info = await js.stream_info(wire.STREAM)
        assert stream_info.state.messages == total
        durable = default_durable(data)

        await asyncio.wait_for(consumed(js, durable), seconds(30))
        second.send_signal(signal.SIGTERM)
        out, err = second.communicate(timeout=seconds(60))
        assert second.returncode == 0, err
        assert trades_in(data) == [("A11612", v) for v in range(1, total + 1)]
        print(out)  # how many the restart skipped: the kill's timing decides
    finally:
        await nc.close()


def test_an_unreachable_server_or_a_bad_url_is_one_line(tmp_path):
    data = str(tmp_path / "d")
    done = runner.invoke(
        app, ["record", "--from", "nats://me:hunter2@127.0.0.1:1", "--data", data, "--connect-timeout", "1"]
    )
    assert done.exit_code == 1
    assert (
        done.stderr.strip()
        .splitlines()[-1]
        .startswith("error: cannot connect to NATS at nats://***@127.0.0.1:1")
    )
    assert "hunter2" not in done.stderr + done.stdout
    assert not (tmp_path / "d").exists()  # refused before the data directory was touched
    done = runner.invoke(app, ["record", "--from", "http://127.0.0.1:4222", "--data", data])
    assert done.exit_code == 2 and "expected nats://host:port" in done.stderr
    done = runner.invoke(app, ["record", "--data", data])
    assert done.exit_code == 2 and "--from" in done.stderr


def test_nats_credentials_from_the_options_or_the_environment_and_never_shown(tmp_path, monkeypatch):
    from .conftest import running_nats

    with running_nats(tmp_path, "--user", "kis", "--pass", "s3cret-pw") as server:
        base = [
            "record",
            "--from",
            server.url,
            "--data",
            str(tmp_path / "d"),
            "--seconds",
            "0.5",
            "--connect-timeout",
            "1",
        ]
        done = runner.invoke(app, [*base, "--nats-user", "kis", "--nats-password", "wrong-pw"])
        assert done.exit_code == 1
        assert (
            done.stderr.strip().splitlines()[-1].startswith(f"error: cannot connect to NATS at {server.url}")
        )
        assert "wrong-pw" not in done.stderr + done.stdout
        done = runner.invoke(app, [*base, "--nats-user", "kis", "--nats-password", "s3cret-pw"])
        assert done.exit_code == 0, done.stderr
        assert "0 messages fetched" in done.stdout and "s3cret-pw" not in done.stderr + done.stdout
        monkeypatch.setenv("KISFEED_NATS_USER", "kis")
        monkeypatch.setenv("KISFEED_NATS_PASSWORD", "s3cret-pw")
        done = runner.invoke(app, base)
        assert done.exit_code == 0, done.stderr


async def test_a_server_restart_mid_recording_loses_and_repeats_nothing(nats_server, tmp_path):
    data = tmp_path / "data"
    nc, js = await js_of(nats_server.url)
    total = 2000
    try:
        running = recorder(nats_server.url, data, "--ack-wait", "2")
        await asyncio.to_thread(started, running)
        for start in range(1, total + 1, 50):  # a feeder's way: repeated until acknowledged
            batch = [message("H0ZFCNT0", trade("A11612", v), v) for v in range(start, start + 50)]
            await publish(js, batch, retry_for=seconds(30))
            if start == total // 2 + 1:
                await asyncio.to_thread(nats_server.restart)
            await asyncio.sleep(0.02)
        assert (await js.stream_info(wire.STREAM)).state.messages == total
        durable = default_durable(data)

        await asyncio.wait_for(consumed(js, durable), seconds(30))
        running.send_signal(signal.SIGTERM)
        out, err = running.communicate(timeout=seconds(60))
        assert running.returncode == 0, err
        assert "disconnected; reconnecting" in err and "reconnected" in err  # it lived through it
        assert "fetched up to sequence 2000" in out
        assert trades_in(data) == [("A11612", v) for v in range(1, total + 1)]
    finally:
        await nc.close()
