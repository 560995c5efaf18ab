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
from dataclasses import dataclass
from pathlib import Path

import httpx

from . import paths
from .exceptions import ConfigError, KisfeedError, UsageError
from .schema.layouts import LAYOUTS, Category, Product, layout_for, trs_for
from .schema.master import MasterEntry, parse_master

__all__ = [
    "MASTER_URL",
    "Master",
    "download_master",
    "read_master",
    "search",
    "code_product",
    "trs_for_code",
    "check_code",
    "tr_of",
]

#: A KIS short code's length -> its product: stock futures have 6 characters (``A11612``), stock
#: options 9 (``B11612007``), in the old and the 2026 form alike (reference 5.2, 5.3). Spreads
#: (8, ``D116C71S``) have no real-time TR; any other length is left to the server.
_PRODUCT_BY_LENGTH: dict[int, Product] = {6: "futures", 9: "option"}
_KIND_OF_PRODUCT: dict[Product, str] = {"futures": "future", "option": "call"}  # a call's TRs are a put's


def code_product(code: str) -> Product | None:
    """``futures`` or ``option`` as the code's form says (the ``Layout.product`` values), or None
    when the form does not tell."""
    return _PRODUCT_BY_LENGTH.get(len(code))


def trs_for_code(code: str) -> tuple[str, ...]:
    """The TRs a code of this form can be subscribed on, trades first (empty when the form does
    not tell: look the code up in the master, ``MasterEntry.tr_ids``)."""
    product = code_product(code)
    return trs_for(_KIND_OF_PRODUCT[product]) if product else ()


def tr_of(product: Product, category: Category) -> str:
    """The TR of a product (``futures``/``option``) and a category (``trade``/``book``/
    ``expected``): ``tr_of("option", "book")`` is H0ZOASP0."""
    return next(t for t in trs_for(_KIND_OF_PRODUCT[product]) if LAYOUTS[t].category == category)


def check_code(tr_id: str, code: str) -> None:
    """Refuse (``UsageError``) a code whose form names the other product than ``tr_id``'s: an
    option code on H0ZFASP0 would be acknowledged by KIS and then bring nothing (reference 8.11).
    ``UnknownTRError`` for a TR without a layout."""
    layout = layout_for(tr_id)
    product = code_product(code)
    if product is not None and product != layout.product:
        what = "stock futures" if product == "futures" else "stock option"
        raise UsageError(
            f"{code} is a {what} code ({len(code)} characters, reference 5.2) and {tr_id} is the "
            f"{layout.english}: use {tr_of(product, layout.category)}"
        )


MASTER_URL = "https://new.real.download.dws.co.kr/common/master/fo_stk_code_mts.mst.zip"
MASTER_NAME = "fo_stk_code_mts.mst"
MAX_AGE = 12 * 3600.0  # the file changes daily (new listings, expiries)


@dataclass(frozen=True)
class Master:
    entries: list[MasterEntry]
    source: str  # where the entries came from, for the user to see
    skipped: int = 0  # lines that were not entries

    def by_code(self) -> dict[str, MasterEntry]:
        return {e.code: e for e in self.entries}


def read_master(path: str | Path, source: str | None = None) -> Master:
    """A master file on disk (cp949, as KIS ships it; UTF-8 accepted too)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read master file {path}: {exc.strerror or exc}") from None
    try:
        text = data.decode("cp949")
    except UnicodeDecodeError:
        text = data.decode("utf-8", "replace")
    entries, bad = parse_master(text)
    if not entries:
        raise ConfigError(f"{path} holds no master lines (expected 9 '|'-separated columns, reference 5.4)")
    return Master(entries, source or str(path), len(bad))


def download_master(
    cache_dir: Path | None = None,
    *,
    transport: httpx.BaseTransport | None = None,
    timeout: float = 10.0,
) -> Master:
    """The KIS master, from the cache if younger than 12 h, else downloaded (and cached)."""
    cache = (cache_dir or paths.cache_dir()) / MASTER_NAME
    if cache.exists() and time.time() - cache.stat().st_mtime < MAX_AGE:
        return read_master(cache, f"KIS master (cached {cache})")
    try:
        with httpx.Client(transport=transport, timeout=timeout) as http:
            response = http.get(MASTER_URL)
            response.raise_for_status()
        with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
            data = archive.read(MASTER_NAME)
    except (httpx.HTTPError, zipfile.BadZipFile, KeyError) as exc:
        raise KisfeedError(f"cannot download the KIS master file: {type(exc).__name__}: {exc}") from None
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, cache)
    return read_master(cache, f"KIS master (downloaded {MASTER_URL})")


def search(
    master: Master,
    query: str = "",
    *,
    expiry: str | None = None,
    strike: float | None = None,
    kind: str | None = None,
) -> list[MasterEntry]:
    """Entries whose code, underlying code or underlying name contains ``query`` (case-blind),
    filtered by expiry (``YYYYMM`` or ``YYYY-MM``), strike and kind (future/call/put/spread)."""
    needle = query.strip().casefold()
    month = expiry.replace("-", "") if expiry else None
    out = []
    for entry in master.entries:
        haystack = (entry.code, entry.underlying_code, entry.underlying_name)
        if needle and not any(needle in h.casefold() for h in haystack):
            continue
        if month and entry.expiry_month != month:
            continue
        if strike is not None and entry.strike != strike:
            continue
        if kind and entry.kind != kind:
            continue
        out.append(entry)
    return out
