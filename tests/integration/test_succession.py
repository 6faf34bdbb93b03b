"""The embedded default broker outlives its host: with no broker given, when the
process that runs it quits or crashes, one of the others takes the port over, everyone
reconnects to it, chat goes on, and newcomers join as before. Each test runs in a
network namespace of its own, so the default port is free whatever this machine runs."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Iterator

import pytest

from .netns import private_loopback
from .processes import Peer

pytestmark = pytest.mark.integration


@pytest.fixture
def namespace() -> Iterator[list[str]]:
    with private_loopback() as name:
        yield ["ip", "netns", "exec", name]


async def join(launcher: list[str], nick: str, started: list[Peer]) -> Peer:
    """``meshchat join`` with no broker given: the README's command."""
    peer = await Peer.start(None, "lobby", nick, launcher=launcher)
    started.append(peer)
    return peer


async def meshed(peers: list[Peer]) -> None:
    ids = {peer.id for peer in peers}
    await asyncio.gather(*(peer.wait_for_peers(ids - {peer.id}) for peer in peers))


def count(peer: Peer, event: str) -> int:
    return sum(e["event"] == event for e in peer.events)


@pytest.mark.parametrize("host_ends", ["quits", "crashes"])
async def test_when_the_host_goes_one_successor_runs_the_broker(
    namespace: list[str], host_ends: str
) -> None:
    started: list[Peer] = []
    try:
        host = await join(namespace, "host", started)
        assert host.events[0]["embedded_broker"] is True
        others = [await join(namespace, nick, started) for nick in ("bo", "cy", "di")]
        assert not any(peer.events[0]["embedded_broker"] for peer in others)
        await meshed([host, *others])

        gone_at = time.monotonic()
        if host_ends == "quits":
            await host.quit()
        else:
            host.kill()
        # Every remaining peer loses signalling; all of them race for the port.
        await asyncio.gather(
            *(p.wait_for(lambda e: e["event"] == "signalling-lost") for p in others)
        )
        await asyncio.gather(
            *(p.wait_for(lambda e: e["event"] == "signalling-restored") for p in others)
        )
        restored = time.monotonic() - gone_at
        assert restored < 4.0, f"signalling back after {restored:.2f} s"
        assert sorted(count(peer, "broker-hosted") for peer in others) == [0, 0, 1]

        # Established peers never stopped talking, and nobody took anyone for gone.
        for sender in others:
            await sender.send(f"{sender.nick} after the host")
        for peer in others:
            expected = {f"{sender.nick} after the host" for sender in others if sender is not peer}
            async with asyncio.timeout(10):
                while not expected <= {e["text"] for e in peer.messages()}:
                    await asyncio.sleep(0.05)
        for peer in others:
            await peer.wait_for(lambda e: e["event"] == "left" and e["peer"] == host.id)
        assert all(
            [e["peer"] for e in peer.events if e["event"] == "left"] == [host.id] for peer in others
        )

        # A newcomer finds the successor's broker and meets everyone.
        late = await join(namespace, "late", started)
        assert late.events[0]["embedded_broker"] is False
        await meshed([*others, late])
    finally:
        for peer in started:
            await peer.stop()


async def test_successors_follow_one_another(namespace: list[str]) -> None:
    started: list[Peer] = []
    try:
        peers = [await join(namespace, nick, started) for nick in ("a", "b", "c")]
        await meshed(peers)
        first, *rest = peers
        await first.quit()
        successor = next(p for p in await _after_takeover(rest) if count(p, "broker-hosted") == 1)
        await successor.quit()
        (last,) = [p for p in rest if p is not successor]
        await last.wait_for(lambda e: e["event"] == "broker-hosted")
        newcomer = await join(namespace, "d", started)
        await meshed([last, newcomer])
    finally:
        for peer in started:
            await peer.stop()


async def _after_takeover(peers: list[Peer]) -> list[Peer]:
    await asyncio.gather(
        *(p.wait_for(lambda e: e["event"] == "signalling-restored") for p in peers)
    )
    return peers


# A process of another user that grabs the default port and answers nothing: it would
# read all open-room signalling, forward none, and cut the room off without a word.
SQUATTER = """
import socket, sys, time
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", 8765))
server.listen()
print("listening", flush=True)
held = []
while True:
    held.append(server.accept()[0])
"""


async def test_a_port_another_user_holds_is_passed_over_and_said(namespace: list[str]) -> None:
    if not shutil.which("setpriv") or not shutil.which("python3", path="/usr/bin"):
        pytest.skip("needs setpriv and the system's python3 to run as another user")
    squatter = await asyncio.create_subprocess_exec(
        *namespace,
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "/usr/bin/python3",
        "-c",
        SQUATTER,
        stdout=asyncio.subprocess.PIPE,
    )
    started: list[Peer] = []
    try:
        assert squatter.stdout is not None
        assert await asyncio.wait_for(squatter.stdout.readline(), 10) == b"listening\n"
        host = await join(namespace, "host", started)
        ready = next(e for e in host.events if e["event"] == "ready")
        assert ready["embedded_broker"] is True and ready["broker"] == "ws://127.0.0.1:8766"
        said = [e["message"] for e in host.events if e["event"] == "error"]
        assert said == [
            "another user's process (uid 65534) listens on 127.0.0.1:8765; not using it"
        ]
        bo = await join(namespace, "bo", started)
        assert next(e for e in bo.events if e["event"] == "ready")["broker"].endswith(":8766")
        await meshed([host, bo])
    finally:
        for peer in started:
            await peer.stop()
        squatter.kill()
        await squatter.wait()
