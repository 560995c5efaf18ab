"""``kisfeed record``: what it subscribes (codes grouped by TR), then the recording itself.

Recording connects with the client's settings: ``--app-key``/``--app-secret`` or
``KIS_APP_KEY``/``KIS_APP_SECRET`` (or the config file), endpoints from ``--ws-url``/``--rest-url``
or ``KIS_WS_URL``/``KIS_REST_URL``; without credentials it records from the embedded simulator
and says so. Every check of what to subscribe (unknown TR, a code of the other product, more
registrations than the app keys hold) is made before anything connects or is written.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ..client import FeedSettings
from ..exceptions import DataDirectoryInUseError, FeedError, StoreError, UsageError
from ..instruments import check_code, tr_of, trs_for_code
from ..schema import LAYOUTS
from ..schema.layouts import Category
from .common import (
    EXIT_FAILURE,
    EXIT_USAGE,
    AppKeyOption,
    AppSecretOption,
    ConfigOption,
    DataOption,
    RestUrlOption,
    WsUrlOption,
    config_from,
    console,
    err_console,
    errors,
    fail,
    plural,
    report_lines,
    signals,
)
from .config import Config
from .embedded import connect_arguments, describe_embedded, embedded_config
from .live import describe, silent_codes
from .nats_options import (
    ConnectTimeout,
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

if TYPE_CHECKING:  # pyarrow loads when recording starts, not for --help
    from ..fleet.options import NatsOptions
    from ..fleet.recording import StreamRecorderStats
    from ..store.outages import Outage
    from ..store.recorder import Recorder

__all__ = ["record", "tr_for_code", "plan_subscriptions", "capacity", "night_only"]

#: The TRs a user may name, as --help and the errors list them.
_KNOWN = ", ".join(f"{tr} ({layout.english})" for tr, layout in LAYOUTS.items())


def _known(tr: str) -> str:
    if tr not in LAYOUTS:
        raise UsageError(f"--tr {tr}: not a TR kisfeed knows; one of {_KNOWN}")
    return tr


def tr_for_code(code: str, tr: str | None = None) -> str:
    """The TR of an instrument code: ``tr`` if given (checked), else its trade TR by the code's
    form (``instruments.code_form``: 6 characters futures, 9 options, stock or index by the
    underlying id; the 8-character KRX form of an index contract on the night TRs)."""
    if tr is not None:
        check_code(_known(tr), code)
        return tr
    trs = trs_for_code(code)
    if not trs:
        raise UsageError(
            f"{code!r}: cannot tell futures (6 characters) from options (9); put it after "
            "--tr TR, e.g. --tr H0ZFCNT0 or --tr H0IOCNT0 (see kisfeed record --help)"
        )
    return trs[0]


def plan_subscriptions(
    tokens: Iterable[str], *, with_books: bool = False, with_expected: bool = False
) -> dict[str, list[str]]:
    """TR -> codes from the command line's ``CODE... [--tr TR CODE...]...``: a code before any
    ``--tr`` goes on its trade TR (by its form), the codes after ``--tr TR`` on TR, up to the
    next ``--tr``. ``with_books``/``with_expected`` add, for every code, the book/expected TR of
    its product. Duplicates count once. ``UsageError`` (one line) for an unknown TR, a ``--tr``
    without codes, a code of the other product than its TR's, or another unknown option."""
    plan: dict[str, list[str]] = {}
    group: str | None = None  # the TR of the current --tr group
    grouped = False  # the current --tr has codes
    items = iter(tokens)
    for token in items:
        if token == "--tr" or token.startswith("--tr="):
            tr = token[5:] if token.startswith("--tr=") else next(items, "")
            if not tr or tr.startswith("-"):
                raise UsageError("--tr needs a TR id, then the codes to subscribe on it")
            if group is not None and not grouped:
                raise UsageError(f"--tr {group} is followed by no code (give --tr TR CODE...)")
            group, grouped = _known(tr), False
            continue
        if token.startswith("-"):
            raise UsageError(f"no such option: {token} (see kisfeed record --help)")
        tr = tr_for_code(token, group)
        grouped = True
        plan.setdefault(tr, [])
        if token not in plan[tr]:
            plan[tr].append(token)
    if group is not None and not grouped:
        raise UsageError(f"--tr {group} is followed by no code (give --tr TR CODE...)")
    wanted: dict[Category, bool] = {"book": with_books, "expected": with_expected}
    extra = [category for category, on in wanted.items() if on]
    for tr, codes in list(plan.items()):
        layout = LAYOUTS[tr]
        for category in extra:
            other = tr_of(layout.product, category, layout.market)
            if other is None:  # no index expected-price TR in the family (reference 4.6)
                continue
            held = plan.setdefault(other, [])
            held += [c for c in codes if c not in held]
    return plan


def night_only(subscriptions: dict[str, list[str]]) -> bool:
    """Whether every TR is a night one (H0MF*/H0EU*): the embedded simulator then runs the night
    session, whose TRs are silent by day."""
    return bool(subscriptions) and all(LAYOUTS[tr].market == "night" for tr in subscriptions)


def capacity(config: Config) -> int:
    """Registrations the configured app keys hold together (41 each by default, reference 3.1);
    the embedded simulator is one key."""
    return max(1, len(config.credentials)) * FeedSettings(**config.feed).max_registrations


# --- recording ----------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def _running(recorder: Recorder) -> AsyncIterator[Recorder]:
    """The recorder, started and then stopped; a background part's failure stays on its
    ``errors`` (``record`` reports each in one line and exits 1) instead of being raised."""
    await recorder.start()
    try:
        yield recorder
    finally:
        try:
            await recorder.stop()
        except StoreError:
            if not recorder.errors:
                raise


def _print_errors(errors: list[StoreError]) -> None:
    for error in errors:
        err_console.print(f"[bold red]error:[/] {error}")


async def _record(
    config: Config,
    subscriptions: dict[str, list[str]],
    simulated: bool,
    seconds: float | None,
    fsync_window: float,
    flush_interval: float,
    status_interval: float,
) -> tuple[set[tuple[str, str]], Recorder, float]:
    """Record until ``seconds``, Ctrl-C or SIGTERM; returns the (TR, code) registrations that
    brought a record, the recorder and the seconds recorded."""
    import kisfeed

    from ..store.outages import describe_outage
    from ..store.recorder import Recorder

    counts: Counter[str] = Counter()
    seen: set[tuple[str, str]] = set()
    stop = signals.stop_event()  # Ctrl-C and SIGTERM stop the run; record() decides the exit code

    def reconnected(outage: Outage) -> None:  # one line per lost session, once it is over
        err_console.print(describe_outage(outage), markup=False, highlight=False)

    async with _running(
        Recorder(
            config.data, fsync_window=fsync_window, flush_interval=flush_interval, on_reconnect=reconnected
        )
    ) as recorder:
        if recorder.recovered.total:
            err_console.print(
                f"restored {recorder.recovered.total:,} records a previous run had journaled "
                f"but not converted"
            )
        async with (
            connect_arguments(config, simulated, night_only(subscriptions)) as connect_kwargs,
            kisfeed.connect(**connect_kwargs, on_frame=recorder.on_frame, on_event=recorder.on_event) as feed,
        ):
            for tr, codes in subscriptions.items():
                await feed.subscribe(tr, codes)
            err_console.print(
                f"recording {describe(subscriptions)} to {config.data} "
                f"({'until Ctrl-C' if seconds is None else f'for {seconds:g} s'})"
            )
            started = time.monotonic()  # --seconds counts recording time, not connecting

            async def consume() -> None:  # the consumer only counts: the journal is the record
                while True:
                    for r in await feed.next_batch(10_000):
                        counts[r.tr_id] += 1
                        if r.code:
                            seen.add((r.tr_id, r.code))

            consumer = asyncio.create_task(consume())
            deadline = None if seconds is None else started + seconds
            next_status = started + status_interval
            tick = min(0.2, status_interval) if status_interval > 0 else 0.2
            try:
                while not stop.is_set() and not consumer.done() and recorder.error is None:
                    _print_errors(recorder.new_errors())  # a converter failure: the journal goes on
                    now = time.monotonic()
                    if deadline is not None and now >= deadline:
                        break
                    if status_interval > 0 and now >= next_status:
                        s = recorder.stats()
                        err_console.print(
                            f"status frames={s.frames} synced={s.synced} records={sum(counts.values())}",
                            markup=False,
                        )
                        next_status = now + status_interval
                    await asyncio.sleep(tick if deadline is None else max(0.0, min(tick, deadline - now)))
            finally:
                recorded = time.monotonic() - started
                consumer.cancel()
                with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                    await consumer
            err_console.print("stopping: closing the journal and converting the last records…")
            failed = consumer.exception() if consumer.done() and not consumer.cancelled() else None
            if failed is not None:
                raise failed
    return seen, recorder, recorded


async def _record_stream(
    config: Config,
    options: NatsOptions,
    connect_timeout: float,
    subscriptions: dict[str, list[str]],
    durable: str | None,
    ack_wait: float,
    seconds: float | None,
    fsync_window: float,
    flush_interval: float,
    status_interval: float,
) -> tuple[StreamRecorderStats, Recorder, float]:
    """``record --from nats://…``: the fleet's stream (``subscriptions`` filter it; empty: all
    of it) through a durable consumer into the recorder, until ``seconds``, Ctrl-C or SIGTERM
    (``fleet.recording``: acknowledged once synced, redeliveries of what the journal holds
    skipped). Returns what it fetched, the recorder and the seconds recorded."""
    from ..fleet.recording import StreamRecorder, default_durable, plan_subjects
    from ..store.recorder import Recorder

    stop = signals.stop_event()
    recorder = Recorder(config.data, fsync_window=fsync_window, flush_interval=flush_interval)
    name = durable or default_durable(config.data)
    stream = StreamRecorder(
        recorder,
        options,
        plan_subjects(subscriptions),
        name,
        ack_wait=ack_wait,
        connect_timeout=connect_timeout,
    )
    async with stream:  # NATS first: a wrong URL or login fails before the data is touched
        # what a killed run journaled, read before rebuild seals its segment (sealed, it would
        # be read whole, not from its end)
        await asyncio.to_thread(stream.load_recent)
        async with _running(recorder):
            if recorder.recovered.total:
                err_console.print(
                    f"restored {recorder.recovered.total:,} records a previous run had journaled "
                    f"but not converted"
                )
            what = describe(subscriptions) if subscriptions else "every record"
            err_console.print(
                f"recording {what} of the stream at {options.url_shown} (durable consumer {name}) to "
                f"{config.data} ({'until Ctrl-C' if seconds is None else f'for {seconds:g} s'})",
                markup=False,
            )
            started = time.monotonic()
            fetching = asyncio.create_task(stream.run(stop))
            deadline = None if seconds is None else started + seconds
            next_status = started + status_interval
            tick = min(0.2, status_interval) if status_interval > 0 else 0.2
            try:
                while not stop.is_set() and not fetching.done() and recorder.error is None:
                    _print_errors(recorder.new_errors())
                    now = time.monotonic()
                    if deadline is not None and now >= deadline:
                        break
                    if status_interval > 0 and now >= next_status:
                        r, f = recorder.stats(), stream.stats()
                        err_console.print(
                            f"status frames={r.frames} synced={r.synced} acked={f.acked} "
                            f"sequence={f.last_sequence} pending={f.pending}",
                            markup=False,
                        )
                        next_status = now + status_interval
                    await asyncio.sleep(tick if deadline is None else max(0.0, min(tick, deadline - now)))
            finally:
                recorded = time.monotonic() - started
                stop.set()
                await asyncio.wait([fetching])
            err_console.print("stopping: closing the journal and converting the last records…")
            if (failed := fetching.exception()) is not None:
                raise failed
    return stream.stats(), recorder, recorded


def record(
    codes: Annotated[
        list[str] | None,
        typer.Argument(
            help="Instrument codes, in groups: CODE... [--tr TR CODE...]... A code before any --tr goes on its trade TR by its form (6 "
            "characters: stock futures, H0ZFCNT0; 9: stock options, H0ZOCNT0). '--tr TR' puts the "
            "codes after it, up to the next --tr, on TR: one of " + _KNOWN + ".",
            show_default=False,
        ),
    ] = None,
    data: DataOption = None,
    seconds: Annotated[
        float | None, typer.Option(help="Stop after this many seconds (default: Ctrl-C).")
    ] = None,
    with_books: Annotated[
        bool,
        typer.Option(
            "--with-books",
            help="Also record each code's order book (its product's: H0ZFASP0, H0IFASP0, H0MFASP0, ...).",
        ),
    ] = False,
    with_expected: Annotated[
        bool,
        typer.Option(
            "--with-expected",
            help="Also record each code's expected price in the single-price auctions (H0ZFANC0 / "
            "H0ZOANC0 / H0EUANC0; the index products have none).",
        ),
    ] = False,
    app_key: AppKeyOption = None,
    app_secret: AppSecretOption = None,
    ws_url: WsUrlOption = None,
    rest_url: RestUrlOption = None,
    fsync_window: Annotated[
        float, typer.Option(help="Seconds of received frames at risk at most (group fsync).")
    ] = 0.1,
    flush_interval: Annotated[
        float, typer.Option(help="Seconds between finalized Parquet files, at most.")
    ] = 5.0,
    status_interval: Annotated[
        float, typer.Option(help="Seconds between status lines on stderr (0: none).")
    ] = 10.0,
    master: Annotated[
        Path | None,
        typer.Option(help="A local master file to check the codes against (default: KIS's, cached)."),
    ] = None,
    source: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="Record the fleet's NATS JetStream stream instead of KIS: nats://host:4222 (credentials "
            "from KISFEED_NATS_USER/_PASSWORD/_TOKEN/_CREDS/_NKEY, TLS from KISFEED_NATS_CA/_CERT/_KEY). "
            "CODEs then filter it (none: every record).",
            show_default=False,
        ),
    ] = None,
    durable: Annotated[
        str | None,
        typer.Option(
            help="With --from: the durable consumer's name (default: one per machine and data directory).",
            show_default=False,
        ),
    ] = None,
    ack_wait: Annotated[
        float,
        typer.Option(help="With --from: seconds before the server delivers an unacknowledged record again."),
    ] = 30.0,
    nats_user: NatsUser = None,
    nats_password: NatsPassword = None,
    nats_token: NatsToken = None,
    nats_creds: NatsCreds = None,
    nats_nkey: NatsNkey = None,
    tls_ca: TlsCa = None,
    tls_cert: TlsCert = None,
    tls_key: TlsKey = None,
    connect_timeout: ConnectTimeout = 10.0,
    config_file: ConfigOption = None,
) -> None:
    """Record trades, order books, expected prices: every received frame to the journal, typed
    records to Parquet.

    Runs `rebuild` first, so records a killed run journaled but did not convert are restored.
    Every (TR, code) pair is one of the 41 registrations an app key holds (reference 3.1).
    Codes are checked before connecting: the TR of each (a KOSPI200 code, underlying id 01, goes
    on H0IFCNT0/H0IOCNT0 by day; the night TRs H0MF*/H0EU* take it after --tr, and an
    8-character KRX code such as 101W9000 by itself), the registrations against the app keys'
    capacity, the codes against the simulator's instruments when simulated, else against
    --master or KIS's master files. Night TRs alone record the simulator's night session. --seconds counts from the subscription; closing the journal
    and converting the last records take a moment more, announced on stderr. Ctrl-C stops with
    exit 130 after the summary; SIGTERM (systemd) stops with exit 0.

    \b
    Examples:
      kisfeed record A11612 B11612007 --data ./kisfeed-data --seconds 3600
      kisfeed record A11612 A50612 --with-books
      kisfeed record A11612 --tr H0ZFASP0 A11612 A50612 --tr H0ZOASP0 B11612007
      kisfeed record A01612 --with-books --seconds 60
    """
    from .codes import check_registrations, master_for_recording, resolve_codes

    config = config_from(
        config_file, data=data, app_key=app_key, app_secret=app_secret, ws_url=ws_url, rest_url=rest_url
    )
    if source is not None:
        with errors():
            options = nats_options(
                source,
                user=nats_user,
                password=nats_password,
                token=nats_token,
                creds=nats_creds,
                nkey=nats_nkey,
                tls_ca=tls_ca,
                tls_cert=tls_cert,
                tls_key=tls_key,
            )
        _record_from(
            config,
            options,
            connect_timeout,
            codes or [],
            durable,
            ack_wait,
            seconds,
            with_books,
            with_expected,
            fsync_window,
            flush_interval,
            status_interval,
        )
        return
    if durable is not None:
        raise fail("--durable goes with --from nats://…", EXIT_USAGE)
    with errors():
        if not codes:
            raise UsageError("give the codes to record (CODE... [--tr TR CODE...]), or --from nats://…")
        simulated = not config.has_credentials
        subscriptions = plan_subscriptions(codes, with_books=with_books, with_expected=with_expected)
        if simulated:
            err_console.print(
                "no credentials (KIS_APP_KEY, KIS_APP_SECRET): recording from the embedded simulator; "
                + describe_embedded(embedded_config(night_only(subscriptions)))
            )
        registrations = sum(len(c) for c in subscriptions.values())
        if registrations > (held := capacity(config)):
            keys = max(1, len(config.credentials))
            raise UsageError(
                f"{describe(subscriptions)}: more than the {held} that {plural(keys, 'app key')} can "
                f"hold ({held // keys} each, reference 3.1); record fewer codes or TRs, or add app "
                "keys ([[credentials]] in the config file)"
            )
        known = master_for_recording(simulated, master, config.ws_url)
        if known is not None:
            wanted = list(dict.fromkeys(c for cs in subscriptions.values() for c in cs))
            resolve_codes(known, wanted)  # unknown codes and spreads first
            check_registrations([e for e in known.entries if e.code in set(wanted)], subscriptions)
        try:
            seen, recorder, elapsed = asyncio.run(
                _record(
                    config,
                    subscriptions,
                    simulated,
                    seconds,
                    fsync_window,
                    flush_interval,
                    status_interval,
                )
            )
        except FeedError as exc:
            raise fail(
                f"the feed stopped: {exc}; everything received is in the journal under {config.data}",
                EXIT_FAILURE,
            ) from None
        except DataDirectoryInUseError as exc:
            raise fail(str(exc), EXIT_USAGE) from None
    s = recorder.stats()
    # what reached the dataset (the journal's records, converted), not what the consumer counted:
    # frames still queued when the run stops are journaled and converted all the same
    written = recorder.converted.records
    console.print(
        f"recorded {plural(sum(written.values()), 'record')} in {elapsed:.1f} s "
        f"({', '.join(f'{t}: {n:,}' for t, n in sorted(written.items())) or 'none'})"
    )
    console.print(f"journal: {plural(s.synced, 'frame')}, {s.bytes:,} bytes in {config.data / 'journal'}")
    console.print(
        f"dataset: {plural(recorder.converted.total, 'record')} converted to {config.data.resolve()}"
    )
    console.print(recorder.gaps.summary(), markup=False, highlight=False)
    registered = [(t, c) for t, cs in subscriptions.items() for c in cs]
    if (line := silent_codes(registered, seen)) is not None:
        console.print(line, markup=False, highlight=False)
    report_lines("journal line", "skipped", recorder.converted.bad_lines)
    report_lines("frame", "not decoded", recorder.converted.errors)
    # Every background failure is one line (those seen while recording were printed then);
    # any of them makes the run a failure, though what the journal holds is intact.
    _print_errors(recorder.new_errors())
    if recorder.errors:
        raise typer.Exit(EXIT_FAILURE)
    signals.exit_status()


def _record_from(
    config: Config,
    options: NatsOptions,
    connect_timeout: float,
    codes: list[str],
    durable: str | None,
    ack_wait: float,
    seconds: float | None,
    with_books: bool,
    with_expected: bool,
    fsync_window: float,
    flush_interval: float,
    status_interval: float,
) -> None:
    """``record --from``: no KIS connection, no credential, no master; the same summary."""
    with errors():
        subscriptions = plan_subscriptions(codes, with_books=with_books, with_expected=with_expected)
        try:
            fetched, recorder, elapsed = asyncio.run(
                _record_stream(
                    config,
                    options,
                    connect_timeout,
                    subscriptions,
                    durable,
                    ack_wait,
                    seconds,
                    fsync_window,
                    flush_interval,
                    status_interval,
                )
            )
        except DataDirectoryInUseError as exc:
            raise fail(str(exc), EXIT_USAGE) from None
    s = recorder.stats()
    written = recorder.converted.records
    console.print(
        f"recorded {plural(sum(written.values()), 'record')} in {elapsed:.1f} s "
        f"({', '.join(f'{t}: {n:,}' for t, n in sorted(written.items())) or 'none'})"
    )
    console.print(
        f"stream: {plural(fetched.received, 'message')} fetched up to sequence {fetched.last_sequence}, "
        f"{fetched.skipped:,} already journaled skipped, {fetched.malformed:,} malformed skipped, "
        f"{plural(fetched.gaps, 'gap event')}, {fetched.pending:,} pending",
        markup=False,
    )
    console.print(f"journal: {plural(s.synced, 'frame')}, {s.bytes:,} bytes in {config.data / 'journal'}")
    console.print(
        f"dataset: {plural(recorder.converted.total, 'record')} converted to {config.data.resolve()}"
    )
    report_lines("journal line", "skipped", recorder.converted.bad_lines)
    report_lines("frame", "not decoded", recorder.converted.errors)
    _print_errors(recorder.new_errors())
    if recorder.errors:
        raise typer.Exit(EXIT_FAILURE)
    signals.exit_status()
