"""A Room as an application meets it (issue 28): every listener hears every event and
stops when the room is left, and a room used outside its life says so instead of
doing nothing. Rooms in one process over the in-memory transport, real aiortc."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

from meshchat.mesh import (
    AlreadyJoined,
    MemoryHub,
    MemoryTransport,
    MeshError,
    MessageReceived,
    NotJoined,
    PeerJoined,
    Room,
    RoomClosed,
    RoomEvent,
    WebSocketTransport,
)

from .processes import EVENT_TIMEOUT, free_port, silent_listener
from .rooms import LOOPBACK, full_mesh

pytestmark = pytest.mark.integration


def room(hub: MemoryHub, nick: str) -> Room:
    return Room(MemoryTransport(hub), "life", nick=nick, ice=LOOPBACK)


async def test_two_listeners_each_hear_every_event_and_both_end_when_the_room_is_left() -> None:
    hub = MemoryHub()
    ana, bo = room(hub, "ana"), room(hub, "bo")
    heard: dict[str, list[RoomEvent]] = {"presence": [], "chat": []}

    async def listen(name: str) -> None:
        async for event in ana.events():
            heard[name].append(event)

    # Two parts of one application, each with its own loop over the same room.
    listeners = [asyncio.create_task(listen(name)) for name in heard]
    joined: list[PeerJoined] = []
    ana.on(PeerJoined, joined.append)
    await ana.join()
    await bo.join()
    try:
        await full_mesh(ana, bo)
        await bo.send("hello both")
        async with asyncio.timeout(EVENT_TIMEOUT):
            while not all(
                any(isinstance(e, MessageReceived) for e in events) for events in heard.values()
            ):
                await asyncio.sleep(0.05)
    finally:
        await bo.leave()
        await ana.leave()
    async with asyncio.timeout(5):
        await asyncio.gather(*listeners)  # both loops ended with the room
    for events in heard.values():
        assert [e.peer_id for e in events if isinstance(e, PeerJoined)] == [bo.id]
        lines = [e.message.text for e in events if isinstance(e, MessageReceived)]
        assert lines == ["hello both"]
    assert [event.peer_id for event in joined] == [bo.id]


async def test_a_room_used_outside_its_life_says_so() -> None:
    hub = MemoryHub()
    ana, bo = room(hub, "ana"), room(hub, "bo")
    moves = ana.channel("moves")  # channels may be opened before joining
    with pytest.raises(NotJoined, match="join the room"):
        await ana.send("too early")
    with pytest.raises(NotJoined):
        await moves.send({"x": 1})
    await ana.join()
    await bo.join()
    with pytest.raises(AlreadyJoined):
        await ana.join()
    await full_mesh(ana, bo)
    sent = await ana.send("in time")
    assert sent.delivered_to == (bo.id,)
    await ana.leave()
    await ana.leave()  # twice is harmless
    with pytest.raises(RoomClosed):
        await ana.send("too late")
    with pytest.raises(RoomClosed):
        await moves.send({"x": 2})
    with pytest.raises(RoomClosed, match="make a new one"):
        await ana.join()
    await bo.leave()
    # One family, for an application that catches them all.
    assert issubclass(NotJoined, MeshError) and issubclass(RoomClosed, MeshError)


async def test_a_room_left_without_joining_ends_its_listeners() -> None:
    ana = room(MemoryHub(), "ana")
    listening = asyncio.create_task(anext(aiter(ana.events()), None))
    await asyncio.sleep(0)
    await ana.leave()
    async with asyncio.timeout(2):
        assert await listening is None


class RecordingHub(MemoryHub):
    """The in-memory service, keeping what was published."""

    def __init__(self) -> None:
        super().__init__()
        self.published: list[dict[str, Any]] = []

    def publish(self, topic: str, data: dict[str, Any], publisher: str) -> None:
        self.published.append(data)
        super().publish(topic, data, publisher)


async def test_rooms_in_one_process_link_over_loopback_and_wait_for_each_other() -> None:
    hub = RecordingHub()
    # No ice=...: over a transport within the process, loopback is the default.
    ana = Room(MemoryTransport(hub), "life", nick="ana")
    bo = Room(MemoryTransport(hub), "life", nick="bo")
    await ana.join()
    waiting = asyncio.create_task(ana.wait_for_peers(1))
    await asyncio.sleep(0.2)
    assert not waiting.done(), "nobody else is here yet"
    await bo.join()
    try:
        async with asyncio.timeout(EVENT_TIMEOUT):
            assert await waiting == {bo.id: "bo"}
            assert await bo.wait_for_peers() == {ana.id: "ana"}
        addresses = set(re.findall(r"candidate:\S+ \d+ udp \d+ (\S+)", str(hub.published)))
        assert addresses == {"127.0.0.1"}
    finally:
        await bo.leave()
    left_meanwhile = asyncio.create_task(ana.wait_for_peers(2))
    await asyncio.sleep(0.1)
    await ana.leave()
    with pytest.raises(RoomClosed):
        async with asyncio.timeout(5):
            await left_meanwhile


async def test_a_room_left_while_it_joins_stays_left() -> None:
    port = free_port()
    busy = await silent_listener(port)  # a broker too busy to answer: join() waits
    try:
        transport = WebSocketTransport(f"ws://127.0.0.1:{port}", open_timeout=1.0, patience=2.0)
        ana = Room(transport, "life", nick="ana", ice=LOOPBACK)
        joining = asyncio.create_task(ana.join())
        await asyncio.sleep(0.3)  # under way
        await ana.leave()
        with pytest.raises(MeshError):  # it gives up on the broker it was waiting for
            async with asyncio.timeout(10):
                await joining
        with pytest.raises(RoomClosed):  # left, not "never joined"
            await ana.send("after all")
    finally:
        busy.close()
