"""Named channels of a room: any JSON value or bytes, to everyone or to chosen peers.

    moves = room.channel("moves")
    await moves.send({"x": 1})
    await moves.send(b"\\x00" * 10_000_000, to=[peer_id])
    async for received in moves:   # .data, .sender, .nick, .timestamp_ms
        ...

The channel named ``"chat"`` is the chat itself: it sends and yields text.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable

from meshchat.mesh.events import Received, SentMessage, SentPayload
from meshchat.mesh.link.payloads import CHAT_CHANNEL

SendPayload = Callable[[str, object, Iterable[str] | None], Awaitable[SentPayload]]
SendChat = Callable[[str], Awaitable[SentMessage]]


class Channel:
    """One named channel of a room. Messages arrive in order per author; what arrives
    before anyone iterates waits in the channel, so open channels before joining to
    miss nothing."""

    def __init__(self, name: str, send_payload: SendPayload, send_chat: SendChat) -> None:
        self.name = name
        self._send_payload = send_payload
        self._send_chat = send_chat
        self._received: asyncio.Queue[Received | None] = asyncio.Queue()

    async def send(
        self, data: object, *, to: Iterable[str] | None = None
    ) -> SentPayload | SentMessage:
        """Send ``data`` (a JSON value, or bytes) to everyone, or to the peer ids ``to``.
        Returns once the payload is accepted; its bytes go as the channels take them.

        Raises ValueError (bad data, unknown recipients) or PayloadTooLarge (over 64
        MiB) before anything is sent.
        """
        if self.name == CHAT_CHANNEL:
            if not isinstance(data, str) or to is not None:
                raise ValueError("the chat channel carries text, to everyone")
            return await self._send_chat(data)
        return await self._send_payload(self.name, data, to)

    def deliver(self, received: Received) -> None:
        self._received.put_nowait(received)

    def close(self) -> None:
        self._received.put_nowait(None)

    async def __aiter__(self) -> AsyncIterator[Received]:
        while (received := await self._received.get()) is not None:
            yield received
