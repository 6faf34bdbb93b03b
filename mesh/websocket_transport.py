"""Transport over the bundled broker, or any y-webrtc signalling server.

Wire frames (JSON text): ``{"type":"subscribe","topics":[...]}``, ``unsubscribe`` alike,
``{"type":"publish","topic":T,"data":D}`` (delivered to every subscriber of T as is),
``ping``/``pong``; the bundled broker may also send ``{"type":"error",...}``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from .transport import Transport, TransportError, TransportMessage

log = logging.getLogger(__name__)

MAX_INCOMING_FRAME = 1024 * 1024


class WebSocketTransport(Transport):
    def __init__(self, url: str, *, open_timeout: float = 5.0) -> None:
        self.url = url
        self._open_timeout = open_timeout
        self._ws: ClientConnection | None = None

    async def connect(self) -> None:
        try:
            self._ws = await connect(
                self.url,
                open_timeout=self._open_timeout,
                max_size=MAX_INCOMING_FRAME,
                compression=None,  # SDP is small; deflate costs more CPU than it saves
            )
        except InvalidURI as error:
            raise TransportError(f"invalid broker URL {self.url!r}: {error}") from None
        except (OSError, InvalidHandshake, TimeoutError) as error:
            reason = str(error) or type(error).__name__
            raise TransportError(f"cannot reach broker at {self.url}: {reason}") from None

    async def subscribe(self, topics: Sequence[str]) -> None:
        await self._send({"type": "subscribe", "topics": list(topics)})

    async def unsubscribe(self, topics: Sequence[str]) -> None:
        await self._send({"type": "unsubscribe", "topics": list(topics)})

    async def publish(self, topic: str, data: dict[str, Any]) -> None:
        await self._send({"type": "publish", "topic": topic, "data": data})

    async def messages(self) -> AsyncIterator[TransportMessage]:
        ws = self._require()
        try:
            async for frame in ws:
                message = _parse(frame)
                if message is not None:
                    yield message
        except ConnectionClosed as closed:
            log.warning("broker connection lost: %s", closed)

    async def close(self) -> None:
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


def _parse(frame: str | bytes) -> TransportMessage | None:
    try:
        wire = json.loads(frame)
    except ValueError:
        log.warning("broker sent a frame that is not JSON; ignored")
        return None
    if not isinstance(wire, dict):
        return None
    kind = wire.get("type")
    if kind == "publish" and isinstance(wire.get("topic"), str):
        return TransportMessage(wire["topic"], wire.get("data"))
    if kind == "error":
        log.warning("broker error: %s", wire.get("message"))
    return None


async def broker_is_listening(url: str, wait: float = 1.0) -> bool:
    """True if a websocket server accepts a connection at ``url`` within ``wait`` seconds."""
    try:
        async with asyncio.timeout(wait), connect(url, open_timeout=wait):
            return True
    except (OSError, InvalidHandshake, InvalidURI, TimeoutError):
        return False
