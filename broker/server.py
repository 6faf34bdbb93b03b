"""Connection handling: one task per websocket, fan-out with ``websockets.broadcast``."""

from __future__ import annotations

import json
import logging
import secrets
import time
import urllib.parse
from dataclasses import asdict, dataclass, field
from http import HTTPStatus
from pathlib import Path

from websockets.asyncio.server import Server, ServerConnection, broadcast
from websockets.asyncio.server import serve as ws_serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from meshchat.mesh.identity import CHALLENGE_HEADER
from meshchat.mesh.ratelimit import TokenBucket

from .backplane import RedisBackplane
from .frames import (
    PONG,
    ChallengeRequest,
    FrameError,
    Ping,
    Publish,
    Subscribe,
    Unsubscribe,
    error_frame,
    parse_frame,
)
from .ice import ICE_SERVERS_HEADER, IceServerOffer
from .limits import Limits
from .metrics import render_metrics
from .ownership import check_proof, new_challenge, owned_ids
from .registry import TopicRegistry

log = logging.getLogger(__name__)

# The browser client, served at the broker's root (no build step: plain files).
WEB_ROOT = Path(__file__).parent / "web"
WEB_FILES = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/meshchat.js": ("meshchat.js", "text/javascript; charset=utf-8"),
    "/sealing.js": ("sealing.js", "text/javascript; charset=utf-8"),
    "/ably.js": ("ably.js", "text/javascript; charset=utf-8"),
    "/style.css": ("style.css", "text/css; charset=utf-8"),
}


@dataclass
class Stats:
    connections: int = 0
    messages_in: int = 0
    messages_out: int = 0
    errors: int = 0
    rate_limited: int = 0
    refused_connections: int = 0
    slow_consumers_closed: int = 0


@dataclass
class _Client:
    """What the broker knows about one connection."""

    connection: ServerConnection
    challenge: str
    publishes: TokenBucket
    topics: set[str] = field(default_factory=set)


class Broker:
    """Topic registry, access control and the per-connection frame loop."""

    def __init__(
        self,
        limits: Limits | None = None,
        *,
        access_token: str | None = None,
        redis_url: str | None = None,
        trust_proxy: bool = False,
        ice: IceServerOffer | None = None,
    ) -> None:
        self.limits = limits or Limits()
        self.ice = ice or IceServerOffer()
        self.access_token = access_token
        # Behind a reverse proxy every connection comes from the proxy's address: then
        # the client's own address is the last one the proxy put in X-Forwarded-For.
        self.trust_proxy = trust_proxy
        self.registry: TopicRegistry[ServerConnection] = TopicRegistry()
        self.stats = Stats()
        self._per_ip: dict[str, int] = {}
        self.backplane = RedisBackplane(redis_url, self._fan_out) if redis_url else None

    # --- the handshake ---

    def process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        """Health checks, and refusals before a websocket is ever opened."""
        url = urllib.parse.urlsplit(request.path)
        if url.path == "/healthz":
            body = json.dumps({"status": "ok", **asdict(self.stats), "topics": len(self.registry)})
            response = connection.respond(HTTPStatus.OK, body + "\n")
            response.headers["Content-Type"] = "application/json"
            return response
        if url.path in WEB_FILES and request.headers.get("Upgrade", "").lower() != "websocket":
            name, content_type = WEB_FILES[url.path]
            page = (WEB_ROOT / name).read_bytes()
            headers = Headers(
                [
                    ("Content-Type", content_type),
                    ("Content-Length", str(len(page))),
                    ("Connection", "close"),
                    # The page renders peers' text as text; forbid what it does not need.
                    (
                        "Content-Security-Policy",
                        "default-src 'self'; connect-src 'self' ws: wss:; object-src 'none'",
                    ),
                ]
            )
            return Response(HTTPStatus.OK.value, HTTPStatus.OK.phrase, headers, page)
        if url.path == "/metrics":
            response = connection.respond(HTTPStatus.OK, render_metrics(self.metric_values()))
            response.headers["Content-Type"] = "text/plain; version=0.0.4"
            return response
        if request.headers.get("Upgrade", "").lower() != "websocket":
            return connection.respond(HTTPStatus.NOT_FOUND, "not found\n")
        refusal = self._refusal(connection, request, url.query)
        if refusal is not None:
            self.stats.refused_connections += 1
            status, reason = refusal
            log.info("refused %s: %s", connection.remote_address, reason)
            return connection.respond(status, reason + "\n")
        return None

    def metric_values(self) -> dict[str, int]:
        stats, backplane = self.stats, self.backplane
        return {
            "connections": stats.connections,
            "topics": len(self.registry),
            "messages_in_total": stats.messages_in,
            "messages_out_total": stats.messages_out,
            "errors_total": stats.errors,
            "dropped_total": stats.rate_limited,
            "refused_connections_total": stats.refused_connections,
            "slow_consumers_closed_total": stats.slow_consumers_closed,
            "backplane_published_total": backplane.published if backplane else 0,
            "backplane_received_total": backplane.received if backplane else 0,
        }

    def _refusal(
        self, connection: ServerConnection, request: Request, query: str
    ) -> tuple[HTTPStatus, str] | None:
        if self.access_token is not None:
            offered = dict(urllib.parse.parse_qsl(query)).get("token", "")
            bearer = request.headers.get("Authorization", "")
            if bearer.startswith("Bearer "):
                offered = bearer.removeprefix("Bearer ")
            if not secrets.compare_digest(offered.encode(), self.access_token.encode()):
                return HTTPStatus.UNAUTHORIZED, "this broker needs an access token (?token=...)"
        if self.stats.connections >= self.limits.max_connections:
            return HTTPStatus.SERVICE_UNAVAILABLE, "the broker is full; try again later"
        ip = self._ip(connection, request)
        if self._per_ip.get(ip, 0) >= self.limits.max_connections_per_ip:
            limit = self.limits.max_connections_per_ip
            return HTTPStatus.TOO_MANY_REQUESTS, f"at most {limit} connections per address"
        return None

    def process_response(
        self, connection: ServerConnection, request: Request, response: Response
    ) -> None:
        if response.status_code == HTTPStatus.SWITCHING_PROTOCOLS:
            response.headers[CHALLENGE_HEADER] = new_challenge()
            ice_servers = self.ice.header(time.time())
            if ice_servers is not None:
                response.headers[ICE_SERVERS_HEADER] = ice_servers

    # --- an open connection ---

    async def handle(self, connection: ServerConnection) -> None:
        assert connection.response is not None
        client = _Client(
            connection,
            connection.response.headers[CHALLENGE_HEADER],
            TokenBucket(self.limits.publish_rate, self.limits.publish_burst, time.monotonic()),
        )
        assert connection.request is not None
        ip = self._ip(connection, connection.request)
        self._per_ip[ip] = self._per_ip.get(ip, 0) + 1
        self.stats.connections += 1
        try:
            async for frame in connection:
                await self._handle_frame(client, frame)
        except ConnectionClosed:
            pass  # includes 1009 for a frame over the hard limit
        finally:
            emptied = self.registry.unsubscribe_all(connection, client.topics)
            self.stats.connections -= 1
            if self.backplane is not None:
                for topic in emptied:
                    await self.backplane.unsubscribe(topic)
            self._per_ip[ip] -= 1
            if not self._per_ip[ip]:
                del self._per_ip[ip]

    async def _handle_frame(self, client: _Client, frame: str | bytes) -> None:
        self.stats.messages_in += 1
        try:
            command = parse_frame(frame, self.limits)
        except FrameError as error:
            await self._reject(client, error)
            return
        match command:
            case Publish(topic=topic, raw=raw):
                if not client.publishes.take(time.monotonic()):
                    self.stats.rate_limited += 1
                    rate = self.limits.publish_rate
                    message = f"over {rate:g} publishes per second; message dropped"
                    await self._reject(client, FrameError("rate-limited", message))
                    return
                self._fan_out(topic, raw)
                if self.backplane is not None:
                    await self.backplane.publish(topic, raw)
            case Subscribe(topics=wanted, proof=proof):
                await self._subscribe(client, wanted, proof)
            case Unsubscribe(topics=unwanted):
                for topic in unwanted:
                    if topic in client.topics:
                        client.topics.discard(topic)
                        emptied = self.registry.unsubscribe(client.connection, topic)
                        if emptied and self.backplane is not None:
                            await self.backplane.unsubscribe(topic)
            case Ping():
                await client.connection.send(PONG)
            case ChallengeRequest():
                reply = {
                    "type": "challenge",
                    "nonce": client.challenge,
                    "iceServers": self.ice.servers(time.time()),
                }
                await client.connection.send(json.dumps(reply))

    async def _subscribe(self, client: _Client, wanted: tuple[str, ...], proof: object) -> None:
        refusal = check_proof(owned_ids(wanted), proof, client.challenge)
        if refusal is not None:
            await self._reject(client, FrameError("not-owner", refusal))
            return
        new = set(wanted) - client.topics
        if len(client.topics) + len(new) > self.limits.max_topics_per_connection:
            limit = self.limits.max_topics_per_connection
            message = f"subscribing would exceed {limit} topics per connection"
            await self._reject(client, FrameError("too-many-topics", message))
            return
        client.topics |= new
        for topic in new:
            created = self.registry.subscribe(client.connection, topic)
            if created and self.backplane is not None:
                # Awaited before the next frame is read: a reply to what this client
                # publishes next, from a client on another broker, cannot be missed.
                await self.backplane.subscribe(topic)

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

    def _ip(self, connection: ServerConnection, request: Request) -> str:
        forwarded = request.headers.get("X-Forwarded-For")
        if self.trust_proxy and forwarded:
            return forwarded.rsplit(",", 1)[-1].strip()
        address = connection.remote_address
        return str(address[0]) if address else "unknown"

    async def _reject(self, client: _Client, error: FrameError) -> None:
        self.stats.errors += 1
        log.info("rejected frame from %s: %s", client.connection.remote_address, error)
        await client.connection.send(error_frame(error.code, str(error)))


async def serve(
    host: str,
    port: int,
    limits: Limits | None = None,
    *,
    access_token: str | None = None,
    redis_url: str | None = None,
    trust_proxy: bool = False,
    ice: IceServerOffer | None = None,
) -> tuple[Broker, Server]:
    """Start a broker on ``host:port`` (port 0 picks a free one); with ``redis_url``,
    share topics with the other brokers on that Redis."""
    broker = Broker(
        limits, access_token=access_token, redis_url=redis_url, trust_proxy=trust_proxy, ice=ice
    )
    if broker.backplane is not None:
        await broker.backplane.start()
    server = await ws_serve(
        broker.handle,
        host,
        port,
        process_request=broker.process_request,
        process_response=broker.process_response,
        max_size=broker.limits.max_frame_bytes_hard,
        compression=None,
        # Dead connections (no pong in time) are closed and their topics freed.
        ping_interval=broker.limits.ping_interval,
        ping_timeout=broker.limits.ping_interval,
        # A dead peer will not finish a closing handshake either: do not wait long.
        close_timeout=min(10.0, broker.limits.ping_interval),
    )
    return broker, server
