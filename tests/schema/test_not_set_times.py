"""``000000`` in a time field is "not set" (None, null) on every path (issue 11 item 12).

The portal's example frames carry ``000000`` in ``OPRC_HOUR``/``HGPR_HOUR``/``LWPR_HOUR``
(reference 2.5, 4.4); the trade time ``BSOP_HOUR`` has no session at midnight either (reference 6),
so its ``000000`` is not set too, and so is the record's ``exchange_time``.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow.compute as pc
import pytest

import kisfeed
from kisfeed.schema import CODECS
from kisfeed.store import rebuild, replay
from kisfeed.store.dataset import read_table

from ..samples import frame, texts
from ..store.conftest import DAY, F, O, write_journal

UNSET = {"time": "000000", "open_time": "000000", "high_time": "000000", "low_time": "000000"}


def _wire(tr: str, **more: str) -> list[str]:
    return texts(tr, **UNSET, **more)


@pytest.mark.parametrize("tr", [F, O])
@pytest.mark.parametrize("careful", [False, True], ids=["fast", "careful"])
def test_decode_gives_none_on_both_paths(tr, careful):
    wire = _wire(tr, volume="" if careful else "12345")  # an empty field forces the careful path
    (record,) = kisfeed.decode(frame(tr, wire), trading_date=DAY)
    assert (record.time, record.open_time, record.high_time, record.low_time) == (None,) * 4
    assert record.exchange_time is None
    assert record.to_dict()["open_time"] is None and record.to_dict()["exchange_time"] is None
    records, errors = CODECS[tr].decode_carefully(wire, 1)
    assert not errors and records[0].open_time is None


def test_the_dataset_stores_null(tmp_path: Path):
    write_journal(tmp_path, [frame(F, _wire(F)), frame(O, _wire(O)), frame(F, texts(F))])
    rebuild(tmp_path)
    futures = read_table(tmp_path, F)
    assert futures.column("time").to_pylist()[0] is None
    assert futures.column("open_time").null_count == 2  # the sample's OPRC_HOUR is 000000 too
    assert futures.column("exchange_time").to_pylist()[0] is None
    assert futures.column("exchange_time").to_pylist()[1] is not None
    options = read_table(tmp_path, O)
    for name in UNSET:
        assert pc.all(pc.is_null(options.column(name))).as_py(), name
    assert options.column("exchange_time").null_count == 1


async def test_replay_gives_none(tmp_path: Path):
    write_journal(tmp_path, [frame(O, _wire(O))])

    async def first() -> kisfeed.Record:
        async for record in replay(tmp_path / "journal"):
            return record
        raise AssertionError("no record")

    record = await first()
    assert record.time is None and record.low_time is None and record.exchange_time is None
    assert record.trading_date == date(2026, 11, 20)


def test_replay_lines_show_a_time_not_set_as_an_empty_cell(tmp_path: Path):
    from typer.testing import CliRunner

    from kisfeed.cli import app

    write_journal(tmp_path, [frame(O, _wire(O))])
    result = CliRunner().invoke(app, ["replay", str(tmp_path / "journal")])
    assert result.exit_code == 0, result.output
    header, line = result.stdout.splitlines()[:2]
    assert header.startswith("time\t") and line.startswith(f"\t{O}\t"), line  # not "None"
