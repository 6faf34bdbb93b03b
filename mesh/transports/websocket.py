"""Transport over the bundled broker, or any y-webrtc signalling server.

Wire frames (JSON text): ``{"type":"subscribe","topics":[...]}``, ``unsubscribe`` alike,
``{"type":"publish","topic":T,"data":D}`` (delivered to every subscriber of T as is),
``ping``/``pong``; the bundled broker may also send ``{"type":"error",...}``.

A lost connection (the broker restarted, the network dropped) is re-established with
exponential backoff and jitter, and the subscriptions are renewed. The first connection
is tried again the same way while the broker does not answer (a crowd joining at once
loads it, and the machine it runs on), for up to ``FIRST_CONNECT_PATIENCE``; a
refusal (a bad URL, a wrong token, nothing listening at all) is final at once, as
socket.io's and paho-mqtt's clients have it, unless ``wait_for_broker`` says that a
broker starting later is expected (a service started beside it): then nothing
listening is tried again too, within the same patience.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI

from meshchat.mesh.identity import Identity
from meshchat.mesh.transports.base import (
    ConnectionLost,
    ConnectionRestored,
    Transport,
    TransportError,
    TransportEvent,
    TransportMessage,
    plausible_origin,
    reconnect,
)
from meshchat.mesh.webrtc.ice import IceServer
from meshchat.wire.canonical import loads_untrusted
from meshchat.wire.frames import ERROR, ORIGIN_FIELD, PUBLISH, publish_frame, subscribe_frame
from meshchat.wire.ice import ICE_SERVERS_HEADER, parse_ice_servers_header
from meshchat.wire.keys import CHALLENGE_HEADER
from meshchat.wire.redaction import redact, split_token

log = logging.getLogger(__name__)

MAX_INCOMING_FRAME = 1024 * 1024
# A broker that stops answering is taken for dead within PING_INTERVAL + PING_TIMEOUT
# (3.5 s: a hung broker, SIGSTOPped or wedged, is noticed within 5 s).
PING_INTERVAL = 1.5
PING_TIMEOUT = 2.0
# Reconnection backs off from this, doubling (with jitter, so a room does not come back
# all at once) up to RECONNECT_MAX: a broker that answers again is found within 2 s.
RECONNECT_INITIAL = 0.25
RECONNECT_MAX = 2.0
CLOSE_TIMEOUT = 0.5
# An opening handshake may take this long: a broker loaded by a crowd joining at once
# answers late, not never (5 s timed out for one in eight of 64 joins on 2 cores).
OPEN_TIMEOUT = 15.0
# The first connection is tried for this long in all before joining gives up.
FIRST_CONNECT_PATIENCE = 60.0
FIRST_CONNECT_MAX = 4.0  # seconds between first attempts at most (with jitter)


class _Unreachable(TransportError):
    """The broker did not answer (or not in time): worth trying again."""


class _NothingListens(TransportError):
    """Nobody listens at the address: final at once, unless a broker was there a
    moment ago (it is restarting)."""


class WebSocketTransport(Transport):
    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        open_timeout: float = OPEN_TIMEOUT,
        patience: float = FIRST_CONNECT_PATIENCE,
        wait_for_broker: bool = False,
        on_retry: Callable[[str], None] | None = None,
        locate: Callable[[], Awaitable[str]] | None = None,
    ) -> None:
        """``token``: the broker's access token; one given in ``url`` as ``?token=``
        is taken out of it. Either way it travels in an ``Authorization`` header, and
        ``url`` (shown in messages) never holds it. ``patience``: how long the first
        connection is tried, in seconds (``0``: once; ``math.inf``: until it works or
        the room is left); nothing listening at the address ends it at once unless
        ``wait_for_broker``. ``on_retry(reason)`` hears once that it is being tried
        again (a log line says so anyway). ``locate()``, if given, names the broker's
        URL afresh before each attempt (the embedded default may move, or be hosted
        here, meanwhile)."""
        self.url, url_token = split_token(url)
        self._token = token or url_token
        self._open_timeout = open_timeout
        self._patience = patience
        self._wait_for_broker = wait_for_broker
        self._on_retry = on_retry
        self._locate = locate
        self._ws: ClientConnection | None = None
        self._topics: list[str] = []
        self._identity: Identity | None = None
        self._challenge: str | None = None
        self._ice_servers: tuple[IceServer, ...] = ()
        self._closing = False
        self._rng = random.Random()

    async def connect(self, identity: Identity) -> tuple[IceServer, ...]:
        """The first connection, tried again with backoff while the broker does not
        answer, for up to ``patience`` seconds."""
        loop = asyncio.get_running_loop()
        give_up_at = loop.time() + self._patience
        delay = RECONNECT_INITIAL
        told = False
        reached = False  # something listened there during these attempts
        while True:
            try:
                return await self._connect_once(identity)
            except (_Unreachable, _NothingListens) as error:
                if isinstance(error, _NothingListens) and not (reached or self._wait_for_broker):
                    raise
                reached = True
                wait = delay * self._rng.uniform(0.5, 1.5)
                if self._closing or loop.time() + wait >= give_up_at:
                    raise
                if not told:
                    told = True
                    within = f"for up to {self._patience:g} s" if self._patience < math.inf else ""
                    message = f"{error}; trying again {within or 'until it answers'}"
                    log.warning("%s", message)
                    if self._on_retry is not None:
                        self._on_retry(message)
                await asyncio.sleep(wait)
                delay = min(delay * 2, FIRST_CONNECT_MAX)

    async def _connect_once(self, identity: Identity) -> tuple[IceServer, ...]:
        self._identity = identity
        if self._locate is not None:
            self.url = await self._locate()
        try:
            self._ws = await connect(
                self.url,
                additional_headers=(
                    {"Authorization": f"Bearer {self._token}"} if self._token else None
                ),
                open_timeout=self._open_timeout,
                max_size=MAX_INCOMING_FRAME,
                compression=None,  # SDP is small; deflate costs more CPU than it saves
                ping_interval=PING_INTERVAL,
                ping_timeout=PING_TIMEOUT,
                # A hung broker cannot finish a closing handshake: do not wait for it.
                close_timeout=CLOSE_TIMEOUT,
            )
            assert self._ws.response is not None
            self._challenge = self._ws.response.headers.get(CHALLENGE_HEADER)
            self._ice_servers = _parse_ice_servers(
                self._ws.response.headers.get(ICE_SERVERS_HEADER)
            )
        except InvalidURI as error:
            raise TransportError(f"invalid broker URL {self.url!r}: {redact(str(error))}") from None
        except InvalidStatus as error:
            status = error.response.status_code
            body = (
                error.response.body.decode(errors="replace").strip() if error.response.body else ""
            )
            refused = TransportError if status < 500 else _Unreachable  # 503: shedding load
            raise refused(f"broker at {self.url} refused us ({status}): {body}") from None
        except (OSError, InvalidHandshake, TimeoutError) as error:
            reason = redact(str(error)) or type(error).__name__
            # Nothing listening there is an answer (a wrong address, a broker not
            # started): said at once. Silence or a cut-off handshake is load: try again.
            nothing_there = isinstance(error, ConnectionRefusedError)
            unreachable = _NothingListens if nothing_there else _Unreachable
            raise unreachable(f"cannot reach broker at {self.url}: {reason}") from None
        return self._ice_servers

    async def subscribe(self, topics: Sequence[str]) -> None:
        self._topics += [t for t in topics if t not in self._topics]
        await self._send(self._subscribe_frame(list(topics)))

    def _subscribe_frame(self, topics: list[str]) -> dict[str, Any]:
        # The bundled broker challenges us; a stock y-webrtc server does not.
        if self._challenge is not None and self._identity is not None:
            return subscribe_frame(topics, self._identity.subscribe_proof(self._challenge))
        return subscribe_frame(topics)

    async def publish(self, topic: str, data: dict[str, Any]) -> None:
        await self._send(publish_frame(topic, data))

    async def messages(self) -> AsyncIterator[TransportEvent]:
        while not self._closing:
            reason = "the broker closed the connection"
            try:
                async for frame in self._require():
                    message = _parse(frame)
                    if message is not None:
                        yield message
            except ConnectionClosed as closed:
                reason = str(closed)
            if self._closing:
                return
            log.warning("broker connection lost (%s); reconnecting", reason)
            yield ConnectionLost(reason)
            await self._reconnect()
            if self._closing:
                return
            yield ConnectionRestored(resumed=False)  # the broker keeps no state for us

    async def _reconnect(self) -> None:
        async def attempt() -> None:
            assert self._identity is not None  # set by the first connect()
            await self._connect_once(self._identity)
            if self._topics:
                await self._send(self._subscribe_frame(self._topics))
            log.info("broker connection restored")

        await reconnect(
            attempt,
            lambda: self._closing,
            self._rng,
            initial=RECONNECT_INITIAL,
            longest=RECONNECT_MAX,
        )

    async def close(self) -> None:
        self._closing = True
        if self._ws is not None:
            await self._ws.close()

    async def _send(self, frame: dict[str, Any]) -> None:
        try:
            await self._require().send(json.dumps(frame, separators=(",", ":")))
        except ConnectionClosed as error:
            raise TransportError(f"broker connection closed: {error}") from None

    def _require(self) -> ClientConnection:
        if self._ws is None:
            raise TransportError("transport is not connected")
        return self._ws


def _parse_ice_servers(header: str | None) -> tuple[IceServer, ...]:
    """The broker's offer of ICE servers; anything malformed is ignored with a log line."""
    if not header:
        return ()
    try:
        return parse_ice_servers_header(header)
    except ValueError as error:
        log.warning("broker offered unreadable ICE servers (%s); ignored", error)
        return ()


def _parse(frame: str | bytes) -> TransportMessage | None:
    try:
        wire = loads_untrusted(frame)
    except ValueError:
        log.warning("broker sent a frame that is not JSON; ignored")
        return None
    if not isinstance(wire, dict):
        return None
    kind = wire.get("type")
    if kind == PUBLISH and isinstance(wire.get("topic"), str):
        origin = plausible_origin(wire.get(ORIGIN_FIELD))  # the bundled broker's stamp
        return TransportMessage(wire["topic"], wire.get("data"), origin)
    if kind == ERROR:
        log.warning("broker error: %s", wire.get("message"))
    return None
