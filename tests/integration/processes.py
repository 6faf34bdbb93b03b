"""Real processes for integration tests: brokers and ``meshchat join --json`` peers."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from meshchat.mesh import Transport, WebSocketTransport

REPO = Path(__file__).resolve().parents[2]
MESHCHAT = [sys.executable, "-m", "meshchat"]
Y_WEBRTC_SIGNALING = REPO / "tests" / "node" / "node_modules" / "y-webrtc" / "bin" / "server.js"

# Generous bounds for things to *happen*; they are liveness limits, not performance
# targets (those live in bench/). Two busy cores can be slow.
EVENT_TIMEOUT = 45.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Signalling:
    """A signalling service under test, and how ``meshchat join`` is pointed at it."""

    kind: str
    join_args: list[str]
    env: dict[str, str] = field(default_factory=dict)

    async def stop(self) -> None:
        pass

    def transport(self) -> Transport:
        """An in-process transport to the same service, for the Python API."""
        raise NotImplementedError


@dataclass
class Broker(Signalling):
    process: asyncio.subprocess.Process | None = None
    url: str = ""

    def transport(self) -> Transport:
        return WebSocketTransport(self.url)

    async def stop(self) -> None:
        await terminate(self.process)


async def terminate(process: asyncio.subprocess.Process | None) -> None:
    """Terminate ``process`` if it runs, and kill it if it is still there after 5 s."""
    if process is not None and process.returncode is None:
        process.terminate()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(process.wait(), 5)
        if process.returncode is None:
            process.kill()
            await process.wait()


async def start_meshchat_broker(
    *extra: str,
    port: int = 0,
    launcher: Sequence[str] = (),
    verbose: int = 0,
    env: dict[str, str] | None = None,
) -> Broker:
    process = await asyncio.create_subprocess_exec(
        *launcher,
        *MESHCHAT,
        *(["-" + "v" * verbose] if verbose else []),
        "broker",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        *extra,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )
    assert process.stderr is not None
    seen: list[str] = []
    while not (match := re.search(r"listening on (ws://\S+)", seen[-1] if seen else "")):
        line = (await asyncio.wait_for(process.stderr.readline(), EVENT_TIMEOUT)).decode()
        assert line, f"broker did not report its address: {''.join(seen)!r}"
        seen.append(line)
    url = match.group(1)
    return Broker("meshchat", ["--broker", url], process=process, url=url)


def y_webrtc_available() -> bool:
    return Y_WEBRTC_SIGNALING.exists() and shutil.which("node") is not None


async def start_y_webrtc_broker() -> Broker:
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        "node",
        str(Y_WEBRTC_SIGNALING),
        env={**os.environ, "PORT": str(port)},
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), EVENT_TIMEOUT)
    assert b"running" in line, line
    url = f"ws://127.0.0.1:{port}"
    return Broker("y-webrtc", ["--broker", url], process=process, url=url)


@dataclass
class Peer:
    """A ``meshchat join --json`` process, with its events collected as they arrive."""

    nick: str
    process: asyncio.subprocess.Process
    events: list[dict[str, Any]] = field(default_factory=list)
    id: str = ""
    _changed: asyncio.Event = field(default_factory=asyncio.Event)
    _reader: asyncio.Task[None] | None = None
    # A file, not a pipe: a pipe nobody reads would block a chatty process.
    stderr_path: Path | None = None
    # Its own state folder: where `join` keeps its log file (cli/logs.py).
    state: tempfile.TemporaryDirectory[str] = field(default_factory=tempfile.TemporaryDirectory)

    @classmethod
    async def start(
        cls,
        signalling: Signalling | None,
        room: str,
        nick: str,
        *extra: str,
        host_address: str = "127.0.0.1",
        launcher: Sequence[str] = (),
    ) -> Peer:
        """Join ``room`` through ``signalling`` (None: the default, embedded broker).
        ``launcher`` prefixes the command, e.g. ``ip netns exec NAME``."""
        args = [*launcher, *MESHCHAT, "join", room, "--json", "--nick", nick]
        args += ["--host-address", host_address]
        env = dict(os.environ)
        if signalling is not None:
            args += signalling.join_args
            env.update(signalling.env)
        return await cls.spawn(nick, [*args, *extra], env)

    @classmethod
    async def spawn(
        cls,
        nick: str,
        args: Sequence[str],
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
    ) -> Peer:
        """Run ``args``, a process that reports JSON lines on stdout, ``ready`` first."""
        state = tempfile.TemporaryDirectory(prefix=f"meshchat-{nick}-state-")
        env = {**(os.environ if env is None else env), "XDG_STATE_HOME": state.name}
        with tempfile.NamedTemporaryFile(prefix=f"meshchat-{nick}-", delete=False) as log:
            process = await asyncio.create_subprocess_exec(
                *args,
                env=env,
                cwd=cwd,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=log,
            )
        peer = cls(nick, process, stderr_path=Path(log.name), state=state)
        peer._reader = asyncio.create_task(peer._read())
        ready = await peer.wait_for(lambda e: e["event"] == "ready")
        peer.id = ready["id"]
        return peer

    async def _read(self) -> None:
        assert self.process.stdout is not None
        async for line in self.process.stdout:
            self.events.append(json.loads(line))
            self._changed.set()
        self._changed.set()

    async def wait_for(
        self, predicate: Callable[[dict[str, Any]], bool], within: float = EVENT_TIMEOUT
    ) -> dict[str, Any]:
        """The first event (already seen or yet to come) that matches ``predicate``."""
        async with asyncio.timeout(within):
            while True:
                for event in self.events:
                    if predicate(event):
                        return event
                if self.process.stdout is not None and self.process.stdout.at_eof():
                    raise AssertionError(f"{self.nick} exited: {self.stderr()}")
                self._changed.clear()
                await self._changed.wait()

    async def wait_for_peers(self, peer_ids: set[str], within: float = EVENT_TIMEOUT) -> None:
        async with asyncio.timeout(within):
            while not peer_ids <= self.connected_peers():
                self._changed.clear()
                await self._changed.wait()

    def connected_peers(self) -> set[str]:
        connected: set[str] = set()
        for event in self.events:
            if event["event"] == "joined":
                connected.add(event["peer"])
            elif event["event"] == "left":
                connected.discard(event["peer"])
        return connected

    def messages(self) -> list[dict[str, Any]]:
        """Messages received live (not the history given on joining: see history())."""
        return [e for e in self.events if e["event"] == "message" and not e.get("history")]

    def history(self) -> list[dict[str, Any]]:
        """Messages given as the room's history when this peer joined."""
        return [e for e in self.events if e["event"] == "message" and e.get("history")]

    async def command(self, command: dict[str, Any]) -> None:
        """One JSON line on stdin (for processes that take commands so)."""
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(command).encode() + b"\n")
        await self.process.stdin.drain()

    async def command_line(self, line: str) -> None:
        """One line on stdin, as typed (``/send PATH``, ``/peers``...)."""
        assert self.process.stdin is not None
        self.process.stdin.write(line.encode() + b"\n")
        await self.process.stdin.drain()

    async def send(self, text: str) -> dict[str, Any]:
        """Send a line and return the matching ``sent`` event."""
        assert self.process.stdin is not None
        self.process.stdin.write(text.encode() + b"\n")
        await self.process.stdin.drain()
        return await self.wait_for(lambda e: e["event"] == "sent" and e["text"] == text)

    async def quit(self) -> int:
        """Close stdin: the peer says bye and exits."""
        assert self.process.stdin is not None
        self.process.stdin.close()
        return await asyncio.wait_for(self.process.wait(), EVENT_TIMEOUT)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)

    def stderr(self) -> str:
        if self.stderr_path is None or not self.stderr_path.exists():
            return ""
        return self.stderr_path.read_text(errors="replace")[-3000:]

    def logged(self) -> str:
        """What it wrote on stderr and in its log file."""
        log = Path(self.state.name) / "meshchat" / "join.log"
        return self.stderr() + (log.read_text(errors="replace") if log.exists() else "")

    async def stop(self) -> None:
        await stop_process(self.process, self._reader, self.stderr_path)
        self.state.cleanup()


async def stop_process(
    process: asyncio.subprocess.Process, reader: asyncio.Task[None] | None, log: Path | None
) -> None:
    """Kill a peer process, stop reading it, remove its stderr file."""
    if process.returncode is None:
        process.kill()
        await process.wait()
    if reader is not None:
        reader.cancel()
    _remove(log)


def _remove(path: Path | None) -> None:
    if path is not None:
        path.unlink(missing_ok=True)  # a small local file: not worth a thread


async def silent_listener(port: int) -> asyncio.Server:
    """Accepts connections and never answers a handshake: a broker too busy to."""
    held: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    return await asyncio.start_server(hold, "127.0.0.1", port)
