"""A real mosquitto (Debian's) for the MQTT transport's tests: a TCP and a websockets
listener on free loopback ports, anonymous by default, or with deploy/mosquitto's ACLs
and two users (mosquitto-passwords beside this file: ana and bo, passwords
example-only-ana and example-only-bo)."""

from __future__ import annotations

import asyncio
import getpass
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from meshchat.mesh import Transport
from meshchat.mesh.transports.mqtt import MqttTransport

from .processes import EVENT_TIMEOUT, Signalling, free_port, terminate

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy" / "mosquitto"


def mosquitto_available() -> bool:
    return shutil.which("mosquitto") is not None


def require_mosquitto() -> None:
    """Skip without mosquitto; in CI (which installs it) that is a failure."""
    if not mosquitto_available():
        message = "mosquitto not installed: apt-get install mosquitto"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@dataclass
class Mosquitto(Signalling):
    """``kind`` "mqtt-tcp" or "mqtt-ws": which listener its transports and peers use."""

    tcp_port: int = 0
    ws_port: int = 0
    config: Path | None = None
    process: asyncio.subprocess.Process | None = None
    launcher: Sequence[str] = ()
    _drain: asyncio.Task[bytes] | None = None
    folder: tempfile.TemporaryDirectory[str] = field(default_factory=tempfile.TemporaryDirectory)

    @property
    def url(self) -> str:
        if self.kind == "mqtt-ws":
            return f"ws://127.0.0.1:{self.ws_port}/"
        return f"mqtt://127.0.0.1:{self.tcp_port}"

    def transport(self, username: str | None = None, password: str | None = None) -> Transport:
        return MqttTransport(self.url, username=username, password=password)

    async def start(self) -> None:
        """Start it (inside the namespace ``launcher`` enters, if any), and wait until
        both listeners are open (it says so on stderr, wherever it runs)."""
        self.process = await asyncio.create_subprocess_exec(
            *self.launcher, "mosquitto", "-c", str(self.config), stderr=asyncio.subprocess.PIPE
        )
        assert self.process.stderr is not None
        waiting = {f"listen socket on port {port}" for port in (self.tcp_port, self.ws_port)}
        said: list[str] = []
        async with asyncio.timeout(EVENT_TIMEOUT):
            while waiting:
                line = (await self.process.stderr.readline()).decode()
                assert line, f"mosquitto exited: {''.join(said)}"
                said.append(line)
                waiting = {w for w in waiting if w not in line}
        self._drain = asyncio.create_task(self.process.stderr.read())  # a full pipe stalls it
        # It says so a moment before its websockets listener takes connections: try both.
        async with asyncio.timeout(EVENT_TIMEOUT):
            while not await self._answers():
                await asyncio.sleep(0.05)

    async def _answers(self) -> bool:
        """Whether both listeners take a connection, seen from where mosquitto runs."""
        probe = await asyncio.create_subprocess_exec(
            *self.launcher, sys.executable, "-c", _PROBE, str(self.tcp_port), str(self.ws_port)
        )
        return await probe.wait() == 0

    async def stop(self) -> None:
        await terminate(self.process)

    async def restart(self) -> None:
        await self.stop()
        await self.start()


async def start_mosquitto(
    kind: str = "mqtt-tcp",
    *,
    secured: bool = False,
    tls: tuple[Path, Path] | None = None,
    launcher: Sequence[str] = (),
) -> Mosquitto:
    """Anonymous, or ``secured``: deploy/mosquitto's users and ACLs. ``tls``: a
    certificate and its key for both listeners. ``launcher``: the command that runs it
    in a network namespace."""
    require_mosquitto()
    broker = Mosquitto(kind, [], tcp_port=free_port(), ws_port=free_port(), launcher=launcher)
    folder = Path(broker.folder.name)
    certificate = [f"certfile {tls[0]}", f"keyfile {tls[1]}"] if tls else []
    lines = [
        f"user {getpass.getuser()}",  # as root it would become "mosquitto", locked out
        "persistence false",
        f"listener {broker.tcp_port} 127.0.0.1",
        *certificate,
        f"listener {broker.ws_port} 127.0.0.1",
        "protocol websockets",
        *certificate,
    ]
    if secured:
        shutil.copy(Path(__file__).parent / "mosquitto-passwords", folder / "passwords")
        (folder / "passwords").chmod(0o600)
        lines += [
            "per_listener_settings false",
            "allow_anonymous false",
            f"password_file {folder / 'passwords'}",
            f"acl_file {DEPLOY / 'acl.conf'}",
        ]
    else:
        lines.insert(0, "allow_anonymous true")
    broker.config = folder / "mosquitto.conf"
    broker.config.write_text("\n".join(lines) + "\n")
    broker.join_args = ["--transport", "mqtt", "--mqtt-url", broker.url]
    await broker.start()
    return broker


# Exits 0 when every port given takes a TCP connection on 127.0.0.1.
_PROBE = """
import socket, sys
for port in sys.argv[1:]:
    with socket.socket() as sock:
        if sock.connect_ex(("127.0.0.1", int(port))):
            sys.exit(1)
"""
