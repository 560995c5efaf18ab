"""Replay: the journal's records through the live feed's typed iterator, equal to the originals."""

from __future__ import annotations

import asyncio

import pytest
from typer.testing import CliRunner

from kisfeed.cli.app import app
from kisfeed.schema import LAYOUTS
from kisfeed.store import data_frames, replay
from kisfeed.store.playback import ReplayStats

from ..conftest import seconds
from ..samples import frame
from .conftest import (
    PING,
    REFUSED_LINES,
    F,
    O,
    assert_same_records,
    edge_frames,
    expected,
    mixed_frames,
    write_journal,
)


async def collect(*paths, **kwargs):
    return [r async for r in replay(*paths, **kwargs)]


async def test_replayed_records_equal_the_originals(tmp_path):
    written = write_journal(tmp_path, mixed_frames(300))
    written += write_journal(tmp_path, mixed_frames(50), start_ns=written[-1][1] + 10**9)  # a second run
    got = await asyncio.wait_for(collect(tmp_path), seconds(20))
    want = expected(written[:300]), expected(written[300:])
    originals = [r for part in want for tr in (F, O) for r in part[tr]]
    originals.sort(key=lambda r: r.received_ns)  # recorded order
    assert_same_records(got, originals)


async def test_replayed_books_and_expected_prices_equal_the_originals(tmp_path):
    written = write_journal(tmp_path, edge_frames() + mixed_frames(40, books=True))
    stats = ReplayStats()
    got = await asyncio.wait_for(collect(tmp_path, stats=stats), seconds(20))
    originals = sorted((r for rs in expected(written).values() for r in rs), key=lambda r: r.received_ns)
    assert_same_records(got, originals)
    assert {r.tr_id for r in got} == set(LAYOUTS)  # the index and night TRs too
    # the books out of order are counted with their lines, as the live feed counts them
    assert [int(e.split(" line ")[1].split(":")[0]) for e in stats.errors] == REFUSED_LINES
    assert all("out of order" in e for e in stats.errors)


async def test_replay_at_recorded_pace_keeps_order(tmp_path):
    written = write_journal(tmp_path, mixed_frames(20), step_ns=2_000_000)  # 40 ms of trading
    got = await asyncio.wait_for(collect(tmp_path, speed=4.0), seconds(20))
    assert [r.received_ns for r in got] == sorted(r.received_ns for r in got)
    assert len(got) == sum(len(v) for v in expected(written).values())


async def test_bad_lines_and_bad_frames_are_counted_not_fatal(tmp_path):
    write_journal(tmp_path, [frame(F, ["x"] * 49), PING] + mixed_frames(10), compress=False)
    seg = next((tmp_path / "journal").glob("*/*.kfj"))
    seg.write_bytes(seg.read_bytes() + b"123\t1\ttruncated")
    stats = ReplayStats()
    got = await asyncio.wait_for(collect(tmp_path, stats=stats), seconds(20))
    assert len(got) == stats.records > 0
    assert stats.journal.bad_lines == 1 and stats.journal.bad[0].line == 13
    assert len(stats.errors) == 1 and " line 1: " in stats.errors[0]


def test_data_frames_are_what_a_simulator_needs_to_serve(tmp_path):
    written = write_journal(tmp_path, mixed_frames(30))
    frames = list(data_frames(tmp_path))
    assert frames == [(ns, s, t) for t, ns, s in written if not t.startswith("{")]


async def test_speed_must_be_positive(tmp_path):
    with pytest.raises(ValueError):
        (await collect(tmp_path, speed=0))


@pytest.mark.parametrize("books", [False, True])
def test_the_replay_command(tmp_path, books):
    write_journal(tmp_path, mixed_frames(30, books=books))
    runner = CliRunner()
    result = runner.invoke(app, ["replay", str(tmp_path)])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if "\tH0" in line]
    assert len(lines) == sum(len(v) for v in expected([(t, 0, 1) for t in mixed_frames(30, books)]).values())
    result = runner.invoke(app, ["replay", "--summary", str(tmp_path / "journal")])
    assert result.exit_code == 0 and "A11612" in result.stdout
    result = runner.invoke(app, ["replay", str(tmp_path / "nope")])
    assert result.exit_code == 2 and "no journal" in result.output
