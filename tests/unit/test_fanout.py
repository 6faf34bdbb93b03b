"""Every listener of a room's events hears every event (mesh/fanout.py), within a bound
a slow one cannot stretch, and every iterator ends when the stream does."""

from __future__ import annotations

import asyncio
import logging

import pytest

from meshchat.mesh.events import EventsMissed
from meshchat.mesh.fanout import Fanout


async def take(iterator: object, count: int) -> list[object]:
    got: list[object] = []
    async with asyncio.timeout(2):
        async for item in iterator:  # type: ignore[attr-defined]
            got.append(item)
            if len(got) == count:
                break
    return got


async def test_two_iterators_each_get_every_event_and_both_end_on_close() -> None:
    fanout: Fanout[int] = Fanout()
    seen: dict[str, list[object]] = {"a": [], "b": []}

    async def listen(name: str) -> None:
        async for item in fanout.iterate():
            seen[name].append(item)

    listeners = [asyncio.create_task(listen(name)) for name in seen]
    await asyncio.sleep(0)  # both are listening
    for number in range(5):
        fanout.publish(number)
    fanout.close()
    async with asyncio.timeout(2):
        await asyncio.gather(*listeners)  # both ended
    assert seen == {"a": [0, 1, 2, 3, 4], "b": [0, 1, 2, 3, 4]}


async def test_what_comes_while_nobody_listens_waits_for_the_next_reader() -> None:
    fanout: Fanout[int] = Fanout()
    fanout.publish(1)  # before anyone iterates, as events right after join()
    assert await take(fanout.iterate(), 1) == [1]
    fanout.publish(2)  # between two readers: the one queue of before kept these too
    fanout.publish(3)
    assert await take(fanout.iterate(), 2) == [2, 3]


async def test_a_slow_listener_loses_its_oldest_and_is_told_while_the_others_lose_nothing() -> None:
    fanout: Fanout[int] = Fanout(limit=3)
    slow, quick = fanout.iterate(), fanout.iterate()
    heard: list[object] = []

    async def keep_up() -> None:
        async for item in quick:
            heard.append(item)

    # Both listen from here; the slow one reads one event, then stops reading.
    fanout.publish(0)
    assert await anext(slow) == 0
    keeping_up = asyncio.create_task(keep_up())
    await asyncio.sleep(0)
    for number in range(1, 11):
        fanout.publish(number)
        await asyncio.sleep(0)
    assert heard == list(range(11))
    assert fanout.missed == 7  # held 3 of 10, counted the rest
    rest = [await anext(slow) for _ in range(4)]
    assert rest == [EventsMissed(7), 8, 9, 10]
    assert fanout.missed == 0
    fanout.close()
    await keeping_up


async def test_nobody_listening_holds_no_more_than_the_bound() -> None:
    fanout: Fanout[int] = Fanout(limit=100)
    for number in range(100_000):
        fanout.publish(number)
    fanout.close()
    got = [item async for item in fanout.iterate()]
    assert got[0] == EventsMissed(99_900) and got[1:] == list(range(99_900, 100_000))


async def test_handlers_hear_their_kinds_a_failing_one_is_logged_and_kept(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fanout: Fanout[object] = Fanout()
    texts: list[str] = []
    numbers: list[int] = []
    awaited: list[int] = []

    def on_number(number: int) -> None:
        if number == 2:
            raise RuntimeError("the handler's own bug")
        numbers.append(number)

    async def slowly(number: int) -> None:
        await asyncio.sleep(0.01)
        awaited.append(number)

    fanout.on(str, texts.append)
    fanout.on(int, on_number)
    stop = fanout.on(int, slowly)
    with caplog.at_level(logging.ERROR, logger="meshchat.mesh.fanout"):
        for item in ("a", 1, 2, "b", 3):
            fanout.publish(item)
    stop()
    fanout.publish(4)
    await fanout.drain_handlers()
    assert texts == ["a", "b"]
    assert numbers == [1, 3, 4]
    assert awaited == [1, 2, 3]
    assert "the handler's own bug" in caplog.text


async def test_an_iterator_started_after_close_ends_once_it_has_what_waited() -> None:
    fanout: Fanout[int] = Fanout()
    fanout.publish(7)
    fanout.close()
    fanout.publish(8)  # after close: nobody hears it
    assert [item async for item in fanout.iterate()] == [7]
    assert [item async for item in fanout.iterate()] == []


async def test_a_handler_may_stop_itself_while_it_is_called() -> None:
    fanout: Fanout[int] = Fanout()
    calls: list[int] = []
    after: list[int] = []

    def once(number: int) -> None:
        calls.append(number)
        stop()

    stop = fanout.on(int, once)
    fanout.on(int, after.append)
    fanout.publish(1)
    fanout.publish(2)
    assert calls == [1] and after == [1, 2]  # the one after it was not skipped
