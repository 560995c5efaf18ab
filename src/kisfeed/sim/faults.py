"""Scripted faults: what a real KIS server or network does to a client, on demand (issue 3;
reference 3.2, 3.4, 7.7, 8).

Call them on ``Simulator.faults`` at any time, or schedule them with ``SimConfig.faults`` /
``kisfeed sim --fault``. Every fault can target the sessions of one app key (``app_key=``);
without it, every live session. Each call acts at once and returns a ``Applied`` handle that can
be awaited (optionally) to wait until the fault has fully taken effect.

=================  ========================================================================
``drop()``         abrupt TCP close of every live session: no close frame (``transport.abort``);
                   the handle resolves once the simulator has forgotten the sessions
``close()``        clean WebSocket close (code 1000 unless given); resolves likewise
``stall(s)``       send nothing at all (data, replies, PINGPONG) for ``s`` seconds; the trades
                   of that time are never sent (the handle resolves when the stall ends)
``malformed(n)``   send ``n`` malformed data frames, cycling through: wrong record count,
                   non-numeric price, truncated multi-record payload, unknown TR id
``delay_acks(s)``  answer requests ``s`` seconds late (0 turns it off)
``withhold_acks``  process requests but never answer them (``withhold_acks(False)`` ends it)
``refuse_approval``  the approval endpoint refuses every request (HTTP 403 ``EGW00103`` or the
                   given status) until ``refuse_approval(False)``
``restart()``      stop both servers (connections dropped) and listen again on the same ports
=================  ========================================================================

Command-line syntax (``parse_fault``): ``NAME[=VALUE]@SECONDS[,every=SECONDS][,app_key=KEY]``,
seconds counted from the simulator's start (wall clock). Examples: ``drop@30``,
``stall=5@60,every=120``, ``malformed=3@10``, ``delay-acks=2@0``, ``withhold-acks@0``,
``withhold-acks=off@30``, ``refuse-approval@0``, ``refuse-approval=503@5``, ``close=1001@20``,
``restart@90``, ``drop@30,app_key=demo-app-key``. Registrations applied by the requests that are
delayed or withheld take effect at once: only the reply is late or missing.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..protocol.frames import encode_frame

if TYPE_CHECKING:
    from .server import SimSession
    from .simulator import Simulator

__all__ = ["Faults", "ScheduledFault", "Applied", "parse_fault", "FAULT_NAMES", "malformed_frame"]

FAULT_NAMES = (
    "drop", "close", "stall", "malformed", "delay-acks", "withhold-acks", "refuse-approval", "restart",
)  # fmt: skip
_SWITCH = {
    "on": True,
    "off": False,
    "true": True,
    "false": False,
    "1": True,
    "0": False,
    "yes": True,
    "no": False,
}


@dataclass(frozen=True, slots=True)
class ScheduledFault:
    """One fault at ``at`` seconds after start, repeated every ``every`` seconds if given."""

    name: str
    at: float
    value: str | None = None
    every: float | None = None
    app_key: str | None = None

    def __post_init__(self) -> None:
        if self.name not in FAULT_NAMES:
            raise ValueError(f"unknown fault {self.name!r}; known: {', '.join(FAULT_NAMES)}")
        if not (self.at >= 0 and math.isfinite(self.at)):
            raise ValueError(f"fault time must be a number of seconds >= 0, not {self.at}")
        if self.every is not None and not self.every > 0:
            raise ValueError("every= must be > 0 seconds")
        _argument(self.name, self.value)  # validate now, not at the scheduled time


def _argument(name: str, value: str | None) -> Any:
    """The typed argument of a fault from its command-line text."""
    try:
        if name in ("stall", "delay-acks"):
            if value is None:
                raise ValueError(f"{name} needs seconds, e.g. {name}=5@30")
            seconds = float(value)
            if seconds < 0 or not math.isfinite(seconds):
                raise ValueError
            return seconds
        if name == "malformed":
            count = 1 if value is None else int(value)
            if count < 1:
                raise ValueError
            return count
        if name == "close":
            return 1000 if value is None else int(value)
        if name == "withhold-acks":
            return True if value is None else _SWITCH[value.lower()]
        if name == "refuse-approval":
            if value is None:
                return 403
            if value.lower() in _SWITCH:
                return 403 if _SWITCH[value.lower()] else None
            status = int(value)
            if not 400 <= status <= 599:
                raise ValueError
            return status
        if value is not None:
            raise ValueError(f"{name} takes no value")
        return None
    except (KeyError, ValueError) as exc:
        detail = str(exc) if isinstance(exc, ValueError) and str(exc) else f"bad value {value!r} for {name}"
        raise ValueError(detail) from None


def parse_fault(text: str) -> ScheduledFault:
    """``NAME[=VALUE]@SECONDS[,every=SECONDS][,app_key=KEY]`` → ``ScheduledFault``."""
    head, *options = text.strip().split(",")
    spec, at_sign, at = head.partition("@")
    if not at_sign:
        raise ValueError(f"{text!r}: say when, e.g. drop@30 (seconds after start)")
    name, _, value = spec.partition("=")
    extra: dict[str, str] = {}
    for option in options:
        key, eq, val = option.partition("=")
        if not eq or key not in ("every", "app_key"):
            raise ValueError(f"{text!r}: options are every=SECONDS and app_key=KEY, not {option!r}")
        extra[key] = val
    try:
        when = float(at)
        every = float(extra["every"]) if "every" in extra else None
    except ValueError:
        raise ValueError(f"{text!r}: times are seconds, e.g. drop@30,every=60") from None
    return ScheduledFault(name.strip().lower(), when, value or None, every, extra.get("app_key") or None)


class Applied:
    """What a fault call returns: awaiting it waits until the fault has fully taken effect."""

    __slots__ = ("_waits",)

    def __init__(self, *waits: Awaitable[Any]) -> None:
        self._waits = waits

    def __await__(self) -> Generator[Any, None, None]:
        for wait in self._waits:
            yield from wait.__await__()


# Malformed frames are built from a real record so that only the intended defect is present.
def malformed_frame(kind: int, tr_id: str, record: str) -> str:
    """One malformed data frame of ``kind`` (cycled 0..3) from a well-formed record."""
    fields = record.split("^")
    kind %= 4
    if kind == 0:  # NNN says 2 but one record follows: the field count does not divide
        return encode_frame(tr_id, [fields]).replace("|001|", "|002|", 1)
    if kind == 1:  # the price field is not a number
        bad = list(fields)
        bad[2] = "12a45"
        return encode_frame(tr_id, [bad])
    if kind == 2:  # a two-record frame cut off inside its second record's 24th field: the
        # field count (width + 24) is odd, so no record width fits (ref 2.4)
        cut = fields[:23] + [fields[23][: max(1, len(fields[23]) // 2)]]
        return encode_frame(tr_id, [fields]).replace("|001|", "|002|", 1) + "^" + "^".join(cut)
    return encode_frame(tr_id, [fields]).replace(f"|{tr_id}|", "|H0ZXCNT9|", 1)  # unknown TR


def _settle(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class Faults:
    """The fault switches and actions of one simulator (see the module docstring)."""

    def __init__(self, sim: Simulator) -> None:
        self._sim = sim
        self._ack_delay: dict[str | None, float] = {}
        self._withheld: dict[str | None, bool] = {}
        self._refusals: dict[str | None, int | None] = {}
        self._malformed_count = 0
        self._running: set[asyncio.Future[Any]] = set()  # fire-and-forget work, kept from the GC
        self._restarts: set[asyncio.Future[Any]] = set()  # restarts in flight (``stop`` ends them)

    def _start(self, awaitable: Awaitable[Any]) -> asyncio.Future[Any]:
        task = asyncio.ensure_future(awaitable)
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        return task

    # --- switches read by the servers --------------------------------------------------------

    def ack_policy(self, app_key: str | None) -> tuple[bool, float]:
        """(withheld, delay seconds) for a reply to a session bound to ``app_key``."""
        withheld = self._withheld.get(None, False)
        delay = self._ack_delay.get(None, 0.0)
        if app_key is not None:  # a setting for this app key wins over the global one
            withheld = self._withheld.get(app_key, withheld)
            delay = self._ack_delay.get(app_key, delay)
        return withheld, delay

    def approval_refusal(self, app_key: str | None) -> int | None:
        """The HTTP status the approval endpoint refuses ``app_key`` with, or None."""
        if app_key is not None and app_key in self._refusals:
            return self._refusals[app_key]
        return self._refusals.get(None)

    def clear(self) -> None:
        """Turn every switch off (delayed/withheld acks, refused approval)."""
        self._ack_delay.clear()
        self._withheld.clear()
        self._refusals.clear()

    # --- actions -----------------------------------------------------------------------------

    def _targets(self, app_key: str | None) -> list[SimSession]:
        return [s for s in self._sim.sessions if app_key is None or s.app_key == app_key]

    def drop(self, *, app_key: str | None = None) -> Applied:
        sessions = self._targets(app_key)
        for session in sessions:
            session.ws.transport.abort()
        return Applied(*(self._start(s.ended.wait()) for s in sessions))

    def close(self, code: int = 1000, reason: str = "", *, app_key: str | None = None) -> Applied:
        sessions = self._targets(app_key)
        for session in sessions:
            self._start(session.ws.close(code, reason))
        return Applied(*(self._start(s.ended.wait()) for s in sessions))

    def stall(self, seconds: float, *, app_key: str | None = None) -> Applied:
        for session in self._targets(app_key):
            session.stall(seconds)
        over: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().call_later(seconds, _settle, over)
        return Applied(over)

    def malformed(self, n: int = 1, *, app_key: str | None = None) -> Applied:
        loop = asyncio.get_running_loop()
        waits = []
        for session in self._targets(app_key):
            tr_id, record = session.last_record or self._sim.sample_record()
            for _ in range(n):
                done: asyncio.Future[None] = loop.create_future()
                session.enqueue(malformed_frame(self._malformed_count, tr_id, record), done=done)
                self._malformed_count += 1
                waits.append(done)
        return Applied(*waits)

    def delay_acks(self, seconds: float, *, app_key: str | None = None) -> Applied:
        if seconds > 0:
            self._ack_delay[app_key] = seconds
        else:
            self._ack_delay.pop(app_key, None)
        return Applied()

    def withhold_acks(self, on: bool = True, *, app_key: str | None = None) -> Applied:
        if on:
            self._withheld[app_key] = True
        else:
            self._withheld.pop(app_key, None)
        return Applied()

    def refuse_approval(self, on: bool = True, *, status: int = 403, app_key: str | None = None) -> Applied:
        if on:
            self._refusals[app_key] = status
        else:
            self._refusals.pop(app_key, None)
        return Applied()

    def restart(self) -> Applied:
        """Restart both servers. A ``Simulator.stop`` meanwhile cancels the restart (so nothing
        listens again after the stop), and awaiting this handle then raises ``CancelledError``."""
        task = self._start(self._sim.restart())
        self._restarts.add(task)
        task.add_done_callback(self._restarts.discard)
        return Applied(task)

    async def cancel_restarts(self) -> None:
        """Cancel the restarts in flight and wait until they have ended."""
        restarts = list(self._restarts)
        for task in restarts:
            task.cancel()
        await asyncio.gather(*restarts, return_exceptions=True)

    def apply(self, fault: ScheduledFault) -> Applied:
        """Run a scheduled (or parsed) fault now."""
        arg, key = _argument(fault.name, fault.value), fault.app_key
        if fault.name == "drop":
            return self.drop(app_key=key)
        if fault.name == "close":
            return self.close(arg, app_key=key)
        if fault.name == "stall":
            return self.stall(arg, app_key=key)
        if fault.name == "malformed":
            return self.malformed(arg, app_key=key)
        if fault.name == "delay-acks":
            return self.delay_acks(arg, app_key=key)
        if fault.name == "withhold-acks":
            return self.withhold_acks(arg, app_key=key)
        if fault.name == "refuse-approval":
            return self.refuse_approval(arg is not None, status=arg or 403, app_key=key)
        return self.restart()
