"""Bytes to a member we have no link to (relayed in signed parts through a partial
mesh) against the same bytes to a linked member (straight over the data channel), in
the same run.

    python -m bench.relayed_bytes [--peers 8] [--mib 4] [--rounds 3]

The peers are aiortc ``Room``s in this process on the real broker, in a room made
partial past 4 peers (3-4 links each), so that most pairs are not linked. For each
round the sender sends ``--mib`` MiB of random bytes to a far member and to a linked
one, one after the other; the time is from ``send`` to the receiver's whole payload.
Figures go to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time

from bench.harness import BrokerProcess
from meshchat.mesh import IceConfig, OverlayConfig, Room, WebSocketTransport
from meshchat.mesh.channel import Channel

SMALL = OverlayConfig(threshold=4, degree=3, degree_low=3, degree_high=4)
LOOPBACK = IceConfig(host_addresses=("127.0.0.1",))


async def partial_room(url: str, peers: int) -> list[Room]:
    rooms = []
    for n in range(peers):
        room = Room(WebSocketTransport(url), "relayed", nick=f"p{n}", ice=LOOPBACK, overlay=SMALL)
        await room.join()
        rooms.append(room)
        await asyncio.sleep(0.4)
    async with asyncio.timeout(60.0):
        while True:
            if all(room.partial and len(room.peers) == peers - 1 for room in rooms):
                break
            await asyncio.sleep(0.2)
    await asyncio.sleep(3.0)  # pruning settles
    return rooms


def pair(rooms: list[Room]) -> tuple[Room, Room, Room]:
    """A sender with a member it is not linked to and one it is."""
    for sender in rooms:
        links = sender.links()
        far = [room for room in rooms if room.id in links and links[room.id].route == "overlay"]
        near = [room for room in rooms if room.id in links and links[room.id].route != "overlay"]
        if far and near:
            return sender, far[0], near[0]
    raise RuntimeError("no sender with both a linked and a far member")


async def timed_send(sender: Room, receiver: Channel, to: str, data: bytes) -> float:
    started = time.monotonic()
    await sender.channel("bench").send(data, to=[to])
    async for received in receiver:
        if received.sender == sender.id:
            assert received.size == len(data)
            return time.monotonic() - started
    raise RuntimeError("the receiver's channel closed")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peers", type=int, default=8)
    parser.add_argument("--mib", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    broker = await BrokerProcess.start()
    rooms = await partial_room(broker.url, args.peers)
    try:
        sender, far, near = pair(rooms)
        far_channel, near_channel = far.channel("bench"), near.channel("bench")
        relayed, direct = [], []
        for _ in range(args.rounds):
            data = os.urandom(args.mib * 1024 * 1024)
            relayed.append(await timed_send(sender, far_channel, far.id, data))
            direct.append(await timed_send(sender, near_channel, near.id, data))
        print("route | MiB | seconds (median) | MiB/s")
        rates = {}
        for route, times in (
            ("relayed to a far member", relayed),
            ("direct to a linked member", direct),
        ):
            seconds = statistics.median(times)
            rates[route] = args.mib / seconds
            print(f"{route} | {args.mib} | {seconds:.2f} | {rates[route]:.2f}")
        ratio = rates["relayed to a far member"] / rates["direct to a linked member"]
        print(f"ratio relayed / direct: {ratio:.2f}")
    finally:
        await asyncio.gather(*(room.leave() for room in rooms))
        await broker.stop()


if __name__ == "__main__":
    asyncio.run(main())
