"""One benchmark peer process, driven over stdin/stdout by ``bench/mesh.py``.

It imports everything and connects nothing until told ``go``, so that the orchestrator
measures from "all processes ready" rather than from interpreter start-up.
Commands on stdin: ``go``, ``chat COUNT INTERVAL``, ``quit``. Reports on stdout (JSON).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Iterator
from typing import Any, cast

from aiortc import RTCPeerConnection

from meshchat.cli.heap import settle_after_join
from meshchat.mesh import IceConfig, MessageReceived, PeerJoined, PeerLeft, Room, WebSocketTransport

from .harness import cpu_by_thread, cpu_by_thread_since, packets_sent


def report(**fields: object) -> None:
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


async def main(broker_url: str, room_name: str, expected_peers: int, freeze: bool) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    report(event="ready")
    assert (await reader.readline()).strip() == b"go"
    ice = IceConfig(host_addresses=("127.0.0.1",))
    room = Room(WebSocketTransport(broker_url), room_name, nick="bench", ice=ice)
    await room.join()
    if freeze:  # as `meshchat join` does (cli/heap.py)
        settle_after_join()
    latencies: list[float] = []

    async def watch() -> None:
        reported = False
        async for event in room.events():
            # Events queue up: room.peers may be complete before the last PeerJoined is read.
            if isinstance(event, PeerJoined) and not reported and len(room.peers) == expected_peers:
                reported = True
                report(event="mesh", at=time.monotonic())
            elif isinstance(event, PeerLeft):
                print(f"peer {event.peer_id} left: {event.reason}", file=sys.stderr)
            elif isinstance(event, MessageReceived):
                # CLOCK_MONOTONIC is shared by every process on the machine.
                sent_at = float(event.message.text.split()[0])
                latencies.append(time.monotonic() - sent_at)

    watcher = asyncio.create_task(watch())

    def peer_connections() -> Iterator[RTCPeerConnection]:
        # A measurement probe: Room does not hand out its peer connections.
        return (
            connection.pc for connection in cast(Any, room._driver.engine)._connections.values()
        )

    chat_began_cpu = 0.0
    chat_began_packets = 0
    chat_began_threads: dict[str, float] = {}
    while line := (await reader.readline()).decode().split():
        if line[0] == "chat":
            count, interval = int(line[1]), float(line[2])
            chat_began_cpu = time.process_time()
            chat_began_threads = cpu_by_thread()
            chat_began_packets = packets_sent(peer_connections())
            for _ in range(count):
                await room.send(f"{time.monotonic()!r} benchmark message")
                await asyncio.sleep(interval)
            report(event="sent", count=count)
        elif line[0] == "latencies":
            # CPU seconds this process spent since the chat began (sending and receiving),
            # and the UDP packets it sent (lines, acks, SACKs, heartbeats, ICE checks).
            cpu = time.process_time() - chat_began_cpu
            packets = packets_sent(peer_connections()) - chat_began_packets
            threads = cpu_by_thread_since(chat_began_threads)
            report(event="latencies", values=latencies, cpu=cpu, packets=packets, threads=threads)
        elif line[0] == "quit":
            break
    watcher.cancel()
    await room.leave()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), "--gc-freeze" in sys.argv[4:]))
