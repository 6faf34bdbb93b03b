"""Connection handling: one task per websocket, fan-out with ``websockets.broadcast``."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from http import HTTPStatus

from websockets.asyncio.server import Server, ServerConnection, broadcast
from websockets.asyncio.server import serve as ws_serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from .frames import (
    PONG,
    FrameError,
    Ping,
    Publish,
    Subscribe,
    Unsubscribe,
    error_frame,
    parse_frame,
)
from .limits import Limits
from .registry import TopicRegistry

log = logging.getLogger(__name__)


@dataclass
class Stats:
    connections: int = 0
    messages_in: int = 0
    messages_out: int = 0
    errors: int = 0
    slow_consumers_closed: int = 0


class Broker:
    """Topic registry plus the per-connection frame loop."""

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self.registry: TopicRegistry[ServerConnection] = TopicRegistry()
        self.stats = Stats()

    async def handle(self, connection: ServerConnection) -> None:
        topics: set[str] = set()
        self.stats.connections += 1
        try:
            async for frame in connection:
                await self._handle_frame(connection, topics, frame)
        except ConnectionClosed:
            pass  # includes 1009 for a frame over the hard limit
        finally:
            self.registry.unsubscribe_all(connection, topics)
            self.stats.connections -= 1

    async def _handle_frame(
        self, connection: ServerConnection, topics: set[str], frame: str | bytes
    ) -> None:
        self.stats.messages_in += 1
        try:
            command = parse_frame(frame, self.limits)
        except FrameError as error:
            await self._reject(connection, error)
            return
        match command:
            case Publish(topic=topic, raw=raw):
                self._fan_out(topic, raw)
            case Subscribe(topics=wanted):
                new = set(wanted) - topics
                if len(topics) + len(new) > self.limits.max_topics_per_connection:
                    limit = self.limits.max_topics_per_connection
                    message = f"subscribing would exceed {limit} topics per connection"
                    await self._reject(connection, FrameError("too-many-topics", message))
                    return
                for topic in new:
                    self.registry.subscribe(connection, topic)
                topics |= new
            case Unsubscribe(topics=unwanted):
                for topic in unwanted:
                    if topic in topics:
                        self.registry.unsubscribe(connection, topic)
                        topics.discard(topic)
            case Ping():
                await connection.send(PONG)

    def _fan_out(self, topic: str, raw: str) -> None:
        receivers = []
        for subscriber in self.registry.subscribers(topic):
            if subscriber.transport.get_write_buffer_size() > self.limits.max_write_buffer_bytes:
                self.stats.slow_consumers_closed += 1
                log.warning("closing slow consumer %s", subscriber.remote_address)
                subscriber.transport.abort()  # close() would wait for the full buffer
            else:
                receivers.append(subscriber)
        broadcast(receivers, raw)
        self.stats.messages_out += len(receivers)

    async def _reject(self, connection: ServerConnection, error: FrameError) -> None:
        self.stats.errors += 1
        log.info("rejected frame from %s: %s", connection.remote_address, error)
        await connection.send(error_frame(error.code, str(error)))

    def process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        """Plain HTTP requests: a health check; everything else goes on to the handshake."""
        path = request.path.split("?", 1)[0]
        if path == "/healthz":
            body = json.dumps({"status": "ok", **asdict(self.stats), "topics": len(self.registry)})
            response = connection.respond(HTTPStatus.OK, body + "\n")
            response.headers["Content-Type"] = "application/json"
            return response
        return None


async def serve(host: str, port: int, limits: Limits | None = None) -> tuple[Broker, Server]:
    """Start a broker on ``host:port`` (port 0 picks a free one)."""
    broker = Broker(limits)
    server = await ws_serve(
        broker.handle,
        host,
        port,
        process_request=broker.process_request,
        max_size=broker.limits.max_frame_bytes_hard,
        compression=None,
        ping_interval=20,
        ping_timeout=20,
    )
    return broker, server
