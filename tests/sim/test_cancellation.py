"""Cancellation in the simulator (issue 11, item 18): a session's tasks always end when their
connection does, whatever fault wakes them in the same turn of the loop, and ``stop`` always
returns.

On Python 3.11 ``asyncio.wait_for`` swallows a cancel that arrives after its inner wait has
finished. The heartbeat waited that way, so a stall (which wakes it) in the same loop turn as a
drop or restart (which cancels it) left it running: the session kept its app key (OPSP8996 to
every reconnect), the restarted port never reopened and ``Simulator.stop`` never returned.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from kisfeed.sim import Simulator, parse_fault
from kisfeed.sim.server import wait_set

from ..conftest import seconds
from .helpers import FUTURES, approval, codes, config, connect, recv, request, run, subscribe


async def within(what: str, awaitable: Awaitable[Any], timeout: float = 10) -> Any:
    """``awaitable``'s result, or a test failure naming ``what`` if it does not come in time."""
    try:
        async with asyncio.timeout(seconds(timeout)):
            return await awaitable
    except TimeoutError:
        pytest.fail(f"{what} did not happen within {seconds(timeout):g} s")


def test_wait_set_lets_through_a_cancel_that_comes_with_the_event():
    # The exact race: the event is set, and the cancel arrives 0, 1, 2... loop turns later but
    # before the waiting task has resumed (on 3.11 wait_for's inner task has finished by turn 1
    # and wait_for returned True instead of raising). A cancel that reaches a task not yet
    # finished must end it cancelled.
    async def one(turns: int) -> tuple[bool, bool]:
        event = asyncio.Event()
        waiter = asyncio.create_task(wait_set(event, seconds(30)))
        await asyncio.sleep(0)  # the waiter is now blocked on the event
        event.set()
        for _ in range(turns):
            await asyncio.sleep(0)
        requested = waiter.cancel()  # False if the waiter had already returned: no race then
        await asyncio.wait({waiter}, timeout=seconds(10))
        return requested, waiter.cancelled()

    async def body() -> list[tuple[bool, bool]]:
        return [await one(turns) for turns in range(4)]

    outcomes = run(body)
    assert any(requested for requested, _ in outcomes), outcomes  # the race was there to lose
    assert all(cancelled for requested, cancelled in outcomes if requested), outcomes


def test_wait_set_says_whether_the_event_came():
    async def body() -> tuple[bool, bool, bool]:
        event = asyncio.Event()
        timed_out = await wait_set(event, 0.01)
        asyncio.get_running_loop().call_soon(event.set)
        came = await wait_set(event, seconds(30))
        already = await wait_set(event, 0)
        return timed_out, came, already

    assert run(body) == (False, True, True)


@pytest.mark.parametrize("stall_first", [True, False], ids=["stall-then-fault", "fault-then-stall"])
@pytest.mark.parametrize("fault", ["drop", "restart"])
def test_a_stall_in_the_same_turn_as_a_drop_or_restart_leaves_nothing_wedged(fault, stall_first):
    async def body() -> None:
        sim = Simulator(config())
        await sim.start()
        port = sim._feed.port
        key = await approval(sim)
        code = codes(sim, FUTURES)[0]
        async with await connect(sim) as ws:
            await subscribe(ws, key, FUTURES, code)
            await recv(ws)  # data flows: the heartbeat waits for its next PINGPONG
            # Both in one step, as when `stall=3@10,every=29` and `drop@15,every=31` meet at 387 s.
            if stall_first:
                sim.faults.stall(3)
                applied = getattr(sim.faults, fault)()
            else:
                applied = getattr(sim.faults, fault)()
                sim.faults.stall(3)
            await within(f"the {fault} (the dropped session ending)", applied)
        assert sim._feed.port == port
        # The app key is free (no OPSP8996) and, after a restart, the port is open again.
        async with await connect(sim) as again:
            await subscribe(again, key, FUTURES, code)
            await recv(again)
        await within("Simulator.stop()", sim.stop())

    run(body)


def test_stop_during_a_restart_leaves_nothing_listening():
    async def body() -> None:
        sim = Simulator(config())
        await sim.start()
        restart = sim.faults.restart()
        await within("Simulator.stop()", sim.stop())
        with pytest.raises(asyncio.CancelledError):
            await restart  # stop cancelled it: it will not listen again
        with pytest.raises(OSError):
            await connect(sim)

    run(body)


def test_scheduled_stalls_and_drops_that_coincide_never_hold_the_app_key():
    # `--fault stall=3@10,every=29 --fault drop@15,every=31` meet at 387 s; here they meet at
    # every turn, and a client that reconnects after each drop must never get OPSP8996.
    every = seconds(0.3)
    faults = (
        parse_fault(f"stall={every / 2}@{every},every={every}"),
        parse_fault(f"drop@{every},every={every}"),
    )

    async def body() -> list[str]:
        sim = Simulator(config(faults=faults))
        await sim.start()
        key = await approval(sim)
        answers: list[str] = []
        async with asyncio.timeout(seconds(30)):
            while answers.count("OPSP0000") < 4 and "OPSP8996" not in answers:
                try:
                    async with await connect(sim) as ws:
                        await ws.send(request(key, FUTURES, codes(sim, FUTURES)[0]))
                        while True:  # until the next drop
                            message = await recv(ws)
                            if message.startswith("{") and "PINGPONG" not in message:
                                answers.append(json.loads(message)["body"]["msg_cd"])
                except ConnectionClosed:
                    pass
        await within("Simulator.stop()", sim.stop())
        return answers

    answers = run(body)
    assert "OPSP8996" not in answers, answers
