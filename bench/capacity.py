"""Sizing: how many connections and signalling messages one broker process holds here.

    python -m bench.capacity --connections 1000 2000 4000 --pairs 100 --messages 100

1. Memory: N idle clients, each subscribed to two topics as a meshchat client is; the
   broker's resident memory before and after, per connection.
2. Directed throughput: many publisher/subscriber pairs, each on its own topic, as offers
   and answers travel; messages per second from first publish to last delivery. The
   stock y-webrtc server takes the same load in the same run, as the baseline.

Prints Markdown (for docs/operations.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import time
from pathlib import Path

from websockets.asyncio.client import ClientConnection, connect

from bench.fanout import LIFTED, free_port, start_broker

PAYLOAD = {"type": "offer", "sdp": "v=0\r\n" + "a" * 1500}


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


async def memory_per_connection(count: int) -> tuple[float, float]:
    """(MiB resident with ``count`` clients, KiB per client)."""
    port = free_port()
    broker = await start_broker("meshchat", port, "--max-connections-per-ip", str(count + 10))
    clients: list[ClientConnection] = []
    try:
        await asyncio.sleep(0.5)
        before = rss_kib(broker.pid)
        for i in range(count):
            ws = await connect(f"ws://127.0.0.1:{port}", compression=None)
            topics = ["meshchat/bench/global", f"meshchat/bench/inbox-{i}"]
            await ws.send(json.dumps({"type": "subscribe", "topics": topics}))
            clients.append(ws)
        await clients[-1].send('{"type":"ping"}')
        await clients[-1].recv()
        await asyncio.sleep(0.5)
        after = rss_kib(broker.pid)
        return after / 1024, (after - before) / count
    finally:
        await asyncio.gather(*(ws.close() for ws in clients), return_exceptions=True)
        broker.kill()
        await broker.wait()


async def directed_throughput(kind: str, pairs: int, messages: int) -> float:
    """Messages per second through ``pairs`` private topics."""
    port = free_port()
    broker = await start_broker(kind, port, *LIFTED)
    url = f"ws://127.0.0.1:{port}"
    try:
        subscribers, publishers = [], []
        for i in range(pairs):
            sub = await connect(url, compression=None)
            await sub.send(json.dumps({"type": "subscribe", "topics": [f"t{i}"]}))
            await sub.send('{"type":"ping"}')
            await sub.recv()
            subscribers.append(sub)
            publishers.append(await connect(url, compression=None))

        async def publish(i: int) -> None:
            frame = json.dumps({"type": "publish", "topic": f"t{i}", "data": PAYLOAD})
            for _ in range(messages):
                await publishers[i].send(frame)

        async def drain(i: int) -> None:
            for _ in range(messages):
                await subscribers[i].recv()

        start = time.monotonic()
        await asyncio.gather(*(publish(i) for i in range(pairs)), *(drain(i) for i in range(pairs)))
        elapsed = time.monotonic() - start
        await asyncio.gather(*(ws.close() for ws in subscribers + publishers))
        return pairs * messages / elapsed
    finally:
        broker.kill()
        await broker.wait()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--connections", type=int, nargs="+", default=[1000, 2000, 4000])
    parser.add_argument("--pairs", type=int, default=100)
    parser.add_argument("--messages", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # one fd per client here

    print("| idle clients | broker resident memory (MiB) | per client (KiB) |")
    print("|---|---|---|")
    for count in args.connections:
        total, per = await memory_per_connection(count)
        print(f"| {count} | {total:.1f} | {per:.1f} |", flush=True)

    rates: dict[str, list[float]] = {"meshchat": [], "y-webrtc": []}
    for _ in range(args.rounds):
        for kind in rates:
            rates[kind].append(await directed_throughput(kind, args.pairs, args.messages))
    ours, theirs = statistics.median(rates["meshchat"]), statistics.median(rates["y-webrtc"])
    print()
    print("| pairs | messages each | payload bytes | meshchat (msg/s) | y-webrtc (msg/s) | ratio |")
    print("|---|---|---|---|---|---|")
    size = len(json.dumps(PAYLOAD))
    print(
        f"| {args.pairs} | {args.messages} | {size} | {ours:,.0f} | {theirs:,.0f} "
        f"| {ours / theirs:.2f}x |"
    )


if __name__ == "__main__":
    asyncio.run(main())
