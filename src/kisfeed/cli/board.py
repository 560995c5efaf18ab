"""The live terminal board: a futures table, an option chain and a status line (rich); with
``book`` set, one contract's depth ladder beside them (``cli/ladder.py``)."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass

from rich import box
from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from ..client import FeedStats
from ..schema import FuturesTradeRecord, OptionTradeRecord, Record, Sign
from ..schema.layouts import layout_for
from ..schema.master import MasterEntry
from .common import strike_text
from .ladder import BookRecord, ladder

__all__ = ["Board"]

_COLOURS: dict[Sign | None, str] = {
    Sign.LIMIT_UP: "bold red",
    Sign.UP: "red",
    Sign.UNCHANGED: "white",
    Sign.LIMIT_DOWN: "bold blue",
    Sign.DOWN: "blue",
}  # Korean convention: up red, down blue


def _num(value: float | int | None, digits: int = 0) -> str:
    if value is None or value != value:  # None or NaN
        return "-"
    return f"{value:,.{digits}f}"


def _signed(value: float | int | None, digits: int = 0) -> str:
    return "-" if value is None or value != value else f"{value:+,.{digits}f}"


def _by_market(tr_id: str) -> tuple[int, str]:
    """Stock TRs first, then index, then night: the order the board titles name them."""
    return (("stock", "index", "night").index(layout_for(tr_id).market), tr_id)


@dataclass
class _Rate:
    window: float = 5.0

    def __post_init__(self) -> None:
        self._marks: deque[tuple[float, int]] = deque()

    def __call__(self, total: int) -> float:
        now = time.monotonic()
        self._marks.append((now, total))
        while len(self._marks) > 2 and now - self._marks[0][0] > self.window:
            self._marks.popleft()
        (t0, n0) = self._marks[0]
        return (total - n0) / (now - t0) if now > t0 else 0.0


class Board:
    """Keeps the last record of every instrument and renders them."""

    def __init__(
        self, instruments: dict[str, MasterEntry], *, title: str = "kisfeed", book: str | None = None
    ) -> None:
        self.instruments = instruments
        self.title = title
        self.book = book  # the code whose depth ladder is shown, if any
        self.last: dict[str, Record] = {}  # each code's last trade
        self.books: dict[str, BookRecord] = {}  # each code's last order book
        self.expected: dict[str, Record] = {}  # each code's last expected price
        self.state = "connecting"
        self.stats: FeedStats | None = None
        self._rate = _Rate()

    def update(self, record: Record) -> None:
        code = record.code
        if code is None:  # a record without a code cannot be placed on the board
            return
        if isinstance(record, BookRecord):
            self.books[code] = record
        elif layout_for(record.tr_id).category == "expected":
            self.expected[code] = record
        else:
            self.last[code] = record

    def chain(self) -> tuple[str | None, list[MasterEntry]]:
        """The option chain on screen: the underlying and expiry of the options seen, the strikes
        from the lowest to the highest seen of it, sorted (strikes from the master, reference 5.2)."""
        options = [
            self.instruments[c]
            for c in self.last
            if c in self.instruments and self.instruments[c].kind in ("call", "put")
        ]
        if not options:
            return None, []
        first = min(options, key=lambda e: (e.expiry_month or "", e.underlying_name))
        seen = [
            e.strike
            for e in options
            if (e.underlying_code, e.expiry_month) == (first.underlying_code, first.expiry_month)
        ]
        # between the strikes seen: a real chain is far wider than what one session subscribes
        series = [
            e
            for e in self.instruments.values()
            if e.kind in ("call", "put")
            and e.underlying_code == first.underlying_code
            and e.expiry_month == first.expiry_month
            and min(seen) <= e.strike <= max(seen)
        ]
        return f"{first.underlying_name} {first.expiry_month}", sorted(series, key=lambda e: e.strike)

    def render(self) -> Board:
        """The board as a renderable: it lays itself out for the width it is given."""
        return self

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        if self.book is None:
            yield _fit(console, options, self._futures(), _FUTURES_DROP, width)
            yield _fit(console, options, self._options(), _OPTIONS_DROP, width)
            yield self._status(width)
            return
        depth = ladder(
            self.book, self.books.get(self.book), self.last.get(self.book), self.expected.get(self.book)
        )
        needs = Measurement.get(console, options.update_width(1_000_000), depth).maximum
        left = width - needs - 2
        if left >= _BESIDE:  # the ladder beside the tables, which give way to fit what is left
            tables = Group(
                _fit(console, options, self._futures(), _FUTURES_DROP, left),
                _fit(console, options, self._options(), _OPTIONS_DROP, left),
            )
            grid = Table.grid(padding=(0, 2))
            grid.add_column(width=left)
            grid.add_column(width=needs)
            grid.add_row(tables, depth)
            yield grid
        else:  # a narrow terminal: below them
            yield _fit(console, options, self._futures(), _FUTURES_DROP, width)
            yield _fit(console, options, self._options(), _OPTIONS_DROP, width)
            yield depth
        yield self._status(width)

    def _futures(self) -> Table:
        shown = {c: r for c, r in self.last.items() if isinstance(r, FuturesTradeRecord)}
        trs = sorted({r.tr_id for r in shown.values()}, key=_by_market)
        table = Table(
            title=" · ".join(f"{layout_for(tr).market} futures ({tr})" for tr in trs) or "futures",
            title_justify="left",
            box=box.SIMPLE_HEAD,
            pad_edge=False,
            padding=(0, 0),
        )
        for name in _FUTURES_COLUMNS:
            table.add_column(name, justify="left" if name in ("code", "name") else "right", no_wrap=True)
        for code, r in sorted(shown.items()):
            entry = self.instruments.get(code)
            colour = _COLOURS.get(r.change_sign, "white")
            # index and night futures are points with 2 decimals, stock futures whole won (ref 4.6)
            digits = 0 if layout_for(r.tr_id).market == "stock" else 2
            table.add_row(
                code,
                entry.underlying_name if entry else "",
                Text(_num(r.price, digits), style=colour),
                Text(_signed(r.change, digits), style=colour),
                Text(_signed(r.change_rate, 2), style=colour),
                _num(r.volume),
                _num(r.open_interest),
                _signed(r.market_basis, digits),  # in the price's unit: price and spot alike
                _num(r.bid1, digits),
                _num(r.ask1, digits),
            )
        return table

    def _options(self) -> Table:
        title, series = self.chain()
        trs = ", ".join(sorted({e.tr_id for e in series if e.tr_id}))
        table = Table(
            title=f"option chain {title or ''} ({trs})".replace(" ()", "").replace("  ", " "),
            title_justify="left",
            box=box.SIMPLE_HEAD,
            pad_edge=False,
            padding=(0, 0),
        )
        for name in _OPTIONS_COLUMNS:
            table.add_column(name, justify="center" if name == "strike" else "right", no_wrap=True)
        strikes = sorted({e.strike for e in series})
        by_side = {
            (e.kind, e.strike): seen
            for e in series
            if isinstance(seen := self.last.get(e.code), OptionTradeRecord)
        }
        for strike in strikes:
            cells: list[str | Text] = []
            for side in ("call", "put"):
                r = by_side.get((side, strike))
                side_cells = [
                    Text(_num(r.price, 2), style=_COLOURS.get(r.change_sign, "white")) if r else "-",
                    _num(r.implied_volatility, 2) if r else "-",
                    _num(r.delta, 3) if r else "-",
                    _num(r.gamma, 4) if r else "-",
                    _num(r.theta, 3) if r else "-",
                    _num(r.vega, 3) if r else "-",
                    _num(r.volume) if r else "-",
                ]
                if side == "call":
                    cells += side_cells + [Text(strike_text(strike), style="bold")]
                else:
                    cells += side_cells
            table.add_row(*cells)
        return table

    def _status(self, width: int = 80) -> Text:
        """One line of at most ``min(width, 80)`` cells: the least telling parts are left out
        whole when they do not fit (never cut)."""
        s = self.stats
        if s is None:
            return Text(
                _join([self.title, self.state], min(width, 80)), style="dim", overflow="crop", no_wrap=True
            )
        rate = self._rate(s.records)
        # in the order shown; the number is the rank to keep (0 kept first)
        parts = [
            (1, self.title),
            (0, self.state),
            (7, f"{rate:,.0f} rec/s"),
            (2, f"{s.records:,} records"),
            (3, f"reconnects {s.reconnects}"),
            (4, f"drops {s.dropped}"),
            (5, f"errors {s.parse_errors}"),
            (6, f"sessions {sum(s.connected.values())}/{len(s.connected)}"),
        ]
        limit = min(width, 80)
        kept: set[int] = set()
        for rank, _ in sorted(parts):
            if len(_join([t for r, t in parts if r in kept | {rank}], limit + 1)) <= limit:
                kept.add(rank)
        return Text(
            _join([t for r, t in parts if r in kept], limit), style="dim", overflow="crop", no_wrap=True
        )


# Columns in the order shown, and the order in which they give way on a narrow terminal (least
# telling first); code and last price always stay.
_FUTURES_COLUMNS = ("code", "name", "last", "chg", "chg%", "volume", "OI", "basis", "bid", "ask")
_FUTURES_DROP = (("name",), ("basis",), ("OI",), ("bid",), ("ask",), ("chg%",), ("volume",), ("chg",))
_OPTIONS_COLUMNS = (
    "call last", "IV", "delta", "gamma", "theta", "vega", "vol",
    "strike",
    "put last", "IV ", "delta ", "gamma ", "theta ", "vega ", "vol ",
)  # fmt: skip
_OPTIONS_DROP = (  # both sides of the chain at once
    ("gamma", "gamma "), ("vega", "vega "), ("theta", "theta "), ("delta", "delta "), ("vol", "vol "), ("IV", "IV "),
)  # fmt: skip


#: Cells the tables need at least to stand beside the ladder: code, last and chg of the futures.
_BESIDE = 56


def _join(parts: list[str], limit: int) -> str:
    text = " · ".join(p for p in parts if p)
    return text if len(text) <= limit else text[:limit]


def _fit(
    console: Console, options: ConsoleOptions, table: Table, drop: tuple[tuple[str, ...], ...], width: int
) -> Table:
    """``table`` without its least telling columns until its natural width fits ``width``: a
    column is left out whole rather than any value cut."""
    unbounded = options.update_width(1_000_000)  # the table's natural width, not one clamped to ours
    for names in drop:
        if Measurement.get(console, unbounded, table).maximum <= width:
            break
        table.columns[:] = [c for c in table.columns if c.header not in names]
    return table
