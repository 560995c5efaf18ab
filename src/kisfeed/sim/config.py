"""Every setting of the simulator, in one frozen dataclass with the reference's defaults.

Where the reference marks a behaviour [UNK] the simulator does not guess silently: the choice is a
setting here, its default is the reference's recommendation, and the docstring names the section.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Literal

from .calendar import DEFAULT_HOLIDAYS, EXAM_DAYS
from .faults import ScheduledFault
from .night_calendar import NIGHT_CLOSURES, NIGHT_HOURS, check_night_settings
from .profiles import Profile
from .tape import FrameSource
from .ticks import OPTION_TICKS, Grid, TickTable

__all__ = ["SimConfig", "DEMO_APP_KEY", "DEMO_APP_SECRET", "RecordHook"]

#: The app key/secret pair served when none is configured (``kisfeed sim`` prints it).
DEMO_APP_KEY = "demo-app-key"
DEMO_APP_SECRET = "demo-app-secret"

#: Called for every record the simulator sends: (session id, tr_id, field texts).
RecordHook = Callable[[int, str, list[str]], None]


def _demo_keys() -> dict[str, str]:
    return {DEMO_APP_KEY: DEMO_APP_SECRET}


@dataclass(frozen=True)
class SimConfig:
    """Settings of one :class:`~kisfeed.sim.Simulator`. ``dataclasses.replace`` makes variants."""

    # --- network ---------------------------------------------------------------------------
    host: str = "127.0.0.1"
    """Interface both servers listen on."""
    port: int = 0
    """WebSocket port; 0 picks a free one (``Simulator.ws_url`` reports it)."""
    rest_port: int = 0
    """Approval endpoint port (``POST /oauth2/Approval``); 0 picks a free one."""

    # --- credentials (reference 1.3, 1.4) ----------------------------------------------------
    app_keys: Mapping[str, str] = field(default_factory=_demo_keys)
    """App key -> app secret pairs the approval endpoint accepts."""
    approval_key_ttl: float = 86_400.0
    """Seconds an approval key is valid for a *new* session (portal: 24 h)."""
    expire_keys_on_open_sessions: bool = False
    """[UNK] ref 1.4: whether a session that already holds its app key is refused once the key it
    connected with expires. Default: no — the portal says the key is checked at connection only."""

    # --- market (reference 4.4, 6) ------------------------------------------------------------
    seed: int = 1
    """Seed of the market model: the same seed and ``start`` give the same trades, in order."""
    start: datetime | None = None
    """Sim clock at start (a timezone-aware datetime, or naive meaning KST); None: now."""
    speed: float = 1.0
    """Sim seconds per wall second: 1.0 real time, N: N× faster, ``math.inf``: as fast as the
    clients read (at infinite speed the market waits while no session has a subscription)."""
    always_open: bool = False
    """Trade around the clock, every day, without auctions. Otherwise the KRX calendar and
    session phases (ref 6, ``kisfeed.sim.calendar``): weekdays but holidays, opening auction
    08:30–08:45, continuous trading 08:45–15:35, closing auction to 15:45, an expiring contract's
    last day ending at 15:20, and the special days' hours."""
    index_products: bool = True
    """Serve the KOSPI200 futures, monthly and weekly options (issue 16, ``kisfeed.sim.index``,
    TRs H0IFCNT0/H0IFASP0/H0IOCNT0/H0IOASP0) beside the stock products. They add about 1.4
    times the stock products' trades to the market (``sim/liquidity.py``); False gives the
    stock-only market of before, the same trades for the same seed."""
    interest_rate: float = 0.03
    """[UNK] ref 6: the rate of KRX's theoretical prices, which since 2024-11-04 is KRX's own
    daily interpolated rate; a constant here (simple annual rate, ``kisfeed.sim.fair``)."""
    activity: float = 1.0
    """Multiplier of every contract's trade rate. 1.0 is the market calibrated on the official
    examples (``kisfeed.sim.liquidity``, docs/sim-calibration.md), where most series trade a few
    times a day; load tests want more."""
    volatility_unit: Literal["percent", "fraction"] = "fraction"
    """[UNK] ref 4.4, 8.7: unit of ``HTS_INTS_VLTL`` and ``UNAS_HIST_VLTL``, written with 2
    decimals: ``fraction`` (``0.31``) or ``percent`` (``31.42``). Default: the official H0ZOCNT0
    example (KIS portal, 2024-05), the only stock-option sample, shows fractions (0.31, 0.26);
    the night-option example's values in the 80s look like percent (ref 4.4)."""
    greek_decimals: int = 2
    """[UNK] ref 4.4, 8.7: decimals of DELTA/GAMA/VEGA/THETA/RHO. Default: 2, as in the official
    H0ZOCNT0 example (KIS portal, 2024-05: ``1.00^0.00^0.00^-4.06^20.58``); third-party
    fixtures use 4. Gamma per won of a stock option is below 0.005, so at 2 decimals ``GAMA`` is
    always ``0.00`` — which is what the example shows, not a loss the simulator adds."""
    option_ticks: TickTable = OPTION_TICKS
    """[UNK] ref 6: stock-option premium tick table, (premium below, tick) rows in order, the
    last bound ``math.inf``. Default: 10/20/50/100/200 won by band (``kisfeed.sim.ticks``)."""
    dynamic_limit_band: float = 0.0
    """Dynamic price limit band of stock futures as a fraction of the last price; 0 = not
    applied, so ``DYNM_MXPR``/``DYNM_LLAM`` are 0 as in the official example (ref 4.1)."""
    dynamic_limit_flags: tuple[str, str] = ("0", "1")
    """[UNK] ref 4.4: ``DYNM_PRC_LIMT_YN`` text when the band is off / on (example shows ``0``)."""

    # --- calendar, session phases and daily limits (reference 6; kisfeed.sim.calendar) -------
    holidays: tuple[date, ...] = DEFAULT_HOLIDAYS
    """KRX closures besides weekends: 2026 as KRX announced them, 2027 inferred from the
    public-holiday rules (sources in ``kisfeed.sim.calendar``)."""
    exam_days: tuple[date, ...] = EXAM_DAYS
    """수능 days (2026-11-19, 2027-11-18), whose whole session is 1 h later (09:45–16:45)."""
    last_day_auction: float = 600.0
    """[UNK] ref 6: seconds of an expiring contract's closing auction before its 15:20 close on
    its last day. No source found; default 10 minutes, the length of every other KRX closing
    auction (15:10–15:20); 0 = continuous trading to 15:20."""
    limit_stages: tuple[float, ...] = (0.10, 0.20, 0.30)
    """Stock futures' staged daily limits as fractions of the previous close (ref 6, EUGENE)."""
    limit_expansion_delay: float = 300.0
    """Seconds after the underlying stock moves beyond a stage until the next applies (KRX
    시행세칙 56조의2 as explained by h1in.tistory.com/1128, 2025-07-02: 5 minutes)."""

    # --- books and expected prices (issue 15; kisfeed.sim.book, kisfeed.sim.publish) ----------
    book_interval: float = 0.2
    """Seconds of one slot of the derivatives-quote filter: a contract publishes at most one
    book (H0ZFASP0/H0ZOASP0) per slot of the clock, the latest state. Default: KIS filters
    futures/options order-book data to 0.2-second intervals (the H0ZFASP0, H0IFASP0 and H0MFASP0
    docstrings of the official samples; spec/family/README.md)."""
    expected_from: float = 300.0
    """Seconds before the opening uncross (08:45) from which expected prices (H0ZFANC0/H0ZOANC0)
    are published: 08:40 (reference 6, KRX 2024-10-24 via economy21; issue 15). The closing
    auctions publish throughout (15:35-15:45, an expiring contract's 15:10-15:20)."""
    expected_codes: tuple[str, str] = ("311", "121")
    """[UNK] reference 4.5: ``ANTC_MKOP_CLS_CODE`` during the opening / closing auctions. No
    source gives the derivatives values; default: the stock codes of H0STMKO0 (KIS portal,
    quoted in reference 4.5), 311 장전예상시작 and 121 장후예상시작."""

    # --- the KRX night session (issue 16; kisfeed.sim.night_calendar, docs/night-session.md) ----
    night_session: bool = True
    """Run the KRX night session (17:50-06:00) for the products it lists (KOSPI200 futures and
    options, weeklies included) on the night TRs H0MF*/H0EU*. False: no night sessions."""
    night_hours: tuple[str, str, str, str] = NIGHT_HOURS
    """Night opening auction, open (its uncross), closing auction, close (its uncross), KST
    ``HH:MM``: 17:50, 18:00, 05:50, 06:00 (KRX 2025-05-28 via newsis/economidaily; KRX's night
    session page). On a 수능 day the opening auction and the open are 1 h later."""
    night_closures: tuple[date, ...] = NIGHT_CLOSURES
    """Trading days on whose evening there is no night session: the eves of long holidays
    (2025-10-02 and 2026-02-13 announced by KRX; 2026-09-23, 2027-02-05, 2027-09-13 inferred
    from KRX's stated policy). Weekends and ``holidays`` have none anyway."""
    night_expected_from: float = 600.0
    """[UNK] Seconds before the night opening uncross (18:00) from which expected prices
    (H0EUANC0) are published. No source found; default: the whole 10-minute auction, as the
    closing auctions publish (the day's 08:40 start exists to keep the pre-open after-hours
    trading of stocks apart from the auction, which the night session does not have)."""
    night_volume_ratio: float = 0.12
    """Night volume as a fraction of the day session's, per contract (each night contract trades
    at its day rate × this × the day's continuous seconds / the night's). Default: 12.26 %,
    KOSPI200 futures' night share in its third year (KRX via newspim 2012-11-20); no figure for
    KRX's own session since 2025 was found."""
    night_code_form: Literal["kis", "krx"] = "kis"
    """[UNK] reference 4.6: the ``tr_key`` of night contracts. ``kis``: the day code (``A01612``),
    as both night masters carry it in 단축코드 (2026 lines quoted by third-party parsers) and as
    KIS's night docstrings send users to those masters for codes; ``krx``: the 8-character KRX
    short code (``IndexInstrument.krx_code``: ``A016C000``), as three of the four official night examples
    (``101W9000``).
    The simulator's night masters carry the form served (docs/night-session.md)."""

    # --- what is written on the wire (issue 14) -------------------------------------------------
    profile: Profile = "observed"
    """Fields the live feed is observed to leave empty (issue 14 gap 5; the table is
    ``sim.profiles.OBSERVED``). ``observed``: written as the official examples (KIS portal,
    2024-05) carry them — ``OPRC_HOUR``/``HGPR_HOUR``/``LWPR_HOUR`` ``000000`` in both TRs; futures
    ``NMSC_FCTN_STPL_PRC``/``FMSC_FCTN_STPL_PRC`` ``0.00`` while ``SPEAD_PRC`` keeps far − near;
    futures ``ASKP_RSQN1``/``BIDP_RSQN1``/``TOTAL_ASKP_RSQN``/``TOTAL_BIDP_RSQN`` ``0`` (``ASKP1``/
    ``BIDP1`` filled); option ``PRMM_VAL`` ``0.00``. ``filled``: every field carries its value.
    The market is the same under both (same seed, same trades); only those texts differ.

    Every relation of reference 4.4 holds under both, since none involves an emptied field. What
    a client can check only under ``filled``: ``SPEAD_PRC`` = far − near month price and each
    future's own month price = its last price; open time ≤ high/low time ≤ ``BSOP_HOUR``; level-1
    quantity ≤ book total (futures); ``PRMM_VAL`` = price (options)."""

    # --- session behaviour (reference 2.2, 2.3, 3.1, 3.2) -------------------------------------
    ping_interval: float = 10.0
    """[UNK] ref 2.3: seconds between PINGPONG heartbeats (wall clock)."""
    pong_timeout: float = 100.0
    """Seconds a PINGPONG may stay unanswered before the session is closed (ref 2.3: ~100 s)."""
    client_ping: Literal["tolerate", "error-and-close"] = "tolerate"
    """[UNK] ref 2.3: what a client's WebSocket ping frame does. ``tolerate``: the library answers
    it; ``error-and-close``: an ``OPSP8991`` error reply, then the TCP connection is closed without
    a close handshake (the 2023 reports). A ping carrying a PINGPONG text is an answer either way."""
    max_registrations: int = 41
    """Registrations per session; the next gets ``OPSP0008`` with ``rt_cd "1"`` (ref 3.1)."""
    unknown_codes: Literal["silence", "refuse"] = "silence"
    """[UNK] ref 2.2, 8.11: a registration of a code the simulator does not serve under its TR
    (an unknown or expired code, an old-style ``111W12``, an option code on ``H0ZFCNT0``).
    ``silence``: ``OPSP0000`` and never any data — the reference's plausible live behaviour (KIS's
    REST API answers an unknown code with ``rt_cd 0`` and empty output); the registration counts
    against ``max_registrations`` and is released with ``OPSP0001`` like any other. ``refuse``:
    ``OPSP8992`` (``SUBSCRIBE ERROR : invalid tr_key``), no slot used."""
    stale_session_seconds: float = 0.0
    """[UNK] ref 3.2: seconds an app key stays "in use" (``OPSP8996``) after its session ended
    without a close handshake."""
    batch_window: float = 0.0
    """[UNK] ref 2.4, 8.10: sim seconds within which one session's trades of one TR are packed
    into one frame. At 0 only simultaneous prints (one order sweeping several levels) share a frame."""
    max_records_per_frame: int = 50
    """[UNK] ref 8.10: most records packed into one frame (the wire allows 999)."""
    send_queue_limit: int = 1_000
    """Frames queued to one session before the market waits for it to drain (no data is ever
    dropped for a slow reader; a session that stops reading slows the market for everyone)."""

    # --- ground truth and faults (issue 3) ----------------------------------------------------
    ground_truth: bool = True
    """Keep every record sent, per session, in send order (``Simulator.sent``)."""
    on_record: RecordHook | None = None
    """Called with (session id, tr_id, fields) for every record sent (``--ground-truth PATH``)."""
    faults: tuple[ScheduledFault, ...] = ()
    """Faults to inject at fixed times after start (see ``kisfeed.sim.faults.parse_fault``)."""
    replay: FrameSource | None = None
    """Serve recorded data frames instead of the market: a callable returning
    ``(received_ns, frame_text)`` pairs in order (``kisfeed sim --replay JOURNAL``). The codes on
    the tape are the ones served; the sim clock starts at the first frame."""

    def __post_init__(self) -> None:
        if not self.app_keys:
            raise ValueError("at least one app key/secret pair is needed")
        if not self.speed > 0:
            raise ValueError(f"speed must be > 0 (math.inf = as fast as possible), not {self.speed}")
        if self.client_ping not in ("tolerate", "error-and-close"):
            raise ValueError(f"client_ping must be 'tolerate' or 'error-and-close', not {self.client_ping!r}")
        if self.profile not in ("observed", "filled"):
            raise ValueError(f"profile must be 'observed' or 'filled', not {self.profile!r}")
        if self.unknown_codes not in ("silence", "refuse"):
            raise ValueError(f"unknown_codes must be 'silence' or 'refuse', not {self.unknown_codes!r}")
        if self.volatility_unit not in ("percent", "fraction"):
            raise ValueError(f"volatility_unit must be 'percent' or 'fraction', not {self.volatility_unit!r}")
        if not 0 <= self.greek_decimals <= 10:
            raise ValueError(f"greek_decimals must be 0..10, not {self.greek_decimals}")
        if not 1 <= self.max_records_per_frame <= 999:
            raise ValueError("max_records_per_frame must be 1..999 (NNN has three digits)")
        for name in ("ping_interval", "pong_timeout", "batch_window", "stale_session_seconds"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if not self.activity > 0:
            raise ValueError("activity must be > 0")
        Grid(self.option_ticks)  # ValueError naming the table unless it is a tick grid
        if (
            not self.limit_stages
            or list(self.limit_stages) != sorted(self.limit_stages)
            or self.limit_stages[0] <= 0
        ):
            raise ValueError(f"limit_stages must be increasing fractions > 0, not {self.limit_stages!r}")
        if self.last_day_auction < 0 or self.limit_expansion_delay < 0:
            raise ValueError("last_day_auction and limit_expansion_delay must not be negative")
        if not self.book_interval > 0 or self.expected_from < 0:
            raise ValueError("book_interval must be > 0 and expected_from must not be negative")
        if len(self.expected_codes) != 2 or not all(isinstance(c, str) and c for c in self.expected_codes):
            raise ValueError(f"expected_codes must be two non-empty texts, not {self.expected_codes!r}")
        if self.ping_interval == 0:
            raise ValueError("ping_interval must be > 0")
        check_night_settings(self)

    def with_(self, **changes: object) -> SimConfig:
        """A copy with some settings changed (``dataclasses.replace``)."""
        return replace(self, **changes)  # type: ignore[arg-type]  # replace() checks each name and __post_init__ each value
