"""``Simulator``: the approval endpoint, the WebSocket server and the market, run together.

::

    async with Simulator(SimConfig(seed=1, speed=math.inf, always_open=True)) as sim:
        sim.ws_url, sim.rest_url          # ws://127.0.0.1:PORT, http://127.0.0.1:PORT
        ...                               # connect, POST /oauth2/Approval, subscribe
        sim.sent[session_id]              # every record sent to that session, in order

The market loop pulls events from ``Market`` and hands each record to the sessions subscribed to
its code. At finite speed it sleeps until an event's sim time comes round on the wall clock; at
infinite speed it runs as fast as the slowest subscribed client reads (and waits while nobody is
subscribed, so an idle simulator costs nothing).
"""

from __future__ import annotations

import asyncio
import logging
import math
from datetime import datetime, timedelta
from types import TracebackType

from ..schema.layouts import layout_for
from ..schema.records import KST
from .approval import PATH, ApprovalKeys, ApprovalServer
from .calendar import KrxCalendar
from .config import SimConfig
from .contracts import BUY, Contract, Quote
from .faults import Applied, Faults, ScheduledFault
from .index import index_universe
from .instruments import Instrument, build_universe
from .market import Market
from .night import night_instruments, night_plan
from .profiles import blanks_for
from .server import FeedServer, SimSession
from .tape import Tape
from .wire import record_text

__all__ = ["Simulator"]

log = logging.getLogger("kisfeed.sim")
# At infinite speed the market yields to the event loop after this many events of unwatched
# codes, or this many dispatched to sessions (so that writers and readers get their turn).
_YIELD_EVERY = 64
_YIELD_DISPATCHED = 4
# Writers send when a run of frames is queued (server._RUN_MIN) or, at the latest, this many
# seconds after the last kick: one socket write per run instead of one per turn of the loop.
_KICK_AFTER = 0.002


class Simulator:
    """A local KIS real-time server. See ``SimConfig`` for every setting."""

    def __init__(self, config: SimConfig | None = None) -> None:
        self.config = config = config or SimConfig()
        #: The recorded frames served instead of the market, when ``config.replay`` is set.
        self.tape = Tape(config.replay) if config.replay is not None else None
        if self.tape is not None and self.tape.start is not None:
            start = datetime.fromtimestamp(self.tape.start, KST)
        else:
            start = config.start or datetime.now(KST)
        if start.tzinfo is None:
            start = start.replace(tzinfo=KST)
        self.start_time = start
        universe: list[Instrument] = build_universe(start)
        if config.index_products:  # the KOSPI200 products after the stock ones (sim/index.py)
            universe += index_universe(start)
        universe += night_instruments(universe, config.night_code_form) if config.night_session else []
        #: What is served: the market's universe, or the instruments of it that a tape holds.
        self.instruments: list[Instrument] = universe
        # every TR of every instrument: its trades, book and expected prices (reference 4.5)
        self._by_key = {(tr_id, i.code): i for i in universe for tr_id in i.tr_ids}
        self.market = Market(
            self.instruments,
            seed=config.seed,
            start=start,
            always_open=config.always_open,
            interest_rate=config.interest_rate,
            activity=config.activity,
            volatility_unit=config.volatility_unit,
            greek_decimals=config.greek_decimals,
            profile=config.profile,
            option_ticks=config.option_ticks,
            dynamic_limit_band=config.dynamic_limit_band,
            dynamic_limit_flags=config.dynamic_limit_flags,
            calendar=KrxCalendar(
                config.holidays, config.exam_days, timedelta(seconds=config.last_day_auction)
            ),
            limit_stages=config.limit_stages,
            limit_expansion_delay=config.limit_expansion_delay,
            book_interval=config.book_interval,
            expected_from=config.expected_from,
            expected_codes=config.expected_codes,
            night=night_plan(config),
        )
        self._source: Market | Tape = self.market if self.tape is None else self.tape
        #: The (tr_id, code) pairs served; a registration of anything else is silent or refused
        #: (``SimConfig.unknown_codes``).
        self.served: set[tuple[str, str]] = set(self._by_key) if self.tape is None else set(self.tape.codes)
        if self.tape is not None:
            self.instruments = [i for i in universe if any((tr, i.code) in self.served for tr in i.tr_ids)]
        self.keys = ApprovalKeys(config.app_keys, config.approval_key_ttl)
        self.faults = Faults(self)
        #: Ground truth: session id -> [(tr_id, field texts)] of every record sent, in order.
        self.sent: dict[int, list[tuple[str, list[str]]]] = {}
        self._sessions: dict[int, SimSession] = {}
        self._session_ids = 0
        self._owners: dict[str, SimSession] = {}  # app key -> the live session holding it
        self._stale: dict[str, float] = {}  # app key -> loop time until which it stays "in use"
        self._subscribers: dict[tuple[str, str], set[SimSession]] = {}
        self._subscribed = asyncio.Event()  # set while any session holds a registration
        self._batching: set[SimSession] = set()  # sessions with an open batch
        self._feed = FeedServer(self)
        self._approval = ApprovalServer(self.keys, self.faults.approval_refusal)
        self._tasks: list[asyncio.Task[None]] = []
        self._wall0 = 0.0
        self._kicked = 0.0  # loop time the writers were last told to send what they hold
        self._running = False

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Start both servers and the market; returns once both are listening."""
        if self._running:
            return
        loop = asyncio.get_running_loop()
        await self._listen(self.config.port, self.config.rest_port)
        self._wall0 = loop.time()
        self._running = True
        self._tasks = [asyncio.create_task(self._run_market(), name="kisfeed-sim-market")]
        for fault in self.config.faults:
            self._tasks.append(asyncio.create_task(self._schedule(fault)))

    async def _listen(self, port: int, rest_port: int) -> None:
        await self._feed.start(self.config.host, port)
        try:
            await self._approval.start(self.config.host, rest_port)
        except BaseException:
            await self._feed.stop()
            raise

    async def stop(self) -> None:
        """Stop the market and both servers; live connections are dropped."""
        if not self._running:
            return
        self._running = False
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        await self.faults.cancel_restarts()  # a restart in flight would listen again after the stop
        await self._stop_servers()

    async def _stop_servers(self) -> None:
        await self._feed.stop()
        await self._approval.stop()
        for _ in range(100):  # let the handlers of dropped connections finish their clean-up
            if not self._sessions:
                break
            await asyncio.sleep(0.01)

    async def restart(self) -> None:
        """Stop both servers (every connection dropped without a close frame, all sessions and
        registrations gone, as after a server restart) and listen again on the same ports.
        The market and issued approval keys carry on."""
        ws_port, rest_port = self._feed.port, self._approval.port
        await self._stop_servers()
        await self._listen(ws_port, rest_port)

    async def __aenter__(self) -> Simulator:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    # --- what callers read -------------------------------------------------------------------

    @property
    def ws_url(self) -> str:
        return f"ws://{self.config.host}:{self._feed.port}"

    @property
    def rest_url(self) -> str:
        return f"http://{self.config.host}:{self._approval.port}"

    @property
    def approval_url(self) -> str:
        return self.rest_url + PATH

    @property
    def sessions(self) -> list[SimSession]:
        """Live sessions, oldest first."""
        return list(self._sessions.values())

    def instrument(self, code: str) -> Instrument:
        """The instrument with this KIS code (``KeyError`` if the universe has none)."""
        for tr_id in ("H0ZFCNT0", "H0ZOCNT0"):
            found = self._by_key.get((tr_id, code))
            if found is not None:
                return found
        raise KeyError(code)

    def busiest(self, tr_id: str | None = None) -> list[Instrument]:
        """The served instruments (that can be subscribed on ``tr_id``), busiest first: the
        market's trade rates now (``sim/liquidity.py``; most series trade a few times a day, a
        few all day long)."""
        rates = self.market.rates()
        mine = [i for i in self.instruments if tr_id is None or tr_id in i.tr_ids]
        return sorted(mine, key=lambda i: -rates.get(i.code, 0.0))

    def serves(self, tr_id: str, code: str) -> bool:
        """Whether a subscription to ``code`` under ``tr_id`` names something served."""
        return (tr_id, code) in self.served

    def clock(self) -> float:
        """Sim time now (POSIX seconds): wall-clock driven at finite speed, the market's at ∞."""
        if math.isinf(self.config.speed) or not self._running:
            return self._source.now
        loop = asyncio.get_running_loop()
        return self.start_time.timestamp() + (loop.time() - self._wall0) * self.config.speed

    async def broadcast(self, text: str, *, app_key: str | None = None) -> int:
        """Send ``text`` verbatim to every live session (of ``app_key``), in order with its other
        frames; returns once sent, with the number of sessions it went to."""
        loop = asyncio.get_running_loop()
        waits = []
        for session in self.sessions:
            if app_key is None or session.app_key == app_key:
                done: asyncio.Future[None] = loop.create_future()
                session.enqueue(text, done=done)
                waits.append(done)
        await Applied(*waits)
        return len(waits)

    def sample_record(self) -> tuple[str, str]:
        """A well-formed record that changes no market state (the base of malformed frames)."""
        inst = self.instruments[0]
        contract = Contract(inst, inst.underlying.price, 1000, 1000)
        contract.blanks = blanks_for(inst.tr_id, self.config.profile)
        quote = Quote(inst.underlying.price + 100, inst.underlying.price, 1, 1, 10, 10)
        price = inst.underlying.price
        contract.record_print("090000", price, 1, BUY, 0)
        fields = contract.futures_fields(
            "090000", price, 1, 0, spot=price, theo=float(price), near=price, far=price,
            quote=quote, limits=(price * 2, 0), dynamic=(0, 0, self.config.dynamic_limit_flags[0]),
        )  # fmt: skip
        return inst.tr_id, record_text(layout_for(inst.tr_id), fields)

    # --- sessions (called by the WebSocket server) -------------------------------------------

    def batch_opened(self, session: SimSession) -> None:
        """``session`` holds an open batch: flush it when the market's time passes its window."""
        self._batching.add(session)

    def new_session_id(self) -> int:
        self._session_ids += 1
        return self._session_ids

    def session_opened(self, session: SimSession) -> None:
        self._sessions[session.id] = session
        if self.config.ground_truth:
            self.sent[session.id] = []
        log.debug("session %d opened", session.id)

    def claim(self, app_key: str, session: SimSession) -> bool:
        """Bind ``app_key`` to ``session`` unless another session holds it (ref 3.2)."""
        holder = self._owners.get(app_key)
        if holder is not None and holder is not session:
            return False
        loop = asyncio.get_running_loop()
        if self._stale.get(app_key, 0.0) > loop.time():
            return False
        self._owners[app_key] = session
        return True

    def session_closed(self, session: SimSession, *, abrupt: bool) -> None:
        self._sessions.pop(session.id, None)
        for registration in list(session.registrations):
            self.unsubscribe(session, registration)
        self._batching.discard(session)
        key = session.app_key
        if key is not None and self._owners.get(key) is session:
            del self._owners[key]
            if abrupt and self.config.stale_session_seconds > 0:
                self._stale[key] = asyncio.get_running_loop().time() + self.config.stale_session_seconds
        log.debug("session %d closed%s", session.id, " abruptly" if abrupt else "")

    def subscribe(self, session: SimSession, registration: tuple[str, str]) -> None:
        if registration not in self.served:
            return  # a silent registration (SimConfig.unknown_codes): nothing ever trades under it
        holders = self._subscribers.setdefault(registration, set())
        if not holders:
            self._source.watch(*registration)
        holders.add(session)
        self._subscribed.set()

    def unsubscribe(self, session: SimSession, registration: tuple[str, str]) -> None:
        holders = self._subscribers.get(registration)
        if holders is not None:
            holders.discard(session)
            if not holders:
                del self._subscribers[registration]
                self._source.watch(*registration, on=False)
        if not self._subscribers:
            self._subscribed.clear()

    def record_sent(self, session: SimSession, tr_id: str, records: list[str]) -> None:
        session.last_record = (tr_id, records[-1])
        hook = self.config.on_record
        if not self.config.ground_truth and hook is None:
            return
        split = [text.split("^") for text in records]
        if self.config.ground_truth:
            self.sent.setdefault(session.id, []).extend((tr_id, fields) for fields in split)
        if hook is not None:
            for fields in split:
                hook(session.id, tr_id, fields)

    # --- the market loop ---------------------------------------------------------------------

    def _flush_due(self, t: float) -> None:
        for session in list(self._batching):
            if not session.flush_due(t):
                self._batching.discard(session)

    def _flush_all(self) -> None:
        for session in self._batching:
            session.flush()
        self._batching.clear()
        self._kick()

    def _kick(self) -> None:
        """Have every writer send what is queued now (they otherwise wait for a full run)."""
        for session in self._sessions.values():
            session.kick()
        self._kicked = asyncio.get_running_loop().time()

    async def _run_market(self) -> None:
        market, config = self._source, self.config
        infinite = math.isinf(config.speed)
        loop = asyncio.get_running_loop()
        start = self.start_time.timestamp()
        events = dispatched = 0
        self._kicked = loop.time()
        while True:
            if infinite and not self._subscribed.is_set():
                self._flush_all()
                await self._subscribed.wait()
            if not infinite and isinstance(market, Market):
                market.horizon = self.clock()  # the market may not run ahead of the clock
            event = market.next_event()
            if event is None:  # every contract expired (or the tape ended): nothing more to send
                self._flush_all()
                await asyncio.Event().wait()
                return
            self._flush_due(event.time)
            if not infinite:
                wait = (event.time - start) / config.speed - (loop.time() - self._wall0)
                if wait > 0:
                    self._kick()  # what is due goes out before the market sleeps
                    await asyncio.sleep(wait)
            records = event.records
            holders = self._subscribers.get((event.tr_id, event.code)) if records else None
            if not holders:
                events += 1
                if infinite and events % _YIELD_EVERY == 0:
                    if loop.time() - self._kicked > _KICK_AFTER:
                        self._kick()
                    await asyncio.sleep(0)  # stay responsive while trading unwatched codes
                continue
            tr_id, width = event.tr_id, event.width
            for session in list(holders):
                session.push_all(tr_id, records, event.time, width)
                if not session.room.is_set():  # back-pressure: wait for this reader
                    self._flush_all()
                    await session.room.wait()
            dispatched += 1
            if infinite and dispatched % _YIELD_DISPATCHED == 0:
                if loop.time() - self._kicked > _KICK_AFTER:
                    self._kick()
                await asyncio.sleep(0)  # let requests in (and writers with a full run send)

    async def _schedule(self, fault: ScheduledFault) -> None:
        loop = asyncio.get_running_loop()
        due = self._wall0 + fault.at
        while True:
            await asyncio.sleep(max(0.0, due - loop.time()))
            log.info("fault %s (scheduled at %.1f s)", fault.name, due - self._wall0)
            try:
                self.faults.apply(fault)
            except Exception:
                log.exception("fault %s failed", fault.name)
            if fault.every is None:
                return
            due += fault.every
