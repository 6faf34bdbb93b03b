"""How long the mesh takes to notice and recover from each fault, with real processes.

    python -m bench.recovery --rounds 20

Each figure is the median and the 95th percentile over the rounds; a graceful leave,
measured in the same run, is the floor a crash is compared with in
docs/reliability.md. Stalls are counted: how many peers stopped for a second
(SIGSTOP, SIGCONT) were taken for gone. Prints a Markdown table. Peers are
`meshchat join --json` processes, as a user runs them.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import signal
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

from meshchat.mesh import IceConfig, PeerJoined, PeerLeft, Room

from .harness import BrokerProcess, JoinProcess, private_loopback

LOOPBACK = IceConfig(host_addresses=("127.0.0.1",))
T = TypeVar("T")


async def three_peers(broker: BrokerProcess) -> list[JoinProcess]:
    peers = [await JoinProcess.start(broker, "bench", n) for n in ("a", "b", "c")]
    ids = {p.id for p in peers}
    await asyncio.gather(*(p.wait_for_peers(ids - {p.id}) for p in peers))
    return peers


async def time_leave(crash: bool) -> float:
    """Seconds from one peer's end (SIGKILL or bye) to every other reporting it left."""
    broker = await BrokerProcess.start()
    peers = await three_peers(broker)
    try:
        victim, survivors = peers[0], peers[1:]
        # A crash a few seconds into the conversation, at a random point of the
        # victim's heartbeat clock.
        await asyncio.sleep(3.0 + random.random())
        start = time.monotonic()
        if crash:
            victim.kill()
        else:
            victim.quit()
        await asyncio.gather(
            *(
                s.wait_for(lambda e: e["event"] == "left" and e["peer"] == victim.id)
                for s in survivors
            )
        )
        return time.monotonic() - start
    finally:
        for peer in peers:
            await peer.stop()
        await broker.stop()


async def stall_taken_for_gone(stall: float) -> int:
    """How many of the peers that a peer stopped for ``stall`` seconds (then resumed)
    reported it gone."""
    broker = await BrokerProcess.start()
    peers = await three_peers(broker)
    try:
        stalling, others = peers[0], peers[1:]
        await asyncio.sleep(3.0 + random.random())
        stalling.process.send_signal(signal.SIGSTOP)
        await asyncio.sleep(stall)
        stalling.process.send_signal(signal.SIGCONT)
        await asyncio.sleep(4.0)
        return sum(any(e["event"] == "left" for e in peer.events) for peer in others)
    finally:
        stalling.process.send_signal(signal.SIGCONT)
        for peer in peers:
            await peer.stop()
        await broker.stop()


async def time_succession(crash: bool) -> float:
    """With the embedded default broker: seconds from its host's end (SIGKILL or quit)
    to every other peer having re-subscribed to the successor's broker."""
    with private_loopback() as launcher:
        peers = [await JoinProcess.start(None, "bench", n, launcher) for n in "abcd"]
        try:
            ids = {p.id for p in peers}
            await asyncio.gather(*(p.wait_for_peers(ids - {p.id}) for p in peers))
            host, others = peers[0], peers[1:]
            start = time.monotonic()
            if crash:
                host.kill()
            else:
                host.quit()
            await asyncio.gather(
                *(p.wait_for(lambda e: e["event"] == "signalling-restored") for p in others)
            )
            elapsed = time.monotonic() - start
            hosts = sum(e["event"] == "broker-hosted" for p in others for e in p.events)
            if hosts != 1:
                raise RuntimeError(f"{hosts} successors ran the broker")
            return elapsed
        finally:
            for peer in peers:
                await peer.stop()


async def time_broker_restart() -> tuple[float, float]:
    """Seconds from the broker's restart to all peers re-subscribed, and to a newcomer
    having a full mesh with them."""
    broker = await BrokerProcess.start()
    port = broker.port
    peers = await three_peers(broker)
    try:
        broker.kill()
        await broker.stop()
        await asyncio.gather(
            *(p.wait_for(lambda e: e["event"] == "signalling-lost") for p in peers)
        )
        await asyncio.sleep(1.0)  # an outage, not a blip
        broker = await BrokerProcess.start(port=port)
        start = time.monotonic()
        await asyncio.gather(
            *(p.wait_for(lambda e: e["event"] == "signalling-restored") for p in peers)
        )
        restored = time.monotonic() - start
        late = await JoinProcess.start(broker, "bench", "late")
        peers.append(late)
        await late.wait_for_peers({p.id for p in peers[:3]})
        return restored, time.monotonic() - start
    finally:
        for peer in peers:
            await peer.stop()
        await broker.stop()


async def time_hung_broker() -> tuple[float, float]:
    """Seconds from the broker hanging (SIGSTOP) to every peer reporting signalling lost,
    and from it answering again (SIGCONT) to every peer having re-subscribed."""
    broker = await BrokerProcess.start()
    peers = await three_peers(broker)
    try:
        start = time.monotonic()
        broker.process.send_signal(signal.SIGSTOP)
        await asyncio.gather(
            *(p.wait_for(lambda e: e["event"] == "signalling-lost") for p in peers)
        )
        noticed = time.monotonic() - start
        start = time.monotonic()
        broker.process.send_signal(signal.SIGCONT)
        await asyncio.gather(
            *(p.wait_for(lambda e: e["event"] == "signalling-restored") for p in peers)
        )
        return noticed, time.monotonic() - start
    finally:
        broker.process.send_signal(signal.SIGCONT)
        for peer in peers:
            await peer.stop()
        await broker.stop()


async def time_connection_rebuild() -> float:
    """Seconds from one side's peer connection breaking to both having a new one."""
    broker = await BrokerProcess.start()
    ana = Room(broker.transport(), "bench", nick="ana", ice=LOOPBACK)
    bo = Room(broker.transport(), "bench", nick="bo", ice=LOOPBACK)
    try:
        await ana.join()
        await bo.join()
        await wait_for_room(ana, lambda e: isinstance(e, PeerJoined))
        (connection,) = cast(Any, bo._driver.engine)._connections.values()
        start = time.monotonic()
        await connection.pc.close()
        await wait_for_room(ana, lambda e: isinstance(e, PeerLeft))
        await wait_for_room(ana, lambda e: isinstance(e, PeerJoined))
        return time.monotonic() - start
    finally:
        await ana.leave()
        await bo.leave()
        await broker.stop()


async def wait_for_room(room: Room, predicate: Callable[[object], bool]) -> None:
    async with asyncio.timeout(60):
        async for event in room.events():
            if predicate(event):
                return


def spread(samples: list[float]) -> str:
    """``median / 95th percentile`` of ``samples``, in seconds."""
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]
    return f"{statistics.median(ordered):.3f} / {p95:.3f}"


async def rounds_of(rounds: int, measure: Callable[[], Awaitable[T]]) -> list[T]:
    return [await measure() for _ in range(rounds)]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    rounds = args.rounds
    graceful = await rounds_of(rounds, lambda: time_leave(crash=False))
    crash = await rounds_of(rounds, lambda: time_leave(crash=True))
    stalls = await rounds_of(rounds, lambda: stall_taken_for_gone(1.0))
    restarts = await rounds_of(rounds, time_broker_restart)
    rebuild = await rounds_of(rounds, time_connection_rebuild)
    hangs = await rounds_of(rounds, time_hung_broker)
    succession_quit = await rounds_of(rounds, lambda: time_succession(crash=False))
    succession_crash = await rounds_of(rounds, lambda: time_succession(crash=True))
    print(f"| fault ({rounds} rounds) | time to notice or recover (median / p95 s) |")
    print("|---|---|")
    print(f"| peer leaves with bye: others report it | {spread(graceful)} |")
    print(f"| peer killed (SIGKILL): others report it | {spread(crash)} |")
    print(f"| peer stopped for 1 s: taken for gone | {sum(stalls)} of {2 * rounds} |")
    print(f"| broker restarted: every peer re-subscribed | {spread([r[0] for r in restarts])} |")
    print(f"| broker restarted: a newcomer meshed with all | {spread([r[1] for r in restarts])} |")
    print(f"| peer connection broken: rebuilt | {spread(rebuild)} |")
    print(f"| broker hung (SIGSTOP): every peer noticed | {spread([h[0] for h in hangs])} |")
    print(f"| hung broker answers again: re-subscribed | {spread([h[1] for h in hangs])} |")
    print(f"| embedded broker's host quits: successor serving all | {spread(succession_quit)} |")
    print(f"| embedded broker's host killed: successor serving all | {spread(succession_crash)} |")


if __name__ == "__main__":
    asyncio.run(main())
