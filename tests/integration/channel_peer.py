"""A Python peer process for channel tests, driven by JSON lines on stdin:

    {"send": {"size": N, "seed": S} | {"json": VALUE}, "to": [ids] | null, "tag": T}
    {"forge": ..., same fields}   the same, signed by a key that is not this peer's
    {"stats": true}

It joins ROOM through the bundled broker at URL, listens on the channel ``files``, and
reports on stdout, one JSON object a line: ``ready`` (with its ``id``), ``joined`` and
``left`` (``peer``), ``payload`` (what arrived, with the SHA-256 it computed itself
from the bytes), ``sent`` or ``error`` (per tag), and ``stats``.

    python -m tests.integration.channel_peer URL ROOM NICK
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import sys
from typing import Any

from meshchat.mesh import IceConfig, PeerJoined, PeerLeft, Room, WebSocketTransport
from meshchat.mesh.identity import Identity

CHANNEL = "files"


def pattern(size: int, seed: int) -> bytes:
    """``size`` bytes that depend on their position (as the page's test makes them)."""
    period = bytes((i * 31 + seed) % 256 for i in range(256))
    return (period * (size // 256 + 1))[:size]


def report(**fields: Any) -> None:
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


async def watch_room(room: Room) -> None:
    async for event in room.events():
        if isinstance(event, PeerJoined):
            report(event="joined", peer=event.peer_id)
        elif isinstance(event, PeerLeft):
            report(event="left", peer=event.peer_id)


async def watch_channel(room: Room) -> None:
    async for received in room.channel(CHANNEL):
        fields: dict[str, Any] = {
            "channel": received.channel,
            "from": received.sender,
            "nick": received.nick,
            "size": received.size,
            "kind": received.kind,
        }
        if received.kind == "bytes":
            digest = hashlib.sha256()
            with received.open() as body:  # streamed: a 64 MiB payload is never in memory
                while chunk := body.read(1 << 20):
                    digest.update(chunk)
            fields["sha256"] = digest.hexdigest()
        else:
            fields["value"] = received.data
        report(event="payload", **fields)


async def obey(room: Room, command: dict[str, Any]) -> None:
    if "stats" in command:
        report(event="stats", forged=room.forged_messages)
        return
    what = command.get("send") or command["forge"]
    data = pattern(what["size"], what["seed"]) if "size" in what else what["json"]
    honest_sign = room._core.data._sign  # white-box: this peer turns forger for one payload
    if "forge" in command:
        room._core.data._sign = Identity().sign
    try:
        sent = await room.channel(CHANNEL).send(data, to=command.get("to"))
    except ValueError as error:
        report(event="error", tag=command["tag"], error=str(error))
        return
    finally:
        room._core.data._sign = honest_sign
    report(event="sent", tag=command["tag"], id=sent.id)


async def main(url: str, room_name: str, nick: str) -> None:
    ice = IceConfig(host_addresses=("127.0.0.1",))
    room = Room(WebSocketTransport(url), room_name, nick=nick, ice=ice)
    room.channel(CHANNEL)  # before joining: nothing sent to it is missed
    await room.join()
    report(event="ready", id=room.id)
    tasks = [asyncio.create_task(watch_room(room)), asyncio.create_task(watch_channel(room))]
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2**20)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        await obey(room, json.loads(line))
    await room.leave()
    for task in tasks:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
