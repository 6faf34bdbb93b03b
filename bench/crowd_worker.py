"""Many rooms in one process, for rooms of a hundred peers on a 2-core machine: driven
over stdin/stdout (one JSON object per line) by ``bench/big_room.py`` and the partial
mesh tests.

Commands: ``{"cmd": "join", "count": K}`` joins K rooms one after another;
``status``; ``send`` (``room``, ``count``, ``interval``, ``tag``: lines "TAG I SENT_AT");
``received``; ``forge`` (``room`` relays, to its links, a line signed by itself in
``victim``'s name); ``send_bytes`` (``room`` sends ``size`` random bytes on the channel
"blobs", to everyone or to the ids ``to``, answered with their SHA-256); ``awaited``
(how many payloads ``room`` relayed to chosen members await receipts, and what it was
told did not arrive: peer, reason); ``payloads``
(what each room got on "blobs": sender, SHA-256, size); ``quit``. Every command is
answered by one line of JSON.
"""

from __future__ import annotations

import asyncio
import faulthandler
import hashlib
import json
import logging
import os
import sys
import time
from typing import Any, cast

from meshchat.mesh import IceConfig, MessageReceived, PeerLeft, Room, WebSocketTransport
from meshchat.mesh.events import PayloadUndelivered
from meshchat.mesh.link.chat_frames import chat_fields, new_chat_message, new_message_id
from meshchat.mesh.partial.gossip import encode_envelope
from meshchat.mesh.partial.membership import OverlayConfig

JOIN_SPACING = 0.2  # seconds between joins: people arrive, they do not all click at once


def reply(**fields: object) -> None:
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


def rss_kib() -> int:
    with open(f"/proc/{os.getpid()}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Crowd:
    def __init__(self, broker_url: str, room_name: str, threshold: int) -> None:
        self.url = broker_url
        self.room_name = room_name
        self.config = OverlayConfig(threshold=threshold)
        self.rooms: list[Room] = []
        self.received: dict[str, list[tuple[str, str, float]]] = {}
        self.left: dict[str, list[str]] = {}
        self.payloads: dict[str, list[tuple[str, str, int]]] = {}
        self.undelivered: dict[str, list[tuple[str, str]]] = {}  # room -> (peer, reason)
        self.reasons: dict[str, int] = {}  # why peers were reported gone, and how often
        self.max_connections = 0
        self._watchers: list[asyncio.Task[None]] = []

    async def join(self, count: int, nick_prefix: str) -> None:
        ice = IceConfig(host_addresses=("127.0.0.1",))
        for index in range(count):
            room = Room(
                WebSocketTransport(self.url),
                self.room_name,
                nick=f"{nick_prefix}{index}",
                ice=ice,
                overlay=self.config,
            )
            self.received[room.id] = []
            self.left[room.id] = []
            self.payloads[room.id] = []
            self.undelivered[room.id] = []
            await room.join()
            self.rooms.append(room)
            self._watchers.append(asyncio.create_task(self._watch(room)))
            self._watchers.append(asyncio.create_task(self._watch_blobs(room)))
            await asyncio.sleep(JOIN_SPACING)

    async def _watch(self, room: Room) -> None:
        async for event in room.events():
            if isinstance(event, MessageReceived) and not event.history:
                message = event.message
                self.received[room.id].append((message.sender, message.text, time.monotonic()))
            elif isinstance(event, PayloadUndelivered):
                self.undelivered[room.id].append((event.peer_id, event.reason))
            elif isinstance(event, PeerLeft):
                self.left[room.id].append(event.peer_id)
                reason = event.reason.split(" (")[0]
                self.reasons[reason] = self.reasons.get(reason, 0) + 1

    async def _watch_blobs(self, room: Room) -> None:
        async for received in room.channel("blobs"):
            data = received.data
            if isinstance(data, bytes):
                digest = hashlib.sha256(data).hexdigest()
                self.payloads[room.id].append((received.sender, digest, len(data)))

    def status(self) -> dict[str, Any]:
        rooms = []
        for room in self.rooms:
            connections = len(cast(Any, room._driver.engine)._connections)
            self.max_connections = max(self.max_connections, connections)
            linked = [peer for peer, link in room.links().items() if link.route != "overlay"]
            rooms.append(
                {
                    "id": room.id,
                    "members": len(room.peers),
                    "links": len(linked),
                    "linked": linked,
                    "connections": connections,
                    "roster": len(room._core.overlay.roster(time.monotonic())),
                    "partial": room.partial,
                    "forged": room.forged_messages,
                }
            )
        return {
            "rooms": rooms,
            "rss_kib": rss_kib(),
            "max_connections": self.max_connections,
            "reasons": self.reasons,
        }

    async def send(self, index: int, count: int, interval: float, tag: str) -> None:
        room = self.rooms[index]
        for number in range(count):
            await room.send(f"{tag} {number} {time.monotonic()!r}")
            await asyncio.sleep(interval)

    def forge(self, index: int, victim: str, victim_key: str) -> int:
        """Relay a line in ``victim``'s name, with its key, signed by us: every link
        must refuse it. Returns the number of links it went to."""
        room = self.rooms[index]
        message = new_chat_message(victim, "x", "forged line", 0, 1, new_message_id())
        body = chat_fields(message) | {"sig": "A" * 86}
        frame = encode_envelope(victim, 10**6, victim_key, (), body, room._identity.sign(b"x"))
        links = sorted(room._core.gossip.links)
        for peer_id in links:
            if (link := room._core.pc_of(peer_id)) is not None:
                room._driver.engine.send(link, frame)
        return len(links)

    async def quit(self) -> None:
        for watcher in self._watchers:
            watcher.cancel()
        await asyncio.gather(*(room.leave() for room in self.rooms), return_exceptions=True)


async def main(broker_url: str, room_name: str, threshold: int, nick_prefix: str) -> None:
    logging.basicConfig(level=logging.ERROR)
    # A worker that dies in native code says where each thread was (one worker over
    # libdatachannel died of SIGSEGV in 1 of 13 runs of bench.big_room, 2026-12-07).
    faulthandler.enable()
    if log_file := os.environ.get("CROWD_LOG"):  # for a closer look at one run
        handler = logging.FileHandler(f"{log_file}.{os.getpid()}")
        handler.setFormatter(logging.Formatter("%(created).3f %(name)s %(message)s"))
        logging.getLogger("meshchat").addHandler(handler)
        logging.getLogger("meshchat").setLevel(logging.INFO)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    crowd = Crowd(broker_url, room_name, threshold)
    reply(event="ready")
    sending: list[asyncio.Task[None]] = []
    while line := await reader.readline():
        command = json.loads(line)
        match command["cmd"]:
            case "join":
                await crowd.join(command["count"], nick_prefix)
                reply(ids=[room.id for room in crowd.rooms])
            case "status":
                reply(**crowd.status())
            case "send":
                args = (command["room"], command["count"], command["interval"], command["tag"])
                sending.append(asyncio.create_task(crowd.send(*args)))
                reply(ok=True)
            case "send_bytes":
                data = os.urandom(command["size"])
                await crowd.rooms[command["room"]].channel("blobs").send(data, to=command.get("to"))
                reply(sha256=hashlib.sha256(data).hexdigest())
            case "awaited":
                room = crowd.rooms[command["room"]]
                reply(awaited=room._core.receipts.awaited, undelivered=crowd.undelivered[room.id])
            case "payloads":
                reply(payloads=crowd.payloads)
            case "received":
                reply(received=crowd.received, left=crowd.left)
            case "forge":
                room = crowd.rooms[command["room"]]
                key = room._core.overlay.key_of(command["victim"]) or ""
                reply(links=crowd.forge(command["room"], command["victim"], key))
            case "quit":
                await asyncio.gather(*sending, return_exceptions=True)
                await crowd.quit()
                reply(ok=True)
                return


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]))
