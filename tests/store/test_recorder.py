"""The Recorder without a network: its conversion modes, and a journal that fails under it."""

from __future__ import annotations

import asyncio
import errno
import json
import os
import subprocess
import sys

import pytest

from kisfeed.exceptions import StoreError
from kisfeed.store import Recorder, read_journal, segments
from kisfeed.store import writer as journal_writer

from ..conftest import seconds
from .conftest import NS0, PING, expected, mixed_frames, write_journal
from .test_converter import assert_complete


@pytest.mark.parametrize("convert", ["process", "thread", "off"])
async def test_every_mode_ends_with_the_whole_dataset(tmp_path, convert):
    frames = [(t, NS0 + i * 1000, 1) for i, t in enumerate(mixed_frames(300))]
    recorder = Recorder(tmp_path, convert=convert, flush_interval=0.1)
    await asyncio.wait_for(recorder.start(), seconds(30))
    for text, ns, session in frames:
        recorder.on_frame(text, ns, session)
    await asyncio.wait_for(recorder.stop(), seconds(60))
    assert_complete(tmp_path, frames)
    stats = recorder.stats()
    assert stats.synced == stats.frames == 300 and stats.lost == 0
    assert stats.converted == sum(len(v) for v in expected(frames).values())
    assert all(s.sealed for s in segments(tmp_path))


async def test_a_journal_that_fails_stops_cleanly_and_says_so(tmp_path, monkeypatch):
    recorder = Recorder(tmp_path, convert="off")
    await recorder.start()
    recorder.on_frame(PING, NS0, 1)
    recorder.journal.flush()
    monkeypatch.setattr(
        journal_writer.os,
        "write",
        lambda fd, data: (_ for _ in ()).throw(OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))),
    )
    recorder.on_frame(PING, NS0 + 1, 1)
    with pytest.raises(StoreError):
        recorder.journal.flush()
    recorder.on_frame(PING, NS0 + 2, 1)  # the feed's hook never raises
    assert recorder.error is not None and recorder.stats().lost == 1
    with pytest.raises(StoreError, match="disk is full"):
        await recorder.stop()
    monkeypatch.undo()
    assert [e.received_ns for e in read_journal(tmp_path)] == [NS0]


async def test_frames_after_stop_are_counted_as_lost(tmp_path):
    recorder = Recorder(tmp_path, convert="off")
    await recorder.start()
    await recorder.stop()
    recorder.on_frame(PING, NS0, 1)
    assert recorder.stats().lost == 1


def test_a_recorder_converting_in_a_child_never_imports_the_converters_libraries(tmp_path):
    """convert="process": the rebuilds and the conversion run in children; the recording process
    keeps the memory of a feed, not of pyarrow and numpy (issue 13)."""
    texts = mixed_frames(60)
    earlier = write_journal(tmp_path, texts[:20], step_ns=1000, compress=False)  # a crashed run's, to restore
    frames = [(t, NS0 + 10**9 + i * 1000, 1) for i, t in enumerate(texts[20:])]
    script = (
        "import asyncio, json, sys\n"
        "from kisfeed.store.recorder import Recorder\n"
        f"r = Recorder({str(tmp_path)!r}, convert='process', flush_interval=0.1)\n"
        "async def run():\n"
        "    await r.start()\n"
        f"    for text, ns, session in {frames!r}: r.on_frame(text, ns, session)\n"
        "    await r.stop()\n"
        "asyncio.run(run())\n"
        "heavy = sorted(m for m in ('pyarrow', 'numpy', 'pandas', 'duckdb') if m in sys.modules)\n"
        "print(json.dumps([heavy, r.stats().recovered, r.stats().converted]))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=seconds(60))
    assert done.returncode == 0, done.stderr.decode()
    heavy, recovered, converted = json.loads(done.stdout)
    assert heavy == []
    assert recovered == sum(len(v) for v in expected(earlier).values()) > 0
    assert converted == sum(len(v) for v in expected(frames).values())
    assert_complete(tmp_path, earlier + frames)
