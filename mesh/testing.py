"""Rooms for an application's own tests: in this process, no broker, real WebRTC.

    from meshchat.mesh.testing import meshed_rooms

    async def test_my_app() -> None:
        async with meshed_rooms("ana", "bo") as (ana, bo):
            await ana.send("hi")            # bo is linked already
            ...

As a pytest fixture (with pytest-asyncio)::

    @pytest.fixture
    async def pair():
        async with meshed_rooms("ana", "bo") as rooms:
            yield rooms
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from meshchat.mesh.room import Room
from meshchat.mesh.transports.memory import MemoryHub, MemoryTransport

# Three rooms mesh in under 2 s here; a loaded CI machine takes several times that.
MESH_WITHIN = 30.0


@contextlib.asynccontextmanager
async def meshed_rooms(
    *nicks: str,
    room: str = "test",
    hub: MemoryHub | None = None,
    within: float = MESH_WITHIN,
    **options: Any,
) -> AsyncIterator[tuple[Room, ...]]:
    """One joined ``Room`` per nick, all in the room ``room`` over one ``MemoryHub``
    (a new one unless given), each linked to every other before the block starts
    (TimeoutError past ``within`` seconds); every one is left when it ends, whatever
    happened. ``options`` go to each ``Room`` (``secret``, ``downloads``, ``history``...)."""
    hub = hub or MemoryHub()
    rooms = tuple(Room(MemoryTransport(hub), room, nick=nick, **options) for nick in nicks)
    try:
        for member in rooms:
            await member.join()
        async with asyncio.timeout(within):
            await asyncio.gather(*(member.wait_for_peers(len(rooms) - 1) for member in rooms))
        yield rooms
    finally:
        await asyncio.gather(*(member.leave() for member in rooms), return_exceptions=True)
