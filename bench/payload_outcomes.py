"""What tracking a payload's outcome costs: small JSON payloads sent through a channel
(``room.channel(name).send``: tracked, ``sent.wait()`` answered for each recipient)
against the same payloads sent untracked (the sender's own path, as the framework's
files and history send theirs), in the same run, alternating.

    python -m bench.payload_outcomes --payloads 300 --rounds 5

Two rooms in this process over a MemoryHub, linked by real aiortc data channels. A
receiver takes at most 200 payloads a second from one peer, so the payloads are paced
(150 a second) and the figure is CPU time, the process's (both rooms' sides), per
payload, from the first send until the receiver has them all and, tracked, every
``wait()`` has returned. Prints a Markdown table (for docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from meshchat.mesh import Room
from meshchat.mesh.testing import meshed_rooms

PACE = 150.0  # payloads a second, under a receiver's 200 from one peer
TIMEOUT = 60.0


async def one_round(ana: Room, bo: Room, channel: str, count: int, tracked: bool) -> float:
    """CPU seconds per payload for ``count`` payloads from ana to bo on ``channel``."""
    arrived = bo.channel(channel)
    reader = aiter(arrived)
    started_cpu = time.process_time()
    sends = []
    for n in range(count):
        if tracked:
            sends.append(await ana.channel(channel).send({"n": n, "pad": "x" * 64}))
        else:
            await ana._driver.sender.send(channel, {"n": n, "pad": "x" * 64}, None)
        await asyncio.sleep(1 / PACE)
    async with asyncio.timeout(TIMEOUT):
        for _ in range(count):
            await anext(reader)
        outcomes = await asyncio.gather(*(sent.wait() for sent in sends))
    assert all(outcome == {bo.id: "delivered"} for outcome in outcomes)
    return (time.process_time() - started_cpu) / count


async def run(count: int, rounds: int) -> None:
    async with meshed_rooms("ana", "bo", room="bench-outcomes") as (ana, bo):
        cpu: dict[bool, list[float]] = {False: [], True: []}
        for round_number in range(rounds):
            for tracked in (False, True):
                channel = f"{'tracked' if tracked else 'untracked'}-{round_number}"
                cpu[tracked].append(await one_round(ana, bo, channel, count, tracked))
    bare = statistics.median(cpu[False])
    watched = statistics.median(cpu[True])
    print(f"{count} payloads a round, {rounds} rounds each, alternating\n")
    print("| payloads of ~80 bytes, ana to bo | median CPU per payload (µs) | ratio |")
    print("|---|---|---|")
    print(f"| untracked (the framework's own) | {bare * 1e6:.0f} | 1.00 |")
    print(
        f"| tracked (`channel.send`, then `sent.wait()`) | {watched * 1e6:.0f} "
        f"| {watched / bare:.2f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payloads", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(run(args.payloads, args.rounds))


if __name__ == "__main__":
    main()
