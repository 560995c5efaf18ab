"""A blocking wrapper for plain scripts: the feed runs on an event loop in a background thread.

::

    with kisfeed.connect_blocking(app_key=..., app_secret=...) as feed:
        feed.subscribe("H0ZFCNT0", "A11612")
        for record in feed:
            print(record.code, record.price)
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterable, Iterator
from typing import Any, TypeVar

from ..schema import Record
from .feed import Feed, FeedStats

__all__ = ["BlockingFeed"]

T = TypeVar("T")


class BlockingFeed:
    def __init__(self, feed: Feed) -> None:
        self._feed = feed
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="kisfeed-loop", daemon=True)

    def _call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def __enter__(self) -> BlockingFeed:
        self._thread.start()
        try:
            self._call(self._feed.__aenter__())
        except BaseException:
            self._stop_loop()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        if self._thread.is_alive():
            self._call(self._feed.close())
            self._stop_loop()

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    def subscribe(self, tr_id: str, codes: str | Iterable[str]) -> None:
        self._call(self._feed.subscribe(tr_id, codes))

    def unsubscribe(self, tr_id: str, codes: str | Iterable[str]) -> None:
        self._call(self._feed.unsubscribe(tr_id, codes))

    def stats(self) -> FeedStats:
        return self._feed.stats()

    def __iter__(self) -> Iterator[Record]:
        while True:
            try:  # records cross the thread boundary in batches: one hand-off per burst
                batch = self._call(self._feed.next_batch())
            except StopAsyncIteration:
                return
            yield from batch
