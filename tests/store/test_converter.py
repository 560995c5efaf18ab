"""Journal → Parquet: rebuild converts exactly what no finalized file covers, never twice."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import threading
import time

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from kisfeed.exceptions import StoreError
from kisfeed.protocol import crypto, encode_frame
from kisfeed.schema import LAYOUTS
from kisfeed.store import Converter, ConvertReport, read_journal, read_table, rebuild, segments, table_records
from kisfeed.store.converter import DONE_SUFFIX, LOCK_NAME
from kisfeed.store.dataset import dataset_files
from kisfeed.store.journal import seal
from kisfeed.store.writer import JournalWriter

from ..conftest import seconds
from ..samples import encrypted_ack, frame
from .conftest import (
    FB,
    FX,
    NS0,
    OB,
    OX,
    REFUSED_LINES,
    F,
    O,
    assert_same_records,
    edge_frames,
    expected,
    futures,
    mixed_frames,
    write_journal,
)


def positions(root, tr):
    table = read_table(root, tr)
    return list(
        zip(
            table.column("journal_segment").to_pylist(),
            table.column("journal_line").to_pylist(),
            table.column("frame_index").to_pylist(),
        )
    )


def assert_complete(root, written):
    want = expected(written)
    for tr in LAYOUTS:
        keys = positions(root, tr)
        assert len(keys) == len(set(keys)), f"duplicate rows in {tr}"
        assert_same_records(table_records(read_table(root, tr)), want[tr])


def forget_done(root):
    for marker in (root / "journal").glob(f"*/*{DONE_SUFFIX}"):
        marker.unlink()


def rebuild_in_a_process(root) -> ConvertReport:
    """``kisfeed rebuild`` as it runs: a process of its own (``python -m kisfeed.store``)."""
    out = subprocess.run(
        [sys.executable, "-m", "kisfeed.store", str(root)], check=True, capture_output=True, text=True
    ).stdout
    return ConvertReport.from_json(out)


def test_encrypted_frames_are_decrypted_with_their_session_key_from_an_earlier_frame(tmp_path):
    # Session 1's key comes first, its encrypted frames in a later zstd frame of the sealed
    # segment; session 3's key and frame come late, among session 1's lines. Session 2's key and
    # frame are in another segment: keys are per session and per segment.
    key, iv, other, third = "k" * 32, "i" * 16, "j" * 32, "m" * 32
    sessions = [1] * 801 + [3, 1, 1, 3] + [1] * 50
    frames = (
        [encrypted_ack(key, iv)]
        + mixed_frames(800)
        + [encrypted_ack(third, iv)]
        + [encode_frame(F, [futures(price=str(70000 + i))], key_iv=(key, iv)) for i in range(2)]
        + [encode_frame(F, [futures(price="73000")], key_iv=(third, iv))]
        + mixed_frames(50)
    )
    written = []
    with JournalWriter(tmp_path, compress=False) as writer:
        for i, (text, session) in enumerate(zip(frames, sessions)):
            writer.append(text, NS0 + i, session)
            written.append((text, NS0 + i, session))
    [seg] = segments(tmp_path)
    seal(seg)
    written += write_journal(
        tmp_path,
        [encrypted_ack(other, iv)]
        + mixed_frames(5)
        + [encode_frame(F, [futures(price="72000")], key_iv=(other, iv))],
        session=2,
        start_ns=NS0 + len(frames),
        name="zz-session-2",
    )
    report = rebuild_in_a_process(tmp_path)
    assert report.errors == []
    assert_complete(tmp_path, written)
    prices = set(pq.read_table(dataset_files(tmp_path, F)[0].parent).column("price").to_pylist())
    assert {70000, 70001, 72000, 73000} <= prices


def _encrypted(text: str, key: str, iv: str) -> str:
    """A plain frame as the server sends it on an encrypted registration (reference 3.3)."""
    _, tr, count, payload = text.split("|", 3)
    return f"1|{tr}|{count}|{crypto.encrypt(payload, key, iv)}"


@pytest.mark.parametrize("path", ["columnar", "careful"])
def test_books_and_expected_prices_round_trip_journal_parquet_records(tmp_path, path):
    """Each of the four TRs through journal -> Parquet -> records equals what the live feed
    decoded, the edges included (conftest.edge_frames), in bulk and the careful way (encrypted
    frames, which only the protocol reads). A book out of order has no row: the journal keeps
    the frame, the report names its line and the error."""
    frames = edge_frames()
    acks = 0
    if path == "careful":
        key, iv = "k" * 32, "i" * 16
        acks = 4
        frames = [encrypted_ack(key, iv, tr) for tr in (FB, OB, FX, OX)] + [
            _encrypted(t, key, iv) for t in frames
        ]
    written = write_journal(tmp_path, frames + mixed_frames(20, books=True))
    report = rebuild(tmp_path)
    assert report.lines == (acks + len(edge_frames()) if path == "careful" else 0) + 2  # + PINGPONG
    assert_complete(tmp_path, written)
    assert [int(e.split(" line ")[1].split(":")[0]) for e in report.errors] == [
        n + acks for n in REFUSED_LINES
    ]
    assert all("out of order" in e for e in report.errors)
    journal = [e.text for e in read_journal(tmp_path)]
    assert [journal[n + acks - 1] for n in REFUSED_LINES] == [frames[n + acks - 1] for n in REFUSED_LINES]
    books = table_records(read_table(tmp_path, FB))
    assert [(len(b.asks), len(b.bids)) for b in books[:4]] == [(10, 7), (0, 0), (1, 7), (4, 2)]
    assert books[1].total_ask_qty_change == -12
    assert [b.extra for b in books] == [()] * 4 + [("X", "")] + [()] * (len(books) - 5)
    option_books = table_records(read_table(tmp_path, OB))
    assert [(len(b.asks), len(b.bids)) for b in option_books[:3]] == [(3, 6), (0, 1), (3, 6)]
    assert option_books[1].total_bid_qty_change == -40
    expected_options = table_records(read_table(tmp_path, OX))[:6]
    assert [r.quantity for r in expected_options] == [None, 41, None, None, 41, None]
    assert [r.extra for r in expected_options] == [(), (), (), (), ("X",), ()]
    assert [r.missing for r in expected_options] == [0, 0, 0, 0, 0, 1]
    assert table_records(read_table(tmp_path, FX))[1].change == -1500


def test_rebuild_twice_converts_once_and_marks_segments_done(tmp_path):
    written = write_journal(tmp_path, mixed_frames(300))
    first = rebuild(tmp_path)
    assert first.total > 0 and first.segments == 1
    [seg] = segments(tmp_path)
    assert (seg.path.parent / (seg.name.split("/")[1] + DONE_SUFFIX)).exists()
    second = rebuild(tmp_path)
    assert second.total == 0 and second.segments == 0
    forget_done(tmp_path)
    third = rebuild(tmp_path)  # reads the segment again: every line is covered, nothing is written
    assert third.total == 0 and third.files == 0 and third.segments == 1
    assert_complete(tmp_path, written)


# The crash cases hold for a journal of trades alone and of trades, books and expected prices.
BOOKS = pytest.mark.parametrize("books", [False, True], ids=["trades", "books"])


@BOOKS
def test_files_lost_in_a_crash_are_restored_exactly(tmp_path, books):
    written = write_journal(tmp_path, mixed_frames(600 if not books else 200, books))
    Converter(tmp_path, max_rows=100).rebuild()  # many small files
    lost_tr = OB if books else F
    files = dataset_files(tmp_path, lost_tr)
    assert len(files) >= 4
    for lost in (files[1], files[-1]):  # as if the converter died before writing them
        lost.unlink()
    forget_done(tmp_path)
    report = rebuild(tmp_path)
    assert report.total > 0 and set(report.records) == {lost_tr}  # only what was missing
    assert_complete(tmp_path, written)


@BOOKS
def test_a_batch_written_for_one_tr_only_is_completed_for_the_other(tmp_path, books):
    written = write_journal(tmp_path, mixed_frames(300, books))
    Converter(tmp_path, max_rows=120 if not books else 400).rebuild()
    lost_tr = OX if books else O
    option_file = dataset_files(tmp_path, lost_tr)[1]
    claim = json.loads(pq.read_metadata(option_file).metadata[b"kisfeed.journal"])
    assert set(claim["trs"]) == (set(LAYOUTS) if books else {F, O})  # its siblings exist
    option_file.unlink()
    forget_done(tmp_path)
    report = rebuild(tmp_path)
    assert report.records == {lost_tr: claim["trs"][lost_tr]}
    assert_complete(tmp_path, written)


@BOOKS
def test_rebuild_removes_temporary_files_and_seals_a_segment_its_writer_left(tmp_path, books):
    written = write_journal(tmp_path, mixed_frames(50, books), compress=False)  # as after kill -9
    [seg] = segments(tmp_path)
    assert not seg.sealed
    stale = tmp_path / (FB if books else F) / "date=2026-11-20" / ".x.0000000001-0000000002.parquet.tmp"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"half a file")
    report = rebuild(tmp_path)
    assert report.sealed == 1 and not stale.exists()
    [seg] = segments(tmp_path)
    assert seg.sealed and not seg.path.with_name(seg.path.name[:-4]).exists()
    assert_complete(tmp_path, written)


@BOOKS
def test_bad_journal_lines_are_reported_by_position_and_skipped(tmp_path, books):
    written = write_journal(tmp_path, mixed_frames(30, books), compress=False)
    [seg] = segments(tmp_path)
    lines = seg.path.read_bytes().split(b"\n")[:-1]
    bad = 5 if not books else 7  # with books: line 7 is a futures book frame
    assert written[bad - 1][0].startswith(f"0|{F if not books else FB}|")
    lines[bad - 1] = lines[bad - 1][:-3] + b"zzz"  # a broken checksum
    seg.path.write_bytes(b"\n".join(lines) + b"\n" + lines[0][:30])  # and a cut last line
    report = rebuild(tmp_path)
    assert len(report.bad_lines) == 2
    assert report.bad_lines[0].startswith(f"{seg.name} line {bad}:")
    assert report.bad_lines[1].startswith(f"{seg.name} line {len(written) + 1}:")
    del written[bad - 1]
    assert_complete(tmp_path, written)


def test_follow_keeps_the_dataset_seconds_behind_a_live_journal(tmp_path):
    frames = mixed_frames(400)
    converter = Converter(tmp_path, flush_interval=0.2, poll_interval=0.05)
    stop = threading.Event()
    thread = threading.Thread(target=lambda: converter.follow(stop.is_set))
    writer = JournalWriter(tmp_path, fsync_window=0.05).open()
    thread.start()
    try:
        for i, text in enumerate(frames[:200]):
            writer.append(text, NS0 + i, 1)
        deadline = time.monotonic() + seconds(20)
        while not dataset_files(tmp_path, F) and time.monotonic() < deadline:  # visible while recording
            time.sleep(0.02)
        assert dataset_files(tmp_path, F), "no finalized file while the journal was being written"
        assert segments(tmp_path)[0].sealed is False
        for i, text in enumerate(frames[200:], 200):
            writer.append(text, NS0 + i, 1)
        writer.close()
    finally:
        stop.set()
        thread.join(seconds(30))
    assert not thread.is_alive()
    [seg] = segments(tmp_path)
    assert seg.sealed
    assert_complete(tmp_path, [(t, NS0 + i, 1) for i, t in enumerate(frames)])
    assert rebuild(tmp_path).total == 0


def test_one_converter_per_data_directory(tmp_path):
    write_journal(tmp_path, mixed_frames(10))
    fd = os.open(tmp_path / LOCK_NAME, os.O_RDWR | os.O_CREAT)
    os.write(fd, b"4242")
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        with pytest.raises(StoreError, match="pid 4242"):
            Converter(tmp_path, lock_wait=0.2).rebuild()
    finally:
        os.close(fd)
    assert rebuild(tmp_path).total > 0


def test_rows_are_in_journal_order_with_unique_positions(tmp_path):
    write_journal(tmp_path, mixed_frames(100))
    rebuild(tmp_path)
    table = read_table(tmp_path, O)
    lines = table.column("journal_line").to_pylist()
    assert lines == sorted(lines)
    multi = table.filter(pc.equal(table.column("frame_index"), 1))
    assert multi.num_rows > 0  # the two-record frames


def test_a_converter_never_seals_a_segment_its_writer_is_opening(tmp_path):
    # A converter polling as fast as it can, while writers open, write and close segments one
    # after another: a segment seen between its creation and its lock would be sealed under
    # its writer (the writer then fails to seal it, or writes into a removed file).
    converter = Converter(tmp_path, flush_interval=0.0, poll_interval=0.0)
    stop = threading.Event()
    thread = threading.Thread(target=lambda: converter.follow(stop.is_set))
    (tmp_path / "journal").mkdir()
    thread.start()
    written = []
    try:
        for run in range(30):
            frames = mixed_frames(5)
            with JournalWriter(tmp_path, fsync_window=0.01) as writer:
                for i, text in enumerate(frames):
                    ns = NS0 + run * 10**9 + i
                    writer.append(text, ns, 1)
                    written.append((text, ns, 1))
    finally:
        stop.set()
        thread.join(seconds(30))
    assert len(segments(tmp_path)) == 30 and all(s.sealed for s in segments(tmp_path))
    assert_complete(tmp_path, written)


def test_a_batch_claims_the_plain_lines_before_a_frame_the_protocol_decoded(tmp_path):
    # The escaped frame takes the careful path, which runs before the bulk path in a block: the
    # claim must still start at the batch's first plain line, or a second pass converts it again.
    odd = frame(F, futures(code="A1\\1612"))
    written = write_journal(tmp_path, mixed_frames(20) + [odd] + mixed_frames(5))
    assert rebuild(tmp_path).total == sum(map(len, expected(written).values()))
    forget_done(tmp_path)
    assert rebuild(tmp_path).total == 0
    assert_complete(tmp_path, written)


CONVERT_AND_SAY_IF_PANDAS_LOADED = """
import sys
from kisfeed.store.__main__ import main
{guard}
main([sys.argv[1]])
print("pandas" in sys.modules)
"""


@pytest.mark.parametrize("guarded", [False, True])
def test_the_converter_child_leaves_pandas_out_although_pyarrow_would_load_it(tmp_path, guarded):
    # pandas is installed here (the test extra): pyarrow loads it with its first array unless
    # the process marks it absent, as ``python -m kisfeed.store`` does
    write_journal(tmp_path, [frame(F, futures())])
    guard = "" if guarded else "import kisfeed.store.__main__ as m; m.without_pandas = lambda: None"
    script = CONVERT_AND_SAY_IF_PANDAS_LOADED.format(guard=guard)
    out = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)], check=True, capture_output=True, text=True
    ).stdout
    report, loaded = out.splitlines()
    assert ConvertReport.from_json(report).total == 1
    assert loaded == str(not guarded)


def test_a_table_the_writing_thread_cannot_write_fails_the_rebuild_and_the_next_one_converts_it_all(tmp_path):
    # The options' folder cannot be made (a file is in the way): the table thread fails while
    # the futures' file of the same batch is being written; neither is finalized, so the rebuild
    # after the fix converts every record once.
    written = write_journal(tmp_path, mixed_frames(300))
    (tmp_path / O).write_text("in the way")
    with pytest.raises(StoreError, match=f"cannot write .*{O}"):
        rebuild(tmp_path, max_rows=100)
    assert not list(tmp_path.glob("*/date=*/*.parquet*")) and not list(tmp_path.glob("*/date=*/.*.tmp"))
    (tmp_path / O).unlink()
    report = rebuild(tmp_path, max_rows=100)
    assert report.total == sum(len(v) for v in expected(written).values())
    assert_complete(tmp_path, written)
