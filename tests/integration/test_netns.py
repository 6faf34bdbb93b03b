"""A peer connection whose network path dies and comes back, across a real link between
network namespaces the test creates (root needed; traffic stays on that private link)."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from .netns import ip, namespace_link
from .processes import EVENT_TIMEOUT, Broker, Peer, start_meshchat_broker

pytestmark = pytest.mark.integration

HOST_SIDE, NS_SIDE = "10.201.0.1", "10.201.0.2"  # a /30 on the test's own veth pair


@pytest.fixture
def namespace() -> Iterator[tuple[str, str]]:
    with namespace_link(HOST_SIDE, NS_SIDE) as link:
        yield link


async def test_a_dead_network_path_is_noticed_retried_and_nothing_sent_is_lost(
    namespace: tuple[str, str],
) -> None:
    name, host_dev = namespace
    broker: Broker = await start_meshchat_broker("--host", HOST_SIDE)
    peers: list[Peer] = []
    try:
        ana = await Peer.start(broker, "path", "ana", host_address=HOST_SIDE)
        bo = await Peer.start(
            broker, "path", "bo", host_address=NS_SIDE, launcher=["ip", "netns", "exec", name]
        )
        peers += [ana, bo]
        await ana.wait_for_peers({bo.id})
        await bo.wait_for_peers({ana.id})

        ip("link", "set", host_dev, "down")  # the only path between them dies
        left = await ana.wait_for(lambda e: e["event"] == "left" and e["peer"] == bo.id)
        assert left["reason"] != "said bye"
        sent = await ana.send("said while the path was down")
        assert sent["queued_for"] == [bo.id], "kept for bo, who may come back"

        ip("link", "set", host_dev, "up")
        await asyncio.sleep(0.5)  # the kernel needs a moment to bring the address back
        await ana.wait_for(lambda e: e["event"] == "joined" and e["peer"] == bo.id)
        got = await bo.wait_for(lambda e: e["event"] == "message", within=EVENT_TIMEOUT)
        assert got["text"] == "said while the path was down"
        assert not any(e["event"] == "undelivered" for e in ana.events)
    finally:
        for peer in peers:
            await peer.stop()
        await broker.stop()


def test_a_link_a_killed_run_left_behind_does_not_take_the_new_links_traffic() -> None:
    # A run killed with SIGKILL never reaches its `finally`: its namespace and veth stay.
    leak = (
        "import os\n"
        "from tests.integration.netns import namespace_link\n"
        f"held = namespace_link({HOST_SIDE!r}, {NS_SIDE!r})\n"
        "held.__enter__()\n"
        "os._exit(0)\n"
    )
    subprocess.run([sys.executable, "-c", leak], check=True, timeout=30)
    with namespace_link(HOST_SIDE, NS_SIDE) as (name, _), socket.socket() as listener:
        listener.bind((HOST_SIDE, 0))
        listener.listen()
        port = listener.getsockname()[1]
        dial = f"import socket; socket.create_connection(({HOST_SIDE!r}, {port}), timeout=5)"
        inside = ["ip", "netns", "exec", name, sys.executable, "-c", dial]
        subprocess.run(inside, check=True, timeout=30)
