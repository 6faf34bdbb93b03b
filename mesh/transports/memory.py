"""A pub/sub service in memory, for rooms in one process: tests, demos, simulations.

    hub = MemoryHub()
    async with Room(MemoryTransport(hub), "lobby", nick="ana") as ana, \\
               Room(MemoryTransport(hub), "lobby", nick="bo") as bo:
        ...

It behaves as the bundled broker does where the mesh can tell: only a client id's
owner may subscribe to its private topic, a publish reaches every subscriber (the
publisher too), in order, as a copy of the JSON that went in, stamped with a name for
its publisher; the ICE servers the hub was given are offered on connect.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator, Sequence
from typing import Any

from meshchat.mesh.identity import Identity
from meshchat.mesh.transports.base import (
    Transport,
    TransportError,
    TransportEvent,
    TransportMessage,
)
from meshchat.mesh.webrtc.ice import IceServer
from meshchat.wire.topics import client_id_of


class MemoryHub:
    """The service: topics and who subscribes to them."""

    def __init__(self, ice_servers: Sequence[IceServer] = ()) -> None:
        self.ice_servers = tuple(ice_servers)
        self._subscribers: dict[str, list[MemoryTransport]] = {}
        self._names = itertools.count(1)

    def name_publisher(self) -> str:
        return f"memory-{next(self._names)}"

    def subscribe(self, transport: MemoryTransport, topics: Sequence[str]) -> None:
        for topic in topics:
            subscribers = self._subscribers.setdefault(topic, [])
            if transport not in subscribers:
                subscribers.append(transport)

    def leave(self, transport: MemoryTransport) -> None:
        for subscribers in self._subscribers.values():
            if transport in subscribers:
                subscribers.remove(transport)

    def publish(self, topic: str, data: dict[str, Any], publisher: str) -> None:
        # A copy through JSON, as over any wire: nobody shares the sender's objects.
        wire = json.dumps(data)
        for subscriber in self._subscribers.get(topic, ()):
            subscriber.deliver(TransportMessage(topic, json.loads(wire), publisher))


class MemoryTransport(Transport):
    """One client's connection to a ``MemoryHub``."""

    in_process = True

    def __init__(self, hub: MemoryHub) -> None:
        self._hub = hub
        self._identity: Identity | None = None
        self._name = hub.name_publisher()
        self._inbox: asyncio.Queue[TransportEvent | None] = asyncio.Queue()
        self._closed = False

    async def connect(self, identity: Identity) -> tuple[IceServer, ...]:
        if self._closed:
            raise TransportError("this memory transport was closed")
        self._identity = identity
        return self._hub.ice_servers

    async def subscribe(self, topics: Sequence[str]) -> None:
        identity = self._connected()
        for topic in topics:
            owner = client_id_of(topic)
            if owner is not None and owner != identity.client_id:
                raise TransportError(f"{topic} belongs to another client: not subscribed")
        self._hub.subscribe(self, topics)

    async def publish(self, topic: str, data: dict[str, Any]) -> None:
        self._connected()
        self._hub.publish(topic, data, self._name)

    async def messages(self) -> AsyncIterator[TransportEvent]:
        while (event := await self._inbox.get()) is not None:
            yield event

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._hub.leave(self)
            self._inbox.put_nowait(None)

    def deliver(self, message: TransportMessage) -> None:
        if not self._closed:
            self._inbox.put_nowait(message)

    def _connected(self) -> Identity:
        if self._identity is None or self._closed:
            raise TransportError("the memory transport is not connected")
        return self._identity
