"""Fixtures that start real brokers and real peer processes, and always clean up."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from .processes import (
    Broker,
    Peer,
    start_meshchat_broker,
    start_y_webrtc_broker,
    y_webrtc_available,
)

BROKER_KINDS = ["meshchat", "y-webrtc"]


@pytest.fixture(params=BROKER_KINDS)
async def broker(request: pytest.FixtureRequest) -> AsyncIterator[Broker]:
    """The bundled broker, and the stock y-webrtc signalling server in its place."""
    if request.param == "y-webrtc":
        if not y_webrtc_available():
            message = "y-webrtc-signaling not installed: run `npm ci --prefix tests/node`"
            if os.environ.get("CI"):
                pytest.fail(message)  # CI installs it; missing there is a broken setup
            pytest.skip(message)
        started = await start_y_webrtc_broker()
    else:
        started = await start_meshchat_broker()
    yield started
    await started.stop()


@pytest.fixture
async def meshchat_broker() -> AsyncIterator[Broker]:
    started = await start_meshchat_broker()
    yield started
    await started.stop()


PeerFactory = Callable[..., Awaitable[Peer]]


@pytest.fixture
async def spawn_peer() -> AsyncIterator[PeerFactory]:
    """Start ``meshchat join --json`` processes; all are killed at the end of the test."""
    peers: list[Peer] = []

    async def spawn(broker_url: str | None, room: str, nick: str, *extra: str) -> Peer:
        peer = await Peer.start(broker_url, room, nick, *extra)
        peers.append(peer)
        return peer

    yield spawn
    for peer in peers:
        await peer.stop()
