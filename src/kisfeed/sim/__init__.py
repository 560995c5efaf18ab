"""A faithful local KIS real-time server: approval endpoint, WebSocket feed, market, faults.

The simulator is part of the product (design principle 7): it is how users try kisfeed without
an account, how every client test runs, and how load and fault tests are made. It speaks the
protocol of ``docs/kis-realtime-protocol.md`` ("What a simulator must do") and is built on
``kisfeed.schema`` and ``kisfeed.protocol`` only, never on kisfeed's own client, so that it
cannot share the client's mistakes.

::

    import math
    from kisfeed.sim import Simulator, SimConfig

    async with Simulator(SimConfig(seed=1, speed=math.inf, always_open=True)) as sim:
        print(sim.ws_url, sim.rest_url)          # ws://127.0.0.1:PORT  http://127.0.0.1:PORT
        print(sim.instruments[0].code)           # A11612 (Samsung Electronics, Dec 2026)
        sim.faults.drop()                        # abrupt TCP close of every session
        await sim.restart()                      # same ports, all sessions gone

Modules: ``config`` (settings), ``instruments`` (universe, codes, master file), ``index`` (the
KOSPI200 futures and options, their codes and ``fo_idx_code_mts.mst``), ``kospi200`` (the index
made of the simulated stocks), ``pricing`` (Black-Scholes), ``contracts`` (a contract's day and
its wire fields), ``wire`` (record texts), ``market`` (the trade stream), ``requests`` (client messages and replies), ``server`` (sessions, PINGPONG),
``approval`` (``POST /oauth2/Approval``), ``faults``, ``tape`` (replaying recorded frames)
and ``simulator``.
"""

from .config import DEMO_APP_KEY, DEMO_APP_SECRET, SimConfig
from .faults import FAULT_NAMES, Applied, Faults, ScheduledFault, parse_fault
from .index import IndexInstrument, index_universe, write_index_master
from .instruments import UNDERLYINGS, Instrument, Underlying, build_universe, master_lines, write_master
from .market import Market, MarketEvent
from .server import SimSession
from .simulator import Simulator
from .tape import FrameSource, Tape, TapeEvent

__all__ = [
    "Simulator",
    "SimConfig",
    "SimSession",
    "DEMO_APP_KEY",
    "DEMO_APP_SECRET",
    "Faults",
    "Applied",
    "ScheduledFault",
    "parse_fault",
    "FAULT_NAMES",
    "Instrument",
    "Underlying",
    "UNDERLYINGS",
    "build_universe",
    "master_lines",
    "write_master",
    "IndexInstrument",
    "index_universe",
    "write_index_master",
    "Market",
    "MarketEvent",
    "Tape",
    "TapeEvent",
    "FrameSource",
]
