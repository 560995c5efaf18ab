"""kisfeed: real-time KRX derivatives data from Korea Investment & Securities: stock and KOSPI200
futures and options, in the day and the night session.

The layers (see the design notes): ``schema`` (layouts and typed records), ``protocol``
(sans-I/O codec and session), ``client`` (asyncio connection), ``store`` (journal, Parquet,
DuckDB), ``sim`` (the local KIS server) and ``cli``. Importing ``kisfeed`` loads no I/O module;
``kisfeed.connect`` and the subpackages ``kisfeed.client``, ``kisfeed.store`` and ``kisfeed.sim``
are imported on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .exceptions import *  # noqa: F403 - the exception tree is part of the top-level API
from .exceptions import __all__ as _exceptions
from .protocol import Session, decode
from .schema import (
    Book,
    FuturesBook,
    FuturesExpected,
    FuturesTrade,
    FuturesTradeRecord,
    IndexFuturesBook,
    IndexFuturesTrade,
    IndexOptionBook,
    IndexOptionTrade,
    Level,
    NightFuturesBook,
    NightFuturesTrade,
    NightOptionBook,
    NightOptionExpected,
    NightOptionTrade,
    OptionBook,
    OptionExpected,
    OptionTrade,
    OptionTradeRecord,
    Record,
    Sign,
)

if TYPE_CHECKING:  # what the lazy attributes below resolve to, for type checkers ("as": re-exported)
    from . import client as client
    from . import sim as sim
    from . import store as store
    from .client import connect, connect_blocking
    from .store.tables import to_frame

__version__ = "0.1.0"

# Subpackages that import asyncio, websockets, httpx, pyarrow or duckdb: ``kisfeed.store.query``
# works after a bare ``import kisfeed`` (as the README writes it), without making that import slow.
_LAZY_SUBPACKAGES = ("client", "store", "sim")

__all__ = [
    "decode",
    "connect",
    "connect_blocking",
    "to_frame",
    "Session",
    "Record",
    "FuturesTrade",
    "OptionTrade",
    "Book",
    "Level",
    "FuturesBook",
    "OptionBook",
    "FuturesExpected",
    "OptionExpected",
    "IndexFuturesTrade",
    "IndexFuturesBook",
    "IndexOptionTrade",
    "IndexOptionBook",
    "NightFuturesTrade",
    "NightFuturesBook",
    "NightOptionTrade",
    "NightOptionBook",
    "NightOptionExpected",
    "FuturesTradeRecord",
    "OptionTradeRecord",
    "Sign",
    "__version__",
    *_exceptions,
]


if not TYPE_CHECKING:  # at run time only: a type checker sees the imports above, and a typo stays an error

    def __getattr__(name: str) -> Any:
        # connect() pulls in asyncio, websockets and httpx; load them only when asked for.
        if name in ("connect", "connect_blocking"):
            from . import client

            return getattr(client, name)
        if name == "to_frame":  # pyarrow and DuckDB, on first use
            from .store.tables import to_frame

            return to_frame
        if name in _LAZY_SUBPACKAGES:
            # import_module binds the submodule as an attribute of the package: __getattr__ runs once.
            return importlib.import_module(f".{name}", __name__)
        raise AttributeError(f"module 'kisfeed' has no attribute {name!r}")
