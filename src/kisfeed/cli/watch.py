"""``kisfeed watch`` (the live board) and ``kisfeed demo`` (board + recording on the simulator)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from ..exceptions import ConfigError
from ..instruments import Master, underlying_of
from ..protocol import DEFAULT_MAX_REGISTRATIONS
from ..schema import layout_for
from ..schema.master import MasterEntry
from .codes import load_instruments, resolve_codes, simulator_master
from .common import ConfigOption, DataOption, config_from, console, err_console, errors, plural, signals
from .config import Config
from .embedded import connect_arguments, describe_embedded, embedded_config
from .live import LiveResult, run_board, run_stream_board, silent_codes
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
from .record import capacity

__all__ = ["watch", "demo", "chain_for", "Chain", "resolve_codes"]


DEMO_CHAIN = "삼성전자"
#: The index whose front-month futures the demo adds to the stock futures (issue 16).
DEMO_INDEX = "KOSPI200"


@dataclass(frozen=True)
class Chain:
    """What ``watch --underlying`` subscribes: futures and the strikes of one expiry's options
    nearest the money, as many as the free registrations hold (KIS: 41 per app key, reference
    3.1; a KOSPI200 expiry lists far more series than that)."""

    entries: list[MasterEntry]
    underlying: str
    expiry: str | None
    strikes: int  # shown
    listed: int  # of that expiry
    registrations: int  # that were free

    def note(self) -> str:
        """One line for the screen: which strikes of how many, and why."""
        futures = sum(e.kind == "future" for e in self.entries)
        return (
            f"{self.underlying}: {plural(futures, 'future') + ', ' if futures else ''}"
            f"{self.expiry or 'no'} options: the "
            f"{self.strikes} strikes nearest the money of {self.listed} listed, calls and puts, what "
            f"{self.registrations} free registrations hold ({DEFAULT_MAX_REGISTRATIONS} per app key)"
        )


def chain_for(
    master: Master,
    name: str,
    *,
    registrations: int = DEFAULT_MAX_REGISTRATIONS,
    expiry: str | None = None,
    with_futures: bool = True,
    night: bool = False,
) -> Chain:
    """The futures of an underlying and the strikes of one option expiry nearest the money that
    ``registrations`` (what is free) hold after the futures: calls and puts of each strike.

    Futures: every listed month of a stock's; an index's front month of each of its futures
    products (KOSPI200 and mini KOSPI200 share an underlying in fo_idx_code_mts.mst). Options:
    the series whose code carries the underlying id of the first futures product (``01``: the
    monthly KOSPI200 options, not the mini or weekly ones, reference 5.1), of ``expiry``
    (``YYYYMM``) or else the front one; the money is the master's ATM strike (column 5), else
    the middle strike (strikes from its 행사가 column, an option code does not carry its strike).
    ``with_futures=False``: the options alone, in all the registrations. ``night``: the night
    masters' contracts (on the night TRs), else the day ones: the night masters list the index
    master's codes again."""
    code, label = underlying_of(master, name)
    mine = [
        e for e in master.entries if e.underlying_code == code and e.tr_id and (e.market == "night") == night
    ]
    if night and not mine:
        raise ConfigError(f"{label} has no night contracts in {master.source}")
    futures = sorted(
        (e for e in mine if e.kind == "future"), key=lambda e: (e.info_type, e.expiry_month or "")
    )
    if futures and futures[0].market != "stock":
        fronts: dict[str, MasterEntry] = {}
        for e in futures:
            fronts.setdefault(e.info_type, e)  # sorted: the first of a type is its front month
        futures = list(fronts.values())
    series = futures[0].code[1:3] if futures else None
    options = [e for e in mine if e.kind in ("call", "put") and (series is None or e.code[1:3] == series)]
    month = (
        expiry.replace("-", "")
        if expiry
        else min((e.expiry_month or "999999" for e in options), default=None)
    )
    chain = [e for e in options if e.expiry_month == month]
    if expiry and not chain:
        months = ", ".join(sorted({e.expiry_month for e in options if e.expiry_month}))
        raise ConfigError(f"no {label} options expire in {expiry}; listed: {months or 'none'}")
    listed = sorted({e.strike for e in chain})
    if not with_futures:
        futures = []
    fits = max(0, (registrations - len(futures)) // 2)
    atm = next((e.strike for e in chain if e.atm == "1"), listed[len(listed) // 2] if listed else 0.0)
    shown = set(sorted(listed, key=lambda k: (abs(k - atm), k))[:fits])
    picked = sorted((e for e in chain if e.strike in shown), key=lambda e: (e.strike, e.kind))
    return Chain(futures + picked, label, month, len(shown), len(listed), registrations)


def _subscriptions(
    entries: list[MasterEntry], book: MasterEntry | None = None
) -> list[tuple[str, list[str]]]:
    """Each entry on its trade TR; ``book``'s code on its book TR too (one more registration)."""
    by_tr: dict[str, list[str]] = {}
    for entry in entries:
        assert entry.tr_id is not None
        by_tr.setdefault(entry.tr_id, []).append(entry.code)
    if book is not None:
        book_tr = next(t for t in book.tr_ids if layout_for(t).category == "book")
        by_tr.setdefault(book_tr, []).append(book.code)
    trades_first = sorted(by_tr.items(), key=lambda item: (layout_for(item[0]).category != "trade", item[0]))
    return [(tr, list(dict.fromkeys(codes))) for tr, codes in trades_first]


async def _watch(
    config: Config,
    subscriptions: list[tuple[str, list[str]]],
    master: Master,
    seconds: float | None,
    simulated: bool,
    on_frame: Callable[[str, int, int], None] | None = None,
    book: str | None = None,
    night: bool = False,
) -> LiveResult:
    async with connect_arguments(config, simulated, night) as connect_kwargs:
        return await run_board(
            connect_kwargs=connect_kwargs,
            subscriptions=subscriptions,
            instruments=master.by_code(),
            console=console,
            title="kisfeed · simulator" if simulated else "kisfeed · KIS",
            seconds=seconds,
            on_frame=on_frame,
            book=book,
        )


def _registrations(subscriptions: list[tuple[str, list[str]]]) -> list[tuple[str, str]]:
    return [(tr, code) for tr, codes in subscriptions for code in codes]


SecondsOption = Annotated[float | None, typer.Option(help="Stop after this many seconds (default: Ctrl-C).")]


def watch(
    codes: Annotated[list[str] | None, typer.Argument(help="Instrument codes (see kisfeed codes).")] = None,
    underlying: Annotated[
        str | None, typer.Option(help="Watch an underlying: its futures and option chain.")
    ] = None,
    book: Annotated[
        str | None,
        typer.Option(
            "--book",
            metavar="CODE",
            help="Show this contract's order book beside the board: 10 asks and bids (stock F/O) "
            "or 5 (index, night), totals (its book TR; one more registration).",
        ),
    ] = None,
    expiry: Annotated[
        str | None, typer.Option(help="The chain's expiry month, YYYYMM (default: the front one).")
    ] = None,
    night: Annotated[
        bool,
        typer.Option(
            "--night", help="The KRX night session's contracts and TRs (H0MF*/H0EU*) for codes and chain."
        ),
    ] = False,
    seconds: SecondsOption = None,
    master: Annotated[
        Path | None, typer.Option(help="A local master file (fo_stk_code_mts.mst, fo_idx_code_mts.mst).")
    ] = None,
    simulator: Annotated[
        bool, typer.Option("--simulator", help="Use the embedded simulator even with credentials.")
    ] = False,
    source: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="Watch the fleet's NATS JetStream stream instead of KIS, no KIS credentials needed: "
            "nats://host:4222 (credentials from KISFEED_NATS_*; codes checked against --master, else "
            "KIS's master, else the simulator's instruments).",
            show_default=False,
        ),
    ] = None,
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
    """A live board: futures (last, change, volume, OI, basis, bid/ask), an option chain (last, IV,
    Greeks, volume) and the connection status. Real server with credentials, else the simulator.
    A chain is the strikes nearest the money that the free registrations hold (41 per app key).
    With --from nats://host:4222 the board shows the fleet's stream instead (live records of the
    codes asked, no KIS credential needed).

    \b
    Examples:
      kisfeed watch --underlying 삼성전자
      kisfeed watch --underlying KOSPI200 --expiry 202612
      kisfeed watch --underlying KOSPI200 --night
      kisfeed watch A11612 A50612 --seconds 60
      kisfeed watch --underlying 삼성전자 --book A11612
    """
    config = config_from(config_file)
    simulated = (simulator or not config.has_credentials) and source is None
    with errors():
        if source is not None:
            if simulator:
                raise ConfigError("--simulator or --from: the board shows one source")
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
            found = load_instruments(master)
        elif simulated:
            err_console.print(
                (
                    "no credentials (KIS_APP_KEY, KIS_APP_SECRET): watching the embedded simulator; "
                    if not simulator
                    else "watching the embedded simulator; "
                )
                + describe_embedded(embedded_config(night))
            )
            found = simulator_master()
        else:
            found = load_instruments(master)
        if not codes and not underlying and not book:
            raise ConfigError("give instrument codes or --underlying NAME (e.g. --underlying 삼성전자)")
        if expiry and not underlying:
            raise ConfigError("--expiry chooses the chain of --underlying NAME: give both")
        if night:  # a code both a day and a night master list: its night entry (by_code: the first)
            found = Master(
                sorted(found.entries, key=lambda e: e.market != "night"), found.source, found.skipped
            )
        entries = resolve_codes(found, codes or [])
        book_entry = resolve_codes(found, [book])[0] if book else None
        if book_entry is not None and book_entry.code not in {e.code for e in entries}:
            entries.append(book_entry)  # its trades too: the ladder's caption shows the last one
        if underlying:  # the chain gets what the codes and the book leave of the registrations
            free = capacity(config) - len(_registrations(_subscriptions(entries, book_entry)))
            chain = chain_for(found, underlying, registrations=free, expiry=expiry, night=night)
            err_console.print(chain.note(), highlight=False)
            entries += [e for e in chain.entries if e not in entries]
        subscriptions = _subscriptions(entries, book_entry)
        if source is not None:
            result = asyncio.run(
                run_stream_board(
                    options=options,
                    subscriptions=subscriptions,
                    instruments=found.by_code(),
                    console=console,
                    seconds=seconds,
                    book=book,
                    connect_timeout=connect_timeout,
                )
            )
        else:
            result = asyncio.run(
                _watch(config, subscriptions, found, seconds, simulated, book=book, night=night)
            )
    console.print(
        f"\n{plural(sum(result.records.values()), 'record')} in {result.seconds:.0f} s, "
        f"{plural(result.reconnects, 'reconnect')}, {result.dropped:,} dropped"
    )
    if (line := silent_codes(_registrations(subscriptions), result.seen)) is not None:
        console.print(line, markup=False, highlight=False)
    signals.exit_status()


def demo(
    seconds: SecondsOption = None,
    data: DataOption = None,
    config_file: ConfigOption = None,
) -> None:
    """The five-minute tour, with no account: the embedded simulator, a live board of stock
    futures and one option chain, everything recorded to the data directory; then a summary
    with a ready-to-run query. Stop with Ctrl-C (exit 130 after the summary) or --seconds N.

    Example: kisfeed demo --seconds 30 --data ./kisfeed-data
    """
    from ..store.converter import without_pandas
    from ..store.recorder import Recorder

    config = config_from(config_file, data=data)
    with errors():
        found = simulator_master()
        fronts: dict[str, MasterEntry] = {}
        for e in found.entries:
            if (
                e.kind == "future"
                and e.market == "stock"
                and (
                    e.underlying_code not in fronts
                    or (e.expiry_month or "") < (fronts[e.underlying_code].expiry_month or "")
                )
            ):
                fronts[e.underlying_code] = e
        index_front = chain_for(found, DEMO_INDEX, registrations=0).entries[0]  # the KOSPI200 futures
        futures = sorted(fronts.values(), key=lambda e: e.code) + [index_front]
        chain = chain_for(
            found, DEMO_CHAIN, registrations=DEFAULT_MAX_REGISTRATIONS - len(futures), with_futures=False
        )
        subscriptions = _subscriptions(futures + chain.entries)
    console.print(
        f"kisfeed demo: embedded simulator, {len(fronts)} stock futures, the {DEMO_INDEX} front month "
        f"and the {DEMO_CHAIN} option chain, recording to {config.data}"
    )
    console.print(chain.note(), highlight=False)
    console.print(describe_embedded(embedded_config()))

    async def run() -> tuple[LiveResult, dict[str, int]]:
        # Converting in this process: the demo's feed is light, and a converter child would hold
        # a second interpreter with pyarrow of its own (issue 13: the demo's memory).
        without_pandas()
        async with Recorder(config.data, convert="thread") as recorder:
            result = await _watch(config, subscriptions, found, seconds, True, on_frame=recorder.on_frame)
        # what reached the dataset, not what the board drew: frames still queued for the board
        # when the run stops are journaled and converted all the same
        return result, recorder.converted.records

    with errors():
        result, written = asyncio.run(run())
    console.print(
        f"\nrecorded {plural(sum(written.values()), 'record')} in {result.seconds:.0f} s "
        f"({', '.join(f'{tr}: {n:,}' for tr, n in sorted(written.items())) or 'none'}) "
        f"to {config.data.resolve()}"
    )
    console.print(
        f"reconnects {result.reconnects}, dropped {result.dropped}, parse errors {result.parse_errors}"
    )
    if (line := silent_codes(_registrations(subscriptions), result.seen)) is not None:
        console.print(line, markup=False, highlight=False)
    console.print("query it:")  # cumulative volume orders each code's trades, even within one frame
    console.print(
        f'  kisfeed query --data {config.data} "SELECT code, count(*) AS trades, max(volume) AS volume, '
        'arg_max(price, volume) AS last FROM all_futures_trades GROUP BY code ORDER BY code"'
    )
    signals.exit_status()
