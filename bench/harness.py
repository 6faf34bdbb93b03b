"""Processes for the benchmarks: the bundled broker, and `meshchat join --json` peers.

The benchmarks start what a user starts, through the command line, and read what it
reports; they keep their own small harness so that nothing in bench/ depends on tests/.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from aiortc import RTCPeerConnection
from aiortc.stats import RTCTransportStats

from meshchat.mesh import WebSocketTransport

MESHCHAT = [sys.executable, "-m", "meshchat"]
WAIT = 60.0  # seconds anything may take to happen before a benchmark gives up


def packets_sent(connections: Iterable[RTCPeerConnection]) -> int:
    """UDP packets sent so far over these peer connections' DTLS transports. aiortc's
    getStats() covers media only, so this reads the transport's own stats (private:
    a measurement probe for benchmarks, nothing in meshchat relies on it)."""
    total = 0
    for pc in connections:
        if not isinstance(pc, RTCPeerConnection) or pc.sctp is None:
            continue  # (libdatachannel's links are counted by no one here)
        for stats in pc.sctp.transport._get_stats().values():
            if isinstance(stats, RTCTransportStats):
                total += stats.packetsSent
    return total


def cpu_by_thread() -> dict[str, float]:
    """CPU seconds this process's threads have spent so far, by thread name (the
    kernel's count, /proc/self/task; its clock ticks are 10 ms). The loop's thread is
    named after the program ("python"); libdatachannel names its own."""
    ticks_per_second = os.sysconf("SC_CLK_TCK")
    spent: dict[str, float] = {}
    for stat in Path("/proc/self/task").glob("*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # the thread ended meanwhile
            continue
        name = text[text.index("(") + 1 : text.rindex(")")]
        fields = text[text.rindex(")") + 2 :].split()
        utime, stime = int(fields[11]), int(fields[12])
        spent[name] = spent.get(name, 0.0) + (utime + stime) / ticks_per_second
    return spent


def cpu_by_thread_since(before: Mapping[str, float]) -> dict[str, float]:
    """CPU seconds by thread name spent since ``before`` (what :func:`cpu_by_thread`
    said then)."""
    return {name: spent - before.get(name, 0.0) for name, spent in cpu_by_thread().items()}


def udp_datagrams_sent() -> int:
    """UDP datagrams this machine's network namespace has sent so far (the kernel's
    count, /proc/net/snmp): what both engines send, counted alike. Nothing else here
    speaks UDP while a benchmark runs; the signalling is TCP."""
    with open("/proc/net/snmp") as snmp:
        header, values = (line.split() for line in snmp if line.startswith("Udp:"))
    return int(values[header.index("OutDatagrams")])


def join_command(room: str, nick: str, broker_url: str | None) -> list[str]:
    """``meshchat join --json`` on loopback, through ``broker_url`` (None: the embedded
    default)."""
    where = ["--broker", broker_url] if broker_url is not None else []
    return [
        *MESHCHAT,
        "join",
        room,
        "--json",
        "--nick",
        nick,
        *where,
        "--host-address",
        "127.0.0.1",
    ]


class BrokerProcess:
    """``meshchat broker`` on a loopback port."""

    def __init__(self, process: asyncio.subprocess.Process, url: str) -> None:
        self.process = process
        self.url = url
        # Read (and drop) what it logs from here on: a full pipe would stall it.
        assert process.stderr is not None
        self._drain = asyncio.create_task(process.stderr.read())

    @classmethod
    async def start(cls, port: int = 0, extra: Sequence[str] = ()) -> BrokerProcess:
        """``extra``: more options for ``meshchat broker``."""
        process = await asyncio.create_subprocess_exec(
            *MESHCHAT,
            "broker",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            *extra,
            stderr=asyncio.subprocess.PIPE,
        )
        assert process.stderr is not None
        while True:
            line = (await asyncio.wait_for(process.stderr.readline(), WAIT)).decode()
            if not line:
                raise RuntimeError("the broker exited before it listened")
            if match := re.search(r"listening on (ws://\S+)", line):
                return cls(process, match.group(1))

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def transport(self) -> WebSocketTransport:
        return WebSocketTransport(self.url)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.terminate()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.process.wait(), 5)
            if self.process.returncode is None:
                self.process.kill()
        await self.process.wait()
        await self._drain

    def log(self) -> str:
        """What it logged after it listened (once it has stopped)."""
        return self._drain.result().decode(errors="replace")


class JoinProcess:
    """``meshchat join ROOM --json``, with its events collected as they come."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.events: list[dict[str, Any]] = []
        self.id = ""
        self._changed = asyncio.Event()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def start(
        cls,
        broker: BrokerProcess | None,
        room: str,
        nick: str,
        launcher: Sequence[str] = (),
        extra: Sequence[str] = (),
    ) -> JoinProcess:
        """Join through ``broker``, or with none given (the embedded default);
        ``launcher`` prefixes the command (``ip netns exec NAME``); ``extra`` are more
        options."""
        url = broker.url if broker is not None else None
        process = await asyncio.create_subprocess_exec(
            *launcher,
            *join_command(room, nick, url),
            *extra,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        peer = cls(process)
        peer.id = (await peer.wait_for(lambda e: e["event"] == "ready"))["id"]
        return peer

    async def _read(self) -> None:
        assert self.process.stdout is not None
        async for line in self.process.stdout:
            self.events.append(json.loads(line))
            self._changed.set()
        self._changed.set()

    async def wait_for(
        self, predicate: Callable[[dict[str, Any]], bool], within: float = WAIT
    ) -> dict[str, Any]:
        async with asyncio.timeout(within):
            while True:
                for event in self.events:
                    if predicate(event):
                        return event
                if self._reader.done():
                    raise RuntimeError("the peer exited")
                self._changed.clear()
                await self._changed.wait()

    async def wait_for_peers(self, peer_ids: set[str], within: float = WAIT) -> None:
        def joined() -> set[str]:
            present: set[str] = set()
            for event in self.events:
                if event["event"] == "joined":
                    present.add(event["peer"])
                elif event["event"] == "left":
                    present.discard(event["peer"])
            return present

        async with asyncio.timeout(within):
            while not peer_ids <= joined():
                self._changed.clear()
                await self._changed.wait()

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)

    def quit(self) -> None:
        """Close stdin: the peer says bye and exits."""
        assert self.process.stdin is not None
        self.process.stdin.close()

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.kill()
        await self.process.wait()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader


@contextlib.contextmanager
def private_loopback() -> Iterator[list[str]]:
    """A network namespace with only its own loopback (root needed), so the default
    broker port is free there: yields the command prefix that runs a process in it."""
    name = f"mcb-{uuid.uuid4().hex[:6]}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        subprocess.run(["ip", "netns", "exec", name, "ip", "link", "set", "lo", "up"], check=True)
        yield ["ip", "netns", "exec", name]
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)
