"""A bot that answers "!ping" in a room, and only what is said while it is there.

    python examples/ping_bot.py ws://127.0.0.1:8765 lobby

It may start before its broker does (it waits for one to answer, up to a minute),
rides out broker restarts (the room reconnects by itself) and stops on Ctrl-C.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys

from meshchat.mesh import MessageReceived, Room, WebSocketTransport


async def answer_pings(url: str, room_name: str) -> None:
    transport = WebSocketTransport(url, wait_for_broker=True)
    async with Room(transport, room_name, nick="pingbot") as room:
        print(f"pingbot is {room.id} in {room.name}", flush=True)
        async for event in room.events():
            match event:
                case MessageReceived(history=True):
                    pass  # said before we came, handed over by a peer: not for answering
                case MessageReceived(message=message) if message.text.strip() == "!ping":
                    await room.send(f"pong, {message.nick}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(answer_pings(sys.argv[1], sys.argv[2]))
