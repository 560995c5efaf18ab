"""Rebuild in parts: a large sealed segment converted by several processes at once, with the
same rows, claims and reports as one process, including encrypted frames whose key an earlier
part holds."""

from __future__ import annotations

import itertools
import json
import os
import select
import signal
import subprocess
import sys
import threading

import pyarrow.parquet as pq
import pytest

from kisfeed.exceptions import StoreError
from kisfeed.protocol import encode_frame
from kisfeed.store import Converter, ConvertReport, segments
from kisfeed.store.dataset import dataset_files
from kisfeed.store.journal import frame_index, seal
from kisfeed.store.writer import JournalWriter

from ..conftest import seconds
from .conftest import NS0, F, O, futures, mixed_frames, write_journal
from .test_converter import assert_complete, forget_done

KEY, IV = "k" * 32, "i" * 16


def ack(key: str, iv: str) -> str:
    return json.dumps(
        {
            "header": {"tr_id": F, "tr_key": "A11612", "encrypt": "Y"},
            "body": {
                "rt_cd": "0",
                "msg_cd": "OPSP0000",
                "msg1": "SUBSCRIBE SUCCESS",
                "output": {"iv": iv, "key": key},
            },
        }
    )


def journal_in_frames(root, frames, **kwargs):
    """A journal of ``frames``, sealed in frames of ~2 KiB (a real one has ~2 MiB): many parts."""
    written = write_journal(root, frames, compress=False, **kwargs)
    for seg in segments(root):
        assert len(frame_index(seal(seg, frame_bytes=2048))) >= 12
    return written


def rebuild_in_a_process(root, processes: int) -> ConvertReport:
    """``kisfeed rebuild`` as it runs: a process of its own, with no other thread (so it forks)."""
    out = subprocess.run(
        [sys.executable, "-m", "kisfeed.store", str(root), "--processes", str(processes)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return ConvertReport.from_json(out)


def claims(root, tr):
    found = [json.loads(pq.read_metadata(f).metadata[b"kisfeed.journal"]) for f in dataset_files(root, tr)]
    return sorted((c["first_line"], c["last_line"]) for c in found)


@pytest.mark.parametrize("processes", [2, 3])
def test_parts_make_the_rows_one_process_makes(tmp_path, processes):
    written = journal_in_frames(tmp_path, mixed_frames(900))
    report = rebuild_in_a_process(tmp_path, processes)
    assert report.processes == processes
    assert_complete(tmp_path, written)
    parts = claims(tmp_path, F)
    assert len(parts) >= processes  # a file per part, claiming its lines only
    assert parts[0][0] == 1 and all(a[1] < b[0] for a, b in itertools.pairwise(parts))
    assert parts[-1][1] == max(n for n, (text, _, _) in enumerate(written, 1) if text[0] == "0")
    alone = Converter(tmp_path / "one", processes=1)
    journal_in_frames(tmp_path / "one", mixed_frames(900))
    assert alone.rebuild().records == report.records


def test_encrypted_frames_whose_key_is_in_an_earlier_part(tmp_path):
    # Session 1's key comes first, its encrypted frames in the last part: that part stops at the
    # first of them, and this process finishes it knowing the key. Session 3's key comes in the
    # last part before the stop, its frame after it: the keys the stopped part saw carry over.
    # Session 2's key and frame are both in another, small segment converted in one process.
    other, third = "j" * 32, "m" * 32
    sessions = [1] * 801 + [3, 1, 1, 3] + [1] * 50
    frames = (
        [ack(KEY, IV)]
        + mixed_frames(800)
        + [ack(third, IV)]
        + [encode_frame(F, [futures(price=str(70000 + i))], key_iv=(KEY, IV)) for i in range(2)]
        + [encode_frame(F, [futures(price="73000")], key_iv=(third, IV))]
        + mixed_frames(50)
    )
    written = []
    with JournalWriter(tmp_path, compress=False) as writer:
        for i, (text, session) in enumerate(zip(frames, sessions)):
            writer.append(text, NS0 + i, session)
            written.append((text, NS0 + i, session))
    [seg] = segments(tmp_path)
    assert len(frame_index(seal(seg, frame_bytes=2048))) >= 12
    written += write_journal(
        tmp_path,
        [ack(other, IV)] + mixed_frames(5) + [encode_frame(F, [futures(price="72000")], key_iv=(other, IV))],
        session=2,
        start_ns=NS0 + len(frames),
        name="zz-session-2",
    )
    report = rebuild_in_a_process(tmp_path, 2)
    assert report.processes == 2 and report.errors == []
    assert_complete(tmp_path, written)
    prices = set(pq.read_table(dataset_files(tmp_path, F)[0].parent).column("price").to_pylist())
    assert {70000, 70001, 72000, 73000} <= prices


def test_parts_lost_after_a_crash_are_restored_exactly(tmp_path):
    written = journal_in_frames(tmp_path, mixed_frames(900))
    rebuild_in_a_process(tmp_path, 2)
    for files in (dataset_files(tmp_path, F), dataset_files(tmp_path, O)):
        files[-1].unlink()  # the last part's files: its process died before writing them
    forget_done(tmp_path)
    report = rebuild_in_a_process(tmp_path, 2)
    assert report.processes == 1  # part of it is converted: the rest in one process
    assert report.records and all(n < len(written) for n in report.records.values())
    assert_complete(tmp_path, written)


def test_a_part_process_that_dies_is_an_error_and_the_next_rebuild_completes(tmp_path, monkeypatch):
    written = journal_in_frames(tmp_path, mixed_frames(900))
    parent, convert = os.getpid(), Converter._convert_part
    taken, told = os.pipe()  # a byte: the child has taken a part
    waited = []

    def dying(self, segment, part):
        if os.getpid() != parent:  # the child, with the part it took: killed (out of memory, say)
            os.write(told, b"1")
            os.kill(os.getpid(), signal.SIGKILL)
        if not waited:  # the parent holds its first part until the child has one
            waited.append(select.select([taken], [], [], seconds(30))[0])
        return convert(self, segment, part)

    monkeypatch.setattr(Converter, "_convert_part", dying)
    try:
        with pytest.raises(StoreError, match=r"rebuild process for .* died: SIGKILL"):
            Converter(tmp_path, processes=2).rebuild()
    finally:
        os.close(taken)
        os.close(told)
    assert waited == [[taken]], "the child took no part"
    monkeypatch.undo()
    assert not list((tmp_path / "journal").glob("*/*.converted"))  # not done: a part is missing
    report = Converter(tmp_path, processes=2).rebuild()
    assert report.total > 0
    assert_complete(tmp_path, written)


def test_no_fork_while_another_thread_runs(tmp_path):
    written = journal_in_frames(tmp_path, mixed_frames(300))
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        report = Converter(tmp_path, processes=2).rebuild()
    finally:
        stop.set()
        other.join()
    assert report.processes == 1
    assert_complete(tmp_path, written)
