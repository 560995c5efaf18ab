"""Gaps (issue 11, item 3): every interval in which a subscribed code was not received is a row of
the view ``gaps``, journaled as notes so that it survives a crash and is rebuilt like the rest.

Live tests run a Recorder and a feed against the simulator over real sockets; journal tests write
note lines themselves, with known times, as the recorder writes them."""

from __future__ import annotations

import fcntl
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time

import pytest

from kisfeed.client import events as ev
from kisfeed.exceptions import InvalidRequestError
from kisfeed.store import Converter, ReplayStats, query, read_journal, rebuild, replay_records
from kisfeed.store.gaps import end_note, gap_files, start_note
from kisfeed.store.journal import NOTE_SESSION, JournalStats, seal, segments
from kisfeed.store.outages import Outage, describe_outage
from kisfeed.store.recorder import Recorder
from kisfeed.store.writer import JournalWriter

from ..client.conftest import codes, collect, feed_for, running, sim_config
from ..conftest import seconds, wait_until
from ..samples import frame
from .conftest import NS0, F, futures
from .test_converter import rebuild_in_a_process

S = 1_000_000_000
GAPS_SQL = (
    'SELECT session_id, tr_id, code, epoch_ns(start) AS start, epoch_ns("end") AS "end", reason FROM gaps'
)


def gap_rows(root) -> list[dict]:
    return query(GAPS_SQL + " ORDER BY code, start", root=root).to_pylist()


# --- live: a recorder on a feed, the simulator drops the session -------------------------------------


async def traded(feed, wanted: list[str], after_ns: int = 0) -> None:
    """Until every code of ``wanted`` has had a record received after ``after_ns`` (records
    queued before a drop do not count as records after it)."""
    seen: set[str] = set()
    while not set(wanted) <= seen:
        seen |= {r.code for r in await collect(feed, 1) if r.received_ns > after_ns}


async def test_a_drop_leaves_one_gap_per_code_that_brackets_the_missing_records(tmp_path):
    data, events, lines = tmp_path / "data", [], []

    def on_event(event) -> None:
        events.append(event)
        recorder.on_event(event)

    async with running(sim_config()) as sim:
        wanted = codes(sim, F)[:3]
        recorder = Recorder(data, flush_interval=0.3, on_reconnect=lambda o: lines.append(describe_outage(o)))
        async with recorder, feed_for(sim, tmp_path, on_frame=recorder.on_frame, on_event=on_event) as feed:
            await feed.subscribe(F, wanted)
            await traded(feed, wanted)  # so that records of each code come before the gap
            await sim.faults.drop()
            await traded(feed, wanted, after_ns=time.time_ns())  # and after it
        stats = recorder.stats()
    [lost] = [e for e in events if isinstance(e, ev.Disconnected)]
    assert stats.reconnects == 1 and stats.gaps == 3

    rows = gap_rows(data)
    assert [r["code"] for r in rows] == sorted(wanted)
    seconds_ = query("SELECT code, seconds FROM gaps ORDER BY code", root=data).column("seconds").to_pylist()
    for row, length in zip(rows, seconds_):
        assert (row["session_id"], row["tr_id"], row["reason"]) == (1, F, lost.reason) and lost.reason
        assert row["start"] < row["end"] and length == (row["end"] - row["start"]) / 1e9
        # start and end bracket the absence: the code's records stop at start and resume after end
        counts = query(
            f"SELECT count(*) FILTER (WHERE t <= {row['start']}) AS before, "
            f"count(*) FILTER (WHERE t > {row['start']} AND t <= {row['end']}) AS inside, "
            f"count(*) FILTER (WHERE t > {row['end']}) AS after "
            f"FROM (SELECT epoch_ns(received_at) AS t FROM futures_trades WHERE code = '{row['code']}')",
            root=data,
        ).to_pylist()[0]
        before, inside, after_end = counts["before"], counts["inside"], counts["after"]
        assert before > 0 and inside == 0 and after_end > 0, row
        # the start is the receive time of the lost session's last frame
        assert row["start"] == lost.last_frame_ns

    # one line for the reconnect, naming the sessions, the cause, the codes and the interval
    [line] = lines
    assert re.fullmatch(
        rf"reconnected session 1 → 2 after \d+\.\d s \({re.escape(lost.reason)}\): "
        rf"{', '.join(sorted(wanted))} not received \d\d:\d\d:\d\d\.\d{{3}}–\d\d:\d\d:\d\d\.\d{{3}}",
        line,
    ), line

    # the notes are no data: every reader skips them, nothing is reported as bad or undecodable
    assert not recorder.converted.errors and not recorder.converted.bad_lines
    journal = JournalStats()
    assert all(e.session != NOTE_SESSION for e in read_journal(data, stats=journal))
    assert journal.notes == 4 and not journal.bad  # one gap-start, three gap-ends
    replayed = ReplayStats()
    assert (
        sum(1 for _ in replay_records(data, stats=replayed))
        == query("SELECT count(*) AS n FROM futures_trades", root=data).column("n")[0].as_py()
    )
    assert replayed.errors == []

    # the gaps file can be deleted: rebuild derives it again from the journal
    for path in gap_files(data):
        path.unlink()
    assert gap_rows(data) == []
    rebuild(data)
    assert gap_rows(data) == rows


async def test_a_gap_still_open_when_the_recording_stops_ends_there(tmp_path):
    data, lines = tmp_path / "data", []
    async with running(sim_config()) as sim:
        wanted = codes(sim, F)[:2]
        recorder = Recorder(data, flush_interval=0.3, on_reconnect=lambda o: lines.append(describe_outage(o)))
        async with (
            recorder,
            feed_for(sim, tmp_path, on_frame=recorder.on_frame, on_event=recorder.on_event) as feed,
        ):
            await feed.subscribe(F, wanted)
            await collect(feed, 10)
            await sim.stop()  # the server is gone: every reconnect attempt fails
            await wait_until(lambda: recorder.gaps.outages, "the session to be lost")
            assert not lines  # not over yet
            stopping = time.time_ns()
    rows = gap_rows(data)
    assert [r["code"] for r in rows] == sorted(wanted)
    for row in rows:
        assert row["start"] < stopping <= row["end"]
        assert row["reason"].endswith("not received again before the recording stopped")
    [line] = lines
    assert line.startswith("session 1 lost (") and "not reconnected before the recording stopped" in line
    assert f"{', '.join(sorted(wanted))} not received " in line and line.endswith("(the recording stopped)")


async def test_a_refused_registration_is_a_gap_until_the_recording_stops(tmp_path):
    data = tmp_path / "data"
    async with running(sim_config(unknown_codes="refuse")) as sim:  # by default it would be silent
        recorder = Recorder(data, flush_interval=0.3)
        async with (
            recorder,
            feed_for(sim, tmp_path, on_frame=recorder.on_frame, on_event=recorder.on_event) as feed,
        ):
            await feed.subscribe(F, codes(sim, F)[:1])
            with pytest.raises(InvalidRequestError):
                await feed.subscribe(F, "A99999")  # not in the simulator's universe: OPSP8992
    [row] = gap_rows(data)
    assert (row["code"], row["session_id"]) == ("A99999", 1) and row["start"] < row["end"]
    assert row["reason"].startswith("registration refused (") and "OPSP8992" in row["reason"]


# --- the journal's notes, written as the recorder writes them ----------------------------------------


def journal_with_notes(root, *, end_second: bool, compress: bool = True) -> list[tuple[str, int, int]]:
    """Trades of A11612 at 0–9 s and of A11701 at 0–19 s on session 1; A11612 lost at 4.5 s and back at
    7.5 s on session 2. ``end_second``: also A11701 lost at 14.5 s, its gap-end never journaled."""
    lines = []
    for second in range(20):
        code = "A11612" if second < 10 and second % 2 == 0 else "A11701"
        lines.append(
            (frame(F, futures(code=code, volume=str(100 + second))), NS0 + second * S, 1 if second < 5 else 2)
        )
        if second == 4:
            lines.append(
                (
                    start_note(1, NS0 + second * S, "closed by the server", [(F, "A11612")]),
                    NS0 + second * S + S // 2,
                    NOTE_SESSION,
                )
            )
        if second == 7:
            lines.append(
                (
                    end_note(1, (F, "A11612"), NS0 + 4 * S, NS0 + 7 * S + S // 2, "closed by the server", 2),
                    NS0 + 7 * S + S // 2,
                    NOTE_SESSION,
                )
            )
        if second == 14 and end_second:
            lines.append(
                (
                    start_note(2, NS0 + 14 * S, "no frame for 60 s (watchdog)", [(F, "A11701")]),
                    NS0 + 14 * S + S // 2,
                    NOTE_SESSION,
                )
            )
    with JournalWriter(root, compress=compress) as writer:
        for text, ns, session in lines:
            writer.append(text, ns, session)
    return lines


def test_notes_become_rows_and_a_gap_the_recording_did_not_close_ends_at_the_last_line(tmp_path):
    journal_with_notes(tmp_path, end_second=True, compress=False)  # a crash: never sealed
    report = rebuild(tmp_path)
    assert report.total == 20 and not report.errors and not report.bad_lines
    assert gap_rows(tmp_path) == [
        {
            "session_id": 1,
            "tr_id": F,
            "code": "A11612",
            "start": NS0 + 4 * S,
            "end": NS0 + 7 * S + S // 2,
            "reason": "closed by the server",
        },
        {
            "session_id": 2,
            "tr_id": F,
            "code": "A11701",
            "start": NS0 + 14 * S,
            "end": NS0 + 19 * S,
            "reason": "no frame for 60 s (watchdog); the recording ended without a clean stop: "
            "end is its last journaled frame",
        },
    ]


def test_the_gaps_view_is_there_and_empty_without_a_gap(tmp_path):
    with JournalWriter(tmp_path) as writer:
        writer.append(frame(F, futures()), NS0, 1)
    rebuild(tmp_path)
    table = query("SELECT * FROM gaps", root=tmp_path)
    assert table.num_rows == 0 and table.column_names == [
        "session_id",
        "tr_id",
        "code",
        "start",
        "end",
        "seconds",
        "reason",
        "journal_segment",
    ]


def test_a_gap_open_in_a_segment_still_written_has_no_end(tmp_path):
    journal_with_notes(tmp_path, end_second=True, compress=False)
    [segment] = segments(tmp_path)
    with open(segment.path, "rb") as f:  # its writer still holds it
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        rebuild(tmp_path)
    [_, open_gap] = gap_rows(tmp_path)
    assert open_gap["end"] is None and open_gap["reason"].endswith("not received since")
    rebuild(tmp_path)  # the writer is gone: the gap is cut at the segment's last line
    assert gap_rows(tmp_path)[1]["end"] == NS0 + 19 * S


def test_a_deleted_gaps_file_is_rebuilt_and_nothing_else_is_rewritten(tmp_path):
    journal_with_notes(tmp_path, end_second=False)
    rebuild(tmp_path)
    rows = gap_rows(tmp_path)
    [path] = gap_files(tmp_path)
    path.unlink()
    report = Converter(tmp_path).rebuild()
    assert report.total == 0 and report.files == 0  # no record twice
    assert gap_rows(tmp_path) == rows and len(rows) == 1


def test_a_gap_across_kst_midnight_is_one_row(tmp_path):
    """The day's segment ends with the gap open (cut there); the next day's holds its end: the view
    shows the gap once, as it ended."""
    midnight = NS0 + 15 * 3600 * S  # 2026-11-21 00:00 KST
    with JournalWriter(tmp_path) as writer:
        writer.append(frame(F, futures(code="A11612")), midnight - 2 * S, 1)
        writer.append(
            start_note(1, midnight - 2 * S, "closed by the server", [(F, "A11612")]), midnight - S, 0
        )
        writer.append(
            end_note(1, (F, "A11612"), midnight - 2 * S, midnight + 2 * S, "closed by the server", 2),
            midnight + 2 * S,
            0,
        )
        writer.append(frame(F, futures(code="A11612")), midnight + 3 * S, 2)
    rebuild(tmp_path)
    assert len(segments(tmp_path)) == len(gap_files(tmp_path)) == 2
    assert gap_rows(tmp_path) == [
        {
            "session_id": 1,
            "tr_id": F,
            "code": "A11612",
            "start": midnight - 2 * S,
            "end": midnight + 2 * S,
            "reason": "closed by the server",
        }
    ]


def test_notes_spread_over_the_zstd_frames_of_a_sealed_segment(tmp_path):
    """Notes far apart in a large sealed segment, converted as ``kisfeed rebuild``
    runs (a process of its own): the gaps they open and close."""
    frames = [frame(F, futures(code="A11612", volume=str(1000 + i))) for i in range(900)]
    notes = {
        300: start_note(1, NS0 + 299 * 1_000_000, "closed by the server", [(F, "A11612"), (F, "A11701")]),
        600: end_note(
            1, (F, "A11612"), NS0 + 299 * 1_000_000, NS0 + 600 * 1_000_000, "closed by the server", 2
        ),
    }
    with JournalWriter(tmp_path, compress=False) as writer:
        for i, text in enumerate(frames):
            if i in notes:
                writer.append(notes[i], NS0 + i * 1_000_000, NOTE_SESSION)
            writer.append(text, NS0 + i * 1_000_000, 1)
    for seg in segments(tmp_path):
        seal(seg)
    report = rebuild_in_a_process(tmp_path)
    assert report.total == 900 and not report.errors
    assert [(r["code"], r["start"], r["end"]) for r in gap_rows(tmp_path)] == [
        ("A11612", NS0 + 299 * 1_000_000, NS0 + 600 * 1_000_000),
        ("A11701", NS0 + 299 * 1_000_000, NS0 + 899 * 1_000_000),  # never closed: cut at the last line
    ]


def test_one_line_per_reconnect_lists_many_codes_compactly():
    keys = tuple((F, f"A{n:05d}") for n in range(10))
    outage = Outage(
        2, 0, "closed by the server", NS0, keys, ended={k: NS0 + 13_200_000_000 for k in keys}, resumed={3}
    )
    assert describe_outage(outage) == (
        "reconnected session 2 → 3 after 13.2 s (closed by the server): A00000, "
        "A00001, A00002, A00003, A00004, A00005 and 4 more not received "
        "09:00:00.000–09:00:13.200"
    )


# --- the command: kisfeed sim --fault drop, kisfeed record -------------------------------------------


def test_record_prints_one_line_per_reconnect_and_counts_reconnects_and_gaps(tmp_path):
    sim = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kisfeed",
            "sim",
            "--port",
            "0",
            "--rest-port",
            "0",
            "--speed",
            "60",
            "--always-open",
            "--start",
            "2026-11-20T09:00",
            "--fault",
            f"drop@1,every={seconds(3):g}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    record = None
    try:
        lines, deadline = [], time.monotonic() + seconds(30)
        while not any("Serving" in line for line in lines):
            assert time.monotonic() < deadline and sim.poll() is None, lines
            lines.append(sim.stdout.readline())
        output = "".join(lines)
        ws_url = re.search(r"ws://127\.0\.0\.1:\d+", output).group(0)
        rest_url = re.search(r"http://127\.0\.0\.1:\d+", output).group(0)
        record = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "kisfeed",
                "record",
                "A11612",
                "A50612",
                "--data",
                str(tmp_path / "data"),
                "--ws-url",
                ws_url,
                "--rest-url",
                rest_url,
                "--app-key",
                "demo-app-key",
                "--app-secret",
                "demo-app-secret",
                "--status-interval",
                "0",
                "--flush-interval",
                "0.3",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
            env={**_clean_env(), "HOME": str(tmp_path)},
        )
        # Drops come every few seconds: wait for one that hit the subscribed session and was recovered.
        stderr_lines: queue.Queue[str] = queue.Queue()
        reader = threading.Thread(
            target=lambda: [stderr_lines.put(line) for line in record.stderr], daemon=True
        )
        reader.start()
        seen, deadline = [], time.monotonic() + seconds(60)
        while not any("A11612, A50612 not received" in line for line in seen):
            try:
                seen.append(stderr_lines.get(timeout=max(0.0, deadline - time.monotonic())))
            except queue.Empty:
                pytest.fail(f"no reconnect line on stderr: {seen}")
        record.send_signal(signal.SIGINT)
        out = record.stdout.read()
        record.wait(seconds(30))
        reader.join(seconds(10))
        err = "".join(stderr_lines.get() for _ in range(stderr_lines.qsize()))
    finally:
        for process in (record, sim):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()
    assert record.returncode in (0, 130), err  # Ctrl-C: the exit code is item 8's to decide
    stderr = "".join(seen) + err
    reconnects = [
        line for line in stderr.splitlines() if "not received" in line or "nothing was registered" in line
    ]
    assert any(
        re.fullmatch(
            r"reconnected session \d+ → \d+ after \d+\.\d s \(.+\): A11612, A50612 not received "
            r"\d\d:\d\d:\d\d\.\d{3}–\d\d:\d\d:\d\d\.\d{3}",
            line,
        )
        for line in reconnects
    ), stderr
    summary = re.search(
        r"^reconnects (\d+), gaps (\d+) \(([\d.,]+) s of codes not received\); see the gaps view", out, re.M
    )
    assert summary, out
    assert int(summary[1]) == len(reconnects) >= 1 and int(summary[2]) >= 2
    rows = gap_rows(tmp_path / "data")
    assert len(rows) == int(summary[2]) and {"A11612", "A50612"} <= {r["code"] for r in rows}


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("KIS_", "KISFEED_"))}
