"""Using a transport directly in tests: connected as a fresh identity, closed after."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import TypeVar

from meshchat.mesh import Transport
from meshchat.mesh.identity import Identity

T = TypeVar("T", bound=Transport)


@contextlib.asynccontextmanager
async def connected(transport: T, identity: Identity | None = None) -> AsyncIterator[T]:
    await transport.connect(identity or Identity())
    try:
        yield transport
    finally:
        await transport.close()
