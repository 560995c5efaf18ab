"""``kisfeed sim``: run the local KIS simulator (``kisfeed.sim``) until interrupted."""

from __future__ import annotations

import asyncio
import contextlib
import math
import signal
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Annotated

import msgspec
import typer

from ..schema.master import INDEX_MASTER_NAME
from ..schema.records import KST
from ..sim import (
    DEMO_APP_KEY,
    DEMO_APP_SECRET,
    SimConfig,
    Simulator,
    parse_fault,
    write_index_master,
    write_master,
)
from ..sim.faults import FAULT_NAMES, ScheduledFault
from ..sim.tape import FrameSource
from .common import EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_USAGE, console, err_console, fail

__all__ = ["sim"]

# How often the ground-truth file is flushed: what a kill -9 can cost it, at most.
_FLUSH_EVERY = 0.2

_FAULT_HELP = (
    "Inject a fault: NAME[=VALUE]@SECONDS (seconds after start), then optionally ,every=SECONDS "
    "and ,app_key=KEY. "
    f"Names: {', '.join(FAULT_NAMES)}. E.g. drop@30, stall=5@60,every=120, malformed=3@10, "
    "delay-acks=2@0, withhold-acks@0, refuse-approval@0, close=1001@20, restart@90. Repeatable."
)


def _app_keys(pairs: list[str]) -> dict[str, str]:
    keys: dict[str, str] = {}
    for pair in pairs:
        key, sep, secret = pair.partition(":")
        if not sep or not key or not secret:
            raise fail("--app-key takes KEY:SECRET", EXIT_USAGE)
        keys[key] = secret
    return keys


def _start(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise fail(
            f"--start takes an ISO date-time such as 2026-11-20T09:00 (KST), not {text!r}", EXIT_USAGE
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=KST)


def sim(
    port: Annotated[int, typer.Option(help="WebSocket port (0 picks a free one).")] = 21000,
    rest_port: Annotated[int, typer.Option(help="Approval endpoint port (0 picks a free one).")] = 9443,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    app_key: Annotated[
        list[str] | None,
        typer.Option("--app-key", help="KEY:SECRET accepted by the approval endpoint. Repeatable."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Market seed: same seed and start, same trades.")] = 1,
    speed: Annotated[
        float, typer.Option(help="Sim seconds per second; 'inf' = as fast as clients read.")
    ] = 1.0,
    start: Annotated[
        str | None, typer.Option(help="Sim clock at start, ISO (KST if no zone); default now.")
    ] = None,
    always_open: Annotated[bool, typer.Option("--always-open", help="Trade around the clock.")] = False,
    activity: Annotated[
        float, typer.Option(help="Trade rates x this (1: the calibrated market, most series quiet).")
    ] = 1.0,
    ping_interval: Annotated[
        float, typer.Option("--ping-interval", "--pingpong-interval", help="Seconds between PINGPONGs.")
    ] = 10.0,
    pong_timeout: Annotated[
        float, typer.Option(help="Close a session whose PINGPONG goes unanswered this long.")
    ] = 100.0,
    client_ping: Annotated[
        str, typer.Option(help="Client ping frames: tolerate or error-and-close.")
    ] = "tolerate",
    max_registrations: Annotated[int, typer.Option(help="Registrations per session (KIS: 41).")] = 41,
    batch_window: Annotated[float, typer.Option(help="Sim seconds of trades packed into one frame.")] = 0.0,
    stale_session: Annotated[
        float, typer.Option(help="Seconds an app key stays in use after an abrupt drop.")
    ] = 0.0,
    unknown_codes: Annotated[
        str, typer.Option(help="Codes not served: silence (OPSP0000, no data) or refuse (OPSP8992).")
    ] = "silence",
    profile: Annotated[
        str, typer.Option(help="observed: fields the live feed leaves empty are empty; filled: all set.")
    ] = "observed",
    volatility_unit: Annotated[
        str, typer.Option(help="HTS_INTS_VLTL/UNAS_HIST_VLTL as fraction (0.31) or percent (31.42).")
    ] = "fraction",
    greek_decimals: Annotated[int, typer.Option(help="Decimals of DELTA/GAMA/VEGA/THETA/RHO.")] = 2,
    book_interval: Annotated[
        float, typer.Option(help="Seconds between two books of one contract (KIS filters to 0.2).")
    ] = 0.2,
    expected_codes: Annotated[
        str,
        typer.Option(
            help="ANTC_MKOP_CLS_CODE of the opening and the closing auction's expected prices, "
            "OPEN,CLOSE (undocumented for derivatives: the stock codes by default)."
        ),
    ] = "311,121",
    fault: Annotated[list[str] | None, typer.Option("--fault", help=_FAULT_HELP)] = None,
    replay: Annotated[
        list[Path] | None,
        typer.Option(
            help="Serve the data frames of these kisfeed journals instead of the market. Repeatable."
        ),
    ] = None,
    ground_truth: Annotated[
        Path | None,
        typer.Option(
            help="Append every record sent as JSON lines (session, tr_id, fields); "
            f"flushed every {_FLUSH_EVERY:g} s and on exit."
        ),
    ] = None,
    list_instruments: Annotated[
        bool,
        typer.Option(
            "--list-instruments",
            help="Print the instruments, each with the TRs it can be subscribed on (tr_ids), and exit.",
        ),
    ] = False,
    write_master_path: Annotated[
        Path | None,
        typer.Option(
            "--write-master",
            help="Write the universe as fo_stk_code_mts.mst (the KOSPI200 products as "
            "fo_idx_code_mts.mst beside it) and exit.",
        ),
    ] = None,
) -> None:
    """Run a local KIS real-time server (WebSocket + approval endpoint) with a simulated market.

    Prints the WebSocket URL, the approval URL and the app key in use, then serves until Ctrl-C
    (exit 130) or SIGTERM (exit 0); either way --ground-truth is complete when it exits.

    Examples: kisfeed sim --port 0 --always-open --speed 10 · kisfeed sim --fault drop@30,every=60
    """
    keys = _app_keys(app_key or [])
    source: FrameSource | None = None
    if replay:
        from ..store.playback import data_frames

        for path in replay:
            if not path.exists():
                raise fail(f"--replay: no such journal {path}", EXIT_USAGE)
        paths = list(replay)

        def frames() -> Iterator[tuple[int, str]]:
            return ((ns, text) for ns, _session, text in data_frames(*paths))

        source = frames

    try:
        faults: tuple[ScheduledFault, ...] = tuple(parse_fault(text) for text in fault or [])
    except ValueError as exc:
        raise fail(f"--fault: {exc}", EXIT_USAGE) from None
    try:
        config = SimConfig(
            host=host, port=port, rest_port=rest_port, app_keys=keys or {DEMO_APP_KEY: DEMO_APP_SECRET},
            seed=seed, start=_start(start), speed=speed, always_open=always_open, activity=activity,
            ping_interval=ping_interval, pong_timeout=pong_timeout, client_ping=client_ping,  # type: ignore[arg-type]  # a str from the command line: SimConfig refuses any other value
            max_registrations=max_registrations, batch_window=batch_window,
            unknown_codes=unknown_codes, profile=profile, volatility_unit=volatility_unit,  # type: ignore[arg-type]  # strs from the command line: SimConfig refuses any other value
            greek_decimals=greek_decimals, book_interval=book_interval,
            expected_codes=tuple(expected_codes.split(",")),  # type: ignore[arg-type]  # SimConfig checks there are two
            stale_session_seconds=stale_session, faults=faults, replay=source,
            ground_truth=False,  # a long-running server keeps nothing in memory; see --ground-truth
        )  # fmt: skip
    except ValueError as exc:
        raise fail(str(exc), EXIT_USAGE) from None
    if list_instruments:
        listing = Simulator(config)
        if listing.tape is not None:  # a replay serves the codes on its tape
            print("code\ttr_id")
            for tr_id, code in sorted(listing.served, key=lambda pair: (pair[0], pair[1])):
                print(f"{code}\t{tr_id}")
            return
        # tr_id: the trade TR, as before; tr_ids: every TR the instrument can be subscribed on,
        # trades, book, expected (reference 4.5), last so that the columns before keep their place;
        # the TRs of the instrument's market (stock, KOSPI200 index, night: reference 4.6)
        print("code\ttr_id\tunderlying_code\tunderlying_name\tkind\texpiry\tstrike\ttr_ids")
        for i in listing.instruments:
            strike = "" if i.master_strike is None else f"{i.master_strike:.2f}".rstrip("0").rstrip(".")
            print(
                f"{i.code}\t{i.tr_id}\t{i.underlying_code}\t{i.underlying_name}\t{i.kind}\t{i.expiry}\t{strike}"
                f"\t{','.join(i.tr_ids)}"
            )
        return
    if write_master_path is not None:
        instruments = Simulator(config).instruments
        index = [i for i in instruments if i.market == "index"]
        try:
            path = write_master(write_master_path, instruments)
            if index:  # KIS ships the index products in their own master (reference 5.4)
                index_path = write_index_master(path.with_name(INDEX_MASTER_NAME), index)
        except OSError as exc:
            raise fail(f"cannot write {write_master_path}: {exc}", EXIT_USAGE) from None
        console.print(f"wrote {len(instruments) - len(index)} instruments to {path}")
        if index:
            console.print(f"wrote {len(index)} instruments to {index_path}")
        return
    truth: _GroundTruth | None = None
    if ground_truth is not None:
        try:
            truth = _GroundTruth(ground_truth)
        except OSError as exc:
            raise fail(f"cannot open {ground_truth}: {exc}", EXIT_USAGE) from None
        config = config.with_(on_record=truth.record)
    simulator = Simulator(config)
    why = "interrupted"  # a Ctrl-C before the loop's handler is in place arrives as KeyboardInterrupt
    try:
        why = asyncio.run(_serve(simulator, demo=not keys, truth=truth))
    except KeyboardInterrupt:
        pass
    except OSError as exc:  # e.g. the port is taken
        raise fail(f"cannot listen: {exc}", EXIT_USAGE) from None
    finally:
        if truth is not None:
            truth.close()  # every line of every record sent, flushed
    if truth is not None and truth.error is not None:
        err_console.print(
            f"[bold red]error:[/] cannot write {ground_truth}: {truth.error.strerror or truth.error}"
        )
        raise typer.Exit(EXIT_FAILURE)
    written = "" if truth is None else f"; {truth.lines:,} records in {ground_truth}"
    console.print(f"stopped ({why}){written}")
    if why == "interrupted":
        err_console.print("interrupted")  # as every kisfeed command says it on Ctrl-C
        raise typer.Exit(EXIT_INTERRUPTED)


class _GroundTruth:
    """``--ground-truth``: one JSON line per record sent (session, tr_id, fields), in the order
    the records went on the wire.

    Lines are kept in memory and written, whole, every ``_FLUSH_EVERY`` seconds and when the
    simulator stops (Ctrl-C, SIGTERM): a stop loses no line, a ``kill -9`` the lines of the last
    ``_FLUSH_EVERY`` seconds at most, and the file never ends in half a line. A write error
    stops the simulator (exit 1), so a file with a hole is never taken for the whole truth."""

    def __init__(self, path: Path) -> None:
        self._file = path.open("ab", buffering=0)
        self._pending: list[bytes] = []
        self._encode = msgspec.json.encode
        self.lines = 0
        self.error: OSError | None = None
        self.on_error: Callable[[], None] = lambda: None

    def record(self, session_id: int, tr_id: str, fields: list[str]) -> None:
        self._pending.append(self._encode({"session": session_id, "tr_id": tr_id, "fields": fields}) + b"\n")

    def flush(self) -> None:
        if not self._pending or self.error is not None:
            return
        lines, self._pending = self._pending, []
        data = memoryview(b"".join(lines))
        try:
            while data:  # unbuffered: whole lines, and a short write is finished, not dropped
                data = data[self._file.write(data) :]
        except OSError as exc:
            self.error = exc
            self.on_error()
            return
        self.lines += len(lines)

    async def flush_periodically(self) -> None:
        while self.error is None:
            await asyncio.sleep(_FLUSH_EVERY)
            self.flush()

    def close(self) -> None:
        self.on_error = lambda: None  # the loop has ended: nothing left to stop
        self.flush()
        self._file.close()


async def _serve(simulator: Simulator, *, demo: bool, truth: _GroundTruth | None) -> str:
    """Serve until SIGINT ("interrupted"), SIGTERM ("terminated") or a ground-truth write error
    ("write error"): the handlers end the loop in order, so ``Simulator.stop`` runs and every
    record sent reaches the ground-truth file."""
    loop = asyncio.get_running_loop()
    stopped: asyncio.Future[str] = loop.create_future()

    def stop(why: str) -> None:
        if not stopped.done():
            stopped.set_result(why)

    signals = [(signal.SIGINT, "interrupted"), (signal.SIGTERM, "terminated")]
    for sig, why in signals:
        with contextlib.suppress(NotImplementedError, RuntimeError):  # no signal handlers on this platform
            loop.add_signal_handler(sig, stop, why)
    flusher: asyncio.Task[None] | None = None
    if truth is not None:
        truth.on_error = lambda: stop("write error")
    try:
        async with simulator:
            if truth is not None:
                flusher = asyncio.create_task(truth.flush_periodically())
            _banner(simulator, demo=demo)
            return await stopped
    finally:
        if flusher is not None:
            flusher.cancel()
        if truth is not None:  # the simulator has stopped: write the tail while the handlers
            truth.flush()  # are still in place (a second SIGTERM after them would kill the process)
        for sig, _ in signals:
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)


def _banner(simulator: Simulator, *, demo: bool) -> None:
    config = simulator.config
    console.print("[bold]kisfeed simulator[/]")
    console.print(f"  WebSocket   {simulator.ws_url}")
    console.print(f"  Approval    {simulator.approval_url}  (REST base {simulator.rest_url})")
    if demo:
        console.print(f"  App key     {DEMO_APP_KEY}   secret {DEMO_APP_SECRET}   (demo pair)")
    else:  # the user's own credentials: never print a secret
        console.print(f"  App keys    {', '.join(config.app_keys)}   (secrets not shown)")
    pace = "as fast as clients read" if math.isinf(config.speed) else f"{config.speed:g}x real time"
    if simulator.tape is not None:
        began = datetime.fromtimestamp(simulator.start_time.timestamp(), KST)
        console.print(
            f"  Replay      {len(simulator.served)} codes, {pace}, recorded from {began:%Y-%m-%d %H:%M:%S} KST"
        )
    else:
        market = simulator.market
        if config.always_open:
            hours = "always open"
        else:
            session = market.calendar.session(market.day)
            hours = f"KRX calendar (holidays skipped), {session.describe()}"
        opens = datetime.fromtimestamp(max(market.now, market.times.open), KST)
        console.print(
            f"  Market      seed {config.seed}, {pace}, {hours}; trading from {opens:%Y-%m-%d %H:%M} KST"
        )
        console.print(f"  Instruments {len(simulator.instruments)} (kisfeed sim --list-instruments)")
    for scheduled in config.faults:
        console.print(f"  Fault       {scheduled.name} at {scheduled.at:g} s")
    console.print("Serving; Ctrl-C to stop.")
