"""``kill -9`` of a recording process mid-stream, then a restart: nothing synced is lost, nothing
is stored twice.

What is asserted, precisely:

* every journal line the killed recorder had reported synced (its last ``status ... synced=N``
  line before the kill) is on disk, and every data frame on disk in its segment has its records
  in the dataset exactly once (the restart's rebuild restored what the killed converter had not
  written);
* the killed run's rows are exactly the first records the simulator sent to that session, field by
  field, in order: no duplicate, no gap. Only a tail can be missing: frames sent after the last
  synced write (at most the fsync window of received frames, plus what was still in flight);
* the restarted run's rows are likewise exactly the start of what was sent to its session, and
  every data frame of its journal is in the dataset.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from pathlib import Path

from kisfeed.schema import LAYOUTS
from kisfeed.store import Recorder, read_journal, read_table, segments
from kisfeed.store.converter import DONE_SUFFIX
from kisfeed.store.dataset import dataset_files

from ..client.conftest import APP_KEY, APP_SECRET, codes, running, sim_config
from ..conftest import seconds
from .conftest import NS0, F, O, mixed_frames
from .test_converter import assert_complete
from .test_record_sim import assert_equal_to_sent, dataset_in_receive_order

STATUS = re.compile(rb"status frames=(\d+) synced=(\d+)")


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


async def test_kill_9_mid_stream_then_restart_restores_everything_synced_exactly_once(tmp_path):
    data = tmp_path / "data"
    env = clean_env(tmp_path)
    async with running(sim_config(speed=120.0, batch_window=0.5)) as sim:
        codes_ = codes(sim, F)[:3] + codes(sim, O)[:4]
        killed = await asyncio.create_subprocess_exec(
            *recorder_args(sim, data, codes_),
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
        converted_before_restart = sum(1 for _ in _row_lines(data))

        async def until_session_closed() -> None:
            while sim.sessions:
                await asyncio.sleep(0.02)

        await asyncio.wait_for(until_session_closed(), seconds(10))
        restarted = await asyncio.create_subprocess_exec(
            *recorder_args(sim, data, codes_, "--seconds", "2"),
            cwd=tmp_path,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        _out, err = await asyncio.wait_for(restarted.communicate(), seconds(60))
        assert restarted.returncode == 0, err.decode()
        sent = dict(sim.sent)

    assert sorted(sent) == [1, 2], "one session per run"
    first, second = segments(data)
    assert first.name == crashed.name and first.sealed and second.sealed
    for seg in (first, second):
        assert (seg.path.parent / (seg.name.split("/")[1] + DONE_SUFFIX)).exists()

    rows = dataset_in_receive_order(data)
    assert {r.tr_id for r in rows} == {F, O}
    table_lines = _row_lines(data)
    run1 = [r for r, (s, _) in zip(rows, table_lines) if s == first.name]
    run2 = [r for r, (s, _) in zip(rows, table_lines) if s == second.name]
    assert len(run1) + len(run2) == len(rows)

    # everything synced before the kill is on disk, and every data frame on disk is in the dataset
    lines_on_disk = sum(1 for _ in read_journal(first.path))
    assert lines_on_disk >= synced
    assert {line for s, line in table_lines if s == first.name} == data_lines(first)
    assert {line for s, line in table_lines if s == second.name} == data_lines(second)

    # exactly what the simulator sent, in order, once: only a tail of the killed session is missing
    assert_equal_to_sent(run1, sent[1][: len(run1)])
    assert_equal_to_sent(run2, sent[2][: len(run2)])
    assert len(run1) > 0 and len(run2) > 0
    lost = len(sent[1]) - len(run1)
    print(
        f"killed run: {len(run1)} records kept of {len(sent[1])} sent ({lost} sent after the last sync "
        f"or in flight), {len(run1) - converted_before_restart} restored on restart; "
        f"restarted run: {len(run2)} of {len(sent[2])}"
    )
    # the restart restored exactly the rows the killed converter had not written
    restored = re.search(rb"restored ([\d,]+) records", err)
    missing = len(run1) - converted_before_restart
    assert (int(restored[1].replace(b",", b"")) if restored else 0) == missing, err.decode()


def _row_lines(data) -> list[tuple[str, int]]:
    """(segment, line) of every row, in the order of ``dataset_in_receive_order``."""
    from kisfeed.store import read_table

    keys = []
    for tr in (F, O):
        table = read_table(data, tr)
        keys += list(
            zip(
                table.column("journal_segment").to_pylist(),
                table.column("journal_line").to_pylist(),
                table.column("frame_index").to_pylist(),
            )
        )
    return [(s, line) for s, line, _ in sorted(keys)]


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
