"""The room's end of the signalling service: what arrives is read in order and handed
on; what the room publishes goes out in order, paced under the broker's limit."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence

from meshchat.mesh.identity import Identity
from meshchat.mesh.signalling.protocol import Publish
from meshchat.mesh.transports.base import (
    ConnectionLost,
    ConnectionRestored,
    Transport,
    TransportError,
    TransportEvent,
)
from meshchat.wire.ice import IceServer
from meshchat.wire.ratelimit import TokenBucket

log = logging.getLogger(__name__)

# The broker takes 50 publishes a second in bursts of 100: a burst of our own replies
# waits a moment instead of being refused.
PUBLISH_RATE = 40.0
PUBLISH_BURST = 80.0


class SignallingIO:
    """Reads ``transport`` into ``on_event`` (None once it is closed for good) and
    publishes what :meth:`publish` is given."""

    def __init__(
        self, transport: Transport, on_event: Callable[[TransportEvent | None], None]
    ) -> None:
        self._transport = transport
        self._on_event = on_event
        self._outbox: asyncio.Queue[Publish | None] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self.lost = False  # the service is away: publishes fail, and are said to once

    async def connect(self, identity: Identity) -> tuple[IceServer, ...]:
        """Connect as ``identity``; the ICE servers the service offers, if any."""
        return await self._transport.connect(identity)

    async def subscribe(self, topics: Sequence[str]) -> None:
        await self._transport.subscribe(topics)

    def start(self) -> None:
        """Start reading and publishing (once subscribed: a reply cannot be missed)."""
        self._tasks = [
            asyncio.create_task(self._read(), name="meshchat-transport"),
            asyncio.create_task(self._publish(), name="meshchat-outbox"),
        ]

    def publish(self, action: Publish) -> None:
        self._outbox.put_nowait(action)

    async def stop(self, drain_within: float) -> None:
        """Publish what is queued (a bye), for ``drain_within`` seconds at most, then
        stop reading and close the transport."""
        if self._tasks:
            self._outbox.put_nowait(None)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._tasks[1]), timeout=drain_within)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            await self._transport.close()

    async def _read(self) -> None:
        async for event in self._transport.messages():
            if isinstance(event, ConnectionLost | ConnectionRestored):
                self.lost = isinstance(event, ConnectionLost)
            self._on_event(event)
        self.lost = True
        self._on_event(None)

    async def _publish(self) -> None:
        pace = TokenBucket(PUBLISH_RATE, PUBLISH_BURST, time.monotonic())
        while (action := await self._outbox.get()) is not None:
            if (delay := pace.reserve(time.monotonic())) > 0:
                await asyncio.sleep(delay)
            try:
                await self._transport.publish(action.topic, action.message)
            except TransportError as error:
                # Once the broker is gone every publish fails the same way: say it once.
                level = logging.DEBUG if self.lost else logging.WARNING
                log.log(level, "could not publish to %s: %s", action.topic, error)
                self.lost = True
