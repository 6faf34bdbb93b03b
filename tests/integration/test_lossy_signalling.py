"""Real rooms over a real broker, with the signalling deliberately damaged in between:
messages dropped, duplicated and delayed out of order. The mesh must still complete."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest

from meshchat.mesh import IceServer, Room, Transport
from meshchat.mesh.identity import Identity
from meshchat.mesh.transports.base import TransportEvent, TransportMessage

from .processes import EVENT_TIMEOUT, Broker
from .rooms import LOOPBACK, full_mesh

pytestmark = pytest.mark.integration


class LossyTransport(Transport):
    """Wraps a real transport and damages what it delivers."""

    def __init__(
        self, inner: Transport, rng: random.Random, loss: float, duplicate: float, max_delay: float
    ) -> None:
        self.inner, self.rng = inner, rng
        self.loss, self.duplicate, self.max_delay = loss, duplicate, max_delay
        self.dropped = self.duplicated = 0

    async def connect(self, identity: Identity) -> tuple[IceServer, ...]:
        return await self.inner.connect(identity)

    async def subscribe(self, topics: Sequence[str]) -> None:
        await self.inner.subscribe(topics)

    async def publish(self, topic: str, data: dict[str, Any]) -> None:
        await self.inner.publish(topic, data)

    async def messages(self) -> AsyncIterator[TransportEvent]:
        damaged: asyncio.Queue[TransportEvent] = asyncio.Queue()

        async def later(event: TransportEvent) -> None:
            await asyncio.sleep(self.rng.uniform(0, self.max_delay))  # reorders
            damaged.put_nowait(event)

        in_flight: set[asyncio.Task[None]] = set()

        async def pump() -> None:
            async for event in self.inner.messages():
                if isinstance(event, TransportMessage) and self.rng.random() < self.loss:
                    self.dropped += 1
                    continue
                copies = 2 if self.rng.random() < self.duplicate else 1
                self.duplicated += copies - 1
                for _ in range(copies):
                    task = asyncio.create_task(later(event))
                    in_flight.add(task)
                    task.add_done_callback(in_flight.discard)

        pumping = asyncio.create_task(pump())
        try:
            while True:
                yield await damaged.get()
        finally:
            pumping.cancel()

    async def close(self) -> None:
        await self.inner.close()


@pytest.mark.parametrize("seed", [1, 2])
async def test_a_mesh_completes_despite_lost_duplicated_and_reordered_signalling(
    meshchat_broker: Broker, seed: int
) -> None:
    rng = random.Random(seed)
    transports = [
        LossyTransport(meshchat_broker.transport(), rng, loss=0.25, duplicate=0.25, max_delay=0.3)
        for _ in range(4)
    ]
    rooms = [Room(t, "lossy", nick=f"p{i}", ice=LOOPBACK) for i, t in enumerate(transports)]
    try:
        for room in rooms:
            await room.join()
        await full_mesh(*rooms, within=EVENT_TIMEOUT * 2)
        assert sum(t.dropped for t in transports) > 0, "the damage really happened"
        assert sum(t.duplicated for t in transports) > 0
    finally:
        for room in rooms:
            await room.leave()
