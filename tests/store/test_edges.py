"""Issue 11, items 1, 2, 4, 5 and 23: the data directory's edges. A second recorder is refused,
``rebuild`` restores deleted files, a background failure reaches the user in one line, and a
wrong path or an empty selection is an error, never a silent zero."""

from __future__ import annotations

import asyncio
import math
import os
import re
import resource

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from kisfeed.cli.app import app
from kisfeed.exceptions import ConfigError, DataDirectoryInUseError, StoreError
from kisfeed.schema import LAYOUTS
from kisfeed.store import Recorder, query, read_journal, rebuild
from kisfeed.store.dataset import dataset_files, read_table

from ..client.conftest import codes, running, sim_config
from ..conftest import seconds
from .conftest import DAY, FB, NS0, F, O, mixed_frames, write_journal
from .test_converter import assert_complete
from .test_record_kill import clean_env, recorder_args

runner = CliRunner()
REPORT = re.compile(r"\d+ (journal lines? skipped|frames? not decoded)")


def _frames(n: int) -> list[tuple[str, int, int]]:
    return [(t, NS0 + i * 1000, 1) for i, t in enumerate(mixed_frames(n))]


async def _until(condition, what: str, timeout: float = 30) -> None:
    """Wait for an observable condition (a background part's state), polling."""

    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.02)

    try:
        await asyncio.wait_for(poll(), seconds(timeout))
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


# --- item 1: one recorder per data directory -------------------------------------------------------


async def test_a_second_recorder_on_the_same_directory_is_refused_at_once(tmp_path):
    first = Recorder(tmp_path, convert="process")
    await asyncio.wait_for(first.start(), seconds(30))
    try:
        second = Recorder(tmp_path, convert="process")
        with pytest.raises(DataDirectoryInUseError) as refused:
            await asyncio.wait_for(second.start(), seconds(5))  # at once: no wait on the converter's lock
        assert isinstance(refused.value, StoreError) and refused.value.pid == os.getpid()
        assert str(tmp_path) in str(refused.value) and f"pid {os.getpid()}" in str(refused.value)
        frames = _frames(50)
        for text, ns, session in frames:
            first.on_frame(text, ns, session)
    finally:
        await asyncio.wait_for(first.stop(), seconds(60))
    assert_complete(tmp_path, frames)  # the refused one touched nothing
    again = Recorder(tmp_path, convert="off")  # the lock went with the first recorder
    await again.start()
    await again.stop()


async def test_a_second_record_command_refuses_with_one_line_naming_the_other(tmp_path):
    data, env = tmp_path / "data", clean_env(tmp_path)
    async with running(sim_config()) as sim:
        first = await asyncio.create_subprocess_exec(
            *recorder_args(sim, data, codes(sim, F)[:2], "--status-interval", "0"),
            cwd=tmp_path,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            assert first.stderr is not None
            line = await asyncio.wait_for(first.stderr.readline(), seconds(30))
            assert line.startswith(b"recording"), line  # the first one holds the directory now
            second = await asyncio.create_subprocess_exec(
                *recorder_args(sim, data, codes(sim, O)[:2], "--seconds", "10"),
                cwd=tmp_path,
                env=env,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            out, err = await asyncio.wait_for(second.communicate(), seconds(20))
        finally:
            first.terminate()
            await asyncio.wait_for(first.communicate(), seconds(60))
    lines = err.decode().strip().splitlines()
    assert second.returncode == 2, err.decode()
    assert len(lines) == 1 and lines[0].startswith("error:"), lines
    assert str(data) in lines[0] and f"pid {first.pid}" in lines[0]
    assert out == b"" and first.returncode == 0


# --- item 2: rebuild restores deleted files ------------------------------------------------------


def _rows(root, tr):
    table = read_table(root, tr)
    return table.to_pylist()


def _identities(root, tr) -> list[tuple[str, int, int]]:
    table = read_table(root, tr)
    return list(
        zip(*(table.column(c).to_pylist() for c in ("journal_segment", "journal_line", "frame_index")))
    )


def _rows(root, tr) -> list[dict]:
    """The rows of a TR, NaN as a string so that equal rows compare equal."""
    return [
        {k: "nan" if isinstance(v, float) and math.isnan(v) else v for k, v in row.items()}
        for row in read_table(root, tr).to_pylist()
    ]


@pytest.mark.parametrize("books", [False, True], ids=["trades", "books"])
@pytest.mark.parametrize("delete", ["one file", "every file of a TR"])
def test_rebuild_restores_deleted_files_exactly(tmp_path, delete, books):
    written = write_journal(tmp_path, mixed_frames(400 if not books else 150, books))
    rebuild(tmp_path, max_rows=60)  # several files per TR
    trs = list(LAYOUTS) if books else [F, O]
    before = {tr: _rows(tmp_path, tr) for tr in trs}
    lost_tr = FB if books else F
    files = dataset_files(tmp_path, lost_tr, DAY)
    assert len(files) > 2
    gone = [files[1]] if delete == "one file" else files
    lost = sum(pq.read_metadata(path).num_rows for path in gone)
    for path in gone:
        path.unlink()
    assert read_table(tmp_path, lost_tr).num_rows == len(before[lost_tr]) - lost
    result = runner.invoke(app, ["rebuild", "--data", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert f"rebuilt {lost:,} records ({lost_tr}: {lost:,})" in result.output  # exactly those rows
    for tr in trs:
        identities = [
            (r["journal_segment"], r["journal_line"], r["frame_index"])
            for r in read_table(tmp_path, tr).to_pylist()
        ]
        assert len(identities) == len(set(identities))  # no duplicate
        assert _rows(tmp_path, tr) == before[tr]  # the same rows, field by field
    assert_complete(tmp_path, written)
    again = runner.invoke(app, ["rebuild", "--data", str(tmp_path)])
    assert again.exit_code == 0 and "rebuilt 0 records" in again.output


# --- items 4 and 23: a background part's failure reaches the user, in one line -------------------


@pytest.mark.parametrize("convert", ["process", "thread"])
async def test_a_converter_failure_is_raised_by_stop_and_the_journal_goes_on(tmp_path, convert):
    (tmp_path / F).write_text("a file where the futures' folder goes")  # the converter cannot write
    recorder = Recorder(tmp_path, convert=convert, flush_interval=0.05)
    await asyncio.wait_for(recorder.start(), seconds(30))
    frames = _frames(100)
    for text, ns, session in frames[:50]:
        recorder.on_frame(text, ns, session)
    await _until(lambda: recorder.errors, "the converter's failure")
    assert recorder.error is None  # the journal is fine: recording goes on
    for text, ns, session in frames[50:]:
        recorder.on_frame(text, ns, session)
    with pytest.raises(StoreError, match=r"the converter .*stopped: cannot write .*Not a directory"):
        await asyncio.wait_for(recorder.stop(), seconds(60))
    assert len(recorder.errors) == 1  # the last rebuild's same failure is not a second error
    assert [e.received_ns for e in read_journal(tmp_path)] == [ns for _, ns, _ in frames]


def _record(tmp_path, sim, data, *extra: str, limit_bytes: int | None = None):
    def limit() -> None:  # in the child: writes past limit_bytes fail with EFBIG (Python ignores SIGXFSZ)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    return asyncio.create_subprocess_exec(
        *recorder_args(sim, data, codes(sim, F)[:2] + codes(sim, O)[:2], "--status-interval", "0", *extra),
        cwd=tmp_path,
        env=clean_env(tmp_path),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        preexec_fn=limit if limit_bytes else None,
    )


def _error_lines(err: bytes) -> list[str]:
    text = err.decode()
    assert "Traceback" not in text and "Fatal Python error" not in text, text
    lines = text.strip().splitlines()
    # one line per error; the run's report of journal lines it skipped (a line the limit cut) may be there too
    assert all(
        line.startswith(("recording ", "stopping: ", "error: ", "  ")) or REPORT.match(line) for line in lines
    ), text
    return [line for line in lines if line.startswith("error: ")]


async def test_record_reports_a_converter_failure_in_one_line_and_exits_1(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / F).write_text("in the way")
    async with running(sim_config()) as sim:
        process = await _record(tmp_path, sim, data, "--seconds", "2", "--flush-interval", "0.1")
        out, err = await asyncio.wait_for(process.communicate(), seconds(60))
    assert process.returncode == 1, err.decode()
    [line] = _error_lines(err)
    assert "converter" in line and "Not a directory" in line and str(data / F) in line
    assert b"recorded" in out  # the summary still comes: the journal has every frame


async def test_a_full_disk_shows_each_failure_in_one_line_the_journal_included(tmp_path):
    # RLIMIT_FSIZE stands in for a full disk (EFBIG instead of ENOSPC, same paths): the journal
    # segment passes the limit within seconds, and a Parquet file (footer alone > 4 kB) at once.
    data = tmp_path / "data"
    async with running(sim_config(speed=20.0)) as sim:
        process = await _record(
            tmp_path, sim, data, "--seconds", "60", "--flush-interval", "0.1", limit_bytes=4000
        )
        _, err = await asyncio.wait_for(process.communicate(), seconds(90))
    assert process.returncode == 1, err.decode()
    lines = _error_lines(err)
    journal = [line for line in lines if "journal write failed" in line]
    converter = [line for line in lines if "converter" in line]
    assert len(journal) == 1 and "File too large" in journal[0], lines
    assert len(converter) == 1 and "File too large" in converter[0], lines
    assert len(lines) == 2, lines


# --- item 5: wrong paths and empty selections ------------------------------------------------------


def test_query_on_a_missing_data_directory_is_a_usage_error(tmp_path):
    missing = tmp_path / "no-such-dir"
    result = runner.invoke(app, ["query", "--data", str(missing), "SELECT count(*) FROM futures_trades"])
    assert result.exit_code == 2 and f"no data directory at {missing}" in result.output
    assert len(result.output.strip().splitlines()) == 1
    with pytest.raises(ConfigError, match="no data directory"):
        query("SELECT 1", root=missing)
    assert not missing.exists()
    out = runner.invoke(app, ["query", "--data", str(missing), "--out", str(tmp_path / "x.csv"), "SELECT 1"])
    assert out.exit_code == 2 and not (tmp_path / "x.csv").exists()


def test_export_of_nothing_says_so_and_writes_no_file(tmp_path):
    write_journal(tmp_path, mixed_frames(30))
    rebuild(tmp_path)
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        ["export", "--data", str(tmp_path), "--from", "2026-01-01", "--to", "2026-01-31", "--out", str(out)],
    )
    assert result.exit_code == 1, result.output
    assert "nothing to export" in result.output and f"{DAY} to {DAY}" in result.output
    assert not out.exists() or not list(out.iterdir())
    missing = runner.invoke(
        app,
        ["export", "--data", str(tmp_path / "nope"), "--from", str(DAY), "--to", str(DAY), "--out", str(out)],
    )
    assert missing.exit_code == 2 and "no data directory" in missing.output


def test_export_writes_no_empty_file_for_a_tr_without_rows(tmp_path):
    write_journal(tmp_path, [t for t in mixed_frames(30) if f"|{F}|" in t])
    rebuild(tmp_path)
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        [
            "export",
            "--data",
            str(tmp_path),
            "--from",
            str(DAY),
            "--to",
            str(DAY),
            "--out",
            str(out),
            "--format",
            "csv",
        ],
    )
    assert result.exit_code == 0, result.output
    assert [p.name for p in out.iterdir()] == [f"futures_trades_{DAY}_{DAY}.csv"]
    assert f"{O}: no rows from {DAY} to {DAY}; no file written" in result.output


def test_replay_of_a_missing_path_is_a_usage_error(tmp_path):
    result = runner.invoke(app, ["replay", str(tmp_path / "nope")])
    assert result.exit_code == 2 and "no journal at" in result.output
    (tmp_path / "empty").mkdir()
    empty = runner.invoke(app, ["replay", str(tmp_path / "empty")])
    assert empty.exit_code == 2 and "no journal segments" in empty.output
