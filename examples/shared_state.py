"""A dictionary every member of a room shares, newcomers included: the pattern for a
channel whose late joiners need the current state, not the history.

    state = SharedState(room)          # before joining, so nothing is missed
    await room.join()
    asyncio.create_task(state.follow())
    await state.set("topic", "lunch")  # everyone's state["topic"] becomes "lunch"

Each update goes to everyone; when a member joins, every member hands it what it holds
(``room.on(PeerJoined, ...)``), so a newcomer catches up from whoever is there. The
last write wins, by (time, author id), the time never behind the latest one seen here
(two writes within a millisecond, or a clock behind the others', still order): members
converge whatever order things arrive in.
"""

from __future__ import annotations

import time
from typing import Any

from meshchat.mesh import JsonValue, PeerId, PeerJoined, Room

Stamp = tuple[int, PeerId]  # (milliseconds since the epoch, author)


class SharedState:
    def __init__(self, room: Room, channel: str = "shared-state") -> None:
        self._room = room
        self._channel = room.channel(channel)
        self._entries: dict[str, tuple[JsonValue, Stamp]] = {}
        self._latest_ms = 0  # the newest stamp seen: ours go after it
        room.on(PeerJoined, self._welcome)

    def __getitem__(self, key: str) -> JsonValue:
        return self._entries[key][0]

    def snapshot(self) -> dict[str, JsonValue]:
        return {key: value for key, (value, _) in self._entries.items()}

    async def set(self, key: str, value: JsonValue) -> None:
        self._latest_ms = max(time.time_ns() // 1_000_000, self._latest_ms + 1)
        stamp = (self._latest_ms, self._room.id)
        self._entries[key] = (value, stamp)
        await self._channel.send({key: [value, *stamp]})

    async def follow(self) -> None:
        """Take in what the others set, until the room is left."""
        async for received in self._channel:
            if received.kind == "json":
                self._merge(received.json())

    async def _welcome(self, joined: PeerJoined) -> None:
        if self._entries:
            everything = {key: [value, *stamp] for key, (value, stamp) in self._entries.items()}
            await self._channel.send(everything, to=[joined.peer_id])

    def _merge(self, update: Any) -> None:
        if not isinstance(update, dict):
            return  # not ours: a peer running something else on this channel
        for key, entry in update.items():
            match entry:
                case [value, int(ms), str(author)]:
                    self._latest_ms = max(self._latest_ms, ms)
                    held = self._entries.get(key)
                    if held is None or (ms, author) > held[1]:
                        self._entries[key] = (value, (ms, author))
