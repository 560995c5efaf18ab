"""``kisfeed.to_frame``: a live batch of records as a frame with the dataset's dtypes (issue 11
item 13): the same column names and dtypes as ``kisfeed.store.query`` gives for the same records
read from Parquet, in Arrow, pandas and polars."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import kisfeed
from kisfeed.exceptions import UsageError
from kisfeed.store import query, rebuild
from kisfeed.store.tables import FRAME_COLUMNS

from ..samples import frame, texts
from .conftest import FB, OB, OX, F, O, book_levels, expected, write_journal

FRAMES = [
    frame(F, texts(F)),
    frame(F, texts(F, time="000000", price="64400", volume="")),
    frame(F, texts(F, price="64500") + ["extra1"]),
    frame(O, texts(O)),
]


@pytest.fixture
def recorded(tmp_path: Path) -> tuple[Path, list[kisfeed.Record]]:
    written = write_journal(tmp_path, FRAMES)
    rebuild(tmp_path)
    return tmp_path, expected(written)[F]  # the records the live feed made of these frames


@pytest.mark.parametrize("as_", ["arrow", "pandas", "polars"])
def test_a_live_batch_has_the_columns_and_dtypes_of_a_query(recorded, as_):
    root, records = recorded
    live = kisfeed.to_frame(records, as_=as_)
    stored = query("SELECT * FROM futures_trades ORDER BY journal_line", root=root, as_=as_)
    names = list(live.column_names if as_ == "arrow" else live.columns)
    layout = [f.name for f in kisfeed.FuturesTrade.layout.fields]
    assert names == layout + list(FRAME_COLUMNS)
    if as_ == "arrow":
        assert [live.schema.field(n).type for n in names] == [stored.schema.field(n).type for n in names]
        assert live.to_pylist() == stored.select(names).to_pylist()
    elif as_ == "pandas":
        assert list(live.dtypes) == list(stored[names].dtypes)
        assert live.equals(stored[names])
    else:
        assert live.dtypes == stored.select(names).dtypes
        assert live.equals(stored.select(names))
    assert (live.num_rows if as_ == "arrow" else live.shape[0]) == 3


def test_the_times_are_there(recorded):
    _, records = recorded
    table = kisfeed.to_frame(records)
    assert table.column("exchange_time").null_count == 1  # the 000000 trade time (not set)
    assert table.column("received_at").null_count == 0 and table.column("trading_date").null_count == 0


@pytest.mark.parametrize("tr", [FB, OB, OX])
def test_a_live_batch_of_books_or_expected_prices_is_what_its_view_gives(tmp_path, tr):
    frames = [frame(tr, texts(tr)), frame(tr, book_levels(tr, 1, 0) if tr != OX else texts(tr) + ["9"])]
    records = expected(write_journal(tmp_path, frames))[tr]
    rebuild(tmp_path)
    live = kisfeed.to_frame(records)
    view = {FB: "futures_books", OB: "option_books", OX: "option_expected"}[tr]
    stored = query(f"SELECT * FROM {view} ORDER BY journal_line", root=tmp_path)
    names = live.column_names
    assert names == stored.column_names[: len(names)]  # the view's order, not the wire's (catalog)
    assert [live.schema.field(n).type for n in names] == [stored.schema.field(n).type for n in names]
    assert live.to_pylist() == stored.select(names).to_pylist()


def test_wrong_uses_are_named():
    (future,) = kisfeed.decode(frame(F, texts(F)))
    (option,) = kisfeed.decode(frame(O, texts(O)))
    with pytest.raises(UsageError, match="one frame per TR"):
        kisfeed.to_frame([future, option])
    with pytest.raises(UsageError, match="no tr_id"):
        kisfeed.to_frame([])
    assert kisfeed.to_frame([], tr_id=O).num_rows == 0
    with pytest.raises(UsageError, match="as_"):
        kisfeed.to_frame([future], as_="excel")  # type: ignore[arg-type]


def test_without_pandas_the_error_says_what_to_install():
    code = (
        "import sys; sys.modules['pandas'] = None\n"
        "import kisfeed\n"
        "from tests.samples import frame, texts\n"
        "try:\n"
        "    kisfeed.to_frame(kisfeed.decode(frame('H0ZFCNT0', texts('H0ZFCNT0'))), as_='pandas')\n"
        "except kisfeed.UsageError as exc:\n"
        "    print(exc)\n"
    )
    root = Path(__file__).parents[2]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root, check=True)
    assert out.stdout.strip() == "pandas is not installed: pip install pandas (or use as_='arrow')"
