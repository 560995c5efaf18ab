"""Recording from the simulator over real sockets: the dataset holds exactly what it sent."""

from __future__ import annotations

import pytest

from kisfeed.schema import CODECS, Record, same_values
from kisfeed.store import read_table, replay, table_records
from kisfeed.store.dataset import dataset_files

from .conftest import F, O, nulls_for_empty, record_from_simulator


def dataset_in_receive_order(root) -> list[Record]:
    """Every row of both TRs as records, in the order the frames were received."""
    tables = {tr: read_table(root, tr) for tr in (F, O)}
    keyed = []
    for tr, table in tables.items():
        lines = table.column("journal_line").to_pylist()
        index = table.column("frame_index").to_pylist()
        segs = table.column("journal_segment").to_pylist()
        keyed += [((s, line, i), r) for s, line, i, r in zip(segs, lines, index, table_records(table, tr))]
    return [r for _, r in sorted(keyed, key=lambda kr: kr[0])]


def assert_equal_to_sent(records: list[Record], sent: list[tuple[str, list[str]]]) -> None:
    """Field by field: each row is the simulator's record, decoded by the protocol's careful
    path with the row's trading date and receive time."""
    assert len(records) == len(sent)
    for n, (record, (tr_id, fields)) in enumerate(zip(records, sent)):
        assert record.tr_id == tr_id, n
        [want], errors = CODECS[tr_id].decode_carefully(
            list(fields),
            1,
            record.trading_date,  # type: ignore[attr-defined]
            record.received_ns,
        )  # type: ignore[attr-defined]
        assert not errors
        assert same_values(record, nulls_for_empty(want)), (n, record, fields)


@pytest.mark.parametrize("batch_window", [0.0, 2.0], ids=["one-record-frames", "multi-record-frames"])
async def test_the_dataset_holds_exactly_the_records_the_simulator_sent(tmp_path, batch_window):
    delivered, sent, recorder = await record_from_simulator(
        tmp_path, 400, speed=120.0, batch_window=batch_window
    )
    data = tmp_path / "data"
    assert list(sent) == [1], "one session, no reconnect"
    rows = dataset_in_receive_order(data)
    assert_equal_to_sent(rows, sent[1])
    assert {r.tr_id for r in rows} == {F, O}
    if batch_window:  # several records per frame were sent and stored with their index
        assert max(read_table(data, O).column("frame_index").to_pylist()) > 0
    # what the consumer got is the start of it, identical (nothing lost to the consumer either)
    assert all(same_values(a, nulls_for_empty(b)) for a, b in zip(rows, delivered))
    assert recorder.converted.total == len(rows) and not recorder.converted.errors
    assert recorder.converted.bad_lines == []
    assert all(f.name.endswith(".parquet") for f in dataset_files(data))


async def test_replayed_records_equal_what_the_live_feed_delivered(tmp_path):
    delivered, sent, _ = await record_from_simulator(tmp_path, 300, speed=120.0, batch_window=1.0)
    replayed = [r async for r in replay(tmp_path / "data")]
    assert len(replayed) == len(sent[1]) >= len(delivered)
    for a, b in zip(replayed, delivered):
        assert same_values(a, b)  # typed records, receive time and trading date included


async def test_the_journal_holds_no_secret(tmp_path):
    from kisfeed.store import read_journal

    from ..client.conftest import APP_KEY, APP_SECRET

    await record_from_simulator(tmp_path, 50, speed=120.0)
    texts = [e.text for e in read_journal(tmp_path / "data")]
    assert any(t.startswith("{") for t in texts)  # control replies and PINGPONG are journaled too
    for text in texts:  # but only what the server sent: never a subscribe request, never a key
        assert APP_KEY not in text and APP_SECRET not in text and "approval_key" not in text
