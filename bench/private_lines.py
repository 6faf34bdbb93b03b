"""What sealing a chat line costs: private lines (``room.send(text, to=[bo])``, sealed to
bo's X25519 key, opened by bo) against lines to the room (signed, not sealed), in the
same run, alternating.

    python -m bench.private_lines --lines 200 --rounds 5

Two rooms in this process over a MemoryHub, linked by real aiortc data channels. A
receiver takes at most 50 chat lines a second from one peer, so lines are paced (40 a
second) and the figure is CPU time, the process's (both rooms' sides), per line, from
the first send until the receiver has them all. Prints a Markdown table (for
docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from meshchat.mesh import MessageReceived, Room
from meshchat.mesh.testing import meshed_rooms

PACE = 40.0  # lines a second, under a receiver's 50 from one peer
TIMEOUT = 60.0


async def one_round(ana: Room, bo: Room, count: int, private: bool, tag: str) -> float:
    """CPU seconds per line for ``count`` lines from ana to bo."""
    heard = 0

    async def listen() -> None:
        nonlocal heard
        async for event in bo.events():
            if isinstance(event, MessageReceived) and event.message.text.startswith(tag):
                assert event.message.private == private
                heard += 1
                if heard == count:
                    return

    listening = asyncio.create_task(listen())
    await asyncio.sleep(0.05)
    started_cpu = time.process_time()
    for n in range(count):
        await ana.send(f"{tag} line {n} " + "x" * 60, to=[bo.id] if private else None)
        await asyncio.sleep(1 / PACE)
    async with asyncio.timeout(TIMEOUT):
        await listening
    return (time.process_time() - started_cpu) / count


async def run(count: int, rounds: int) -> None:
    async with meshed_rooms("ana", "bo", room="bench-private", history=False) as (ana, bo):
        cpu: dict[bool, list[float]] = {False: [], True: []}
        for round_number in range(rounds):
            for private in (False, True):
                tag = f"{'private' if private else 'public'}-{round_number}"
                cpu[private].append(await one_round(ana, bo, count, private, tag))
    public, sealed = statistics.median(cpu[False]), statistics.median(cpu[True])
    print(f"{count} lines a round, {rounds} rounds each, alternating\n")
    print("| chat lines of ~80 bytes, ana to bo | median CPU per line (µs) | ratio |")
    print("|---|---|---|")
    print(f"| to the room (signed) | {public * 1e6:.0f} | 1.00 |")
    print(
        f"| private (`to=[bo]`: sealed, signed, opened) | {sealed * 1e6:.0f} "
        f"| {sealed / public:.2f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(run(args.lines, args.rounds))


if __name__ == "__main__":
    main()
