"""The Parquet dataset: rows equal the protocol's records, types, metadata, odd values."""

from __future__ import annotations

import json
from datetime import datetime, time

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from kisfeed.protocol import encode_frame
from kisfeed.schema import KST, Sign
from kisfeed.store import read_table, rebuild, table_records
from kisfeed.store.dataset import dataset_files, schema_for

from ..samples import encrypted_ack, frame
from .conftest import (
    DAY,
    NS0,
    PING,
    F,
    O,
    assert_same_records,
    expected,
    futures,
    mixed_frames,
    option,
    write_journal,
)

KEY, IV = "k" * 32, "i" * 16
ACK = encrypted_ack(KEY, IV)

ODD_FRAMES = [
    frame(F, futures(change_rate="", dynamic_limit_flag="")),  # empty fields: null
    frame(O, option(delta="nan", theta="-nan", gamma="NaN")),  # C printf NaN (reference 2.5)
    frame(O, option(volume="7"), option(volume="8"), option(volume="9")),  # three records, one frame
    frame(F, futures() + ["extra1", "extra2"]),  # wider than the layout: extras kept raw
    frame(F, futures()[:47]),  # narrower: missing fields
    frame(F, futures(volume="0x10")),  # Arrow reads hex, the protocol refuses it
    frame(O, option(delta="nan(1)")),  # so does "nan(...)"
    frame(F, futures(volume="+5")),  # refused everywhere (kinds.WIRE)
    frame(F, futures(volume="5.0")),  # so is a fraction in an integer field
    frame(F, futures(time="250000")),  # not a time of day
    frame(F, futures(change_sign="7")),  # not a sign code
    frame(F, futures(open_interest="99999999999999999999")),  # past int64: the protocol refuses it
    "0|H0XXXXX0|001|a^b",  # a TR without a layout
    "0|H0ZFCNT0|002|" + "^".join(futures()),  # count 2, one record's fields
    ACK,
    encode_frame(F, [futures(price="70000")], key_iv=(KEY, IV)),  # encrypted, keys from the ack
    frame(F, futures(code="A11612X", price="64301")),  # an X in a code: checked value by value
    # one bad record of three: the frame goes to the protocol, which keeps the other two
    frame(F, futures(price="64302"), futures(time="246000"), futures(price="64303")),
]


# 12,000 frames ahead put the odd ones past the CSV reader's first block (1 MiB): the columnar
# path reads a batch in chunks and must place a refused row of a later chunk right.
@pytest.mark.parametrize("before", [200, 12_000])
def test_rows_equal_the_records_the_protocol_makes(tmp_path, before):
    written = write_journal(tmp_path, mixed_frames(before) + ODD_FRAMES + mixed_frames(20))
    report = rebuild(tmp_path)
    want = expected(written)
    for tr in (F, O):
        assert_same_records(table_records(read_table(tmp_path, tr)), want[tr])
    assert report.records == {F: len(want[F]), O: len(want[O])}
    errors = "\n".join(report.errors)
    for what in (
        "ACML_VOL",
        "DELTA",
        "BSOP_HOUR",
        "PRDY_VRSS_SIGN",
        "HTS_OTST_STPL_QTY (int): past the int64 range",
        "H0XXXXX0",
        "do not divide",
        "'+5'",
        "'5.0'",
    ):
        assert what in errors, what
    assert len(report.errors) == 10  # each refused frame once, with its line
    assert all(" line " in e for e in report.errors)
    table = read_table(tmp_path, F)
    wide = table.filter(pa.compute.greater(pa.compute.list_value_length(table.column("extra")), 0))
    assert wide.column("extra").to_pylist() == [["extra1", "extra2"]]
    assert table.filter(pa.compute.equal(table.column("missing"), 2)).num_rows == 1
    assert 70000 in table.column("price").to_pylist()  # the encrypted frame
    assert {64302, 64303} <= set(table.column("price").to_pylist())  # the good records of that frame


def test_columns_types_and_field_metadata(tmp_path):
    write_journal(tmp_path, [frame(F, futures()), frame(O, option())])
    rebuild(tmp_path)
    [path] = dataset_files(tmp_path, F)
    assert path.parent.name == f"date={DAY.isoformat()}" and path.parent.parent.name == F
    schema = pq.read_schema(path)
    price = schema.field("price")
    assert price.type == pa.int64()
    assert price.metadata == {
        b"kis": b"STCK_PRPR",
        b"korean": "주식현재가".encode(),
        b"kind": b"price",
        b"index": b"2",
    }
    assert schema.field("time").type == pa.time32("ms")
    assert schema.field("change_sign").type == pa.int8()
    assert schema.field("change_rate").type == pa.float64()
    assert schema.field("exchange_time").type == pa.timestamp("ms", tz="Asia/Seoul")
    assert schema.field("received_at").type == pa.timestamp("ns", tz="Asia/Seoul")
    footer = pq.read_metadata(path)
    claim = json.loads(footer.metadata[b"kisfeed.journal"])  # the footer's key-value pairs
    assert claim["first_line"] == 1 and claim["last_line"] == 2 and claim["trs"] == {F: 1, O: 1}
    # min/max where queries filter (row groups are skipped by them), not on every column
    stats = {
        footer.schema.column(i).name: footer.row_group(0).column(i).statistics
        for i in range(footer.num_columns)
    }
    assert stats["exchange_time"].has_min_max and stats["code"].has_min_max
    assert stats["price"] is None or not stats["price"].has_min_max
    row = pq.read_table(path).to_pylist()[0]
    assert row["time"] == time(9, 30, 15) and row["change_sign"] == int(Sign.DOWN)
    assert row["exchange_time"] == datetime(2026, 11, 20, 9, 30, 15, tzinfo=KST)
    assert row["received_at"].timestamp() == NS0 / 1e9
    assert (row["session"], row["journal_line"], row["frame_index"]) == (1, 1, 0)
    assert schema_for(O).field("price").type == pa.float64()  # option premiums carry decimals


def test_every_column_has_the_kis_code_and_korean_label(tmp_path):
    from kisfeed.schema import LAYOUTS

    for tr, layout in LAYOUTS.items():
        schema = schema_for(tr)
        for f in layout.fields:
            meta = schema.field(f.name).metadata
            assert meta[b"kis"].decode() == f.kis and meta[b"korean"].decode() == f.korean


def test_a_journal_of_only_control_messages_makes_no_files(tmp_path):
    write_journal(tmp_path, [PING] * 3)
    report = rebuild(tmp_path)
    assert report.total == 0 and report.files == 0
    assert dataset_files(tmp_path) == []


def test_a_frame_the_journal_escaped_is_read_unescaped(tmp_path):
    # Blocks of 4 KiB or more take the bulk scan, which must leave escaped lines to the protocol.
    odd = [frame(F, futures(code="A1\t1612", price="64001")), frame(O, option(code="B1\\1612065"))]
    written = write_journal(tmp_path, mixed_frames(100) + odd + mixed_frames(100))
    rebuild(tmp_path)
    want = expected(written)
    for tr in (F, O):
        assert_same_records(table_records(read_table(tmp_path, tr)), want[tr])
    assert "A1\t1612" in read_table(tmp_path, F).column("code").to_pylist()
