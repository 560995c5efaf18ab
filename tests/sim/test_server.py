"""The websockets internals that ``sim.server._Connection`` relies on (see its docstring)."""

from __future__ import annotations

import inspect

import websockets
from websockets.asyncio.connection import Connection
from websockets.asyncio.server import ServerConnection
from websockets.protocol import Protocol

from kisfeed.sim import Simulator
from kisfeed.sim.server import _Connection

from .helpers import approval, codes, connect, quiet, reply, run, subscribe


def _parameters(function: object) -> list[str]:
    return list(inspect.signature(function).parameters)  # type: ignore[arg-type]


def test_the_private_websockets_api_the_override_uses_is_still_there() -> None:
    assert websockets.__version__.split(".")[0] == "17", websockets.__version__  # written against 17.4
    assert _parameters(ServerConnection.process_event) == ["self", "event"]
    assert _parameters(ServerConnection.send_data) == ["self"]
    assert _parameters(Connection.send_context) == ["self", "expected_state"]
    assert inspect.isasyncgenfunction(inspect.unwrap(Connection.send_context))
    assert _parameters(Protocol.send_text)[:2] == ["self", "data"]
    assert "writes" in inspect.getsource(Protocol.__init__)
    assert "send_in_progress" in inspect.getsource(Connection.__init__)


def test_the_override_takes_effect_on_a_real_connection() -> None:
    """A ping frame reaches the session: websockets answers pings itself, and only the
    ``process_event`` override shows them (data frames through ``send_frames`` are in every
    data test)."""

    async def body() -> tuple[bool, dict[str, object]]:
        async with Simulator(quiet(client_ping="error-and-close")) as sim:
            key = await approval(sim)
            async with await connect(sim) as ws:
                await subscribe(ws, key, "H0ZFCNT0", codes(sim, "H0ZFCNT0")[0])
                session = sim.sessions[0]
                await ws.ping(b"")
                return isinstance(session.ws, _Connection), await reply(ws)

    connection, error = run(body)
    assert connection
    assert error["body"]["msg_cd"] == "OPSP8991"  # type: ignore[index]
