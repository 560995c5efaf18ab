"""OHLCV bars from the recorded trades: DuckDB SQL over the trade views (``kisfeed bars``).

::

    from kisfeed.store.bars import bars
    result = bars("kisfeed-data", "1m", codes=["A01612"])
    result.table  # tr_id, code, start, open, high, low, close, volume, trades, vwap, missed_volume

One bar per TR, code and interval that holds at least one trade; an interval without a trade has
no bar (no row is invented: a gap in the bars is a time nobody traded, or one the recording
missed, which the ``gaps`` view tells apart). Columns:

================= ====================================================================================
``tr_id``         the trade TR the trades came on (H0ZFCNT0, H0IFCNT0, H0MFCNT0, ...)
``code``          the instrument
``start``         the bar's first instant (Asia/Seoul); it covers ``[start, start + interval)``
``open`` ...      ``price`` of the bar's first and last trade, its highest and lowest
``volume``        sum of ``last_volume`` (체결량) of the bar's trades
``trades``        how many trade records
``vwap``          sum(price × last_volume) / volume (null when the volume is 0)
``missed_volume`` contracts the cumulative ``volume`` (누적거래량) says traded but no received trade
                  carried: trades lost in a reconnect (a gap), counted in the first bar after it
``gap``           the bar overlaps a ``gaps`` row of its TR and code (an interval in which the
                  recording did not receive the code: a reconnect, a refused registration, a gap
                  still open): its prices and volume may lack trades
================= ====================================================================================

When a trade happened: ``BSOP_HOUR`` (``time``, HHMMSS) on the KST day that puts it nearest its
receive time (``received_at``), so that a night session crossing midnight (KRX night session
18:00-06:00 since 2025-06-09, docs/recipes.md) bars in order: a trade stamped 23:59:59 and received
just after midnight belongs to the day before, which the trading date of its row (the receive day,
``exchange_time``'s day) does not say. A trade whose ``time`` is null (``000000``: "not set", which
is also midnight itself) takes its receive time. Trades of one second are in the order of their
cumulative ``volume`` (BSOP_HOUR has whole seconds; the counter only grows within a session), then
of receipt: that order picks ``open`` and ``close``. Bars are aligned on KST midnight; the interval
must divide a day (1s ... 1d) so that every day's bars start at 00:00 and a bar never straddles
two alignments.

The volume is ``last_volume``, not the cumulative ``volume``: the cumulative counter would count
the contracts of a gap inside the bar after it, whose trades nobody saw; ``missed_volume`` says how
many that was, from one received trade to the next of the same session (a day session, or a night
session 18:00-06:00 as a whole): what a session traded before its first received trade (a
recording started late, a gap at the open) is not counted, nor is anything across sessions. A trade recorded twice (two
recordings of one feed merged into one data directory, or a server resending a trade: the rows
differ in ``journal_segment``/``journal_line`` but carry the same code, time, price, size and
cumulative volume) is counted once, and ``BarsResult.duplicates`` says how many rows that dropped;
a row without a cumulative volume cannot be told from a distinct trade and is always kept. A trade
without a price (null, or NaN on the wire) makes no bar: ``BarsResult.unpriced`` counts them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa

from ..exceptions import StoreError, UsageError
from ..schema import LAYOUTS
from .catalog import UNION_VIEWS, union_trs
from .dataset import TABLES
from .views import arrow_result, connect, sql_text

__all__ = ["BarsResult", "bars", "parse_interval", "trade_trs", "BAR_COLUMNS"]

#: The columns of a bars table, in order (the module docstring says what each holds).
BAR_COLUMNS = (
    "tr_id",
    "code",
    "start",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "trades",
    "vwap",
    "missed_volume",
    "gap",
)

_DAY_S = 86_400
_KST_MS = 9 * 3_600_000  # Korea keeps no summer time: KST is UTC+9 all year
_UNITS = {"s": 1, "m": 60, "h": 3_600, "d": _DAY_S}
# A trade's session: its KST day 6 hours later. The day session (08:45-15:45) keeps its date; the
# night session (18:00-06:00) gets the day it ends, the trading day KRX counts it in.
_SESSION_SHIFT_MS = 6 * 3_600_000
_INTERVAL = re.compile(r"(-?\d+)\s*([a-z]+)")


def parse_interval(text: str) -> int:
    """``5s``, ``1m``, ``15m``, ``1h``, ``1d`` as seconds; a ``UsageError`` (one line) for zero, a
    negative number, an unknown unit, anything else, or an interval that does not divide a day."""
    match = _INTERVAL.fullmatch(text.strip().lower())
    if not match or match[2] not in _UNITS:
        raise UsageError(
            f"--interval is a whole number and a unit s, m, h or d (5s, 1m, 1h, 1d), not {text!r}"
        )
    n = int(match[1])
    if n <= 0:
        raise UsageError(f"--interval must be positive, not {text!r}")
    seconds = n * _UNITS[match[2]]
    if seconds > _DAY_S or _DAY_S % seconds:
        raise UsageError(
            f"--interval must divide a day (bars are aligned on KST midnight), not {text!r}: "
            "e.g. 1s, 5s, 1m, 5m, 15m, 1h, 4h, 1d"
        )
    return seconds


def trade_trs() -> list[str]:
    """Every trade TR, in ``TABLES`` order (stock, index, night)."""
    return [tr for tr in TABLES if LAYOUTS[tr].category == "trade"]


def _chosen(trs: Iterable[str] | None, views: Iterable[str] | None) -> list[str]:
    """The trade TRs named by TR id or view name, a union view's all (every trade TR when
    neither names any)."""
    by_view = {view: tr for tr, view in TABLES.items()}
    chosen: list[str] = []
    for tr in trs or ():
        if tr not in LAYOUTS:
            raise UsageError(f"unknown TR {tr!r}; trade TRs: {', '.join(trade_trs())}")
        chosen.append(tr)
    for view in views or ():
        if view in UNION_VIEWS:  # all_futures_trades: every market's futures trade TRs
            chosen += union_trs(view)
            continue
        if view not in by_view:
            names = ", ".join([TABLES[t] for t in trade_trs()] + list(UNION_VIEWS))
            raise UsageError(f"unknown view {view!r}; trade views: {names}")
        chosen.append(by_view[view])
    for tr in chosen:
        layout = LAYOUTS[tr]
        if layout.category != "trade":
            raise UsageError(
                f"{tr} ({TABLES[tr]}) holds {layout.category}s, not trades: bars come from the trade "
                f"TRs {', '.join(trade_trs())}"
            )
    return list(dict.fromkeys(chosen)) or trade_trs()


@dataclass(frozen=True)
class BarsResult:
    """The bars (``BAR_COLUMNS``), how many trade rows were read, how many were dropped as
    duplicates of another row, and how many had no price."""

    table: pa.Table
    interval: int  # seconds
    rows: int
    duplicates: int
    unpriced: int


def _day(value: date | str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"--date takes a date such as 2026-11-20, not {value!r}") from None


def _source(tr: str, codes: Sequence[str], days: Sequence[date]) -> str:
    where = []
    if codes:
        where.append(f"code IN ({', '.join(map(sql_text, codes))})")
    if days:
        where.append(f"date IN ({', '.join(f'DATE {sql_text(d.isoformat())}' for d in days)})")
    return (
        f"SELECT {sql_text(tr)} AS tr_id, code, time, price, last_volume, volume, received_at, "
        f"journal_segment, journal_line, frame_index FROM {TABLES[tr]}"
        + (f" WHERE {' AND '.join(where)}" if where else "")
    )


def _prepare(
    con: duckdb.DuckDBPyConnection, trs: Sequence[str], codes: Sequence[str], days: Sequence[date]
) -> None:
    """The chosen trades: the view ``trades`` as read, and the table ``once`` without duplicates,
    each row with ``event_ms`` and its place ``n`` in its code's sequence (module docstring),
    made once for the bars and the counts (on 1M trades a table of ``trades`` too cost 0.4 s
    and 300 MB more)."""
    union = "\nUNION ALL\n".join(_source(tr, codes, days) for tr in trs)
    # ``received_ms``: the receive time in ms of KST wall clock since the epoch; ``event_ms``:
    # BSOP_HOUR on the KST day nearest ``received_ms`` (module docstring), in the same scale.
    con.execute(f"CREATE TEMP VIEW trades AS {union}")
    con.execute(
        f"""
CREATE TEMP TABLE once AS
WITH timed AS (
    SELECT *, CASE WHEN time IS NULL THEN received_ms ELSE
        day0 + tod + CASE WHEN day0 + tod - received_ms > 43200000 THEN -86400000
                          WHEN received_ms - (day0 + tod) > 43200000 THEN 86400000 ELSE 0 END END AS event_ms
    FROM (
        SELECT *, received_ms - received_ms % 86400000 AS day0, epoch_ms(time) AS tod
        FROM (SELECT *, epoch_ns(received_at) // 1000000 + {_KST_MS} AS received_ms FROM trades)
    )
),
ordered AS (
    SELECT *, row_number() OVER (
        PARTITION BY tr_id, code
        ORDER BY event_ms, volume NULLS LAST, received_at, journal_segment, journal_line, frame_index
    ) AS n
    FROM timed
)
SELECT * FROM ordered
QUALIFY volume IS NULL
    OR row_number() OVER (PARTITION BY tr_id, code, event_ms, price, last_volume, volume ORDER BY n) = 1
"""
    )


def _bars_sql(seconds: int) -> str:
    width = seconds * 1000
    return f"""
WITH flow AS (
    SELECT *, greatest(volume - lag(volume) OVER (
        PARTITION BY tr_id, code, (event_ms + {_SESSION_SHIFT_MS}) // 86400000 ORDER BY n
    ) - last_volume, 0) AS missed
    FROM once
),
priced AS (SELECT * FROM flow WHERE price IS NOT NULL AND NOT isnan(price::DOUBLE)),
bars AS (
    SELECT tr_id, code, to_timestamp((event_ms - event_ms % {width} - {_KST_MS}) // 1000) AS start,
        arg_min(price, n) AS open, max(price) AS high, min(price) AS low, arg_max(price, n) AS close,
        coalesce(sum(last_volume), 0)::BIGINT AS volume, count(*)::BIGINT AS trades,
        sum(price::DOUBLE * last_volume) / nullif(sum(last_volume), 0) AS vwap,
        coalesce(sum(missed), 0)::BIGINT AS missed_volume
    FROM priced
    GROUP BY tr_id, code, event_ms - event_ms % {width}
)
SELECT b.*, EXISTS (
    SELECT 1 FROM gaps AS g
    WHERE g.tr_id = b.tr_id AND g.code = b.code
      AND g.start < b.start + INTERVAL {seconds} SECOND AND (g."end" IS NULL OR g."end" > b.start)
) AS gap
FROM bars AS b
ORDER BY tr_id, code, start
"""


_COUNTS = """
SELECT (SELECT count(*) FROM trades), (SELECT count(*) FROM trades) - (SELECT count(*) FROM once),
    (SELECT count(*) FROM once WHERE price IS NULL OR isnan(price::DOUBLE))
"""


def bars(
    root: str | Path,
    interval: str | int,
    *,
    trs: Iterable[str] | None = None,
    views: Iterable[str] | None = None,
    codes: Iterable[str] | None = None,
    days: Iterable[date | str] | None = None,
) -> BarsResult:
    """OHLCV bars of ``interval`` (``"1m"``, or seconds) from the trades under ``root``: of the
    trade TRs named by ``trs`` (TR ids) and ``views`` (view names), every trade TR when neither
    names any; of ``codes`` and the trading dates ``days`` (the views' ``date``; a ``date`` or
    ``YYYY-MM-DD``) when given.
    Unknown names and non-trade TRs are ``UsageError``s."""
    if isinstance(interval, str):
        seconds = parse_interval(interval)
    elif interval <= 0 or _DAY_S % interval:
        raise UsageError(f"interval must be a positive number of seconds that divides a day, not {interval}")
    else:
        seconds = interval
    chosen = _chosen(trs, views)
    dates = [_day(d) for d in days or ()]
    con = connect(root)
    try:
        _prepare(con, chosen, list(codes or ()), dates)
        table = arrow_result(con.sql(_bars_sql(seconds)))
        counts = con.execute(_COUNTS).fetchone()
    except duckdb.Error as exc:
        raise StoreError(f"bars failed: {exc}") from None
    finally:
        con.close()
    rows, duplicates, unpriced = counts or (0, 0, 0)
    return BarsResult(table, seconds, rows, duplicates, unpriced)
