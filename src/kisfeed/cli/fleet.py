"""``kisfeed fleet``: feeders on NATS JetStream and their control (issue 17).

``feed`` runs a feeder with the app keys of its own configuration; ``add``/``remove`` change
what the fleet serves; ``status`` shows who serves what; ``demo`` runs a local fleet.

Every fleet command reaches NATS with the same options (``cli/nats_options.py``, as ``record
--from`` and ``watch --from``): ``--nats URL``
(``KISFEED_NATS_URL``) and the credentials a server may ask, best given in the environment
(``KISFEED_NATS_PASSWORD``, ``KISFEED_NATS_TOKEN``): options are visible in ``ps``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..exceptions import UsageError
from .common import (
    EXIT_FAILURE,
    AppKeyOption,
    AppSecretOption,
    ConfigOption,
    RestUrlOption,
    WsUrlOption,
    config_from,
    console,
    err_console,
    errors,
    plural,
    signals,
)
from .nats_options import (
    NatsCreds,
    NatsNkey,
    NatsPassword,
    NatsToken,
    NatsUser,
    TlsCa,
    TlsCert,
    TlsKey,
    nats_options,
)

if TYPE_CHECKING:
    from nats.aio.client import Client

    from ..fleet import NatsOptions
    from ..fleet.jetstream import Buckets, FleetSettings

__all__ = ["fleet_app", "NatsArguments"]

fleet_app = typer.Typer(
    name="fleet",
    help="Feeders on NATS JetStream: many app keys and machines, one stream of records.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

# --- the NATS options of every fleet command ------------------------------------------------------

NatsUrl = Annotated[
    str | None,
    typer.Option(
        "--nats",
        help="NATS server URL, or several comma-separated (default: KISFEED_NATS_URL, else nats://127.0.0.1:4222).",
    ),
]


class NatsArguments:
    """The NATS options of a command, gathered: ``.options()`` is the ``NatsOptions``."""

    def __init__(self, **given: Any) -> None:
        self.given = given

    def options(self) -> NatsOptions:
        return nats_options(**self.given)


@contextlib.asynccontextmanager
async def _connected(options: NatsOptions) -> AsyncIterator[tuple[Client, Buckets]]:
    from ..fleet import jetstream
    from ..fleet.control import open_buckets

    nc = await jetstream.connect(options)
    try:
        js = nc.jetstream()
        yield nc, await open_buckets(js)
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(nc.close(), 5)


LeaseSeconds = Annotated[
    float,
    typer.Option(
        "--lease-seconds",
        help="Seconds a dead feeder keeps its codes (the lease; one value for the whole fleet).",
    ),
]


def _settings(lease_seconds: float) -> FleetSettings:
    from ..fleet.jetstream import FleetSettings

    return FleetSettings(lease_seconds=lease_seconds)


# --- feed ------------------------------------------------------------------------------------------


def feed(
    nats: NatsUrl = None,
    feeder_id: Annotated[
        str | None, typer.Option("--id", help="This feeder's name in the fleet (default: HOST-PID).")
    ] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(
            "--metrics-port", help="Serve /metrics (Prometheus) on this port; 0: a free one, printed."
        ),
    ] = None,
    lease_seconds: LeaseSeconds = 6.0,
    app_key: AppKeyOption = None,
    app_secret: AppSecretOption = None,
    ws_url: WsUrlOption = None,
    rest_url: RestUrlOption = None,
    config_file: ConfigOption = None,
    nats_user: NatsUser = None,
    nats_password: NatsPassword = None,
    nats_token: NatsToken = None,
    nats_creds: NatsCreds = None,
    nats_nkey: NatsNkey = None,
    tls_ca: TlsCa = None,
    tls_cert: TlsCert = None,
    tls_key: TlsKey = None,
) -> None:
    """Run a feeder: claim wanted codes by leases, serve them with this machine's app keys and
    publish every record to the stream, until Ctrl-C (exit 130) or SIGTERM (exit 0). It then
    frees its codes at once for the other feeders.

    Its app keys (one session of 41 registrations each, reference 3.1) never leave this process.

    \b
    Examples:
      KISFEED_NATS_URL=nats://10.0.0.5:4222 kisfeed fleet feed --metrics-port 9108
      kisfeed fleet feed --nats nats://127.0.0.1:4222 --config feeder-a.toml --id feeder-a
    """
    from ..fleet.feeder import Feeder

    config = config_from(
        config_file, app_key=app_key, app_secret=app_secret, ws_url=ws_url, rest_url=rest_url
    )
    with errors():
        options = nats_options(
            nats,
            user=nats_user,
            password=nats_password,
            token=nats_token,
            creds=nats_creds,
            nkey=nats_nkey,
            tls_ca=tls_ca,
            tls_cert=tls_cert,
            tls_key=tls_key,
        )
        settings = _settings(lease_seconds)
        if not config.has_credentials:
            raise UsageError(
                "a feeder needs app keys: --app-key/--app-secret, KIS_APP_KEY/KIS_APP_SECRET or "
                "[[credentials]] in the config file"
            )
        kwargs = config.connect_kwargs()
        credentials = kwargs.pop("credentials")
        feeder = Feeder(
            options,
            credentials,
            feeder_id=feeder_id,
            settings=settings,
            connect_kwargs=kwargs,
            metrics_port=metrics_port,
        )

        def started(f: Feeder) -> None:
            console.print(
                f"feeder {f.id}: {plural(len(f.credentials), 'app key')}, capacity "
                f"{plural(f.capacity, 'registration')}, NATS {options.url_shown}, lease "
                f"{settings.lease_seconds:g} s"
                + (f", metrics {f.metrics_address}" if f.metrics_address else ""),
                markup=False,
            )

        async def main() -> None:
            stop = signals.stop_event()
            running = asyncio.create_task(feeder.run(stop, started))
            asked = asyncio.create_task(stop.wait())
            await asyncio.wait([running, asked], return_when=asyncio.FIRST_COMPLETED)
            asked.cancel()
            if not running.done() and not (await asyncio.wait([running], timeout=_STOP_GRACE))[0]:
                _exit_stuck(feeder.id, settings.lease_seconds)
            running.result()

        asyncio.run(main())
    s = feeder.status()
    err_console.print(
        f"feeder {feeder.id} stopped: {plural(s['published'], 'record')} published, "
        f"{plural(s['claims'], 'lease')} claimed, {plural(s['losses'], 'lease')} lost"
        + (f", {plural(s['overflow'], 'message')} lost to a full buffer" if s["overflow"] else "")
        + (f", {plural(s['pending'], 'record')} not acknowledged by NATS" if s["pending"] else ""),
        markup=False,
    )
    signals.exit_status()
    if s["overflow"] or s["pending"]:  # records that may be missing from the stream: not a clean stop
        raise typer.Exit(1)


#: Seconds a stopping feeder has to release its leases, publish what it holds and close.
_STOP_GRACE = 30.0


def _exit_stuck(feeder_id: str, lease_seconds: float) -> None:
    """A feeder asked to stop whose shutdown is stuck (a library that drops a cancellation, as
    Python 3.11's ``asyncio.wait_for`` may: ``Feeder._cancel``) exits anyway: a stopped feeder
    must not linger. What each task awaits goes to the log, one line."""
    import logging
    import os

    stuck = []
    for task in asyncio.all_tasks():
        frames = task.get_stack()
        where = f"{frames[-1].f_code.co_filename}:{frames[-1].f_lineno}" if frames else "?"
        stuck.append(f"{task.get_name()} at {where}")
    logging.getLogger("kisfeed.fleet").error("feeder %s: stuck stopping: %s", feeder_id, "; ".join(stuck))
    err_console.print(
        f"error: feeder {feeder_id} did not finish stopping within {_STOP_GRACE:g} s; exiting "
        f"(its leases expire within {lease_seconds:g} s)",
        markup=False,
    )
    sys.stderr.flush()
    os._exit(EXIT_FAILURE)


# --- add / remove ---------------------------------------------------------------------------------

_CODES_HELP = (
    "Instrument codes, as for kisfeed record: CODE... [--tr TR CODE...]... (a code before any --tr "
    "goes on its trade TR by its form)."
)


def _keys(
    codes: list[str], with_books: bool, with_expected: bool, master: Path | None, simulated: bool
) -> list[str]:
    """The registrations (``TR.code`` keys) of a command line, checked as ``record`` checks
    them: the TR of each code, then the codes against a master (``--master``, the simulator's
    instruments with ``--simulated``, else KIS's when it can be had)."""
    from ..fleet.jetstream import key_of
    from .codes import check_registrations, master_for_recording, resolve_codes
    from .record import plan_subscriptions

    plan = plan_subscriptions(codes, with_books=with_books, with_expected=with_expected)
    if not plan:
        raise UsageError("no code given (see kisfeed fleet add --help)")
    known = master_for_recording(simulated, master)
    if known is not None:
        wanted = list(dict.fromkeys(c for cs in plan.values() for c in cs))
        resolve_codes(known, wanted)
        check_registrations([e for e in known.entries if e.code in set(wanted)], plan)
    return [key_of(tr, code) for tr, cs in plan.items() for code in cs]


WithBooks = Annotated[
    bool, typer.Option("--with-books", help="Also each code's order book (its product's book TR).")
]
WithExpected = Annotated[
    bool, typer.Option("--with-expected", help="Also each code's expected price (stock products).")
]
MasterFile = Annotated[
    Path | None, typer.Option(help="A local master file to check the codes against (default: KIS's, cached).")
]
Simulated = Annotated[
    bool,
    typer.Option("--simulated", help="Check the codes against the simulator's instruments (kisfeed sim)."),
]


def _change(adding: bool, codes: list[str], with_books: bool, with_expected: bool, master: Path | None,
            simulated: bool, nats: NatsArguments) -> None:  # fmt: skip
    from ..fleet import control

    with errors():
        keys = _keys(codes, with_books, with_expected, master, simulated)
        options = nats.options()

        async def main() -> int:
            async with _connected(options) as (_nc, buckets):
                return await (control.add if adding else control.remove)(buckets, keys)

        changed = asyncio.run(main())
    if adding:
        console.print(
            f"{plural(len(keys), 'registration')} wanted ({changed:,} new) on {options.url_shown}",
            markup=False,
        )
    else:
        console.print(
            f"{plural(changed, 'registration')} no longer wanted"
            + (f" ({len(keys) - changed:,} were not)" if changed < len(keys) else ""),
            markup=False,
        )


def add(
    codes: Annotated[list[str], typer.Argument(help=_CODES_HELP, show_default=False)],
    with_books: WithBooks = False,
    with_expected: WithExpected = False,
    master: MasterFile = None,
    simulated: Simulated = False,
    nats: NatsUrl = None,
    nats_user: NatsUser = None,
    nats_password: NatsPassword = None,
    nats_token: NatsToken = None,
    nats_creds: NatsCreds = None,
    nats_nkey: NatsNkey = None,
    tls_ca: TlsCa = None,
    tls_cert: TlsCert = None,
    tls_key: TlsKey = None,
) -> None:
    """Make the fleet serve codes: each (TR, code) is a registration one feeder claims.

    \b
    Examples:
      kisfeed fleet add A11612 B11612007 --with-books
      kisfeed fleet add --tr H0IFCNT0 A01612 --simulated
    """
    _change(True, codes, with_books, with_expected, master, simulated,
            NatsArguments(url=nats, user=nats_user, password=nats_password, token=nats_token, creds=nats_creds,
                          nkey=nats_nkey, tls_ca=tls_ca, tls_cert=tls_cert, tls_key=tls_key))  # fmt: skip


def remove(
    codes: Annotated[list[str], typer.Argument(help=_CODES_HELP, show_default=False)],
    with_books: WithBooks = False,
    with_expected: WithExpected = False,
    master: MasterFile = None,
    simulated: Simulated = False,
    nats: NatsUrl = None,
    nats_user: NatsUser = None,
    nats_password: NatsPassword = None,
    nats_token: NatsToken = None,
    nats_creds: NatsCreds = None,
    nats_nkey: NatsNkey = None,
    tls_ca: TlsCa = None,
    tls_cert: TlsCert = None,
    tls_key: TlsKey = None,
) -> None:
    """Stop serving codes: their feeders unsubscribe and free the leases.

    Example: kisfeed fleet remove A11612 --with-books
    """
    _change(False, codes, with_books, with_expected, master, simulated,
            NatsArguments(url=nats, user=nats_user, password=nats_password, token=nats_token, creds=nats_creds,
                          nkey=nats_nkey, tls_ca=tls_ca, tls_cert=tls_cert, tls_key=tls_key))  # fmt: skip


# --- status -----------------------------------------------------------------------------------------


async def fleet_status(options: NatsOptions) -> dict[str, Any]:
    from ..fleet import control

    async with _connected(options) as (nc, buckets):
        return await control.status(nc.jetstream(), buckets)


def print_status(found: dict[str, Any]) -> None:
    """The status as lines a person reads."""
    feeders = found["feeders"]
    console.print(f"{plural(len(feeders), 'feeder')}:", markup=False)
    for f in feeders:
        load = f"{f.get('serving', 0)}/{f.get('capacity', 0)}"
        console.print(
            f"  {f.get('id')} on {f.get('host')} pid {f.get('pid')}: serving {load}, "
            f"{plural(f.get('app_keys', 0), 'app key')}, {f.get('sessions', 0)} connected, "
            f"published {f.get('published', 0):,}, pending {f.get('pending', 0):,}, errors {f.get('errors', 0):,}"
            + (f", metrics {f['metrics']}" if f.get("metrics") else ""),
            markup=False,
        )
    served, unserved = found["served"], found["unserved"]
    console.print(
        f"{plural(found['wanted'], 'registration')} wanted, {len(served):,} served, {len(unserved):,} unserved",
        markup=False,
    )
    by_feeder: dict[str, list[str]] = {}
    for key, owner in served.items():
        by_feeder.setdefault(owner, []).append(key)
    for owner, keys in sorted(by_feeder.items()):
        console.print(f"  {owner}: {' '.join(keys)}", markup=False)
    if unserved:
        console.print(f"  unserved: {' '.join(unserved)}", markup=False)
    stream = found["stream"]
    if stream is None:
        console.print("stream: none yet", markup=False)
    else:
        console.print(
            f"stream: {plural(stream['messages'], 'message')}, {stream['bytes']:,} bytes, last sequence {stream['last_seq']:,}",
            markup=False,
        )
    for c in found["consumers"]:
        console.print(
            f"  consumer {c['name']}: {c['pending']:,} behind, {c['ack_pending']:,} awaiting acknowledgement",
            markup=False,
        )


def status(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object, for machines.")] = False,
    nats: NatsUrl = None,
    nats_user: NatsUser = None,
    nats_password: NatsPassword = None,
    nats_token: NatsToken = None,
    nats_creds: NatsCreds = None,
    nats_nkey: NatsNkey = None,
    tls_ca: TlsCa = None,
    tls_cert: TlsCert = None,
    tls_key: TlsKey = None,
) -> None:
    """Show the feeders, their load, who serves each wanted code, the unserved ones, the
    stream and how far behind each durable consumer is.

    Example: kisfeed fleet status --json
    """
    with errors():
        options = nats_options(
            nats,
            user=nats_user,
            password=nats_password,
            token=nats_token,
            creds=nats_creds,
            nkey=nats_nkey,
            tls_ca=tls_ca,
            tls_cert=tls_cert,
            tls_key=tls_key,
        )
        found = asyncio.run(fleet_status(options))
    if as_json:
        sys.stdout.write(json.dumps(found) + "\n")
    else:
        print_status(found)


# --- registration (the app adds this sub-app: cli/app.py) -------------------------------------------

from .common import checked  # noqa: E402

# ignore_unknown_options: '--tr TR' groups stay among the codes, in order (record.plan_subscriptions)
_CODES = {"ignore_unknown_options": True}
fleet_app.command("feed", short_help="Run a feeder: claim codes, serve them, publish every record.")(
    checked(feed)
)
fleet_app.command("add", short_help="Make the fleet serve codes.", context_settings=_CODES)(checked(add))
fleet_app.command("remove", short_help="Stop serving codes.", context_settings=_CODES)(checked(remove))
fleet_app.command("status", short_help="Feeders, who serves what, the stream and consumer lag.")(
    checked(status)
)


# --- demo ------------------------------------------------------------------------------------------

#: The demo's app keys: the embedded simulator's own, one per feeder (never a real account's).
_DEMO_KEYS = [("PSdemo-fleet-key-a", "demo-fleet-secret-a"), ("PSdemo-fleet-key-b", "demo-fleet-secret-b")]


def _demo_codes(instruments: list[Any]) -> list[str]:
    """The KOSPI200 front-month future and the front-month futures and at-the-money-ish calls of
    three stocks of the simulator, as ``TR.code`` keys."""
    from ..fleet.jetstream import key_of

    keys: list[str] = []
    index = [i for i in instruments if i.tr_id == "H0IFCNT0"]
    if index:
        keys.append(key_of("H0IFCNT0", min(index, key=lambda i: i.expiry).code))
    stocks = list(dict.fromkeys(i.underlying.code for i in instruments if i.tr_id == "H0ZFCNT0"))[:3]
    for stock in stocks:
        mine = [i for i in instruments if i.underlying.code == stock and i.month == 1]
        keys += [key_of(i.tr_id, i.code) for i in mine if i.kind == "future"][:1]
        calls = sorted((i for i in mine if i.kind == "call"), key=lambda i: i.strike or 0)
        keys += [key_of(i.tr_id, i.code) for i in calls[len(calls) // 2 : len(calls) // 2 + 2]]
    return keys


def demo(
    seconds: Annotated[
        float | None, typer.Option(help="Stop after this many seconds (default: Ctrl-C).")
    ] = None,
    nats: NatsUrl = None,
    nats_user: NatsUser = None,
    nats_password: NatsPassword = None,
    nats_token: NatsToken = None,
    nats_creds: NatsCreds = None,
    nats_nkey: NatsNkey = None,
    tls_ca: TlsCa = None,
    tls_cert: TlsCert = None,
    tls_key: TlsKey = None,
) -> None:
    """A local fleet on a running nats-server (nats-server -js): a simulator with two app keys,
    two feeder processes (one key each) and a few wanted codes; the status every few seconds.
    Ctrl-C stops it all (the demo's codes are removed again).

    \b
    Examples:
      nats-server -js &   kisfeed fleet demo --seconds 30
      kisfeed fleet demo --nats nats://127.0.0.1:4222
    """
    import dataclasses
    import os
    import sys
    import tempfile
    import time

    from ..fleet import control
    from ..sim import Simulator
    from .embedded import describe_embedded, embedded_config

    with errors():
        options = nats_options(
            nats,
            user=nats_user,
            password=nats_password,
            token=nats_token,
            creds=nats_creds,
            nkey=nats_nkey,
            tls_ca=tls_ca,
            tls_cert=tls_cert,
            tls_key=tls_key,
        )
        config = dataclasses.replace(embedded_config(), app_keys=dict(_DEMO_KEYS), always_open=True)

        async def main() -> None:
            stop = signals.stop_event()
            async with _connected(options):  # the server first: no demo without it
                pass
            async with Simulator(config) as sim:
                err_console.print(f"simulator at {sim.ws_url}; " + describe_embedded(config), markup=False)
                keys = _demo_codes(sim.instruments)
                children: list[asyncio.subprocess.Process] = []
                with tempfile.TemporaryDirectory() as cache:
                    try:
                        for n, (key, secret) in enumerate(_DEMO_KEYS):
                            env = {**os.environ, "KIS_APP_KEY": key, "KIS_APP_SECRET": secret,
                                   "KISFEED_CACHE_DIR": str(Path(cache) / str(n)),
                                   "KISFEED_NATS_URL": options.url}  # fmt: skip
                            # NATS secrets by the environment, never on a command line (ps)
                            env.update({k: v for k, v in (("KISFEED_NATS_USER", options.user),
                                        ("KISFEED_NATS_PASSWORD", options.password),
                                        ("KISFEED_NATS_TOKEN", options.token)) if v})  # fmt: skip
                            command = [sys.executable, "-m", "kisfeed", "fleet", "feed", "--id", f"demo-{'ab'[n]}",
                                       "--ws-url", sim.ws_url, "--rest-url", sim.rest_url]  # fmt: skip
                            children.append(await asyncio.create_subprocess_exec(*command, env=env))
                            err_console.print(
                                f"started feeder demo-{'ab'[n]} (pid {children[-1].pid})", markup=False
                            )
                        async with _connected(options) as (nc, buckets):
                            # both feeders up before the codes are wanted, so that they share
                            # them: a feeder alone takes every unserved code (no rebalancing)
                            deadline = time.monotonic() + 30
                            while time.monotonic() < deadline and not stop.is_set():
                                found = await control.status(nc.jetstream(), buckets)
                                ids = {f.get("id") for f in found["feeders"]}
                                if {"demo-a", "demo-b"} <= ids or any(
                                    c.returncode is not None for c in children
                                ):
                                    break
                                await asyncio.sleep(0.2)
                            new = await control.add(buckets, keys)
                        err_console.print(f"wanted: {' '.join(keys)} ({new} new)", markup=False)
                        started = time.monotonic()
                        while not stop.is_set():
                            if seconds is not None and time.monotonic() - started >= seconds:
                                break
                            if any(c.returncode is not None for c in children):
                                raise UsageError("a feeder stopped (see its error above)")
                            with contextlib.suppress(asyncio.TimeoutError):
                                await asyncio.wait_for(stop.wait(), min(3.0, seconds or 3.0))
                            print_status(await fleet_status(options))
                    finally:
                        for child in children:
                            if child.returncode is None:
                                child.terminate()
                        for child in children:
                            try:  # a feeder gives itself _STOP_GRACE to stop, then exits anyway
                                await asyncio.wait_for(child.wait(), _STOP_GRACE + 5)
                            except TimeoutError:
                                child.kill()
                        with contextlib.suppress(Exception):
                            async with _connected(options) as (_nc, buckets):
                                await control.remove(buckets, keys)
                        err_console.print(
                            "demo stopped: feeders ended, the demo's codes removed", markup=False
                        )

        asyncio.run(main())
    signals.exit_status()


fleet_app.command("demo", short_help="A local fleet: simulator, two feeders, a few codes, the status.")(
    checked(demo)
)
