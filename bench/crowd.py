"""Driving ``bench/crowd_worker.py`` processes: many peers of one room, spread over a
few processes (the machine has 2 cores; a process per peer would measure Python's
start-up, not the room)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

WAIT = 120.0  # seconds any answer may take on a loaded machine
REPO = Path(__file__).resolve().parent.parent  # where bench/ is importable


class CrowdProcess:
    """One worker process holding some of a room's peers."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.ids: list[str] = []
        self._lock = asyncio.Lock()

    @classmethod
    async def start(
        cls,
        broker_url: str,
        room: str,
        *,
        threshold: int = 24,
        nick_prefix: str = "p",
        launcher: Sequence[str] = (),
    ) -> CrowdProcess:
        """``launcher``: a command the worker runs under (``ip netns exec NS``)."""
        process = await asyncio.create_subprocess_exec(
            *launcher,
            sys.executable,
            "-m",
            "bench.crowd_worker",
            broker_url,
            room,
            str(threshold),
            nick_prefix,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            cwd=REPO,
            limit=64 * 1024 * 1024,  # a "received" answer of a whole run is long
        )
        crowd = cls(process)
        assert (await crowd._answer())["event"] == "ready"
        return crowd

    async def command(self, cmd: str, **fields: Any) -> dict[str, Any]:
        async with self._lock:
            assert self.process.stdin is not None
            self.process.stdin.write(json.dumps({"cmd": cmd, **fields}).encode() + b"\n")
            await self.process.stdin.drain()
            return await self._answer()

    async def join(self, count: int) -> list[str]:
        self.ids = (await self.command("join", count=count))["ids"]
        return self.ids

    async def _answer(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), WAIT)
        if not line:
            raise RuntimeError(f"crowd worker exited with {await self.process.wait()}")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)

    async def stop(self) -> None:
        if self.process.returncode is None:
            errors = (TimeoutError, RuntimeError, BrokenPipeError, ConnectionResetError)
            with contextlib.suppress(*errors):
                await asyncio.wait_for(self.command("quit"), 10.0)
        if self.process.returncode is None:
            self.kill()
        await self.process.wait()


async def statuses(crowds: list[CrowdProcess]) -> list[dict[str, Any]]:
    """Every living peer's status: id, members, links, connections, partial, forged."""
    answers = await asyncio.gather(*(crowd.command("status") for crowd in crowds))
    return [room for answer in answers for room in answer["rooms"]]


async def formed(crowds: list[CrowdProcess], peers: int, degree_low: int, within: float) -> float:
    """Wait until every peer knows all the others and holds at least ``degree_low``
    links (or all of them, in a full mesh); returns the seconds waited."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    while True:
        rooms = await statuses(crowds)
        if all(
            room["members"] == peers - 1 and room["links"] >= min(degree_low, peers - 1)
            for room in rooms
        ):
            return loop.time() - started
        if loop.time() - started > within:
            worst = min(rooms, key=lambda room: (room["members"], room["links"]))
            raise TimeoutError(f"not formed in {within} s: {worst}")
        await asyncio.sleep(0.5)
