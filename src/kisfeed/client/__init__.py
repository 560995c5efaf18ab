"""The asyncio client: ``kisfeed.connect(...)`` returns a ``Feed``."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import httpx

from ..auth import REAL_REST_URL, REAL_WS_URL, ApprovalKeys, Credentials
from ..exceptions import ConfigError
from . import events
from .blocking import BlockingFeed
from .events import Connected, Disconnected, FeedEvent, Reconnecting, Rejected, Subscribed, Unsubscribed
from .feed import Feed, FeedStats, FrameHook
from .settings import FeedSettings, exponential_backoff

__all__ = [
    "connect",
    "connect_blocking",
    "BlockingFeed",
    "Feed",
    "FeedStats",
    "FeedSettings",
    "exponential_backoff",
    "events",
    "FeedEvent",
    "Connected",
    "Disconnected",
    "Reconnecting",
    "Rejected",
    "Subscribed",
    "Unsubscribed",
]


def connect(
    app_key: str | None = None,
    app_secret: str | None = None,
    *,
    credentials: Sequence[tuple[str, str]] | None = None,
    ws_url: str | None = None,
    rest_url: str | None = None,
    paper: bool = False,
    settings: FeedSettings | None = None,
    on_frame: FrameHook | None = None,
    on_event: Callable[[FeedEvent], None] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    **overrides: Any,
) -> Feed:
    """A live feed of KRX futures/options records (stock: trades H0ZFCNT0/H0ZOCNT0, order books
    H0ZFASP0/H0ZOASP0, expected prices H0ZFANC0/H0ZOANC0; KOSPI200 index H0IF*/H0IO*; the night
    session H0MF*/H0EU*, reference 4.6): ``async with kisfeed.connect(...) as feed``.

    Credentials: ``app_key``/``app_secret``, or several pairs in ``credentials`` (one session
    per app key, 41 registrations each), or ``KIS_APP_KEY``/``KIS_APP_SECRET``. Endpoints: the
    real server unless ``ws_url``/``rest_url`` or ``KIS_WS_URL``/``KIS_REST_URL`` say otherwise
    (a simulator, say). ``settings`` or keyword overrides (``queue_size=...``,
    ``overflow="drop-oldest"``, ...) tune the feed: see ``FeedSettings``. ``on_frame(text,
    received_ns, session)`` sees every raw frame first (the recorder's hook); ``on_event`` sees
    connection events. ``cache_dir`` (a path or str) holds cached approval keys.

    Both callbacks run on the feed's event loop, in the middle of reading the socket, so they
    must be quick and must not raise: a callback that raises ends the feed, and the consumer
    (``async for``, ``next_batch``, ``run``, a waiting ``subscribe``, the blocking iterator) gets
    ``CallbackError`` with the callback's exception as ``__cause__``. A named error rather than
    the bare exception, because the code that meets it is not the code that raised it: it says
    which callback failed, and ``except FeedError`` catches every way a feed ends.
    """
    if paper:
        # H0ZFCNT0/H0ZOCNT0 and their siblings are real-only: "모의투자 미지원" (reference 1.1).
        raise ConfigError(
            "stock futures/options real-time TRs exist on the real server only "
            "(모의투자 미지원); connect without paper=True"
        )
    pairs = list(credentials or [])
    if app_key is not None or app_secret is not None:
        pairs.insert(0, (app_key or "", app_secret or ""))
    creds = [Credentials(k, s) for k, s in pairs] if pairs else [Credentials.from_env()]
    if len({c.app_key for c in creds}) != len(creds):
        raise ConfigError("the same app key is given twice: KIS allows one session per app key")
    try:
        settings = settings or FeedSettings()
        if overrides:
            settings = FeedSettings(**{**settings.__dict__, **overrides})
    except TypeError as exc:
        raise ConfigError(f"unknown feed setting: {exc}") from None
    approvals = ApprovalKeys(
        rest_url or os.environ.get("KIS_REST_URL") or REAL_REST_URL, transport=transport, cache_dir=cache_dir
    )
    return Feed(
        creds,
        ws_url=ws_url or os.environ.get("KIS_WS_URL") or REAL_WS_URL,
        approvals=approvals,
        settings=settings,
        on_frame=on_frame,
        on_event=on_event,
    )


def connect_blocking(*args: Any, **kwargs: Any) -> BlockingFeed:
    """``connect`` for plain scripts: ``with kisfeed.connect_blocking(...) as feed``, then
    ``feed.subscribe(...)`` and ``for record in feed``. Same arguments as ``connect``."""
    return BlockingFeed(connect(*args, **kwargs))
