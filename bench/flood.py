"""The broker under a flood: what an honest newcomer waits, and what the broker burns.

    python -m bench.flood --flooders 0 15 30 60 --joins 20

For each number N of hostile connections (half send pings, subscriptions with bad
proofs and garbage as fast as they can and reconnect whenever they are cut off; half
publish big frames to a room topic at just under the publish limit), a fresh broker
runs while a separate flooder process attacks it and this process, as an honest
newcomer, joins again and again: connect, subscribe to its own topic with the proof,
publish to it and hear it back. An honest subscriber of the room topic reads along.
Reported: the newcomer's join time (median, p90), failed joins (no answer within
60 s), the frames per second the flood got into the broker, whether the honest
subscriber was cut off, and the broker's CPU use; with N = 0 in the
same run as the baseline, and each row again against the same broker with its flood
defences lifted (frame budget, error-reply and refusal limits; the publish limit
stays), which is how the broker behaved before them. Everything is on loopback.

Prints Markdown (for docs/security.md).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from bench.fanout import free_port, start_broker
from meshchat.broker import Limits, serve
from meshchat.mesh import TransportError, TransportMessage, WebSocketTransport
from meshchat.mesh.identity import Identity

ROOM_TOPIC = "meshchat/flood/global"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


async def garbage_flooder(url: str) -> None:
    bad_subscribe = json.dumps(
        {
            "type": "subscribe",
            "topics": [f"meshchat/x/client-{Identity().client_id}"],
            "proof": {"pk": "A" * 43, "sig": "B" * 86},
        }
    )
    frames = ['{"type":"ping"}', bad_subscribe, "{not json"]
    while True:
        with contextlib.suppress(ConnectionClosed, OSError, InvalidHandshake):
            async with connect(url, max_queue=None) as ws:
                drain = asyncio.create_task(_drain(ws))
                try:
                    while True:
                        for frame in frames:
                            await ws.send(frame)
                finally:
                    drain.cancel()
        await asyncio.sleep(0.01)


async def publish_flooder(url: str) -> None:
    frame = json.dumps({"type": "publish", "topic": ROOM_TOPIC, "data": "x" * 8000})
    while True:
        with contextlib.suppress(ConnectionClosed, OSError, InvalidHandshake):
            async with connect(url) as ws:
                drain = asyncio.create_task(_drain(ws))
                try:
                    while True:
                        await ws.send(frame)
                        await asyncio.sleep(1 / 45)
                finally:
                    drain.cancel()
        await asyncio.sleep(0.01)


async def _drain(ws: object) -> None:
    async for _ in ws:  # type: ignore[attr-defined]
        pass


async def flood(url: str, count: int) -> None:
    """Run in the flooder process: ``count`` hostile connections until killed."""
    tasks = [
        asyncio.create_task(garbage_flooder(url) if i % 2 else publish_flooder(url))
        for i in range(count)
    ]
    await asyncio.gather(*tasks)


async def honest_join(url: str) -> float:
    """Seconds from connecting to hearing our own first publish back."""
    started = time.perf_counter()
    identity = Identity()
    transport = WebSocketTransport(url, open_timeout=30)
    await transport.connect(identity)
    try:
        own = f"meshchat/flood/client-{identity.client_id}"
        await transport.subscribe([own])
        await transport.publish(own, {"hello": "me"})
        async for event in transport.messages():
            if isinstance(event, TransportMessage) and event.topic == own:
                return time.perf_counter() - started
        raise RuntimeError("the transport closed first")
    finally:
        await transport.close()


@dataclass
class Run:
    times: list[float]
    failed: int
    cpu: float  # share of one core
    frames_per_second: float  # what the flood got into the broker
    subscriber_cut_off: bool


async def serve_undefended(port: int) -> None:
    """Run in a broker process: the broker with its flood defences lifted."""
    lifted = Limits(
        max_connections_per_ip=1000,
        frame_rate=1e9,
        frame_burst=1e9,
        error_rate=1e9,
        error_burst=1e9,
        strike_rate=1e9,
        strike_burst=1e9,
    )
    _, server = await serve("127.0.0.1", port, lifted)
    await server.serve_forever()


async def start(defended: bool, port: int) -> asyncio.subprocess.Process:
    if defended:
        return await start_broker("meshchat", port, "--max-connections-per-ip", "1000")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.flood",
        "--undefended",
        str(port),
        stderr=asyncio.subprocess.DEVNULL,
    )
    for _ in range(200):
        with contextlib.suppress(OSError):
            async with connect(f"ws://127.0.0.1:{port}"):
                return process
        await asyncio.sleep(0.05)
    raise RuntimeError("the broker did not start")


def metrics(port: int) -> dict[str, int]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as reply:
        lines = reply.read().decode().splitlines()
    return {
        line.split()[0].removeprefix("meshchat_broker_"): int(line.split()[1])
        for line in lines
        if not line.startswith("#")
    }


async def read_along(url: str, cut_off: asyncio.Event) -> None:
    async with connect(url, max_queue=None) as ws:
        await ws.send(json.dumps({"type": "subscribe", "topics": [ROOM_TOPIC]}))
        with contextlib.suppress(ConnectionClosed):
            async for _ in ws:
                pass
        cut_off.set()


async def one_run(flooders: int, joins: int, defended: bool) -> Run:
    port = free_port()
    url = f"ws://127.0.0.1:{port}"
    broker = await start(defended, port)
    attacker = None
    cut_off = asyncio.Event()
    reader = asyncio.create_task(read_along(url, cut_off))
    try:
        if flooders:
            attacker = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bench.flood", "--attack", url, str(flooders)
            )
            await asyncio.sleep(3)  # let it reach full swing
        before = await asyncio.to_thread(metrics, port)
        cpu_before, wall_before = cpu_seconds(broker.pid), time.perf_counter()
        times, failed = [], 0
        for _ in range(joins):
            try:
                times.append(await asyncio.wait_for(honest_join(url), 60))
            except (TransportError, TimeoutError):
                failed += 1
            await asyncio.sleep(0.1)
        wall = time.perf_counter() - wall_before
        cpu = (cpu_seconds(broker.pid) - cpu_before) / wall
        after = await asyncio.to_thread(metrics, port)
        frames = (after["messages_in_total"] - before["messages_in_total"]) / wall
        return Run(times, failed, cpu, frames, cut_off.is_set())
    finally:
        reader.cancel()
        for process in (attacker, broker):
            if process is not None:
                process.kill()
                await process.wait()


async def compare(args: argparse.Namespace) -> None:
    print(f"Honest newcomer joins ({args.joins} per row) while N connections flood the broker.")
    print()
    print(
        "| N flooding | broker | join median (ms) | join p90 (ms) | vs N=0 | failed joins "
        "| flood frames/s in | subscriber cut off | broker CPU |"
    )
    print("|---:|---|---:|---:|---:|---:|---:|---|---:|")
    baselines: dict[bool, float] = {}
    for count in args.flooders:
        for defended in (True, False):
            run = await one_run(count, args.joins, defended)
            times = run.times
            median = statistics.median(times) * 1000 if times else float("nan")
            p90 = statistics.quantiles(times, n=10)[-1] * 1000 if len(times) > 1 else median
            baseline = baselines.setdefault(defended, median)
            kind = "defended" if defended else "defences lifted"
            print(
                f"| {count} | {kind} | {median:.1f} | {p90:.1f} | {median / baseline:.1f}x "
                f"| {run.failed}/{args.joins} | {run.frames_per_second:,.0f} "
                f"| {'yes' if run.subscriber_cut_off else 'no'} | {run.cpu:.0%} |"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--flooders", type=int, nargs="+", default=[0, 15, 30, 60])
    parser.add_argument("--joins", type=int, default=20)
    parser.add_argument("--attack", nargs=2, metavar=("URL", "N"), help=argparse.SUPPRESS)
    parser.add_argument("--undefended", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.undefended:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve_undefended(args.undefended))
        return
    if args.attack:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(flood(args.attack[0], int(args.attack[1])))
        return
    asyncio.run(compare(args))


if __name__ == "__main__":
    main()
