"""The live terminal board: a futures table, an option chain and a status line (rich)."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass

from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text

from ..client import FeedStats
from ..schema import FuturesTrade, Record, Sign
from ..schema.master import MasterEntry

__all__ = ["Board"]

_COLOURS = {Sign.LIMIT_UP: "bold red", Sign.UP: "red", Sign.UNCHANGED: "white",
            Sign.LIMIT_DOWN: "bold blue", Sign.DOWN: "blue"}  # Korean convention: up red, down blue


def _num(value: float | int | None, digits: int = 0) -> str:
    if value is None or value != value:  # None or NaN
        return "-"
    return f"{value:,.{digits}f}"


def _signed(value: float | int | None, digits: int = 0) -> str:
    return "-" if value is None or value != value else f"{value:+,.{digits}f}"


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

    def __init__(self, instruments: dict[str, MasterEntry], *, title: str = "kisfeed") -> None:
        self.instruments = instruments
        self.title = title
        self.last: dict[str, Record] = {}
        self.state = "connecting"
        self.stats: FeedStats | None = None
        self._rate = _Rate()

    def update(self, record: Record) -> None:
        self.last[record.code] = record

    def chain(self) -> tuple[str | None, list[MasterEntry]]:
        """The option chain on screen: the underlying and expiry of the options seen, strikes sorted."""
        options = [self.instruments[c] for c in self.last if c in self.instruments
                   and self.instruments[c].kind in ("call", "put")]
        if not options:
            return None, []
        first = min(options, key=lambda e: (e.expiry_month or "", e.underlying_name))
        series = [e for e in self.instruments.values() if e.kind in ("call", "put")
                  and e.underlying_code == first.underlying_code and e.expiry_month == first.expiry_month]
        return f"{first.underlying_name} {first.expiry_month}", sorted(series, key=lambda e: e.strike)

    def render(self) -> Group:
        return Group(self._futures(), self._options(), self._status())

    def _futures(self) -> Table:
        table = Table(title="stock futures (H0ZFCNT0)", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False,
                      padding=(0, 0))
        for name in ("code", "name", "last", "chg", "chg%", "volume", "OI", "basis", "bid", "ask"):
            # the name gives way first so that numbers are never cut on an 80-column terminal
            table.add_column(name, justify="left" if name in ("code", "name") else "right", no_wrap=True,
                             max_width=10 if name == "name" else None)
        for code in sorted(c for c, r in self.last.items() if isinstance(r, FuturesTrade)):
            r = self.last[code]
            entry = self.instruments.get(code)
            colour = _COLOURS.get(r.change_sign, "white")
            table.add_row(
                code,
                entry.underlying_name if entry else "",
                Text(_num(r.price), style=colour),
                Text(_signed(r.change), style=colour),
                Text(_signed(r.change_rate, 2), style=colour),
                _num(r.volume),
                _num(r.open_interest),
                _signed(r.market_basis),  # whole won: price and spot are both in won
                _num(r.bid1),
                _num(r.ask1),
            )
        return table

    def _options(self) -> Table:
        title, series = self.chain()
        table = Table(title=f"option chain {title or ''} (H0ZOCNT0)".replace("  ", " "), title_justify="left",
                      box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 0))
        for name in ("call last", "IV", "delta", "vol", "strike", "put last", "IV ", "delta ", "vol "):
            table.add_column(name, justify="center" if name == "strike" else "right", no_wrap=True)
        strikes = sorted({e.strike for e in series})
        by_side = {(e.kind, e.strike): self.last.get(e.code) for e in series}
        for strike in strikes:
            cells: list[str | Text] = []
            for side in ("call", "put"):
                r = by_side.get((side, strike))
                side_cells = [Text(_num(r.price, 2), style=_COLOURS.get(r.change_sign, "white")) if r else "-",
                              _num(r.implied_volatility, 2) if r else "-",
                              _num(r.delta, 3) if r else "-",
                              _num(r.volume) if r else "-"]
                if side == "call":
                    cells += side_cells + [Text(_num(strike), style="bold")]
                else:
                    cells += side_cells
            table.add_row(*cells)
        return table

    def _status(self) -> Text:
        s = self.stats
        if s is None:
            return Text(f"{self.title} · {self.state}")
        rate = self._rate(s.records)
        return Text(
            f"{self.title} · {self.state} · {rate:,.0f} rec/s · {s.records:,} records · "
            f"reconnects {s.reconnects} · drops {s.dropped} · errors {s.parse_errors} · "
            f"sessions {sum(s.connected.values())}/{len(s.connected)}",
            style="dim", overflow="fold",
        )

