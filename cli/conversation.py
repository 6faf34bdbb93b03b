"""What the terminal app needs of a joined room, as a protocol: ``session.py``
provides it over a real Room. Light to import, like the app itself."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from meshchat.mesh.events import PeerLink

from .commands import Command

SignallingState = Literal["connected", "reconnecting", "lost"]


@dataclass(frozen=True, slots=True)
class RoomStatus:
    room: str
    sealed: bool
    where: str  # the signalling service in words: a broker URL, or Ably
    hosting_broker: bool  # this process runs the room's embedded broker
    signalling: SignallingState
    restored_at: float = float("-inf")  # time.monotonic() signalling last came back


class Conversation(Protocol):
    @property
    def own_id(self) -> str: ...

    @property
    def own_nick(self) -> str: ...

    def status(self) -> RoomStatus: ...

    def links(self) -> dict[str, PeerLink]: ...

    async def show_events(self) -> None:
        """Show the room's events (through the printer it was opened with) until left."""

    async def execute(self, command: Command) -> bool:
        """Carry out a typed command; False when it was the one to leave."""

    async def close(self) -> None: ...
