"""Replay: recorded data frames served over the real protocol instead of the market."""

from __future__ import annotations

import math

from typer.testing import CliRunner

from kisfeed import decode
from kisfeed.cli import app
from kisfeed.protocol import encode_frame
from kisfeed.sim import Market, Simulator, build_universe
from kisfeed.store.journal import format_line

from .helpers import (
    FUTURES,
    OPTIONS,
    START,
    approval,
    config,
    connect,
    option_code,
    recv,
    reply,
    request,
    run,
    subscribe,
)

CALL = option_code("call", 72_000)  # 삼성전자 Dec-2026 72,000 call


def recorded(count: int = 400) -> list[tuple[int, str]]:
    """Frames as a recording run would have received them: (receive ns, text)."""
    universe = build_universe(START)
    market = Market(universe, seed=5, start=START, always_open=True)
    market.watched.update({"A11612", CALL})
    frames = []
    while len(frames) < count:
        event = market.next_event()
        if event.records:
            frames.append((int(event.time * 1e9), encode_frame(event.tr_id, [[t] for t in event.records])))
    return frames


def test_a_tape_serves_its_codes_records_in_order_and_refuses_other_codes():
    frames = recorded()
    broken = [(frames[0][0], "0|H0ZFCNT0|002|A11612^1^2")]  # does not split: skipped and counted
    # A recorded record with a field appended by KIS (ref 2.5) is served as it was recorded.
    at = next(i for i, (_, text) in enumerate(frames) if text.startswith("0|H0ZFCNT0|001|"))
    frames[at] = (frames[at][0], frames[at][1] + "^APPENDED")

    async def body():
        # refuse pinned: a code off the tape is then OPSP8992 (by default it would be silent)
        async with Simulator(config(replay=lambda: broken + frames, unknown_codes="refuse")) as sim:
            key = await approval(sim)
            async with await connect(sim) as ws:
                await ws.send(request(key, FUTURES, "A50612"))  # in the universe, not on the tape
                refused = await reply(ws)
                await subscribe(ws, key, FUTURES, "A11612")
                got = []
                expected = [r for _, text in frames for r in decode(text) if r.code == "A11612"]
                while len(got) < len(expected):
                    message = await recv(ws)
                    if message[0] == "0":
                        got += decode(message)
            return refused, got, expected, sim.served, sim.tape.skipped, sim.start_time

    refused, got, expected, served, skipped, start = run(body)
    assert refused["body"]["msg_cd"] == "OPSP8992"
    assert got == expected
    assert sum(r.extra == ("APPENDED",) for r in got) == 1
    assert served == {(FUTURES, "A11612"), (OPTIONS, CALL)}
    assert skipped == 1
    assert math.isclose(start.timestamp(), frames[0][0] / 1e9)


def test_the_command_replays_a_kisfeed_journal(tmp_path):
    frames = recorded(50)
    day = tmp_path / "journal" / "2026-11-20"
    day.mkdir(parents=True)
    with open(day / "090000.000000000-1.kfj", "wb") as segment:
        for ns, text in frames:
            segment.write(format_line(text, ns, 1))
    result = CliRunner().invoke(app, ["sim", "--replay", str(tmp_path), "--list-instruments"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["code\ttr_id", "A11612\tH0ZFCNT0", f"{CALL}\tH0ZOCNT0"]
    missing = CliRunner().invoke(app, ["sim", "--replay", str(tmp_path / "nowhere")])
    assert missing.exit_code == 2
