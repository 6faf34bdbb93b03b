"""False alarms under load: a room of peer processes chatting for minutes on this
machine, and how many times one of them took a live peer for gone.

    python -m bench.soak --peers 32 --seconds 120 [--engine libdatachannel]

Every peer is a `meshchat join --json` process on the bundled broker, as a user runs
it; once the full mesh has formed, each says a line every 1-3 s (at random). Nobody
leaves or crashes, so every "left" event is a false alarm. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import time

from meshchat.wire.engines import ENGINE_VARIABLE, ENGINES

from .harness import BrokerProcess, JoinProcess


async def chat(peer: JoinProcess, until: float, rng: random.Random) -> int:
    """Say a line every 1-3 s until ``until``; how many were said."""
    assert peer.process.stdin is not None
    said = 0
    while time.monotonic() < until:
        await asyncio.sleep(rng.uniform(1.0, 3.0))
        said += 1
        peer.process.stdin.write(f"line {said} from {peer.id[:8]}\n".encode())
        await peer.process.stdin.drain()
    return said


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--peers", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--engine", choices=ENGINES, default="aiortc")
    args = parser.parse_args()
    os.environ[ENGINE_VARIABLE] = args.engine  # the join processes inherit it
    # A full mesh of them all, whatever the default limit (join --full-mesh-up-to).
    full_mesh = ("--full-mesh-up-to", str(max(args.peers, 12)))
    broker = await BrokerProcess.start()
    peers: list[JoinProcess] = []
    try:
        started = time.monotonic()
        peers = list(
            await asyncio.gather(
                *(
                    JoinProcess.start(broker, "soak", f"p{n}", extra=full_mesh)
                    for n in range(args.peers)
                )
            )
        )
        ids = {peer.id for peer in peers}
        # 32 processes starting at once on 2 cores take a while to be all there.
        await asyncio.gather(*(peer.wait_for_peers(ids - {peer.id}, 300) for peer in peers))
        formed = time.monotonic() - started
        before = sum(e["event"] == "left" for p in peers for e in p.events)
        until = time.monotonic() + args.seconds
        rng = random.Random(1)
        said = await asyncio.gather(*(chat(p, until, random.Random(rng.random())) for p in peers))
        await asyncio.sleep(3.0)  # the last lines arrive
        left = sum(e["event"] == "left" for p in peers for e in p.events)
        received = sum(e["event"] == "message" for p in peers for e in p.events)
        expected = sum(said) * (args.peers - 1)
        print(
            "| engine | peers | mesh formed | chatting | lines said | received / expected "
            "| false leaves |"
        )
        print("|---|---|---|---|---|---|---|")
        print(
            f"| {args.engine} | {args.peers} | {formed:.1f} s | {args.seconds:.0f} s | {sum(said)} "
            f"| {received} / {expected} | {left} ({before} while forming) |"
        )
    finally:
        for peer in peers:
            await peer.stop()
        await broker.stop()


if __name__ == "__main__":
    asyncio.run(main())
