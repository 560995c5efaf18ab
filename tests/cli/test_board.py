"""The live board at terminal widths from 60 to 120 columns, on records a real session received
from the simulator: every number shown is whole (columns give way whole, least telling first)
and the status line fits 80 columns."""

from __future__ import annotations

import asyncio
import io
import re

import pytest
from rich.console import Console

from kisfeed.cli.board import Board
from kisfeed.cli.codes import simulator_master
from kisfeed.cli.common import strike_text
from kisfeed.cli.watch import chain_for
from kisfeed.client import FeedStats

from ..client.conftest import collect, feed_for, running, sim_config
from ..conftest import seconds

NUMBER = re.compile(r"[+-]?\d[\d,]*(?:\.\d+)?%?")


@pytest.fixture(scope="module")
def board(tmp_path_factory) -> Board:
    master = simulator_master()
    entries = [e for e in master.entries if e.kind == "future"] + [
        e for e in chain_for(master, "삼성전자").entries if e.kind != "future"
    ]

    async def receive():
        async with (
            running(sim_config(speed=600.0)) as sim,
            feed_for(sim, tmp_path_factory.mktemp("board")) as feed,
        ):
            for tr_id in ("H0ZFCNT0", "H0ZOCNT0"):
                await feed.subscribe(tr_id, [e.code for e in entries if e.tr_id == tr_id][:20])
            return await collect(feed, 400)

    records = asyncio.run(asyncio.wait_for(receive(), seconds(60)))
    board = Board(master.by_code(), title="kisfeed · simulator")
    for record in records:
        board.update(record)
    board.state = "connected"
    board.stats = FeedStats(
        frames=123_456,
        records=1_234_567,
        bytes=99_999_999,
        parse_errors=12,
        dropped=3_456,
        reconnects=17,
        queued=0,
        subscriptions={0: 40, 1: 40},
        connected={0: True, 1: True},
        last_frame_age=0.1,
    )
    return board


def _shown_values(board: Board) -> set[str]:
    """Every number the board can show, formatted as it formats them."""
    from kisfeed.cli.board import _num, _signed

    values = set()
    for r in board.last.values():
        for name in ("price", "volume", "open_interest", "bid1", "ask1", "implied_volatility", "delta",
                     "gamma", "theta", "vega"):  # fmt: skip
            value = getattr(r, name, None)
            values |= {_num(value), _num(value, 2), _num(value, 3), _num(value, 4)}
        for name in ("change", "change_rate", "market_basis"):
            value = getattr(r, name, None)
            values |= {_signed(value), _signed(value, 2)}
    for entry in board.chain()[1]:
        values.add(strike_text(entry.strike))
    return values


@pytest.mark.parametrize("width", [60, 70, 80, 100, 120])
def test_every_number_on_the_board_is_whole_at_any_width(board, width):
    console = Console(width=width, height=200, file=io.StringIO(), record=True, color_system=None)
    console.print(board.render())
    text = console.export_text()
    assert "…" not in text
    lines = text.splitlines()
    assert all(len(line.rstrip()) <= width for line in lines)
    status = lines[-1]
    assert "connected" in status and len(status.rstrip()) <= 80
    for part in status.split(" · "):
        assert re.fullmatch(
            r"connected|[\d,]+ records|[\d,]+ rec/s|reconnects \d+|drops \d+|errors \d+|"
            r"sessions \d+/\d+|kisfeed|simulator",
            part.strip(),
        ), part  # no part cut short
    known = _shown_values(board)
    table_lines = [line for line in lines[:-1] if "(H0Z" not in line and not set(line.strip()) <= {"─"}]
    codes = set(board.last)
    for line in table_lines:
        for token in line.split():
            if token in codes or not NUMBER.fullmatch(token):
                continue
            assert token in known, (width, token, line)
    futures_rows = [line for line in lines if line.split()[:1] and line.split()[0] in codes]
    assert futures_rows and all(re.search(r"\d{2},\d{3}", row) for row in futures_rows)  # the price stays


def test_narrow_boards_drop_columns_least_telling_first(board):
    def header(width: int) -> list[str]:
        console = Console(width=width, height=200, file=io.StringIO(), record=True, color_system=None)
        console.print(board.render())
        return next(
            line for line in console.export_text().splitlines() if line.split()[:1] == ["code"]
        ).split()

    assert header(120) == ["code", "name", "last", "chg", "chg%", "volume", "OI", "basis", "bid", "ask"]
    assert "name" not in header(60) and {"code", "last"} <= set(header(60))


def test_a_record_without_a_code_is_left_off_the_board():
    """An empty code field decodes to None (kinds.py); the board, which sorts codes, draws the
    records it can place and leaves that one off instead of failing on the comparison."""
    import kisfeed

    from ..samples import frame, texts

    board = Board({})
    for record in kisfeed.decode(frame("H0ZFCNT0", texts("H0ZFCNT0", code=""), texts("H0ZFCNT0"))):
        board.update(record)
    console = Console(file=io.StringIO(), width=120, color_system=None)
    console.print(board.render())
    shown = console.file.getvalue()
    assert list(board.last) == ["A11612"] and "A11612" in shown


def test_a_chain_is_the_strikes_nearest_the_money_within_one_session_s_registrations():
    master = simulator_master()
    chain = chain_for(master, "삼성전자")
    entries = chain.entries
    futures = [e for e in entries if e.kind == "future"]
    options = [e for e in entries if e.kind != "future"]
    assert len(entries) <= 41  # KIS's registrations per session (reference 3.1)
    strikes = sorted({e.strike for e in options})
    listed = sorted({e.strike for e in master.entries if e.kind == "call" and e.underlying_code == "005930"
                     and e.expiry_month == options[0].expiry_month})  # fmt: skip
    atm = next(e.strike for e in options if e.atm == "1")
    # as many strikes as the registrations the 9 futures leave hold: (41 - 9) // 2 = 16
    assert len(futures) == 9 and len(strikes) == 16 == chain.strikes and len(listed) > 16 == len(options) // 2
    left_out = set(listed) - set(strikes)  # none nearer the money than a shown one
    assert atm in strikes and max(abs(k - atm) for k in strikes) <= min(abs(k - atm) for k in left_out)
    assert chain.listed == len(listed) and f"16 strikes nearest the money of {len(listed)}" in chain.note()
    # the board shows the strikes between those seen, not the whole listed chain
    board = Board(master.by_code())
    for e in (options[0], options[-1]):
        board.last[e.code] = None  # type: ignore[assignment]  # only the codes matter to chain()
    assert sorted({e.strike for e in board.chain()[1]}) == strikes
