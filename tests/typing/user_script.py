"""A user's script, checked by ``mypy --strict`` in ``tests/test_typing.py`` (never run)."""

from typing import reveal_type

import kisfeed


async def main(frame: str) -> None:
    for record in kisfeed.decode(frame):
        reveal_type(record)
        if isinstance(record, kisfeed.FuturesTrade):
            reveal_type(record.price)
            if record.price is not None:
                reveal_type(record.price)
    reveal_type(kisfeed.connect)
    async with kisfeed.connect("key", "secret") as feed:
        reveal_type(feed)
        await feed.subscribe("H0ZFCNT0", ["A01606"])
        async for rec in feed:
            reveal_type(rec)
            reveal_type(rec.to_dict())
            reveal_type(rec.exchange_time)
            if isinstance(rec, kisfeed.OptionTrade):
                reveal_type(rec.price)
            break
        reveal_type(feed.stats())
    reveal_type(kisfeed.store.query("SELECT count(*) FROM futures_trades", as_="polars"))
    for book in kisfeed.decode(frame):
        if isinstance(book, kisfeed.Book):
            reveal_type(book.asks)
            reveal_type(book.bids[0].qty)
        if isinstance(book, kisfeed.FuturesBook):
            reveal_type(book.ask10)
        elif isinstance(book, kisfeed.OptionExpected):
            reveal_type(book.quantity)
