"""``kill -9`` of a recording process mid-stream, then a restart: nothing synced is lost, nothing
is stored twice.

What is asserted, precisely, for the trades of 7 codes on one app key and for the trades and
books of 40 codes on two (80 registrations, issue 15):

* every journal line the killed recorder had reported synced (its last ``status ... synced=N``
  line before the kill) is on disk, and every data frame on disk in its segment has its records
  in the dataset exactly once (the restart's rebuild restored what the killed converter had not
  written);
* the killed run's rows of each (TR, code) are exactly the first records the simulator sent for
  it, field by field, in order: no duplicate, no gap. Only a tail can be missing: frames sent
  after the last synced write (at most the fsync window of received frames, plus what was still
  in flight);
* the restarted run's rows are likewise exactly the start of what was sent for each (TR, code),
  and every data frame of its journal is in the dataset.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from kisfeed.schema import LAYOUTS, Record
from kisfeed.store import Recorder, read_journal, read_table, segments, table_records
from kisfeed.store.converter import DONE_SUFFIX
from kisfeed.store.dataset import dataset_files

from ..client.conftest import APP_KEY, APP_SECRET, codes, running, sim_config
from ..conftest import seconds
from .conftest import FB, NS0, OB, F, O, mixed_frames
from .test_converter import assert_complete
from .test_record_sim import assert_equal_to_sent

STATUS = re.compile(rb"status frames=(\d+) synced=(\d+)")
APP_KEY2, APP_SECRET2 = "PStest-app-key-0002", "test-app-secret-0002"


def recorder_args(sim, data, codes_: list[str], *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "kisfeed",
        "record",
        *codes_,
        "--data",
        str(data),
        "--app-key",
        APP_KEY,
        "--app-secret",
        APP_SECRET,
        "--ws-url",
        sim.ws_url,
        "--rest-url",
        sim.rest_url,
        "--status-interval",
        "0.1",
        "--flush-interval",
        "0.3",
        *extra,
    ]


def clean_env(home) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KIS_", "KISFEED_"))}
    env["HOME"] = str(home)  # no user config file, approval-key cache in the test's directory
    return env


def data_lines(segment) -> set[int]:
    return {e.line for e in read_journal(segment.path) if not e.text.startswith("{")}


#: (futures, options, record's options, app keys): 7 codes' trades on one key; 40 codes' trades
#: and books, 80 registrations, on two keys (41 each, reference 3.1).
CASES = {
    "trades of 7 codes": (3, 4, (), 1),
    "trades and books of 40 codes": (10, 30, ("--with-books",), 2),
}


@pytest.mark.parametrize("case", CASES)
async def test_kill_9_mid_stream_then_restart_restores_everything_synced_exactly_once(tmp_path, case):
    n_futures, n_options, options, keys = CASES[case]
    data = tmp_path / "data"
    env = clean_env(tmp_path)
    app_keys = {APP_KEY: APP_SECRET, APP_KEY2: APP_SECRET2}
    if keys == 2:  # the second key from the config file the recorder finds in its directory
        config = tmp_path / "kisfeed.toml"
        config.write_text(f'[[credentials]]\napp_key = "{APP_KEY2}"\napp_secret = "{APP_SECRET2}"\n')
        config.chmod(0o600)
    async with running(sim_config(speed=120.0, batch_window=0.5, app_keys=app_keys)) as sim:
        codes_ = codes(sim, F)[:n_futures] + codes(sim, O)[:n_options]
        killed = await asyncio.create_subprocess_exec(
            *recorder_args(sim, data, codes_, *options),
            cwd=tmp_path,
            env=env,
            start_new_session=True,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        synced = 0

        async def until_mid_stream() -> None:
            nonlocal synced
            assert killed.stderr is not None
            while True:
                line = await killed.stderr.readline()
                assert line, "the recorder exited before it was killed"
                match = STATUS.search(line)
                if match:
                    synced = int(match[2])
                    # mid-stream: hundreds of frames synced and Parquet files already finalized
                    if synced >= 300 and dataset_files(data):
                        return

        try:
            await asyncio.wait_for(until_mid_stream(), seconds(60))
        finally:
            os.killpg(killed.pid, signal.SIGKILL)  # the recorder and its converter child
            await killed.wait()
        [crashed] = segments(data)
        assert not crashed.sealed  # its writer never closed it
        converted_before_restart = sum(read_table(data, tr).num_rows for tr in LAYOUTS)

        async def until_session_closed() -> None:
            while sim.sessions:
                await asyncio.sleep(0.02)

        await asyncio.wait_for(until_session_closed(), seconds(10))
        killed_sessions = set(sim.sent)
        restarted = await asyncio.create_subprocess_exec(
            *recorder_args(sim, data, codes_, *options, "--seconds", "2"),
            cwd=tmp_path,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        _out, err = await asyncio.wait_for(restarted.communicate(), seconds(60))
        assert restarted.returncode == 0, err.decode()
        sent = dict(sim.sent)

    assert len(killed_sessions) == keys and len(sent) == 2 * keys, "one session per app key and run"
    first, second = segments(data)
    assert first.name == crashed.name and first.sealed and second.sealed
    for seg in (first, second):
        assert (seg.path.parent / (seg.name.split("/")[1] + DONE_SUFFIX)).exists()

    rows = _rows(data)
    assert set(rows) == ({F, O, FB, OB} if options else {F, O})
    run1 = _by_key(rows, first.name)
    run2 = _by_key(rows, second.name)
    assert sum(map(len, run1.values())) + sum(map(len, run2.values())) == sum(map(len, rows.values()))

    # everything synced before the kill is on disk, and every data frame on disk is in the dataset
    lines_on_disk = sum(1 for _ in read_journal(first.path))
    assert lines_on_disk >= synced
    assert _lines(rows, first.name) == data_lines(first)
    assert _lines(rows, second.name) == data_lines(second)

    # exactly what the simulator sent, in order, once: only a tail of the killed run is missing
    sent1 = _sent_by_key(sent, killed_sessions)
    sent2 = _sent_by_key(sent, set(sent) - killed_sessions)
    for got, want in ((run1, sent1), (run2, sent2)):
        assert set(got) <= set(want)
        for key, records in got.items():
            assert_equal_to_sent(records, want[key][: len(records)])
    kept1, kept2 = sum(map(len, run1.values())), sum(map(len, run2.values()))
    assert kept1 > 0 and kept2 > 0
    total1 = sum(map(len, sent1.values()))
    print(
        f"{case}: killed run: {kept1} records kept of {total1} sent ({total1 - kept1} sent after the last "
        f"sync or in flight), {kept1 - converted_before_restart} restored on restart; "
        f"restarted run: {kept2} of {sum(map(len, sent2.values()))}"
    )
    # the restart restored exactly the rows the killed converter had not written
    restored = re.search(rb"restored ([\d,]+) records", err)
    missing = kept1 - converted_before_restart
    assert (int(restored[1].replace(b",", b"")) if restored else 0) == missing, err.decode()


Row = tuple[str, int, int, Record]  # journal segment, line, frame index, record


def _rows(data: Path) -> dict[str, list[Row]]:
    """Every row of every TR, with its journal position, by TR."""
    out: dict[str, list[Row]] = {}
    for tr in LAYOUTS:
        table = read_table(data, tr)
        if table.num_rows:
            positions = zip(
                *(table.column(c).to_pylist() for c in ("journal_segment", "journal_line", "frame_index"))
            )
            out[tr] = [(*p, r) for p, r in zip(positions, table_records(table, tr))]
    return out


def _by_key(rows: dict[str, list[Row]], segment: str) -> dict[tuple[str, str], list[Record]]:
    """The records of one segment per (TR, code), in the order they were received."""
    out: dict[tuple[str, str], list[Record]] = defaultdict(list)
    for tr, tr_rows in rows.items():
        for _seg, _line, _index, record in sorted(r for r in tr_rows if r[0] == segment):
            out[(tr, record.code)].append(record)
    return out


def _lines(rows: dict[str, list[Row]], segment: str) -> set[int]:
    return {line for tr_rows in rows.values() for seg, line, _, _ in tr_rows if seg == segment}


def _sent_by_key(sent, sessions: set[int]) -> dict[tuple[str, str], list[tuple[str, list[str]]]]:
    """What the simulator sent to some sessions, per (TR, code), in order."""
    out: dict[tuple[str, str], list[tuple[str, list[str]]]] = defaultdict(list)
    for session in sorted(sessions):
        for tr, fields in sent[session]:
            out[(tr, fields[0])].append((tr, fields))
    return out


KILLED = """
import asyncio, os, signal, sys
from pathlib import Path
from kisfeed.store import Recorder
from kisfeed.store.dataset import dataset_files
from tests.store.conftest import NS0, mixed_frames

async def main():
    data = Path(sys.argv[1])
    recorder = Recorder(data, convert="process", flush_interval=0.05)
    await recorder.start()
    frames = mixed_frames(int(sys.argv[2]), books=True)
    half = len(frames) // 4
    for i, text in enumerate(frames[:half]):
        recorder.on_frame(text, NS0 + i * 1000, 1)
    while not dataset_files(data, "H0ZOASP0"):  # the converter child has finalized book files
        await asyncio.sleep(0.02)
    for i, text in enumerate(frames[half:], half):
        recorder.on_frame(text, NS0 + i * 1000, 1)
    recorder.journal.flush()  # every frame synced: none may be lost
    print(recorder.journal.synced, flush=True)
    os.killpg(0, signal.SIGKILL)  # this process and its converter child, mid-conversion

asyncio.run(main())
"""


async def test_kill_9_of_a_recorder_of_books_then_restart_restores_every_record_once(tmp_path):
    """The same guarantee for a journal of trades, books and expected prices, without a server:
    frames handed to a ``Recorder`` whose process group is killed while its converter child
    converts; the restart's rebuild restores exactly the rows the dataset lacks."""
    data = tmp_path / "data"
    root = Path(__file__).parents[2]
    killed = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        KILLED,
        str(data),
        "1500",
        cwd=root,
        env=clean_env(tmp_path),
        start_new_session=True,
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await asyncio.wait_for(killed.communicate(), seconds(60))
    assert killed.returncode == -signal.SIGKILL
    frames = mixed_frames(1500, books=True)
    assert int(out) == len(frames)
    [crashed] = segments(data)
    assert not crashed.sealed
    before = sum(read_table(data, tr).num_rows for tr in LAYOUTS)
    recorder = Recorder(data, convert="off")
    await recorder.start()
    await recorder.stop()
    written = [(t, NS0 + i * 1000, 1) for i, t in enumerate(frames)]
    assert_complete(data, written)  # every record once, field by field
    assert {tr for tr in LAYOUTS if read_table(data, tr).num_rows} == set(LAYOUTS)
    assert recorder.recovered.total == sum(read_table(data, tr).num_rows for tr in LAYOUTS) - before
    print(f"{before} rows converted before the kill, {recorder.recovered.total} restored")
