"""``kisfeed sim``: run the local KIS simulator (``kisfeed.sim``) until interrupted."""

from __future__ import annotations

import asyncio
import math
from datetime import datetime
from pathlib import Path
from typing import IO, Annotated, Optional

import msgspec
import typer
from rich.console import Console

from ..schema.records import KST
from ..sim import DEMO_APP_KEY, DEMO_APP_SECRET, SimConfig, Simulator, parse_fault, write_master
from ..sim.faults import FAULT_NAMES, ScheduledFault

__all__ = ["sim"]

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)

_FAULT_HELP = (
    "Inject a fault: NAME[=VALUE]@SECONDS[,every=SECONDS][,app_key=KEY], seconds after start. "
    f"Names: {', '.join(FAULT_NAMES)}. E.g. drop@30, stall=5@60,every=120, malformed=3@10, "
    "delay-acks=2@0, withhold-acks@0, refuse-approval@0, close=1001@20, restart@90. Repeatable."
)


def _fail(message: str) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {message}")
    return typer.Exit(2)


def _app_keys(pairs: list[str]) -> dict[str, str]:
    keys: dict[str, str] = {}
    for pair in pairs:
        key, sep, secret = pair.partition(":")
        if not sep or not key or not secret:
            raise _fail("--app-key takes KEY:SECRET")
        keys[key] = secret
    return keys


def _start(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise _fail(f"--start takes an ISO date-time such as 2026-11-20T09:00 (KST), not {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=KST)


def sim(
    port: Annotated[int, typer.Option(help="WebSocket port (0 picks a free one).")] = 21000,
    rest_port: Annotated[int, typer.Option(help="Approval endpoint port (0 picks a free one).")] = 9443,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    app_key: Annotated[
        Optional[list[str]], typer.Option("--app-key", help="KEY:SECRET accepted by the approval endpoint. Repeatable.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Market seed: same seed and start, same trades.")] = 1,
    speed: Annotated[float, typer.Option(help="Sim seconds per second; 'inf' = as fast as clients read.")] = 1.0,
    start: Annotated[Optional[str], typer.Option(help="Sim clock at start, ISO (KST if no zone); default now.")] = None,
    always_open: Annotated[bool, typer.Option("--always-open", help="Trade around the clock.")] = False,
    ping_interval: Annotated[
        float, typer.Option("--ping-interval", "--pingpong-interval", help="Seconds between PINGPONGs.")
    ] = 10.0,
    pong_timeout: Annotated[float, typer.Option(help="Close a session whose PINGPONG goes unanswered this long.")] = 100.0,
    client_ping: Annotated[str, typer.Option(help="Client ping frames: tolerate or error-and-close.")] = "tolerate",
    max_registrations: Annotated[int, typer.Option(help="Registrations per session (KIS: 41).")] = 41,
    batch_window: Annotated[float, typer.Option(help="Sim seconds of trades packed into one frame.")] = 0.0,
    stale_session: Annotated[float, typer.Option(help="Seconds an app key stays in use after an abrupt drop.")] = 0.0,
    fault: Annotated[Optional[list[str]], typer.Option("--fault", help=_FAULT_HELP)] = None,
    replay: Annotated[
        Optional[list[Path]],
        typer.Option(help="Serve the data frames of these kisfeed journals instead of the market. Repeatable."),
    ] = None,
    ground_truth: Annotated[
        Optional[Path], typer.Option(help="Append every record sent as JSON lines (session, tr_id, fields).")
    ] = None,
    list_instruments: Annotated[bool, typer.Option("--list-instruments", help="Print the instruments and exit.")] = False,
    write_master_path: Annotated[
        Optional[Path], typer.Option("--write-master", help="Write the universe as fo_stk_code_mts.mst and exit.")
    ] = None,
) -> None:
    """Run a local KIS real-time server (WebSocket + approval endpoint) with a simulated market.

    Prints the WebSocket URL, the approval URL and the app key in use, then serves until Ctrl-C.
    """
    keys = _app_keys(app_key or [])
    source = None
    if replay:
        from ..store.replay import data_frames

        for path in replay:
            if not path.exists():
                raise _fail(f"--replay: no such journal {path}")
        paths = list(replay)

        def source():  # type: ignore[no-redef]
            return ((ns, text) for ns, _session, text in data_frames(*paths))

    try:
        faults: tuple[ScheduledFault, ...] = tuple(parse_fault(text) for text in fault or [])
    except ValueError as exc:
        raise _fail(f"--fault: {exc}") from None
    try:
        config = SimConfig(
            host=host, port=port, rest_port=rest_port, app_keys=keys or {DEMO_APP_KEY: DEMO_APP_SECRET},
            seed=seed, start=_start(start), speed=speed, always_open=always_open,
            ping_interval=ping_interval, pong_timeout=pong_timeout, client_ping=client_ping,  # type: ignore[arg-type]
            max_registrations=max_registrations, batch_window=batch_window,
            stale_session_seconds=stale_session, faults=faults, replay=source,
            ground_truth=False,  # a long-running server keeps nothing in memory; see --ground-truth
        )  # fmt: skip
    except ValueError as exc:
        raise _fail(str(exc)) from None
    if list_instruments:
        listing = Simulator(config)
        if listing.tape is not None:  # a replay serves the codes on its tape
            print("code\ttr_id")
            for tr_id, code in sorted(listing.served, key=lambda pair: (pair[0], pair[1])):
                print(f"{code}\t{tr_id}")
            return
        print("code\ttr_id\tunderlying_code\tunderlying_name\tkind\texpiry\tstrike")
        for i in listing.instruments:
            strike = "" if i.strike is None else str(i.strike)
            print(f"{i.code}\t{i.tr_id}\t{i.underlying_code}\t{i.underlying_name}\t{i.kind}\t{i.expiry}\t{strike}")
        return
    if write_master_path is not None:
        instruments = Simulator(config).instruments
        try:
            path = write_master(write_master_path, instruments)
        except OSError as exc:
            raise _fail(f"cannot write {write_master_path}: {exc}") from None
        console.print(f"wrote {len(instruments)} instruments to {path}")
        return
    sink: IO[bytes] | None = None
    if ground_truth is not None:
        try:
            sink = ground_truth.open("ab")
        except OSError as exc:
            raise _fail(f"cannot open {ground_truth}: {exc}") from None
        write, encode = sink.write, msgspec.json.encode

        def record(session_id: int, tr_id: str, fields: list[str]) -> None:
            write(encode({"session": session_id, "tr_id": tr_id, "fields": fields}) + b"\n")

        config = config.with_(on_record=record)
    simulator = Simulator(config)
    try:
        asyncio.run(_serve(simulator, demo=not keys))
    except KeyboardInterrupt:
        console.print("stopped")
        err_console.print("interrupted")
        raise typer.Exit(130) from None  # Ctrl-C: 130, as for every kisfeed command
    except OSError as exc:  # e.g. the port is taken
        raise _fail(f"cannot listen: {exc}") from None
    finally:
        if sink is not None:
            sink.close()


async def _serve(simulator: Simulator, *, demo: bool) -> None:
    async with simulator:
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
            console.print(f"  Replay      {len(simulator.served)} codes, {pace}, recorded from {began:%Y-%m-%d %H:%M:%S} KST")
        else:
            hours = "always open" if config.always_open else "KRX hours 09:00-15:45 KST, weekdays"
            opens = datetime.fromtimestamp(simulator.market.now, KST)
            console.print(f"  Market      seed {config.seed}, {pace}, {hours}; trading from {opens:%Y-%m-%d %H:%M} KST")
            console.print(f"  Instruments {len(simulator.instruments)} (kisfeed sim --list-instruments)")
        for scheduled in config.faults:
            console.print(f"  Fault       {scheduled.name} at {scheduled.at:g} s")
        console.print("Serving; Ctrl-C to stop.")
        await asyncio.Event().wait()
