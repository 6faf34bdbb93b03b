"""Broker fan-out throughput: the bundled broker against the stock y-webrtc signalling
server, under the same load, in the same run.

Many subscribers on one topic, several publishers, SDP-sized messages. The load runs in
separate processes from the broker, one for subscribers and one per publisher, so the
broker under test has a core to itself as far as a 2-core machine allows.

    python -m bench.fanout --subscribers 50 --publishers 4 --messages 250 --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import sys
import time
from pathlib import Path

from websockets.asyncio.client import connect

REPO = Path(__file__).resolve().parents[1]
Y_WEBRTC = REPO / "tests" / "node" / "node_modules" / "y-webrtc" / "bin" / "server.js"
TOPIC = "meshchat/bench/global"
SDP_SIZE = 3000  # a Chromium offer with a few candidates
# The load comes from one address and publishes far faster than a real client may:
# the broker's per-address and per-connection limits are lifted for it ("meshchat").
# "meshchat, frame budget" keeps the per-connection frame budget in force (100 frames a
# second, read more slowly past it): what a flood from few connections gets.
LIFTED = ("--max-publish-rate", "1000000", "--max-connections-per-ip", "100000")
OPTIONS = {
    "meshchat": (*LIFTED, "--max-frame-rate", "1000000"),
    "meshchat, frame budget": LIFTED,
    "y-webrtc": (),
}


async def subscribers(url: str, count: int, expected: int) -> None:
    """Subscribe ``count`` connections, report ready, then time until each has
    received ``expected`` messages."""
    connections = [await connect(url, max_size=None, compression=None) for _ in range(count)]
    for ws in connections:
        await ws.send(json.dumps({"type": "subscribe", "topics": [TOPIC]}))
        await ws.send(json.dumps({"type": "ping"}))
        await ws.recv()  # pong: the subscription is active
    print("ready", flush=True)
    first: list[float] = []

    async def drain(ws: object) -> None:
        for _ in range(expected):
            await ws.recv()  # type: ignore[attr-defined]
            if not first:
                first.append(time.monotonic())

    await asyncio.gather(*(drain(ws) for ws in connections))
    print(json.dumps({"first": first[0], "last": time.monotonic()}), flush=True)


async def publisher(url: str, messages: int) -> None:
    async with connect(url, compression=None) as ws:
        print("ready", flush=True)
        sys.stdin.readline()  # wait for "go"
        body = {"type": "offer", "sdp": "v=0\r\n" + "a" * SDP_SIZE}
        frame = json.dumps({"type": "publish", "topic": TOPIC, "data": body})
        for _ in range(messages):
            await ws.send(frame)
        await ws.send(json.dumps({"type": "ping"}))
        while json.loads(await ws.recv()).get("type") != "pong":
            pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def start_broker(kind: str, port: int, *options: str) -> asyncio.subprocess.Process:
    """The bundled broker (with ``options``) or the y-webrtc server, on ``port``."""
    if kind.startswith("meshchat"):
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "meshchat",
            "broker",
            "--port",
            str(port),
            *options,
            stderr=asyncio.subprocess.DEVNULL,
        )
    else:
        process = await asyncio.create_subprocess_exec(
            "node",
            str(Y_WEBRTC),
            env={**os.environ, "PORT": str(port)},
            stdout=asyncio.subprocess.DEVNULL,
        )
    for _ in range(200):
        try:
            async with connect(f"ws://127.0.0.1:{port}"):
                return process
        except OSError:
            await asyncio.sleep(0.05)
    raise RuntimeError(f"{kind} broker did not start")


async def one_round(kind: str, port: int, subs: int, pubs: int, messages: int) -> float:
    """Messages delivered per second (publishes x subscribers / elapsed)."""
    broker = await start_broker(kind, port, *OPTIONS[kind])
    url = f"ws://127.0.0.1:{port}"
    me = [sys.executable, "-m", "bench.fanout"]
    expected = pubs * messages
    sub = await asyncio.create_subprocess_exec(
        *me,
        "--role",
        "subscribers",
        "--url",
        url,
        "--subscribers",
        str(subs),
        "--expected",
        str(expected),
        stdout=asyncio.subprocess.PIPE,
        cwd=REPO,
    )
    pub_processes = [
        await asyncio.create_subprocess_exec(
            *me,
            "--role",
            "publisher",
            "--url",
            url,
            "--messages",
            str(messages),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            cwd=REPO,
        )
        for _ in range(pubs)
    ]
    try:
        assert sub.stdout is not None
        assert (await sub.stdout.readline()).strip() == b"ready"
        for p in pub_processes:
            assert p.stdout is not None and (await p.stdout.readline()).strip() == b"ready"
        start = time.monotonic()
        for p in pub_processes:
            assert p.stdin is not None
            p.stdin.write(b"go\n")
            await p.stdin.drain()
        result = json.loads(await asyncio.wait_for(sub.stdout.readline(), 300))
        elapsed: float = result["last"] - start
        return expected * subs / elapsed
    finally:
        for process in (sub, *pub_processes, broker):
            if process.returncode is None:
                process.kill()
            await process.wait()


async def compare(args: argparse.Namespace) -> None:
    rates: dict[str, list[float]] = {kind: [] for kind in OPTIONS}
    for _ in range(args.rounds):
        for kind in rates:  # in turn, so drift in machine load hits each
            rates[kind].append(
                await one_round(kind, free_port(), args.subscribers, args.publishers, args.messages)
            )
    ours, budget, theirs = (statistics.median(rates[kind]) for kind in OPTIONS)
    print(
        f"| {args.subscribers} | {args.publishers} | {args.messages} | {SDP_SIZE} "
        f"| {ours:,.0f} | {budget:,.0f} | {theirs:,.0f} | {ours / theirs:.2f}x "
        f"| {budget / theirs:.2f}x |"
    )
    print(f"<!-- rounds: {rates} -->")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--role", choices=["compare", "subscribers", "publisher"], default="compare"
    )
    parser.add_argument("--url")
    parser.add_argument("--subscribers", type=int, default=50)
    parser.add_argument("--publishers", type=int, default=4)
    parser.add_argument("--messages", type=int, default=250, help="per publisher")
    parser.add_argument("--expected", type=int)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if args.role == "subscribers":
        asyncio.run(subscribers(args.url, args.subscribers, args.expected))
    elif args.role == "publisher":
        asyncio.run(publisher(args.url, args.messages))
    else:
        print(
            "| subscribers | publishers | messages each | payload bytes "
            "| meshchat (deliveries/s) | meshchat, frame budget (deliveries/s) "
            "| y-webrtc-signaling (deliveries/s) | ratio | ratio, frame budget |"
        )
        print("|---|---|---|---|---|---|---|---|---|")
        asyncio.run(compare(args))


if __name__ == "__main__":
    main()
