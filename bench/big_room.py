"""A room of a hundred as a partial mesh, against a 32-peer full mesh in the same run.

    python -m bench.big_room [--peers 100] [--full 32] [--processes 8] [--lines 10]
    python -m bench.big_room --engine aiortc libdatachannel [--full 0]     (Python 3.12+)

With several engines, both rooms are measured over each in turn (every peer of a room
on one engine; ``--full 0`` leaves the full mesh out), one row each.

For each room: a fresh broker; the peers, spread over ``--processes`` worker processes
(bench/crowd_worker.py), join one process after another; then

* time to form: from the first join until every peer knows every other and holds at
  least D_lo links (all of them, in a full mesh). Peers arrive as people do, a few a
  second: 5 a second within a worker, 2 s between workers;
* connections per peer (mean, most) and memory (RSS of the workers over the peers);
* signalling while it forms: messages a second on the room's global channel (hellos
  and byes: what Ably limits to 50 a second per channel) and everything the broker
  took in (from its /metrics), peak one-second window and mean;
* delivery, 10 s after forming: five peers say ``--lines`` lines each, 0.5 s apart;
  for each line, the time from sending to its arrival at the last peer (median, p99)
  and at the median peer (median over the lines), and how many of the peers that
  should have it got it (waiting until all have, or ``DELIVERY_WAIT`` after the last
  line).

Figures go to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import time
import urllib.request
from dataclasses import dataclass
from typing import Any

from bench.crowd import CrowdProcess, formed, statuses
from bench.harness import BrokerProcess
from meshchat.mesh.identity import Identity
from meshchat.mesh.partial.membership import OverlayConfig
from meshchat.mesh.transports.base import TransportMessage
from meshchat.wire.engines import ENGINE_VARIABLE, ENGINES
from meshchat.wire.topics import global_topic

ROOM = "bigroom"
SENDERS = 5
ARRIVAL_PAUSE = 2.0  # seconds between one worker's peers and the next's
SETTLE = 10.0  # seconds between forming and the first line: a room in use, not forming
INTERVAL = 0.5
DELIVERY_WAIT = 60.0  # seconds after the last line for every peer to have every line


@dataclass
class Result:
    peers: int
    partial: bool
    form_s: float
    connections_mean: float
    connections_max: int
    rss_mib_per_peer: float
    global_peak: int
    global_mean: float
    broker_peak: int
    broker_mean: float
    latency_median_ms: float  # to the last receiver
    latency_p99_ms: float
    typical_ms: float  # to the median receiver: what most peers see
    delivered: float  # of the lines each peer should have got


class ChannelCounter:
    """Counts, per second, what reaches a subscriber of the room's global channel."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.seconds: dict[int, int] = {}
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        from meshchat.mesh import WebSocketTransport

        transport = WebSocketTransport(self.url)
        await transport.connect(Identity())
        await transport.subscribe([global_topic(ROOM)])
        self._task = asyncio.create_task(self._count(transport))

    async def _count(self, transport: Any) -> None:
        async for event in transport.messages():
            if isinstance(event, TransportMessage):
                second = int(time.monotonic())
                self.seconds[second] = self.seconds.get(second, 0) + 1

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()


def broker_messages_in(port: int) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    match = re.search(r"^meshchat_broker_messages_in_total (\d+)$", text, re.MULTILINE)
    return int(match.group(1)) if match else 0


async def sample_broker(port: int, until: asyncio.Event, seconds: list[int]) -> None:
    last = await asyncio.to_thread(broker_messages_in, port)
    while not until.is_set():
        await asyncio.sleep(1.0)
        now = await asyncio.to_thread(broker_messages_in, port)
        seconds.append(now - last)
        last = now


def spread(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if index < total % parts else 0) for index in range(parts)]


async def measure(
    peers: int, processes: int, lines: int, partial: bool, within: float = 300.0
) -> Result:
    config = OverlayConfig()
    threshold = config.threshold if partial else peers + 1
    # Every peer comes from 127.0.0.1 here; the broker allows 64 connections an address.
    broker = await BrokerProcess.start(extra=("--max-connections-per-ip", str(peers + 10)))
    counter = ChannelCounter(broker.url)
    await counter.start()
    crowds = [
        await CrowdProcess.start(broker.url, ROOM, threshold=threshold, nick_prefix=f"w{n}-")
        for n in range(processes)
    ]
    forming = asyncio.Event()
    broker_seconds: list[int] = []
    sampler = asyncio.create_task(sample_broker(broker.port, forming, broker_seconds))
    try:
        started = time.monotonic()
        first_second = int(started)
        for crowd, count in zip(crowds, spread(peers, processes), strict=True):
            await crowd.join(count)  # a few peers a second (crowd_worker.JOIN_SPACING)
            await asyncio.sleep(ARRIVAL_PAUSE)
        degree_low = config.degree_low if partial else peers
        await formed(crowds, peers, degree_low, within=within)
        form_s = time.monotonic() - started
        forming.set()
        global_seconds = [
            counter.seconds.get(s, 0) for s in range(first_second, int(time.monotonic()) + 1)
        ]
        await asyncio.sleep(SETTLE)  # prunes, rosters and the last repairs
        rooms = await statuses(crowds)
        answers = [await crowd.command("status") for crowd in crowds]
        rss: int = sum(answer["rss_kib"] for answer in answers)
        senders = [(crowds[n % processes], n // processes) for n in range(SENDERS)]
        for tag, (crowd, index) in enumerate(senders):
            await crowd.command("send", room=index, count=lines, interval=INTERVAL, tag=f"s{tag}")
        await asyncio.sleep(lines * INTERVAL)
        should = SENDERS * lines * (peers - 1)
        deadline = time.monotonic() + DELIVERY_WAIT
        while True:  # until every peer has every line, or DELIVERY_WAIT is over
            received: dict[str, list[list[Any]]] = {}
            for crowd in crowds:
                received |= (await crowd.command("received"))["received"]
            if sum(map(len, received.values())) >= should or time.monotonic() > deadline:
                break
            await asyncio.sleep(2.0)
    finally:
        forming.set()
        sampler.cancel()
        counter.stop()
        await asyncio.gather(*(crowd.stop() for crowd in crowds))
        broker.process.terminate()
        await broker.process.wait()
    arrivals: dict[str, list[float]] = {}  # line -> when each peer got it
    sent_at: dict[str, float] = {}
    for got in received.values():
        for _sender, text, at in got:
            tag, number, when = text.split()
            arrivals.setdefault(f"{tag} {number}", []).append(at)
            sent_at[f"{tag} {number}"] = float(when)
    to_last = sorted((max(times) - sent_at[line]) * 1000 for line, times in arrivals.items())
    to_middle = [
        (statistics.median(times) - sent_at[line]) * 1000 for line, times in arrivals.items()
    ]
    return Result(
        peers=peers,
        partial=partial,
        form_s=round(form_s, 1),
        connections_mean=round(statistics.mean(room["connections"] for room in rooms), 1),
        connections_max=max(room["connections"] for room in rooms),
        rss_mib_per_peer=round(rss / 1024 / peers, 1),
        global_peak=max(global_seconds),
        global_mean=round(statistics.mean(global_seconds), 1),
        broker_peak=max(broker_seconds, default=0),
        broker_mean=round(statistics.mean(broker_seconds), 1) if broker_seconds else 0.0,
        latency_median_ms=round(statistics.median(to_last), 1),
        latency_p99_ms=round(to_last[min(len(to_last) - 1, int(len(to_last) * 0.99))], 1),
        typical_ms=round(statistics.median(to_middle), 1),
        delivered=round(sum(len(times) for times in arrivals.values()) / should, 4),
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peers", type=int, default=100)
    parser.add_argument("--full", type=int, default=32)
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--lines", type=int, default=10)
    parser.add_argument("--within", type=float, default=300.0, help="seconds to form")
    parser.add_argument("--engine", nargs="+", choices=ENGINES, default=["aiortc"])
    args = parser.parse_args()
    rows = []
    for engine in args.engine:
        os.environ[ENGINE_VARIABLE] = engine  # the crowd workers inherit it
        partial = await measure(args.peers, args.processes, args.lines, True, args.within)
        rows.append((engine, partial))
        if args.full:
            full = await measure(args.full, min(args.processes, 4), args.lines, False)
            rows.append((engine, full))
    columns = list(Result.__dataclass_fields__)
    print(" | ".join(["engine", *columns]))
    for engine, result in rows:
        print(" | ".join([engine, *(str(getattr(result, column)) for column in columns)]))


if __name__ == "__main__":
    asyncio.run(main())
