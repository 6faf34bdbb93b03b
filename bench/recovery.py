"""How long the mesh takes to notice and recover from each fault, with real processes.

    python -m bench.recovery --rounds 5

Each figure is the median over the rounds; a graceful leave, measured in the same run,
is the floor a crash is compared with in docs/reliability.md. Prints a Markdown table.
Peers are `meshchat join --json` processes, as a user runs them.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import statistics
import time
from collections.abc import Awaitable, Callable

from meshchat.mesh import IceConfig, PeerJoined, PeerLeft, Room

from .harness import BrokerProcess, JoinProcess

LOOPBACK = IceConfig(host_addresses=("127.0.0.1",))


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
        (connection,) = bo._connections.values()
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


async def median_of(rounds: int, measure: Callable[[], Awaitable[float]]) -> float:
    return statistics.median([await measure() for _ in range(rounds)])


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    graceful = await median_of(args.rounds, lambda: time_leave(crash=False))
    crash = await median_of(args.rounds, lambda: time_leave(crash=True))
    restarts = [await time_broker_restart() for _ in range(args.rounds)]
    rebuild = await median_of(args.rounds, time_connection_rebuild)
    hangs = [await time_hung_broker() for _ in range(args.rounds)]
    restored = statistics.median(r[0] for r in restarts)
    newcomer = statistics.median(r[1] for r in restarts)
    print("| fault | time to notice or recover (median s) |")
    print("|---|---|")
    print(f"| peer leaves with bye: others report it | {graceful:.3f} |")
    print(f"| peer killed (SIGKILL): others report it | {crash:.3f} |")
    print(f"| broker restarted: every peer re-subscribed | {restored:.3f} |")
    print(f"| broker restarted: a newcomer meshed with all | {newcomer:.3f} |")
    print(f"| peer connection broken: rebuilt | {rebuild:.3f} |")
    noticed = statistics.median(h[0] for h in hangs)
    answered = statistics.median(h[1] for h in hangs)
    print(f"| broker hung (SIGSTOP): every peer noticed | {noticed:.3f} |")
    print(f"| hung broker answers again: every peer re-subscribed | {answered:.3f} |")


if __name__ == "__main__":
    asyncio.run(main())
