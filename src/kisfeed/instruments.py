"""Instrument codes: their form (reference 5.2) and lookup in the KIS stock futures/options
master (reference 5.2–5.4).

Codes are never synthesised (they are not derivable from the stock code): they are looked up
in ``fo_stk_code_mts.mst``, downloaded from KIS and cached for a day, or read from a local file.
What a code's form alone says, its product, is decided here and nowhere else (``code_product``):
the client refuses a code of the wrong product before sending it, the commands place a code on
its TRs with it.
"""

from __future__ import annotations

import io
import os
import time
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path

import httpx

from . import paths
from .exceptions import ConfigError, KisfeedError, UsageError
from .schema.layouts import LAYOUTS, PRODUCT_OF_KIND, Category, Market, Product, layout_for, trs_for
from .schema.master import INDEX_MASTER_NAME, MASTER_NAME, MasterEntry, parse_master
from .schema.night_master import NIGHT_FUTURES_MASTER, NIGHT_OPTIONS_MASTER, night_product, parse_night_master

__all__ = [
    "MASTER_URL",
    "MASTER_NAMES",
    "Master",
    "merge",
    "download_master",
    "download_masters",
    "read_master",
    "search",
    "underlying_of",
    "UNDERLYING_ALIASES",
    "INDEX_UNDERLYINGS",
    "CodeForm",
    "code_form",
    "code_product",
    "trs_for_code",
    "check_code",
    "tr_of",
]

#: The two-character underlying ids (a code's characters 2-3) of the index products: their codes
#: go on the index TRs (H0IF*/H0IO*) by day and the night TRs (H0MF*/H0EU*) by night; any other id
#: is a stock's (reference 5.2: stock ids are assigned by KRX and not derivable, so only the index
#: ids are listed). Sources: ``01`` reference 5.1-5.3 (``101S12``, ``201S11305``, ``A01609``);
#: ``05`` KRX's data API rows ``105W9000`` = ``미니코스피 F 202509`` (third-party test fixture,
#: cluefin-openapi) and a measured fo_idx_code_mts.mst line ``A05610`` = 미니 F 202610 (third-party
#: notes, 2026); ``06`` ``106N3000`` = ``코스닥150 F 201803`` (third-party Kiwoom tool) and KRX rows
#: ``A0669000`` = ``코스닥150 F 202609`` (third party, 2026); ``09`` and ``AF`` the Thursday and Monday
#: weekly KOSPI200 options, whose fo_idx_code_mts.mst codes start ``B09``/``C09`` and ``BAF``/``CAF``
#: (third-party parser of the measured master, 2026-08-03).
INDEX_UNDERLYINGS: dict[str, str] = {
    "01": "KOSPI200",
    "05": "mini KOSPI200",
    "06": "KOSDAQ150",
    "09": "KOSPI200 weekly (Thursday)",
    "AF": "KOSPI200 weekly (Monday)",
}

#: A short code's first character -> its kind: ``1``/``2``/``3`` futures/call/put, and the 2026
#: letters ``A``/``B``/``C`` (reference 5.1, 5.3); ``4``/``D`` are spreads.
_KIND_OF_TYPE = {"1": "future", "A": "future", "2": "call", "B": "call", "3": "put", "C": "put"}
_SPREAD_TYPES = frozenset("4D")


@dataclass(frozen=True, slots=True)
class CodeForm:
    """What a code's form alone says. ``market`` is ``stock`` or ``index`` for a KIS short code
    (6 characters futures, 9 options, reference 5.2), by its underlying id (``INDEX_UNDERLYINGS``);
    ``night`` for the 8-character KRX form of an index contract (``101W9000``: the form of the
    official H0MFCNT0/H0EUCNT0/H0EUANC0 examples, which the day TRs do not take)."""

    product: Product
    kind: str  # "future", "call" or "put" ("call" for a 9-character code of another first character)
    market: Market

    def describe(self) -> str:
        what = "futures" if self.product == "futures" else "option"
        if self.market == "night":
            return f"an index {what} code in the 8-character KRX form (the night session's)"
        return f"{'an' if self.market == 'index' else 'a'} {self.market} {what} code"


def code_form(code: str) -> CodeForm | None:
    """The product, kind and market of ``code`` by its form, or None when the form does not tell
    (a spread: 8 characters starting ``4``/``D`` or ending ``S``, ``D116C71S``; another length; the
    8-character form of a stock contract, which no real-time TR takes): the master then decides."""
    if len(code) == 6 or len(code) == 9:
        kind = "future" if len(code) == 6 else ("put" if code[:1] in ("3", "C") else "call")
        market: Market = "index" if code[1:3] in INDEX_UNDERLYINGS else "stock"
        return CodeForm(PRODUCT_OF_KIND[kind], kind, market)
    if len(code) == 8 and code[0] not in _SPREAD_TYPES and not code.endswith("S"):
        found = _KIND_OF_TYPE.get(code[0])
        if found is not None and code[1:3] in INDEX_UNDERLYINGS:
            return CodeForm(PRODUCT_OF_KIND[found], found, "night")
    return None


def code_product(code: str) -> Product | None:
    """``futures`` or ``option`` as the code's form says (the ``Layout.product`` values), or None
    when the form does not tell."""
    form = code_form(code)
    return form.product if form else None


def trs_for_code(code: str) -> tuple[str, ...]:
    """The TRs a code of this form can be subscribed on, trades first: a stock code's stock TRs,
    an index code's day TRs (a KIS-form index code is taken by the night TRs too: name them with
    ``--tr``), an 8-character index code's night TRs. Empty when the form does not tell: look the
    code up in the master, ``MasterEntry.tr_ids``."""
    form = code_form(code)
    return trs_for(form.kind, form.market) if form else ()


def tr_of(product: Product, category: Category, market: Market = "stock") -> str | None:
    """The TR of a product (``futures``/``option``), a category (``trade``/``book``/``expected``)
    and a market: ``tr_of("option", "book")`` is H0ZOASP0, ``tr_of("futures", "trade", "index")``
    H0IFCNT0; None where the family has none (no index expected-price TR, reference 4.6)."""
    kind = "future" if product == "futures" else "call"  # a call's TRs are a put's
    return next((t for t in trs_for(kind, market) if LAYOUTS[t].category == category), None)


#: The markets whose codes a TR of each market takes: the night TRs take both the KIS form of an
#: index code (H0MFASP0's official example ``101W09``) and the KRX form (``101W9000``, H0MFCNT0's).
_TAKES: dict[Market, tuple[Market, ...]] = {
    "stock": ("stock",),
    "index": ("index",),
    "night": ("night", "index"),
}


def check_code(tr_id: str, code: str) -> None:
    """Refuse (``UsageError``, one line naming the right TR) a code whose form names another
    product or market than ``tr_id``'s: an option code on H0ZFASP0, a stock futures code on
    H0IFCNT0, an index code on H0ZFCNT0, an 8-character night code on a day TR. KIS acknowledges
    such a subscription and then sends nothing (reference 8.11). ``UnknownTRError`` for a TR
    without a layout."""
    layout = layout_for(tr_id)
    form = code_form(code)
    if form is None:
        return
    takes = _TAKES[layout.market]
    if form.product == layout.product and form.market in takes:
        return
    market = layout.market if form.market in takes else form.market
    right = tr_of(form.product, layout.category, market) or tr_of(form.product, "trade", market)
    raise UsageError(
        f"{code} is {form.describe()} ({len(code)} characters, reference 5.2) and {tr_id} is the "
        f"{layout.english}: use {right}"
    )


_MASTER_BASE = "https://new.real.download.dws.co.kr/common/master/"
#: The stock futures/options master and the index one (KOSPI200, mini KOSPI200, KOSDAQ150, weekly
#: options): the same 9 '|'-separated columns (reference 5.4), each in a zip of its name.
MASTER_URL = f"{_MASTER_BASE}{MASTER_NAME}.zip"
#: Every master ``kisfeed codes`` reads, in the order it lists them: the stock and the index
#: master, then the night session's futures and options (fixed width, ``schema.night_master``;
#: whether KIS still ships them since KRX's own night session is [UNK]: one that cannot be had
#: is named, and the others serve).
MASTER_NAMES = (MASTER_NAME, INDEX_MASTER_NAME, NIGHT_FUTURES_MASTER, NIGHT_OPTIONS_MASTER)
MAX_AGE = 12 * 3600.0  # the files change daily (new listings, expiries)


@dataclass(frozen=True)
class Master:
    entries: list[MasterEntry]
    source: str  # where the entries came from, for the user to see
    skipped: int = 0  # lines that were not entries
    missing: tuple[str, ...] = ()  # masters that could not be had, each with why

    def by_code(self) -> dict[str, MasterEntry]:
        """Each code's entry; of a code listed twice, the first (a night master lists the day
        masters' KIS codes again, on its own TRs: the day entry wins)."""
        return {e.code: e for e in reversed(self.entries)}


def merge(masters: list[Master], missing: tuple[str, ...] = ()) -> Master:
    """One master of several (the stock and the index master), their sources joined."""
    return Master(
        [e for m in masters for e in m.entries],
        "; ".join(m.source for m in masters),
        sum(m.skipped for m in masters),
        missing + tuple(x for m in masters for x in m.missing),
    )


def _market_of_file(path: Path) -> Market | None:
    """The market of a master by its file name as KIS ships it, None for another name."""
    if path.name.startswith(INDEX_MASTER_NAME):
        return "index"
    if path.name.startswith((NIGHT_FUTURES_MASTER, NIGHT_OPTIONS_MASTER)):
        return "night"
    if path.name.startswith(MASTER_NAME):
        return "stock"
    return None


def read_master(path: str | Path, source: str | None = None) -> Master:
    """A master file on disk (cp949, as KIS ships it; UTF-8 accepted too). Its rows are index
    or stock contracts by the file's name (``fo_idx_code_mts.mst``, ``fo_stk_code_mts.mst``), or
    for a file named otherwise, each by its code's underlying id (``code_form``); a night master
    (``fo_cme_code.mst``, ``fo_eurex_code.mst``) is read in its fixed-width layout."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read master file {path}: {exc.strerror or exc}") from None
    market = _market_of_file(path)
    if market == "night":
        entries, bad = parse_night_master(data, night_product(path))
    else:
        try:
            text = data.decode("cp949")
        except UnicodeDecodeError:
            text = data.decode("utf-8", "replace")
        entries, bad = parse_master(text, market or "stock")
    if market is None:
        entries = [
            replace(e, market="index") if (f := code_form(e.code)) and f.market == "index" else e
            for e in entries
        ]
    if not entries:
        layout = "the fixed-width night layout" if market == "night" else "9 '|'-separated columns"
        raise ConfigError(f"{path} holds no master lines (expected {layout}, reference 5.4)")
    return Master(entries, source or str(path), len(bad))


def download_master(
    cache_dir: Path | None = None,
    *,
    name: str = MASTER_NAME,
    transport: httpx.BaseTransport | None = None,
    timeout: float = 10.0,
) -> Master:
    """The KIS master ``name``, from the cache if younger than 12 h, else downloaded (and cached)."""
    cache = (cache_dir or paths.cache_dir()) / name
    url = f"{_MASTER_BASE}{name}.zip"
    if cache.exists() and time.time() - cache.stat().st_mtime < MAX_AGE:
        return read_master(cache, f"KIS master (cached {cache})")
    try:
        with httpx.Client(transport=transport, timeout=timeout) as http:
            response = http.get(url)
            response.raise_for_status()
        with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
            data = archive.read(name)
    except (httpx.HTTPError, zipfile.BadZipFile, KeyError) as exc:
        raise KisfeedError(
            f"cannot download the KIS master file {name}: {type(exc).__name__}: {exc}"
        ) from None
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, cache)
    return read_master(cache, f"KIS master (downloaded {url})")


def download_masters(
    cache_dir: Path | None = None,
    *,
    transport: httpx.BaseTransport | None = None,
    timeout: float = 10.0,
) -> Master:
    """Every master of ``MASTER_NAMES``, merged; one that cannot be had is named in ``missing``
    (the others still serve), and the error of the first is raised when none can."""
    found: list[Master] = []
    failed: list[tuple[str, KisfeedError]] = []
    for name in MASTER_NAMES:
        try:
            found.append(download_master(cache_dir, name=name, transport=transport, timeout=timeout))
        except KisfeedError as exc:  # ConfigError too: a cached file that holds no entry
            failed.append((name, exc))
    if not found:
        raise failed[0][1]
    return merge(found, tuple(f"{name}: {exc}" for name, exc in failed))


#: Names of an underlying that mean the same index, case-blind: what a user types, what KIS's
#: index master writes in its column 9 (``KOSPI200`` with code ``2001``, ``KSQ150`` with ``3003``
#: in fo_idx_code_mts.mst as measured by third-party parsers, 2026-08-03 and 2026-09-28; reference
#: 5.4 leaves the names [UNK]), and the Korean names of KRX's product pages.
UNDERLYING_ALIASES: tuple[frozenset[str], ...] = (
    frozenset({"kospi200", "kospi 200", "코스피200", "코스피 200", "k200"}),
    frozenset({"kosdaq150", "kosdaq 150", "코스닥150", "코스닥 150", "ksq150"}),
)


def _names(query: str) -> set[str]:
    """``query`` case-folded, with its aliases if it is a name of ``UNDERLYING_ALIASES``."""
    needle = query.strip().casefold()
    return set().union({needle}, *(group for group in UNDERLYING_ALIASES if needle in group))


def underlying_of(master: Master, name: str) -> tuple[str, str]:
    """(code, name) of the underlying called ``name``: its exact code or name (aliases included,
    case-blind), else the one whose name contains it. ``ConfigError``, one line listing the
    underlyings the master has, when none or several match."""
    pairs = {(e.underlying_code, e.underlying_name) for e in master.entries if e.underlying_code}
    names = _names(name)
    exact = [p for p in pairs if p[0].casefold() in names or p[1].casefold() in names]
    found = exact or [p for p in pairs if any(n in p[1].casefold() for n in names)]
    if len(found) != 1:
        known = ", ".join(sorted({n for _, n in pairs}))
        what = "matches several underlyings" if found else "is not an underlying"
        raise ConfigError(
            f"{name!r} {what} in {master.source}; known: {known if len(known) <= 300 else known[:299] + '…'}"
        )
    return found[0]


def search(
    master: Master,
    query: str = "",
    *,
    expiry: str | None = None,
    strike: float | None = None,
    kind: str | None = None,
) -> list[MasterEntry]:
    """Entries whose code, underlying code or underlying name contains ``query`` (case-blind; an
    index's names are aliases, ``UNDERLYING_ALIASES``: ``코스피200`` finds ``KOSPI200``), filtered by
    expiry (``YYYYMM`` or ``YYYY-MM``), strike and kind (future/call/put/spread)."""
    needles = _names(query) - {""}
    month = expiry.replace("-", "") if expiry else None
    out = []
    for entry in master.entries:
        haystack = (entry.code, entry.underlying_code, entry.underlying_name)
        if needles and not any(n in h.casefold() for n in needles for h in haystack):
            continue
        if month and entry.expiry_month != month:
            continue
        if strike is not None and entry.strike != strike:
            continue
        if kind and entry.kind != kind:
            continue
        out.append(entry)
    return out
