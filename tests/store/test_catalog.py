"""docs/store-columns.md is generated from the layouts and is what DuckDB shows: every view's
column names, order and types, the two book views alike although their wire orders differ."""

from __future__ import annotations

from pathlib import Path

import pytest

from kisfeed.schema import LAYOUTS
from kisfeed.store import rebuild
from kisfeed.store.catalog import (
    META_MEANINGS,
    UNION_VIEWS,
    column_types,
    field_order,
    markdown,
    union_trs,
    union_types,
    view_columns,
)
from kisfeed.store.dataset import META_FIELDS, TABLES
from kisfeed.store.views import connect

from .conftest import FB, OB, mixed_frames, write_journal

DOC = Path(__file__).parents[2] / "docs" / "store-columns.md"


def test_the_doc_is_the_layouts_rendered():
    assert DOC.read_text(encoding="utf-8") == markdown(), (
        "run: python -m kisfeed.store.catalog > docs/store-columns.md"
    )


def test_every_tr_has_a_view_and_every_column_a_line_with_its_kis_code_and_label():
    assert set(TABLES) == set(LAYOUTS)
    doc = markdown()
    for tr, layout in LAYOUTS.items():
        assert f"## `{TABLES[tr]}`: {tr}" in doc
        for f in layout.fields:
            assert f"| `{f.name}` | `{f.kis}` | {f.korean} | {f.index} |" in doc
    assert set(META_MEANINGS) == {f.name for f in META_FIELDS} | {"date"}


def test_both_book_views_list_the_same_columns_in_the_same_order():
    assert field_order(OB) == field_order(FB) == [f.name for f in LAYOUTS[FB].fields]
    assert [f.name for f in LAYOUTS[OB].fields] != field_order(OB)  # the wire orders differ


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    write_journal(root, mixed_frames(20, books=True))
    rebuild(root)
    return root


@pytest.mark.parametrize("with_files", [True, False])
def test_duckdb_describes_every_view_as_the_doc_does(recorded, tmp_path, with_files):
    con = connect(recorded if with_files else tmp_path)
    try:
        for tr, view in TABLES.items():
            described = [(name, kind) for name, kind, *_ in con.execute(f"DESCRIBE {view}").fetchall()]
            assert described == [(name, types[0]) for name, types in column_types(tr).items()], view
            assert [name for name, _ in described] == view_columns(tr)
    finally:
        con.close()


@pytest.mark.parametrize("with_files", [True, False])
def test_duckdb_describes_every_union_view_as_the_doc_does(recorded, tmp_path, with_files):
    con = connect(recorded if with_files else tmp_path)
    try:
        for view in UNION_VIEWS:
            described = [(name, kind) for name, kind, *_ in con.execute(f"DESCRIBE {view}").fetchall()]
            assert described == [(name, types[0]) for name, types in union_types(view).items()], view
            assert f"## `{view}`: {', '.join(union_trs(view))}" in markdown()
    finally:
        con.close()


def test_a_union_view_holds_every_row_of_its_trs_with_the_tr_saying_which(recorded):
    con = connect(recorded)
    try:
        for view in UNION_VIEWS:
            counts = dict(con.execute(f"SELECT tr_id, count(*) FROM {view} GROUP BY tr_id").fetchall())
            want = {
                tr: con.execute(f"SELECT count(*) FROM {TABLES[tr]}").fetchone()[0] for tr in union_trs(view)
            }
            assert counts == {tr: n for tr, n in want.items() if n}, view
            assert all(LAYOUTS[tr].category == "trade" for tr in union_trs(view))
    finally:
        con.close()


def test_views_of_one_kind_list_shared_columns_in_one_order():
    groups: dict[tuple[str, ...], list[str]] = {}
    for tr, layout in LAYOUTS.items():
        key = (layout.category, layout.product) if layout.category == "trade" else (layout.category,)
        groups.setdefault(key, []).append(tr)
    for trs in groups.values():
        for a in trs:
            for b in trs:
                shared = set(field_order(a)) & set(field_order(b))
                assert [n for n in field_order(a) if n in shared] == [
                    n for n in field_order(b) if n in shared
                ]
    # the traps of reference 4.6 do not move a column: price third whatever its wire index
    assert LAYOUTS["H0IFCNT0"].by_name["price"].index == 5 and field_order("H0IFCNT0")[2] == "price"
    stock = field_order("H0ZFCNT0")  # H0IFCNT0's block_volume after volume_rate, as on its wire
    assert field_order("H0IFCNT0") == stock[:46] + ["block_volume"] + stock[46:]
    assert field_order("H0MFCNT0") == stock
    wire = [f.name for f in LAYOUTS["H0EUCNT0"].fields]
    assert wire.index("dynamic_limit_flag") < wire.index("dynamic_lower_limit")  # the H0EUCNT0 trap
    assert (
        field_order("H0EUCNT0")[-3:]
        == field_order("H0IOCNT0")[-3:]
        == [
            "dynamic_upper_limit",
            "dynamic_lower_limit",
            "dynamic_limit_flag",
        ]
    )
    # a 5-level book: H0ZFASP0's order, levels 1-5 only
    assert field_order("H0IOASP0") == [n for n in field_order(FB) if n in LAYOUTS["H0IOASP0"].by_name]
    assert len(field_order("H0IOASP0")) == 38


def test_the_night_views_say_what_their_dates_mean():
    doc = markdown()
    for tr, view in TABLES.items():
        section = doc.split(f"## `{view}`: ")[1].split("\n## ")[0]
        assert ("counts as the trading day on which it ends" in section) == (LAYOUTS[tr].market == "night"), (
            view
        )
