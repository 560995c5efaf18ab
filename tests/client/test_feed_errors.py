"""How a feed ends: every error reaches the consumer, promptly, and leaves no task behind
(issue 11, item 19). Real simulator, real sockets."""

from __future__ import annotations

import asyncio
import gc
import logging
from typing import Any

import pytest

import kisfeed
from kisfeed.client import events as ev
from kisfeed.exceptions import CallbackError, FeedError
from kisfeed.sim import Simulator

from ..conftest import seconds
from .conftest import APP_KEY, APP_SECRET, codes, collect, feed_for, running, sim_config

F = "H0ZFCNT0"


class HookFailed(Exception):
    """What the user's callback raises."""


def loop_errors() -> list[dict[str, Any]]:
    """Everything asyncio reports to the running loop's exception handler from now on, such as
    "Task exception was never retrieved" for a task that died with nobody awaiting it."""
    reported: list[dict[str, Any]] = []
    asyncio.get_running_loop().set_exception_handler(lambda loop, context: reported.append(context))
    return reported


async def consume(feed: kisfeed.client.Feed, style: str) -> None:
    """Consume records in one of the three ways the feed offers, until it ends."""
    if style == "async for":
        async for _ in feed:
            pass
    elif style == "next_batch":
        while True:
            await feed.next_batch(100)
    else:
        await feed.run(lambda record: None)


def raising_on_frame(after: int):
    seen = []

    def on_frame(text: str, received_ns: int, session: int) -> None:
        if text.startswith("0|"):
            seen.append(text)
            if len(seen) == after:
                raise HookFailed("journal full")

    return on_frame


def raising_on_event(kind: type):
    def on_event(event: ev.FeedEvent) -> None:
        if isinstance(event, kind):
            raise HookFailed(f"cannot handle {type(event).__name__}")

    return on_event


@pytest.mark.parametrize("style", ["async for", "next_batch", "run"])
@pytest.mark.parametrize("hook", ["on_frame", "on_event"])
async def test_a_raising_callback_ends_the_feed_with_callback_error(tmp_path, caplog, hook, style):
    reported = loop_errors()
    callback = {"on_frame": raising_on_frame(after=5), "on_event": raising_on_event(ev.Subscribed)}[hook]
    async with running() as sim:
        async with feed_for(sim, tmp_path, **{hook: callback}) as feed:
            await feed.subscribe(F, codes(sim, F)[:1])  # its reply comes before the callback raises
            with pytest.raises(CallbackError) as caught:
                await asyncio.wait_for(consume(feed, style), seconds(10))  # never a hang
            assert caught.value.callback == hook
            assert isinstance(caught.value.__cause__, HookFailed)
            assert "HookFailed" in str(caught.value)
            with pytest.raises(CallbackError):  # and it stays ended
                await asyncio.wait_for(feed.next_batch(), seconds(10))
            # the feed stopped its connections: no session is left open at the server
            assert not any(feed.stats().connected.values())
        del feed
        gc.collect()
    assert reported == []
    assert "never retrieved" not in caplog.text


async def test_a_callback_that_raises_while_connecting_fails_async_with(tmp_path):
    reported = loop_errors()
    async with running() as sim:
        with pytest.raises(CallbackError) as caught:
            await asyncio.wait_for(
                feed_for(sim, tmp_path, on_event=raising_on_event(ev.Connected)).__aenter__(), seconds(10)
            )
        gc.collect()
    assert isinstance(caught.value.__cause__, HookFailed)
    assert reported == []


async def test_a_callback_that_raises_fails_a_waiting_subscribe_and_any_later_one(tmp_path):
    armed = asyncio.Event()

    def on_frame(text: str, received_ns: int, session: int) -> None:
        if armed.is_set() and text.startswith("0|"):
            raise HookFailed("journal full")

    async with running() as sim, feed_for(sim, tmp_path, on_frame=on_frame) as feed:
        first, second, third = codes(sim, F)[:3]
        await feed.subscribe(F, first)
        sim.faults.withhold_acks()  # the next subscribe waits; the data of the first ends the feed
        armed.set()
        with pytest.raises(CallbackError):
            await asyncio.wait_for(feed.subscribe(F, second), seconds(10))
        with pytest.raises(CallbackError):  # at once, not after reply_timeout
            await asyncio.wait_for(feed.subscribe(F, third), seconds(1))


async def test_a_raising_on_event_on_reconnect_ends_the_feed(tmp_path):
    async with running() as sim, feed_for(sim, tmp_path, on_event=raising_on_event(ev.Disconnected)) as feed:
        await feed.subscribe(F, codes(sim, F)[:2])
        await collect(feed, 5)
        await sim.faults.drop()
        with pytest.raises(CallbackError) as caught:
            await asyncio.wait_for(consume(feed, "async for"), seconds(10))
    assert isinstance(caught.value.__cause__, HookFailed)


async def test_an_unexpected_error_is_raised_as_itself_at_once(tmp_path):
    """Not a callback, not a connection problem: a bug or a setting that fails. Before, the
    connection task died with it and ``async with`` said "could not connect … no answer"."""
    reported = loop_errors()

    def backoff():
        raise ValueError("this back-off is broken")

    async with running() as sim:
        with pytest.raises(ValueError, match="this back-off is broken"):
            await asyncio.wait_for(feed_for(sim, tmp_path, backoff=backoff).__aenter__(), seconds(5))
        gc.collect()
    assert reported == []


async def test_cache_dir_may_be_a_str(tmp_path):
    async with running() as sim:
        cache = tmp_path / "str-cache"
        async with kisfeed.connect(
            APP_KEY, APP_SECRET, ws_url=sim.ws_url, rest_url=sim.rest_url, cache_dir=str(cache)
        ) as feed:
            await feed.subscribe(F, codes(sim, F)[:1])
            assert await collect(feed, 3)
    assert [p.name.startswith("approval-") for p in cache.iterdir()] == [True]


def test_a_cache_dir_of_the_wrong_type_is_refused_at_connect():
    with pytest.raises(TypeError):
        kisfeed.connect(APP_KEY, APP_SECRET, cache_dir=42)  # type: ignore[arg-type]


def test_the_blocking_iterator_raises_callback_error(tmp_path, caplog):
    caplog.set_level(logging.ERROR)

    async def main():
        async with running() as sim:
            loop = asyncio.get_running_loop()
            return await asyncio.wait_for(loop.run_in_executor(None, blocking, sim), seconds(20))

    def blocking(sim):
        with kisfeed.connect_blocking(
            APP_KEY,
            APP_SECRET,
            ws_url=sim.ws_url,
            rest_url=sim.rest_url,
            cache_dir=tmp_path / "cache",
            on_frame=raising_on_frame(after=3),
        ) as feed:
            feed.subscribe(F, codes(sim, F)[:1])
            with pytest.raises(CallbackError) as caught:
                for _ in feed:
                    pass
            return caught.value

    error = asyncio.run(main())
    assert error.callback == "on_frame" and isinstance(error.__cause__, HookFailed)
    assert "never retrieved" not in caplog.text


async def test_a_backoff_that_runs_out_ends_the_feed_saying_so(tmp_path):
    """A finite ``backoff`` is the user's limit on reconnecting: when it runs out the feed ends
    with a FeedError that says so (it used to be "coroutine raised StopIteration")."""
    sim = Simulator(sim_config())
    await sim.start()
    try:
        feed = feed_for(sim, tmp_path, backoff=lambda: iter([0.01, 0.01]))
        async with feed:
            await feed.subscribe(F, codes(sim, F)[:1])
            assert await collect(feed, 1)
            await sim.stop()  # nothing listens any more: every reconnect fails at once
            with pytest.raises(FeedError, match=r"gave up reconnecting after 2 attempts"):
                await asyncio.wait_for(consume(feed, "async for"), seconds(10))
    finally:
        await sim.stop()
