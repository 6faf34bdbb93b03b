"""The pub/sub transport interface the mesh depends on, and nothing else.

A transport connects to a pub/sub service (saying who we are, and learning which ICE
servers the service offers), subscribes to channels (topics), publishes JSON objects to a
channel and yields what is published on the channels it subscribed to. Each backend (the
bundled broker, Ably, memory) is one small module implementing these five methods, and
all pass the same conformance tests (tests/integration/test_transport_conformance.py).
"""

from __future__ import annotations

import asyncio
import logging
import random
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from meshchat.mesh.errors import MeshError
from meshchat.mesh.identity import Identity
from meshchat.mesh.webrtc.ice import IceServer

log = logging.getLogger(__name__)


class TransportError(MeshError):
    """The pub/sub service cannot be reached or refused us; the text says why."""


async def reconnect(
    attempt: Callable[[], Awaitable[None]],
    closing: Callable[[], bool],
    rng: random.Random,
    *,
    initial: float,
    longest: float,
) -> None:
    """Call ``attempt()`` (connect and subscribe again) until it does not raise
    ``TransportError``, or ``closing()``: first after ``initial`` seconds, then each
    wait doubled up to ``longest``, with jitter, so that a room does not come back to a
    restarted service all at once."""
    delay = initial
    while not closing():
        await asyncio.sleep(delay * rng.uniform(0.5, 1.5))
        try:
            await attempt()
            return
        except TransportError as error:
            log.debug("reconnect failed: %s", error)
            delay = min(delay * 2, longest)


@dataclass(frozen=True, slots=True)
class TransportMessage:
    topic: str
    data: object  # the published JSON value, not yet validated
    # Who published it, as far as the service says: the bundled broker stamps each
    # publish with a tag per client address, Ably names the publishing connection.
    # Used only to share attention fairly among strangers (see signalling/admission.py).
    origin: str | None = None


def plausible_origin(value: object) -> str | None:
    """A service's name for a publisher, if it looks like one (it is only a lane name
    for sharing attention fairly, never trusted for more)."""
    return value if isinstance(value, str) and 0 < len(value) <= 64 else None


@dataclass(frozen=True, slots=True)
class ConnectionLost:
    """The service went away; the transport is trying to get it back."""

    reason: str


@dataclass(frozen=True, slots=True)
class ConnectionRestored:
    """Connected and subscribed again. ``resumed``: the service kept our state and
    delivered what we missed; otherwise messages published meanwhile are lost."""

    resumed: bool


TransportEvent = TransportMessage | ConnectionLost | ConnectionRestored


class Transport(ABC):
    """A connection to a pub/sub service."""

    # Every peer it can reach runs in this process (MemoryTransport): a Room over it
    # links over loopback unless told otherwise.
    in_process = False

    @abstractmethod
    async def connect(self, identity: Identity) -> tuple[IceServer, ...]:
        """Open the connection as ``identity`` (a service may check who subscribes to a
        client's private topic); return the ICE servers the service offers (the bundled
        broker hands out STUN and short-lived TURN credentials), often none. Raise
        ``TransportError`` if that fails."""

    @abstractmethod
    async def subscribe(self, topics: Sequence[str]) -> None:
        """Subscribe to ``topics``. Once this returns, a message this transport publishes
        afterwards is ordered after the subscription, so replies to it are not missed."""

    @abstractmethod
    async def publish(self, topic: str, data: dict[str, Any]) -> None:
        """Publish ``data`` to every subscriber of ``topic`` (possibly including us)."""

    @abstractmethod
    def messages(self) -> AsyncIterator[TransportEvent]:
        """What arrives on our subscriptions, and losses and recoveries of the connection;
        ends when the transport is closed or can never recover."""

    @abstractmethod
    async def close(self) -> None:
        """Close the connection; ``messages()`` ends."""
