"""Mesh set-up time and chat latency for N peer processes on loopback, with the lower bound
measured in the same run: the same N-peer mesh in one process, SDP handed over directly.

    python -m bench.mesh --sizes 2 4 8 --rounds 3
    python -m bench.mesh --sizes 16 24 --rounds 2 --engine aiortc libdatachannel

Prints a Markdown table (for docs/benchmarks.md). With several engines, the processes'
rounds alternate between them (every process of a round on one engine), the one-process
bound is left out, and the table compares each engine with aiortc; a second table
splits their CPU by thread (the loop's thread is "python"; libdatachannel runs ICE,
DTLS and SCTP in threads of its own).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiortc import RTCDataChannel, RTCPeerConnection

from meshchat.mesh import IceConfig
from meshchat.mesh.webrtc.ice import restrict_host_addresses
from meshchat.wire.engines import ENGINE_VARIABLE, ENGINES

from .harness import BrokerProcess, packets_sent, udp_datagrams_sent

REPO = Path(__file__).resolve().parents[1]
TIMEOUT = 120.0


class Worker:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    async def read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), TIMEOUT)
        if not line:
            raise RuntimeError("benchmark peer exited")
        report: dict[str, Any] = json.loads(line)
        return report

    async def command(self, text: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(text.encode() + b"\n")
        await self.process.stdin.drain()


@dataclass
class ProcessesRound:
    """What one round of N peer processes measured."""

    setup: float  # seconds from 'go' to every process seeing a full mesh
    latencies: list[float]  # of every chat line to every receiver, in seconds
    cpu: float  # seconds all peer processes spent while chatting
    packets: int  # sent by them meanwhile, as aiortc counts them (none for libdatachannel)
    datagrams: int  # UDP datagrams the machine sent meanwhile (the kernel's count)
    threads: Counter[str] = field(default_factory=Counter)  # cpu seconds by thread name


async def processes_round(
    size: int, messages: int, freeze: bool, engine: str = "aiortc"
) -> ProcessesRound:
    """N peer processes on ``engine`` form a mesh, then each says ``messages`` lines."""
    broker = await BrokerProcess.start()
    url = broker.url
    room = f"bench{time.monotonic_ns()}"
    workers = [
        Worker(
            await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bench.peer_worker",
                url,
                room,
                str(size - 1),
                *(["--gc-freeze"] if freeze else []),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                cwd=REPO,
                env={**os.environ, ENGINE_VARIABLE: engine},
            )
        )
        for _ in range(size)
    ]
    try:
        for worker in workers:
            assert (await worker.read())["event"] == "ready"
        start = time.monotonic()
        await asyncio.gather(*(w.command("go") for w in workers))
        meshes = await asyncio.gather(*(w.read() for w in workers))
        setup = max(m["at"] for m in meshes) - start
        # Everyone chats at once, a message every 50 ms.
        datagrams = udp_datagrams_sent()
        await asyncio.gather(*(w.command(f"chat {messages} 0.05") for w in workers))
        for worker in workers:
            report = await worker.read()
            assert report["event"] == "sent", report
        await asyncio.sleep(1.0)
        result = ProcessesRound(setup, [], 0.0, 0, 0)
        for worker in workers:
            await worker.command("latencies")
            report = await worker.read()
            result.latencies += report["values"]
            result.cpu += report["cpu"]
            result.packets += report["packets"]
            result.threads.update(report["threads"])
        result.datagrams = udp_datagrams_sent() - datagrams
        expected = size * (size - 1) * messages
        if len(result.latencies) != expected:
            raise RuntimeError(f"{len(result.latencies)} of {expected} messages arrived")
        return result
    finally:
        for worker in workers:
            worker.process.kill()
            await worker.process.wait()
        await broker.stop()


async def direct_round(size: int, messages: int) -> tuple[float, list[float], float, int]:
    """The lower bound: one process, no signalling, SDP passed by function call."""
    restrict_host_addresses(("127.0.0.1",))
    config = IceConfig().rtc_configuration()
    pcs: list[RTCPeerConnection] = []
    channels: list[RTCDataChannel] = []
    latencies: list[float] = []
    opened: list[asyncio.Future[None]] = []
    loop = asyncio.get_running_loop()

    def track(channel: RTCDataChannel) -> None:
        channel.on("message", lambda text: latencies.append(time.monotonic() - float(text)))
        channels.append(channel)

    start = time.monotonic()

    async def connect(_a: int, _b: int) -> None:
        caller, callee = RTCPeerConnection(config), RTCPeerConnection(config)
        pcs.extend((caller, callee))
        channel = caller.createDataChannel("chat")
        track(channel)
        caller_open: asyncio.Future[None] = loop.create_future()
        callee_open: asyncio.Future[None] = loop.create_future()
        opened.extend((caller_open, callee_open))
        channel.on("open", lambda: caller_open.set_result(None))

        @callee.on("datachannel")
        def on_channel(remote: RTCDataChannel) -> None:
            track(remote)  # aiortc hands it over already open
            callee_open.set_result(None)

        await caller.setLocalDescription(await caller.createOffer())
        await callee.setRemoteDescription(caller.localDescription)
        await callee.setLocalDescription(await callee.createAnswer())
        await caller.setRemoteDescription(callee.localDescription)

    await asyncio.gather(*(connect(a, b) for a, b in itertools.combinations(range(size), 2)))
    await asyncio.wait_for(asyncio.gather(*opened), TIMEOUT)
    setup = time.monotonic() - start
    chat_began_cpu = time.process_time()
    chat_began_packets = packets_sent(pcs)
    for _ in range(messages):
        for channel in channels:  # each channel end is one directed peer pair
            channel.send(repr(time.monotonic()))
        await asyncio.sleep(0.05)
    await asyncio.sleep(1.0)
    cpu = time.process_time() - chat_began_cpu
    packets = packets_sent(pcs) - chat_began_packets
    await asyncio.gather(*(pc.close() for pc in pcs))
    return setup, latencies, cpu, packets


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[2, 4, 8])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--messages", type=int, default=20, help="per peer per round")
    parser.add_argument(
        "--gc-freeze",
        action="store_true",
        help="peer processes freeze their start-up objects after joining, as meshchat join does",
    )
    parser.add_argument("--engine", nargs="+", choices=ENGINES, default=["aiortc"])
    args = parser.parse_args()
    if args.engine != ["aiortc"]:
        await compare_engines(args.sizes, args.rounds, args.messages, args.gc_freeze, args.engine)
        return
    print(
        "| N | mesh set-up, processes + broker (median s) | lower bound, one process "
        "(median s) | ratio | latency median (ms) | latency p99 (ms) "
        "| lower-bound latency median / p99 (ms) | median / bound | p99 / median "
        "| CPU per delivered message, processes / one process (µs) "
        "| packets sent per delivered message, processes / one process |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for size in args.sizes:
        setups, direct_setups, latencies, direct_latencies = [], [], [], []
        cpu = direct_cpu = 0.0
        packets = direct_packets = 0
        for _ in range(args.rounds):
            # Interleave the two so that machine noise hits both alike.
            measured = await processes_round(size, args.messages, args.gc_freeze)
            setups.append(measured.setup)
            latencies += measured.latencies
            cpu += measured.cpu
            packets += measured.packets
            setup, lat, spent, sent = await direct_round(size, args.messages)
            direct_setups.append(setup)
            direct_latencies += lat
            direct_cpu += spent
            direct_packets += sent
        s, d = statistics.median(setups), statistics.median(direct_setups)
        median, bound = statistics.median(latencies), statistics.median(direct_latencies)
        p99 = percentile(latencies, 0.99)
        print(
            f"| {size} | {s:.3f} | {d:.3f} | {s / d:.1f}x "
            f"| {median * 1000:.2f} | {p99 * 1000:.2f} "
            f"| {bound * 1000:.2f} / {percentile(direct_latencies, 0.99) * 1000:.2f} "
            f"| {median / bound:.1f}x | {p99 / median:.1f}x "
            f"| {cpu / len(latencies) * 1e6:.0f} "
            f"/ {direct_cpu / len(direct_latencies) * 1e6:.0f} "
            f"| {packets / len(latencies):.2f} / {direct_packets / len(direct_latencies):.2f} |",
            flush=True,
        )


async def compare_engines(
    sizes: list[int], rounds: int, messages: int, freeze: bool, engines: list[str]
) -> None:
    rows, by_thread = [], []
    for size in sizes:
        measured: dict[str, list[ProcessesRound]] = {e: [] for e in engines}
        for _ in range(rounds):
            for engine in engines:  # alternating, so that machine noise hits all alike
                measured[engine].append(await processes_round(size, messages, freeze, engine))
        delivered = {e: sum(len(r.latencies) for r in measured[e]) for e in engines}
        per_message = {e: sum(r.cpu for r in measured[e]) / delivered[e] for e in engines}
        for engine in engines:
            latencies = [t for r in measured[engine] for t in r.latencies]
            ratio = per_message[engine] / per_message.get("aiortc", per_message[engine])
            datagrams = sum(r.datagrams for r in measured[engine]) / delivered[engine]
            rows.append(
                f"| {size} | {engine} | {statistics.median(r.setup for r in measured[engine]):.2f} "
                f"| {statistics.median(latencies) * 1000:.2f} "
                f"| {percentile(latencies, 0.99) * 1000:.2f} "
                f"| {per_message[engine] * 1e6:.0f} | {ratio:.2f}x | {datagrams:.2f} |"
            )
            threads: Counter[str] = Counter()
            for result in measured[engine]:
                threads.update(result.threads)
            said = ", ".join(
                f"{name} {spent / delivered[engine] * 1e6:.0f}"
                for name, spent in threads.most_common()
            )
            by_thread.append(f"| {size} | {engine} | {said} |")
    print(
        "| N | engine | mesh set-up (median s) | latency median (ms) | latency p99 (ms) "
        "| CPU per delivered message (µs) | vs aiortc | UDP datagrams per delivered message |"
    )
    print("|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    print()
    print("| N | engine | CPU per delivered message by thread, all processes (µs) |")
    print("|---|---|---|")
    print("\n".join(by_thread), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
