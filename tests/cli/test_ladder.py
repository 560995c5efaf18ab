"""``watch --book CODE``: the depth ladder (10 asks above, 10 bids below, totals), rendered in a
fixed console beside the board or below it, and the book TR subscribed beside the trades."""

from __future__ import annotations

import io

import pytest
from rich.console import Console
from typer.testing import CliRunner

import kisfeed
from kisfeed.cli import app
from kisfeed.cli.board import Board
from kisfeed.cli.codes import simulator_master
from kisfeed.cli.ladder import ladder

from ..client.conftest import book_frame
from ..conftest import without_kis_settings
from ..samples import frame, texts

FB, OB = "H0ZFASP0", "H0ZOASP0"


def _book(tr_id: str, code: str, **kwargs: int):
    (record,) = kisfeed.decode(book_frame(tr_id, code, 0, **kwargs))
    return record


def _text(renderable, width: int) -> str:
    console = Console(width=width, height=200, file=io.StringIO(), record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


def _rows(text: str) -> list[list[str]]:
    """The ladder's rows after its header, separators left out."""
    rows = [line.split() for line in text.splitlines() if line.strip() and set(line.strip()) != {"─"}]
    header = next(n for n, row in enumerate(rows) if row[:1] == ["orders"])
    return rows[header + 1 :]


def test_ten_asks_above_ten_bids_below_with_quantities_counts_and_totals():
    rows = _rows(_text(ladder("A11612", _book(FB, "A11612")), 80))
    asks, bids, (total,) = rows[:10], rows[10:20], rows[20:]
    # highest ask on top: orders, quantity, price (level n has n orders and n contracts here)
    assert asks == [[str(n), str(n), f"{64400 + 100 * (n - 1):,}"] for n in range(10, 0, -1)]
    assert bids == [[f"{64400 - 100 * n:,}", str(n), str(n)] for n in range(1, 11)]  # best first
    assert total == ["55", "55", "total", "55", "55"]  # KIS's totals, as received


def test_an_empty_level_is_a_dash_and_an_option_premium_has_two_decimals():
    book = _book(OB, "B11612007", best_ask=250, tick=5, levels=3)
    text = _text(ladder("B11612007", book), 80)
    assert "2.50" in text and "2.60" in text and "2.65" not in text  # three asks published
    assert "2.45" in text and "2.35" in text and "2.30" not in text
    dashes = [r for r in _rows(text) if r == ["-"]]
    assert len(dashes) == 14  # 7 empty levels a side


def test_before_the_first_book_the_ladder_says_it_waits():
    assert "waiting" in _text(ladder("A11612", None), 80)


@pytest.mark.parametrize("width, beside", [(60, False), (80, False), (120, True), (160, True)])
def test_the_board_shows_the_ladder_beside_or_below_and_cuts_no_number(width, beside):
    master = simulator_master()
    board = Board(master.by_code(), book="A11612")
    for record in kisfeed.decode(frame("H0ZFCNT0", texts("H0ZFCNT0"))):
        board.update(record)
    board.update(_book(FB, "A11612"))
    text = _text(board.render(), width)
    lines = text.splitlines()
    assert "…" not in text and all(len(line.rstrip()) <= width for line in lines)
    assert list(board.last) == ["A11612"] and list(board.books) == ["A11612"]  # a book is not a trade
    (title,) = [line for line in lines if "book A11612" in line]
    (futures,) = [line for line in lines if "stock futures (H0ZFCNT0)" in line]
    assert (lines.index(title) == lines.index(futures)) == beside, width
    assert "65,300" in text and "last 64,300" in text  # the highest ask; the last trade's price
    assert "total" in text


def test_watch_book_subscribes_the_book_beside_the_trades(monkeypatch, tmp_path):
    without_kis_settings(monkeypatch, tmp_path)
    monkeypatch.setenv("KISFEED_CACHE_DIR", str(tmp_path / "cache"))
    seen = {}

    async def fake_run_board(**kwargs):
        seen.update(kwargs)
        from kisfeed.cli.live import LiveResult

        return LiveResult()

    monkeypatch.setattr("kisfeed.cli.watch.run_board", fake_run_board)
    future = next(e.code for e in simulator_master().entries if e.kind == "future")
    result = CliRunner().invoke(app, ["watch", "--book", future, "--seconds", "1"])
    assert result.exit_code == 0, result.output
    assert seen["subscriptions"] == [("H0ZFCNT0", [future]), (FB, [future])] and seen["book"] == future
    assert f"no record from 2 of 2 subscriptions: {future}, {future} {FB} (" in result.output
    option = next(e.code for e in simulator_master().entries if e.kind == "call")
    result = CliRunner().invoke(app, ["watch", future, "--book", option, "--seconds", "1"])
    assert result.exit_code == 0, result.output
    assert seen["subscriptions"] == [("H0ZFCNT0", [future]), ("H0ZOCNT0", [option]), (OB, [option])]
    result = CliRunner().invoke(app, ["watch", "--book", "Z99999", "--seconds", "1"])
    assert result.exit_code == 2 and "unknown instrument code Z99999" in result.output
