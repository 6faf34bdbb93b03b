"""A program that drives ``meshchat join --json``, in any language's way: JSON objects
in on stdin, one JSON event per line out on stdout.

    python examples/json_driver.py ws://127.0.0.1:8765 lobby

It joins, waits for someone to arrive, says a line of two lines, puts a score on the
channel "scores", and leaves once its score has reached everyone who was there (or
failed to) and someone else's score has come.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any


async def drive(url: str, room: str) -> None:
    chat = await asyncio.create_subprocess_exec(
        *("meshchat", "join", room, "--json", "--nick", "driver", "--broker", url),
        *("--channel", "scores", "--host-address", "127.0.0.1"),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert chat.stdin is not None and chat.stdout is not None

    async def tell(request: dict[str, Any]) -> None:
        assert chat.stdin is not None
        chat.stdin.write(json.dumps(request).encode() + b"\n")
        await chat.stdin.drain()

    waiting_for: set[str] = set()
    sent = scored = False
    async for line in chat.stdout:
        event = json.loads(line)
        match event["event"]:
            case "ready":
                print(f"joined {event['room']} as {event['id']}", flush=True)
            case "joined":
                await tell({"say": "hello from a script\n(on two lines)"})
                await tell({"channel": "scores", "data": {"driver": 42}})
            case "payload-sent":
                waiting_for = set(event["to"]) | set(event["queued_for"])
            case "payload-delivered" | "payload-undelivered" as outcome:
                print(f"{outcome.removeprefix('payload-')} to {event['peer']}", flush=True)
                waiting_for.discard(event["peer"])
                sent = not waiting_for
            case "payload":
                print(f"{event['nick']} scored {json.dumps(event['data'])}", flush=True)
                scored = True
            case "error":
                print(f"meshchat says: {event['message']}", file=sys.stderr, flush=True)
        if sent and scored:
            sent = scored = False
            await tell({"quit": True})
    sys.exit(await chat.wait())


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    asyncio.run(drive(sys.argv[1], sys.argv[2]))
