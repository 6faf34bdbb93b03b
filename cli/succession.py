"""The embedded default broker, and who runs it after its host is gone.

With no broker given, the first ``meshchat join`` on a machine runs the bundled broker
on the default loopback port, and the rest use it. When that process quits or crashes,
every other one that joined the same way sees its signalling connection drop and tries
to take the port over: the operating system lets exactly one of them bind it, that one
runs the broker from then on, and everyone's transport reconnects to it as it would to
any restarted broker. Open data channels never depended on the broker, so chat goes on.

Only a listener of this user's is trusted (``listeners.py``): when another user's process
holds the port, the room's processes all pass over it, to the next of a few ports after
it, in the same order, so they still meet, and each says so once.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import random
from collections.abc import Callable

from websockets.asyncio.server import Server

from meshchat.broker import serve
from meshchat.mesh import RoomEvent, SignallingLost, SignallingRestored, TransportError

from .listeners import listener_uids

log = logging.getLogger(__name__)

# Spreads the would-be successors' attempts a little (the bind decides anyway), and how
# often to try again while the port is still held (by a host that hangs, say).
TAKEOVER_JITTER = 0.1
RETRY_INTERVAL = 1.0
PORTS_TRIED = 5  # the default port and the next few, when strangers hold ports


class EmbeddedBroker:
    """The broker on ``host:port`` that this process runs, or would run if it had to."""

    def __init__(
        self,
        host: str,
        port: int,
        on_hosting: Callable[[], None],
        on_foreign: Callable[[str], None] = lambda message: None,
    ) -> None:
        self.host = host
        self.port = port  # the one in use: the default, unless a stranger holds it
        self._ports = range(port, port + PORTS_TRIED)
        self._on_hosting = on_hosting
        self._on_foreign = on_foreign  # told once per port a stranger holds
        self._foreign: set[int] = set()
        self._server: Server | None = None
        self._takeover: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    async def locate(self) -> str:
        """The room's broker on this machine: on the first of the ports that our own
        user's process listens on (the room is there, even if an earlier port came
        free since), else on the first free one, where we run it. TransportError when
        strangers hold every one."""
        if self._server is not None:
            return self.url  # ours
        owners = listener_uids(self._ports)
        if owners is None:  # this system cannot tell who listens: as ever
            await self._host(self.port)
            return self.url
        for port, uids in owners.items():
            if uids and not self._strangers(port, uids):
                self.port = port
                return self.url
        for port, uids in owners.items():
            if not uids and (await self._host(port) or (listener_uids([port]) or {}).get(port)):
                self.port = port  # hosted here, or taken just now (checked next time)
                return self.url
        first, last = self._ports[0], self._ports[-1]
        raise TransportError(
            f"other users' processes hold every port from {first} to {last} on"
            f" {self.host}: give a broker with --broker"
        )

    def _strangers(self, port: int, uids: set[int]) -> bool:
        """Whether another user's process listens on ``port`` (said once a port)."""
        strangers = uids - {os.getuid()}
        if strangers and port not in self._foreign:
            self._foreign.add(port)
            message = (
                f"another user's process (uid {min(strangers)}) listens on"
                f" {self.host}:{port}; not using it"
            )
            log.warning("%s", message)
            self._on_foreign(message)
        return bool(strangers)

    async def _host(self, port: int) -> bool:
        try:
            _, self._server = await serve(self.host, port)
        except OSError:
            return False
        self.port = port
        return True

    @property
    def hosting(self) -> bool:
        return self._server is not None

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
            with contextlib.suppress(TransportError):
                await self.locate()
            if self.hosting:
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
