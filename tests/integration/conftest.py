"""Fixtures that start real brokers and real peer processes, and always clean up."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass

import pytest

from meshchat.cli.transports import ably_config
from meshchat.mesh import Room, Transport
from meshchat.mesh.transports.ably import AblyTransport
from tests.support.ably_endpoint import AblyEndpoint, ApiKey

from .processes import (
    Broker,
    Peer,
    Signalling,
    start_meshchat_broker,
    start_y_webrtc_broker,
    y_webrtc_available,
)

SIGNALLING_KINDS = ["meshchat", "y-webrtc", "ably-local", "ably-real"]
TEST_KEY = ApiKey(
    "meshchatTest.key1", "local-test-secret", {"meshchat:*": ["publish", "subscribe"]}
)


@dataclass
class AblySignalling(Signalling):
    endpoint: AblyEndpoint | None = None

    async def stop(self) -> None:
        if self.endpoint is not None:
            await self.endpoint.stop()

    def transport(self) -> Transport:
        endpoint = f"ws://{self.endpoint.endpoint}" if self.endpoint is not None else None
        return AblyTransport(ably_config(endpoint, environ=self.env))


async def start_ably_local() -> AblySignalling:
    endpoint = AblyEndpoint([TEST_KEY])
    await endpoint.start()
    return AblySignalling(
        "ably-local",
        ["--transport", "ably", "--ably-endpoint", f"ws://{endpoint.endpoint}"],
        {"ABLY_API_KEY": TEST_KEY.key},
        endpoint=endpoint,
    )


def real_ably() -> AblySignalling:
    key = os.environ.get("ABLY_API_KEY")
    if not key:
        print("ably-real: skipped, ABLY_API_KEY is not set")  # shown with pytest -s / -rs
        pytest.skip("real Ably not tested: set ABLY_API_KEY to a key with meshchat:* rights")
    return AblySignalling("ably-real", ["--transport", "ably"], {"ABLY_API_KEY": key})


async def start_signalling(kind: str) -> Signalling:
    """One of SIGNALLING_KINDS, started (or the test skipped, with the reason)."""
    if kind == "y-webrtc":
        if not y_webrtc_available():
            message = "y-webrtc-signaling not installed: run `npm ci --prefix tests/node`"
            if os.environ.get("CI"):
                pytest.fail(message)  # CI installs it; missing there is a broken setup
            pytest.skip(message)
        return await start_y_webrtc_broker()
    if kind == "ably-local":
        return await start_ably_local()
    if kind == "ably-real":
        return real_ably()
    return await start_meshchat_broker()


@pytest.fixture(params=SIGNALLING_KINDS)
async def signalling(request: pytest.FixtureRequest) -> AsyncIterator[Signalling]:
    """Every signalling service the chat must work over: the bundled broker, the stock
    y-webrtc server in its place, Ably's protocol from a local endpoint, real Ably."""
    if request.config.getoption("--engine") and request.param != "meshchat":
        # The links are the point there: the services are tested by the main run.
        pytest.skip("with --engine, the link tests signal through the bundled broker only")
    started = await start_signalling(request.param)
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

    async def spawn(
        signalling: Signalling | None,
        room: str,
        nick: str,
        *extra: str,
        launcher: Sequence[str] = (),
    ) -> Peer:
        peer = await Peer.start(signalling, room, nick, *extra, launcher=launcher)
        peers.append(peer)
        return peer

    yield spawn
    for peer in peers:
        await peer.stop()


@pytest.fixture
async def rooms() -> AsyncIterator[list[Room]]:
    """In-process rooms made by the test; all left at the end."""
    made: list[Room] = []
    yield made
    for room in made:
        await room.leave()
