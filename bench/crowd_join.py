"""A crowd clicking "join" together: N `meshchat join` processes started at once on one
broker, as a class or an office behind one address does.

    python -m bench.crowd_join --peers 64 [--within 120]

Baseline, in the same run: one `join` started alone on a quiet broker, its time until
`ready`. Then the crowd: how many reached `ready` and how many gave up (an exit before
`ready`, with its error), the median and slowest time to `ready` as ratios of the
baseline, when every member had heard of every other (a `joined` for each: the room
formed), how many of the N*(N-1) sightings were still missing at the end, and how many
lines the broker wrote to its log meanwhile. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from typing import Any

from .harness import BrokerProcess, join_command


class Member:
    """One `join --json` process of the crowd; its events as they come."""

    def __init__(self, process: asyncio.subprocess.Process, started: float) -> None:
        self.process = process
        self.started = started
        self.ready_after: float | None = None
        self.present: set[str] = set()
        self.error = ""
        self.ready = asyncio.Event()
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.process.stdout is not None
        async for line in self.process.stdout:
            event: dict[str, Any] = json.loads(line)
            match event["event"]:
                case "ready":
                    self.ready_after = time.monotonic() - self.started
                    self.ready.set()
                case "joined":
                    self.present.add(event["peer"])
                case "left":
                    self.present.discard(event["peer"])
        assert self.process.stderr is not None
        self.error = (await self.process.stderr.read()).decode().strip()[-200:]
        self.ready.set()  # it will not be


async def start(url: str, room: str, nick: str) -> Member:
    process = await asyncio.create_subprocess_exec(
        *join_command(room, nick, url),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    return Member(process, time.monotonic())


async def stop(members: list[Member]) -> None:
    for member in members:
        if member.process.returncode is None:
            member.process.kill()
    for member in members:
        await member.process.wait()
        await member.reader


async def alone(url: str) -> float:
    """Seconds until one join, started by itself, is ready."""
    member = await start(url, "baseline", "solo")
    await member.ready.wait()
    await stop([member])
    if member.ready_after is None:
        raise RuntimeError(f"the baseline join failed: {member.error}")
    return member.ready_after


async def crowd(peers: int, within: float) -> dict[str, Any]:
    broker = await BrokerProcess.start()
    try:
        baseline = await alone(broker.url)
        started = time.monotonic()
        members = list(
            await asyncio.gather(*(start(broker.url, "crowd", f"p{n}") for n in range(peers)))
        )
        formed_after: float | None = None
        while time.monotonic() - started < within:
            await asyncio.sleep(0.5)
            if all(len(m.present) == peers - 1 for m in members):
                formed_after = time.monotonic() - started
                break
        missing = sum(peers - 1 - len(m.present) for m in members)
        await stop(members)
    finally:
        await broker.stop()
    log_lines = broker.log().count("\n")
    ready = [m.ready_after for m in members if m.ready_after is not None]
    gave_up = [m for m in members if m.ready_after is None and m.error]
    errors = sorted({m.error.splitlines()[-1] for m in gave_up})
    return {
        "baseline": baseline,
        "ready": len(ready),
        "median": statistics.median(ready) if ready else float("nan"),
        "slowest": max(ready, default=float("nan")),
        "formed": formed_after,
        "missing": missing,
        "log_lines": log_lines,
        "errors": errors,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--peers", type=int, default=64)
    parser.add_argument("--within", type=float, default=120.0, help="seconds to wait for the room")
    args = parser.parse_args()
    r = asyncio.run(crowd(args.peers, args.within))
    formed = "not within the run" if r["formed"] is None else f"{r['formed']:.1f} s"
    print(
        "| N | ready | alone (s) | median / alone | slowest / alone | formed | "
        "missing sightings | broker log lines |"
    )
    print("|---|---|---|---|---|---|---|---|")
    print(
        f"| {args.peers} | {r['ready']} of {args.peers} | {r['baseline']:.2f} | "
        f"{r['median'] / r['baseline']:.1f}x | {r['slowest'] / r['baseline']:.1f}x | {formed} | "
        f"{r['missing']} of {args.peers * (args.peers - 1)} | {r['log_lines']} |"
    )
    for error in r["errors"]:
        print(f"\ngave up: {error}")


if __name__ == "__main__":
    main()
