"""The depth ladder of ``kisfeed watch --book CODE``: one contract's order book as a table.

The asks above, the highest first, down to the best ask; the bids below, the best first (as
many levels as the TR publishes: 10 on H0ZFASP0 / H0ZOASP0, reference 4.5; 5 on the index and
night books H0IFASP0 / H0IOASP0 / H0MFASP0 / H0EUASP0, reference 4.6); each level's price,
quantity and number of orders; then the six totals. The totals are KIS's own fields, not sums computed here: since
2024 KRX publishes them as the sums of the published levels, and a book where they differ shows
it rather than hides it.
"""

from __future__ import annotations

from rich import box
from rich.table import Table
from rich.text import Text

from ..schema import (
    FuturesBook,
    IndexFuturesBook,
    IndexOptionBook,
    NightFuturesBook,
    NightOptionBook,
    OptionBook,
    Record,
)
from ..schema.layouts import layout_for

__all__ = ["ladder", "BookRecord"]

#: An order book whichever TR carried it: levels and the six totals by the same names (a union,
#: not ``schema.Book``, whose base class does not declare the totals).
BookRecord = (
    FuturesBook | OptionBook | IndexFuturesBook | IndexOptionBook | NightFuturesBook | NightOptionBook
)


def _num(value: float | int | None, digits: int = 0) -> str:
    return "-" if value is None or value != value else f"{value:,.{digits}f}"


def ladder(
    code: str,
    book: BookRecord | None,
    trade: Record | None = None,
    expected: Record | None = None,
) -> Table:
    """The ladder of ``book`` (None: not received yet, an empty ladder says so), with the last
    trade price of ``trade`` and the expected price of ``expected`` in its caption."""
    layout = layout_for(book.tr_id) if book is not None else None
    # premiums and index points have 2 decimals; stock futures are whole won (reference 4.6)
    digits = 0 if layout is None or (layout.market, layout.product) == ("stock", "futures") else 2
    title = f"book {code}" + (f" ({book.tr_id} {_time(book.time)})" if book is not None else "")
    table = Table(
        title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1), min_width=30
    )
    for name in ("orders", "ask qty", "price", "bid qty", "orders "):
        table.add_column(name, justify="right", no_wrap=True)
    if book is None:
        table.add_row("", "", "waiting", "", "")
        return table
    depth = layout.depth if layout is not None and layout.depth else 10
    asks, bids = list(book.asks), list(book.bids)
    for n in range(depth, 0, -1):  # the highest ask at the top, the best ask just above the bids
        if n <= len(asks):
            price, qty, orders = asks[n - 1]
            table.add_row(_num(orders), _num(qty), Text(_num(price, digits), style="blue"), "", "")
        else:  # an empty level: price 0 on the wire (reference 4.5)
            table.add_row("", "", "-", "", "")
    table.rows[-1].end_section = True
    for n in range(1, depth + 1):
        if n <= len(bids):
            price, qty, orders = bids[n - 1]
            table.add_row("", "", Text(_num(price, digits), style="red"), _num(qty), _num(orders))
        else:
            table.add_row("", "", "-", "", "")
    table.rows[-1].end_section = True
    table.add_row(
        _num(book.total_ask_count),
        _num(book.total_ask_qty),
        "total",
        _num(book.total_bid_qty),
        _num(book.total_bid_count),
    )
    notes = [
        f"{what} {_num(shown, digits)}"
        for what, record in (("last", trade), ("expected", expected))
        if (shown := getattr(record, "price", None)) is not None
    ]
    if notes:
        table.caption, table.caption_justify = " · ".join(notes), "left"
    return table


def _time(value: object) -> str:
    return "" if value is None else str(value)
