"""What arrives on a channel, for every reader (mesh/channel.py): each ``async for``
gets every message, each ends when the room is left, what comes while nobody reads
waits for the next reader, and a slow reader holds a bounded backlog."""

from __future__ import annotations

import asyncio

import pytest

from meshchat.mesh import channel as c
from meshchat.mesh.channel import Channel
from meshchat.mesh.events import Received


def message(n: int, size: int = 1) -> Received:
    return Received("moves", "a1", "ana", n, f"m{n}", kind="json", size=size, data=n)


def channel() -> Channel:
    async def send(*_: object) -> object:
        raise AssertionError("not sent here")

    return Channel("moves", send, lambda kinds, handler: lambda: None)  # type: ignore[arg-type]


async def read_all(moves: Channel) -> list[object]:
    return [received.data async for received in moves]


async def test_two_readers_each_get_every_message_and_both_end_when_closed() -> None:
    moves = channel()
    readers = [asyncio.ensure_future(read_all(moves)) for _ in range(2)]
    await asyncio.sleep(0)
    for n in range(5):
        moves.deliver(message(n))
    moves.close()
    async with asyncio.timeout(1):
        assert await asyncio.gather(*readers) == [[0, 1, 2, 3, 4]] * 2


async def test_what_comes_before_anyone_reads_and_what_a_reader_left_wait_for_the_next() -> None:
    moves = channel()
    for n in range(3):
        moves.deliver(message(n))
    first = await anext(aiter(moves))  # that reader is dropped at once
    second = await anext(aiter(moves))
    moves.close()
    rest = await read_all(moves)
    assert [first.data, second.data, *rest] == [0, 1, 2]


async def test_a_slow_reader_keeps_at_most_its_byte_budget_and_counts_what_it_lost() -> None:
    moves = channel()
    reader = aiter(moves)
    big = c.BACKLOG_BYTES // 4
    for n in range(10):  # 2.5 budgets' worth, nobody reading
        moves.deliver(message(n, size=big))
    moves.close()
    kept = [received.data async for received in reader]
    assert kept == [6, 7, 8, 9] and moves.missed == 6


async def test_a_slow_reader_keeps_at_most_its_count_budget(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(c, "BACKLOG", 3)
    moves = channel()
    reader = aiter(moves)
    for n in range(5):
        moves.deliver(message(n))
    moves.close()
    assert [received.data async for received in reader] == [2, 3, 4] and moves.missed == 2
