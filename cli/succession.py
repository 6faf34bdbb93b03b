"""The embedded default broker, and who runs it after its host is gone.

With no broker given, the first ``meshchat join`` on a machine runs the bundled broker
on the default loopback port, and the rest use it. When that process quits or crashes,
every other one that joined the same way sees its signalling connection drop and tries
to take the port over: the operating system lets exactly one of them bind it, that one
runs the broker from then on, and everyone's transport reconnects to it as it would to
any restarted broker. Open data channels never depended on the broker, so chat goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
from collections.abc import Callable

from websockets.asyncio.server import Server

from meshchat.broker import serve
from meshchat.mesh import RoomEvent, SignallingLost, SignallingRestored

log = logging.getLogger(__name__)

# Spreads the would-be successors' attempts a little (the bind decides anyway), and how
# often to try again while the port is still held (by a host that hangs, say).
TAKEOVER_JITTER = 0.1
RETRY_INTERVAL = 1.0


class EmbeddedBroker:
    """The broker on ``host:port`` that this process runs, or would run if it had to."""

    def __init__(self, host: str, port: int, on_hosting: Callable[[], None]) -> None:
        self.host = host
        self.port = port
        self._on_hosting = on_hosting
        self._server: Server | None = None
        self._takeover: asyncio.Task[None] | None = None

    @property
    def hosting(self) -> bool:
        return self._server is not None

    async def try_to_host(self) -> bool:
        """Run the broker here if the port is free; False if another process has it."""
        if self._server is None:
            try:
                _, self._server = await serve(self.host, self.port)
            except OSError:
                return False
        return True

    def observe(self, event: RoomEvent) -> None:
        """Follow the room's signalling state: lost means the host may be gone."""
        if isinstance(event, SignallingLost) and not self.hosting and self._takeover is None:
            self._takeover = asyncio.create_task(self._take_over(), name="meshchat-takeover")
        elif isinstance(event, SignallingRestored) and self._takeover is not None:
            self._takeover.cancel()
            self._takeover = None

    async def _take_over(self) -> None:
        await asyncio.sleep(random.uniform(0, TAKEOVER_JITTER))
        # Polling, as there is no event for a port coming free in another process.
        for attempt in itertools.count():
            if await self.try_to_host():
                break
            log.debug("the broker's port is still held (attempt %d)", attempt + 1)
            await asyncio.sleep(RETRY_INTERVAL)
        log.info("now running the room's broker on %s:%d", self.host, self.port)
        self._takeover = None
        self._on_hosting()

    async def close(self) -> None:
        if self._takeover is not None:
            self._takeover.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._takeover
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
