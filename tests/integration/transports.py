"""Using a transport directly in tests: connected as a fresh identity, closed after;
the next message it delivers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import TypeVar

from meshchat.mesh import Transport
from meshchat.mesh.identity import Identity
from meshchat.mesh.transports.base import TransportMessage

from .processes import EVENT_TIMEOUT

T = TypeVar("T", bound=Transport)


@contextlib.asynccontextmanager
async def connected(transport: T, identity: Identity | None = None) -> AsyncIterator[T]:
    await transport.connect(identity or Identity())
    try:
        yield transport
    finally:
        await transport.close()


async def next_message(transport: Transport) -> TransportMessage:
    """The next published message, skipping connection-state events."""
    async with asyncio.timeout(EVENT_TIMEOUT):
        async for event in transport.messages():
            if isinstance(event, TransportMessage):
                return event
    raise AssertionError("the transport closed first")
