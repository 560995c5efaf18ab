"""The columns of the dataset's views, from the layouts: their order, and their documentation.

``docs/store-columns.md`` is ``markdown()``, written by ``python -m kisfeed.store.catalog``
(tests/store/test_catalog.py fails when the file and the layouts disagree), so every column name
there is the one a query uses and nothing is copied by hand.

A column is named by the record attribute's English name (``kisfeed.schema.layouts``). Where
TRs carry the same fields in different wire orders (the books: H0ZOASP0 appends levels 6-10
after the totals, H0ZFASP0 keeps each group's ten levels together, reference 4.5; H0IFCNT0 has
its price at 5, H0ZFCNT0 at 2, reference 4.6), their views list them in one order (``_canonical``),
so that ``SELECT *`` of one lines up with the other (a positional ``UNION`` of the same
fields included); the Parquet files keep each TR's wire order. ``UNION_VIEWS`` are the trades of
every market in one view.
"""

from __future__ import annotations

import functools
import sys

import pyarrow as pa

from ..schema import LAYOUTS, Layout
from .dataset import META_FIELDS, TABLES, TZ, schema_for

__all__ = [
    "field_order",
    "view_columns",
    "column_types",
    "META_MEANINGS",
    "markdown",
    "UNION_VIEWS",
    "union_trs",
    "union_columns",
    "union_types",
]

#: What each column after the layout fields holds (``dataset.META_FIELDS``, then the view's
#: ``date``, from the partition directory).
META_MEANINGS: dict[str, str] = {
    "extra": "fields past the documented layout, raw (KIS appends fields, reference 2.5)",
    "missing": "documented required fields the frame did not carry (0: the record is complete)",
    "trading_date": "KST trading date the receiver attached (frames carry HHMMSS only, reference 2.4)",
    "exchange_time": "trading date + `BSOP_HOUR` (null when `BSOP_HOUR` is 000000, not set)",
    "received_at": "local receive time of the frame",
    "session": "the recording feed's session id (one per WebSocket connection)",
    "journal_segment": "journal segment the frame came from",
    "journal_line": "its line number in that segment (1-based)",
    "frame_index": "the record's position within its frame",
    "date": "the trading date of the partition (`date=YYYY-MM-DD`): a filter on it skips whole days",
}


#: The type a DuckDB query sees for each Arrow type the dataset stores (tests/store/test_catalog.py
#: checks it against DuckDB's own DESCRIBE of every view).
_DUCKDB: dict[pa.DataType, str] = {
    pa.string(): "VARCHAR",
    pa.time32("ms"): "TIME",
    pa.int64(): "BIGINT",
    pa.float64(): "DOUBLE",
    pa.int8(): "TINYINT",
    pa.int16(): "SMALLINT",
    pa.int32(): "INTEGER",
    pa.date32(): "DATE",
    pa.list_(pa.string()): "VARCHAR[]",
    pa.timestamp("ms", tz=TZ): "TIMESTAMP WITH TIME ZONE",
    pa.timestamp("ns", tz=TZ): "TIMESTAMPTZ_NS",
}


def column_types(tr_id: str) -> dict[str, tuple[str, str]]:
    """``(DuckDB type, Arrow type)`` of every column of ``tr_id``'s view, in the view's order."""
    schema = schema_for(tr_id)
    types = {name: schema.field(name).type for name in view_columns(tr_id)[:-1]}
    types["date"] = pa.date32()  # the partition column, typed by the view (hive_types)
    return {name: (_DUCKDB[t], str(t)) for name, t in types.items()}


#: What a view's rows are, by category (reference 4.5), below its title.
_ABOUT = {
    "trade": "One row per trade record.",
    "book": (
        "One row per book update (KIS filters derivatives quotes to 0.2 s). `ask1`..`ask10` rise "
        "from the best ask and `bid1`..`bid10` fall from the best bid; levels past the published "
        "depth are 0. `total_ask_qty_change` and `total_bid_qty_change` (`*_ICDC`) are signed."
    ),
    "expected": (
        "One row per expected-price update, during the single-price auctions. `session_code` "
        "(`ANTC_MKOP_CLS_CODE`) is the raw text: KIS documents no values for derivatives [UNK]."
    ),
}


def _group(layout: Layout) -> tuple[str, ...]:
    """The layouts whose views share one column order: every book, every expected price (the
    futures and option TRs carry the same fields), and the trades of one product (a futures trade
    and an option trade have different fields)."""
    return (layout.category, layout.product) if layout.category == "trade" else (layout.category,)


@functools.cache
def _canonical(group: tuple[str, ...]) -> tuple[str, ...]:
    """The column order of a group: the first TR's wire order (the stock TR: ``TABLES`` lists
    them first), each name a later TR adds placed right after the field before it on that TR's
    wire (H0IFCNT0's ``block_volume`` after ``prev_volume_rate``). So a name has one place in
    every view of the group, whichever TR's wire order differs (H0IFCNT0's price at 5, not 2;
    H0EUCNT0's ``dynamic_limit_flag`` before ``dynamic_lower_limit``; H0ZOASP0's levels 6-10
    after the totals)."""
    order: list[str] = []
    for layout in (LAYOUTS[tr] for tr in TABLES):  # stock, index, night
        if _group(layout) != group:
            continue
        for i, f in enumerate(layout.fields):
            if f.name not in order:
                order.insert(order.index(layout.fields[i - 1].name) + 1 if i else 0, f.name)
    return tuple(order)


def field_order(tr_id: str) -> list[str]:
    """The layout fields of ``tr_id`` in its view's order: its group's order (``_canonical``)
    restricted to its fields, so that the views of one group list shared names alike."""
    layout = LAYOUTS[tr_id]
    return [name for name in _canonical(_group(layout)) if name in layout.by_name]


def view_columns(tr_id: str) -> list[str]:
    """Every column of ``tr_id``'s view, in order: its fields (``field_order``), the journal
    columns, and ``date``."""
    return field_order(tr_id) + [f.name for f in META_FIELDS] + ["date"]


#: Below the title of a night view: what its dates mean (the KRX night session, docs/recipes.md).
_NIGHT = (
    "The KRX night session runs 18:00-06:00 and counts as the trading day on which it ends (KRX, "
    "since 2025-06-09); `trading_date` and `date` are the KST day a row was received on, so one "
    "session lies on two dates: its KRX trading day is `date + 1` for rows received before "
    "midnight (`hour(received_at) >= 12`) and `date` after. `exchange_time` (that date + "
    "`BSOP_HOUR`) is a day late for a trade stamped before midnight and received after it; "
    "`kisfeed bars` places trades by `BSOP_HOUR` on the day nearest their receipt instead."
)

#: Views over the trades of one product from every market, with a ``tr_id`` column: a futures
#: trade is a futures trade whichever TR carried it (issue 16), so the day and night sessions of
#: one KOSPI200 contract, or a stock future and its index hedge, are one ``SELECT``. Trades only:
#: the books differ in depth (10 levels for stocks, 5 for index and night) and one union would
#: be half empty columns; the expected prices are two TRs of one market each.
UNION_VIEWS: dict[str, tuple[str, ...]] = {
    "all_futures_trades": ("trade", "futures"),
    "all_option_trades": ("trade", "option"),
}


def union_trs(view: str) -> list[str]:
    """The TRs a union view reads, in ``TABLES`` order."""
    return [tr for tr in TABLES if _group(LAYOUTS[tr]) == UNION_VIEWS[view]]


def union_columns(view: str) -> list[str]:
    """Every column of a union view: ``tr_id``, its group's fields, the journal columns, ``date``."""
    return ["tr_id", *_canonical(UNION_VIEWS[view]), *(f.name for f in META_FIELDS), "date"]


def union_types(view: str) -> dict[str, tuple[str, str]]:
    """``(DuckDB type, Arrow type)`` of every column of a union view: a column's type in the TRs
    that have it (null in the others), float64 where one has int64 and another float64 (stock
    futures prices are int64 KRW, index and night futures prices float64 points: DuckDB's
    ``UNION ALL BY NAME`` makes them DOUBLE, exact for KRW below 2**53)."""
    out: dict[str, tuple[str, str]] = {"tr_id": ("VARCHAR", "string")}
    per_tr = [column_types(tr) for tr in union_trs(view)]
    for name in union_columns(view)[1:]:
        kinds = {types[name] for types in per_tr if name in types}
        if len(kinds) > 1:
            assert {arrow for _, arrow in kinds} == {"int64", "double"}, (view, name, kinds)
            kinds = {(_DUCKDB[pa.float64()], "double")}
        out[name] = kinds.pop()
    return out


def _view(tr_id: str) -> list[str]:
    layout = LAYOUTS[tr_id]
    view = TABLES[tr_id]
    lines = [
        f"## `{view}`: {tr_id} {layout.korean} ({layout.english})",
        "",
        _ABOUT[layout.category]
        + " "
        + f"{layout.width} fields"
        + (
            f", of which the first {layout.required} are required: a record of {layout.required} is "
            "complete and the rest are null"
            if layout.required < layout.width
            else ""
        )
        + ". Wire: the field's position in the `^`-separated record."
        + (" " + _NIGHT if layout.market == "night" else ""),
        "",
        "| column | KIS code | Korean label | wire | DuckDB type | Arrow type | kind |",
        "|---|---|---|---|---|---|---|",
    ]
    types = column_types(tr_id)
    for name in field_order(tr_id):
        f = layout.by_name[name]
        duckdb, arrow = types[name]
        lines.append(
            f"| `{name}` | `{f.kis}` | {f.korean} | {f.index} | {duckdb} | {arrow} | {f.kind.value} |"
        )
    lines.append("")
    return lines


def _union(view: str) -> list[str]:
    trs = union_trs(view)
    group = UNION_VIEWS[view]
    lines = [
        f"## `{view}`: {', '.join(trs)}",
        "",
        f"Every {group[1]} {group[0]} of every market: the rows of "
        + ", ".join(f"`{TABLES[tr]}`" for tr in trs)
        + ", with `tr_id` saying which. A column a TR lacks is null in its rows. Columns in the "
        "order of the views above, then the columns every view has.",
        "",
        "| column | DuckDB type | Arrow type | carried by |",
        "|---|---|---|---|",
    ]
    types = union_types(view)
    for name in union_columns(view)[: -len(META_FIELDS) - 1]:
        has = [tr for tr in trs if name in LAYOUTS[tr].by_name]
        lines.append(
            f"| `{name}` | {types[name][0]} | {types[name][1]} | "
            + ("the view" if name == "tr_id" else "every TR" if has == trs else ", ".join(has))
            + " |"
        )
    lines.append("")
    return lines


def markdown() -> str:
    """docs/store-columns.md: every view's columns with KIS code, Korean label, wire position
    and type, then the columns every view has."""
    out = [
        "# Store columns",
        "",
        "<!-- Generated by `python -m kisfeed.store.catalog > docs/store-columns.md` from the layouts",
        "     (kisfeed.schema.layouts); tests/store/test_catalog.py checks it. Do not edit by hand. -->",
        "",
        "`kisfeed.store.query(sql, root=...)` and `kisfeed query` read the Parquet dataset through one",
        "DuckDB view per TR. A column is named by the English attribute name of the record",
        "(`FuturesBook.ask1`, `OptionExpected.quantity`, ...), the same name whichever TR carried",
        "the field: `price` is `price` in `futures_trades` (H0ZFCNT0 field 2) and in",
        "`index_futures_trades` (H0IFCNT0 field 5). Views of one kind list their shared columns in",
        "one order although the TRs send them in different orders (every book view in H0ZFASP0's,",
        "the 5-level ones its levels 1-5; the trades of a product in the stock TR's, a name it lacks",
        "after the field before it on its own TR's wire), so a query written for one works on the",
        "others. Stock futures prices are int64 KRW; index and night futures prices float64",
        "KOSPI200 points; option prices float64 premiums. An empty book level is price 0 with",
        "quantity and count 0. The journal keeps every frame as received; a frame the protocol",
        "refuses (a book whose prices are out of order, `BookOrderError`) has no row and is",
        "reported by `kisfeed rebuild` with its journal line. `all_futures_trades` and",
        "`all_option_trades` hold the trades of every market with a `tr_id` column.",
        "",
        "| view | TR | name |",
        "|---|---|---|",
    ]
    out += [
        f"| `{view}` | {tr} | {LAYOUTS[tr].korean} ({LAYOUTS[tr].english}) |" for tr, view in TABLES.items()
    ]
    out.append("")
    for tr in TABLES:
        out += _view(tr)
    for view in UNION_VIEWS:
        out += _union(view)
    out += [
        "## Columns every view has, after the fields",
        "",
        "| column | DuckDB type | Arrow type | meaning |",
        "|---|---|---|---|",
    ]
    any_tr = next(iter(TABLES))
    types = column_types(any_tr)
    for name in view_columns(any_tr)[len(field_order(any_tr)) :]:
        out.append(f"| `{name}` | {types[name][0]} | {types[name][1]} | {META_MEANINGS[name]} |")
    out += [
        "",
        "`(journal_segment, journal_line, frame_index)` is a row's identity. Each field column's",
        "Parquet metadata holds its KIS code, Korean label, kind and wire index (`kis`, `korean`,",
        "`kind`, `index`).",
        "",
    ]
    return "\n".join(out)


if __name__ == "__main__":
    sys.stdout.write(markdown())
