"""Helpers for tests that drive ``Room`` objects in-process."""

from __future__ import annotations

import asyncio

from meshchat.mesh import IceConfig, Room, RoomEvent

from .processes import EVENT_TIMEOUT

LOOPBACK = IceConfig(host_addresses=("127.0.0.1",))


async def full_mesh(*rooms: Room, within: float = EVENT_TIMEOUT) -> None:
    """Wait until every room has an open data channel to every other."""
    ids = {room.id for room in rooms}
    async with asyncio.timeout(within):
        while any(set(room.peers) != ids - {room.id} for room in rooms):
            await asyncio.sleep(0.05)


async def next_event(room: Room, kind: type[RoomEvent]) -> RoomEvent:
    """The next event of type ``kind`` (earlier ones of other types are consumed)."""
    async with asyncio.timeout(EVENT_TIMEOUT):
        async for event in room.events():
            if isinstance(event, kind):
                return event
    raise AssertionError("the room closed first")
