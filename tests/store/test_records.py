"""Typed records and the dataset's tables: records become rows of the TR's schema, with their
journal positions, and rows become the same records again."""

from __future__ import annotations

from kisfeed.protocol import decode_frame
from kisfeed.store.dataset import schema_for
from kisfeed.store.records import records_table, table_records

from ..samples import frame
from .conftest import DAY, NS0, F, assert_same_records, futures


def test_records_become_rows_with_their_positions_and_rows_the_same_records():
    records = decode_frame(
        frame(F, futures(), futures(price="64001", code="")), trading_date=DAY, received_ns=NS0
    )
    table = records_table(F, "2026-11-20/x", records, [(7, 0, 2), (7, 1, 2)])
    assert table.schema == schema_for(F)
    assert table.column("journal_line").to_pylist() == [7, 7]
    assert table.column("frame_index").to_pylist() == [0, 1]
    assert table.column("session").to_pylist() == [2, 2]
    assert table.column("code").to_pylist()[1] is None  # an empty code is null, as on the bulk path
    assert_same_records(table_records(table), list(records))
