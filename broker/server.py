"""Connection handling: one task per websocket, fan-out with ``websockets.broadcast``."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import secrets
import time
import urllib.parse
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING

from websockets.asyncio.server import Server, ServerConnection, broadcast
from websockets.asyncio.server import serve as ws_serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.frames import CloseCode
from websockets.http11 import Request, Response

from meshchat.wire.frames import CHALLENGE
from meshchat.wire.ice import ice_servers_json
from meshchat.wire.keys import CHALLENGE_HEADER
from meshchat.wire.quietlog import QuietLog
from meshchat.wire.ratelimit import TokenBucket

from .frames import (
    PONG_FRAME,
    ChallengeRequest,
    FrameError,
    Ping,
    Publish,
    Subscribe,
    Unsubscribe,
    error_frame,
    parse_frame,
    stamp_origin,
)
from .hosts import HostCheck

if TYPE_CHECKING:
    from .backplane import RedisBackplane
from .addresses import address_group
from .ice import ICE_SERVERS_HEADER, IceServerOffer
from .limits import Limits
from .metrics import Snapshot, render_metrics
from .ownership import check_proof, new_challenge, owned_ids
from .registry import TopicRegistry


def _http(
    status: HTTPStatus, content_type: str, body: bytes, extra: tuple[tuple[str, str], ...] = ()
) -> Response:
    headers = Headers(
        [
            ("Content-Type", content_type),
            ("Content-Length", str(len(body))),
            ("Connection", "close"),
            *extra,
        ]
    )
    return Response(status.value, status.phrase, headers, body)


def _token_matches(offered: str, wanted: str) -> bool:
    return secrets.compare_digest(offered.encode(), wanted.encode())


def _offered_token(request: Request, query: str) -> str:
    """The access token a client presents: ``Authorization: Bearer`` or ``?token=``."""
    bearer = request.headers.get("Authorization", "")
    if bearer.startswith("Bearer "):
        return bearer.removeprefix("Bearer ")
    return dict(urllib.parse.parse_qsl(query)).get("token", "")


log = logging.getLogger(__name__)

# The browser client, served at the broker's root (no build step: plain files).
WEB_ROOT = Path(__file__).parent / "web"
WEB_FILES = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/meshchat.js": ("meshchat.js", "text/javascript; charset=utf-8"),
    "/news.js": ("news.js", "text/javascript; charset=utf-8"),
    "/frames.js": ("frames.js", "text/javascript; charset=utf-8"),
    "/payloads.js": ("payloads.js", "text/javascript; charset=utf-8"),
    "/dataplane.js": ("dataplane.js", "text/javascript; charset=utf-8"),
    "/liveness.js": ("liveness.js", "text/javascript; charset=utf-8"),
    "/roundtrip.js": ("roundtrip.js", "text/javascript; charset=utf-8"),
    "/files.js": ("files.js", "text/javascript; charset=utf-8"),
    "/history.js": ("history.js", "text/javascript; charset=utf-8"),
    "/gossip.js": ("gossip.js", "text/javascript; charset=utf-8"),
    "/constants.js": ("constants.js", "text/javascript; charset=utf-8"),
    "/crowd.js": ("crowd.js", "text/javascript; charset=utf-8"),
    "/parts.js": ("parts.js", "text/javascript; charset=utf-8"),
    "/keys.js": ("keys.js", "text/javascript; charset=utf-8"),
    "/sealing.js": ("sealing.js", "text/javascript; charset=utf-8"),
    "/ably.js": ("ably.js", "text/javascript; charset=utf-8"),
    "/text.js": ("text.js", "text/javascript; charset=utf-8"),
    "/signalling.js": ("signalling.js", "text/javascript; charset=utf-8"),
    "/broker.js": ("broker.js", "text/javascript; charset=utf-8"),
    "/identity.js": ("identity.js", "text/javascript; charset=utf-8"),
    "/safety.js": ("safety.js", "text/javascript; charset=utf-8"),
    "/private.js": ("private.js", "text/javascript; charset=utf-8"),
    "/mqtt.js": ("mqtt.js", "text/javascript; charset=utf-8"),
    "/pacing.js": ("pacing.js", "text/javascript; charset=utf-8"),
    "/contacts.js": ("contacts.js", "text/javascript; charset=utf-8"),
    "/sender.js": ("sender.js", "text/javascript; charset=utf-8"),
    "/links.js": ("links.js", "text/javascript; charset=utf-8"),
    "/codec.js": ("codec.js", "text/javascript; charset=utf-8"),
    "/channel.js": ("channel.js", "text/javascript; charset=utf-8"),
    "/style.css": ("style.css", "text/css; charset=utf-8"),
}


def _vendor_files() -> dict[str, tuple[str, str]]:
    """The third-party modules the page imports, as pinned in vendor/manifest.json."""
    manifest = json.loads((WEB_ROOT / "vendor" / "manifest.json").read_text())
    files = {}
    for name, library in manifest.items():
        for path in library["files"]:
            kind = "text/javascript" if path.endswith((".js", ".mjs")) else "text/plain"
            files[f"/vendor/{name}/{path}"] = (f"vendor/{name}/{path}", f"{kind}; charset=utf-8")
    return files


WEB_FILES.update(_vendor_files())


# Headers on every page and script the broker serves.
WEB_HEADERS = (
    # The page shows peers' text as text; forbid what it does not need, and framing
    # by other sites (clickjacking).
    (
        "Content-Security-Policy",
        "default-src 'self'; connect-src 'self' ws: wss:; object-src 'none'; "
        "base-uri 'none'; frame-ancestors 'none'",
    ),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
)


@dataclass
class Stats:
    connections: int = 0
    messages_in: int = 0
    messages_out: int = 0
    errors: int = 0
    rate_limited: int = 0
    refused_connections: int = 0
    slow_consumer_drops: int = 0
    throttled: int = 0  # times a connection was read more slowly for its frame rate
    disconnected_for_abuse: int = 0
    error_replies: int = 0  # error frames actually sent (refusals are counted in errors)


@dataclass
class _Client:
    """What the broker knows about one connection."""

    connection: ServerConnection
    challenge: str
    origin: str
    publishes: TokenBucket
    frames: TokenBucket
    error_replies: TokenBucket
    strikes: TokenBucket
    address: str  # the address (an IPv6 /64) its limits count under
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
        metrics_token: str | None = None,
        allowed_origins: tuple[str, ...] = (),
        host_check: HostCheck | None = None,
    ) -> None:
        self.limits = limits or Limits()
        self.host_check = host_check or HostCheck("127.0.0.1")
        self.metrics_token = metrics_token
        self.allowed_origins = allowed_origins
        self._refusals = QuietLog(log)
        self.ice = ice or IceServerOffer()
        self.access_token = access_token
        # Behind a reverse proxy every connection comes from the proxy's address: then
        # the client's own address is the last one the proxy put in X-Forwarded-For.
        self.trust_proxy = trust_proxy
        self.registry: TopicRegistry[ServerConnection] = TopicRegistry()
        self.stats = Stats()
        self._per_ip: dict[str, int] = {}
        self._subscriptions = 0  # (connection, topic) pairs, all together
        self._subscriptions_per_ip: dict[str, int] = {}
        self._behind_since: dict[ServerConnection, float] = {}
        # Origin tags are keyed per broker process: peers can tell that two publishes
        # came from one address, never which address.
        self._origin_key = secrets.token_bytes(16)
        self.backplane: RedisBackplane | None = None
        if redis_url:
            from .backplane import RedisBackplane  # redis loads only for a backplane

            self.backplane = RedisBackplane(redis_url, self._fan_out)

    # --- the handshake ---

    def process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        """Health checks, and refusals before a websocket is ever opened."""
        url = urllib.parse.urlsplit(request.path)
        upgrade = request.headers.get("Upgrade", "").lower() == "websocket"
        host = request.headers.get("Host", "")
        if not self.host_check.allows(host):
            self.stats.refused_connections += 1
            log.info("refused %s: unknown host name %r", connection.remote_address, host[:100])
            return _http(
                HTTPStatus.MISDIRECTED_REQUEST,
                "text/plain; charset=utf-8",
                f"this broker does not answer to {host[:100]!r}; its operator may allow the"
                " name with --allow-host\n".encode(),
            )
        if url.path == "/healthz":
            # Says only that the broker is up; the counters are behind /metrics.
            return _http(HTTPStatus.OK, "application/json", b'{"status": "ok"}\n')
        if url.path in WEB_FILES and not upgrade:
            name, content_type = WEB_FILES[url.path]
            return _http(HTTPStatus.OK, content_type, (WEB_ROOT / name).read_bytes(), WEB_HEADERS)
        if url.path == "/metrics":
            if not self._may_read_metrics(request, url.query):
                return _http(
                    HTTPStatus.UNAUTHORIZED,
                    "text/plain; charset=utf-8",
                    b"/metrics needs the metrics token (Authorization: Bearer ...)\n",
                    (("WWW-Authenticate", "Bearer"),),
                )
            body = render_metrics(self.metric_values()).encode()
            return _http(HTTPStatus.OK, "text/plain; version=0.0.4", body)
        if not upgrade:
            return _http(HTTPStatus.NOT_FOUND, "text/plain; charset=utf-8", b"not found\n")
        refusal = self._refusal(connection, request, url.query)
        if refusal is not None:
            self.stats.refused_connections += 1
            status, reason = refusal
            log.info("refused %s: %s", connection.remote_address, reason)
            return connection.respond(status, reason + "\n")
        return None

    def _may_read_metrics(self, request: Request, query: str) -> bool:
        wanted = self.metrics_token or self.access_token
        return wanted is None or _token_matches(_offered_token(request, query), wanted)

    def metric_values(self) -> Snapshot:
        stats, backplane = self.stats, self.backplane
        return Snapshot(
            connections=stats.connections,
            topics=len(self.registry),
            messages_in_total=stats.messages_in,
            messages_out_total=stats.messages_out,
            errors_total=stats.errors,
            dropped_total=stats.rate_limited,
            refused_connections_total=stats.refused_connections,
            slow_consumer_drops_total=stats.slow_consumer_drops,
            throttled_total=stats.throttled,
            disconnected_for_abuse_total=stats.disconnected_for_abuse,
            error_replies_total=stats.error_replies,
            backplane_published_total=backplane.published if backplane else 0,
            backplane_received_total=backplane.received if backplane else 0,
        )

    def _refusal(
        self, connection: ServerConnection, request: Request, query: str
    ) -> tuple[HTTPStatus, str] | None:
        if self.access_token is not None and not _token_matches(
            _offered_token(request, query), self.access_token
        ):
            return HTTPStatus.UNAUTHORIZED, "this broker needs an access token"
        origin = request.headers.get("Origin")
        if origin is not None and not self._origin_allowed(origin, request):
            return HTTPStatus.FORBIDDEN, f"pages from {origin[:100]} may not use this broker"
        if self.stats.connections >= self.limits.max_connections:
            return HTTPStatus.SERVICE_UNAVAILABLE, "the broker is full; try again later"
        ip = self._ip(connection, request)
        if self._per_ip.get(ip, 0) >= self.limits.max_connections_per_ip:
            limit = self.limits.max_connections_per_ip
            return HTTPStatus.TOO_MANY_REQUESTS, f"at most {limit} connections per address"
        return None

    def _origin_allowed(self, origin: str, request: Request) -> bool:
        """Browsers name the page that opens a websocket. The page this broker serves
        is always allowed; pages of other sites only if the operator listed them."""
        if origin in self.allowed_origins or "*" in self.allowed_origins:
            return True
        page = urllib.parse.urlsplit(origin)
        host = request.headers.get("Host", "")
        if not page.netloc or not host:
            return False
        if ":" in host.rsplit("]", 1)[-1]:
            return page.netloc.lower() == host.lower()
        # A proxy may pass on the host without its port (nginx's $host).
        return (page.hostname or "") == host.strip("[]").lower()

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
        assert connection.request is not None
        ip = self._ip(connection, connection.request)
        now, limits = time.monotonic(), self.limits
        client = _Client(
            connection,
            connection.response.headers[CHALLENGE_HEADER],
            hmac.new(self._origin_key, ip.encode(), hashlib.sha256).hexdigest()[:16],
            TokenBucket(limits.publish_rate, limits.publish_burst, now),
            TokenBucket(limits.frame_rate, limits.frame_burst, now),
            TokenBucket(limits.error_rate, limits.error_burst, now),
            TokenBucket(limits.strike_rate, limits.strike_burst, now),
            ip,
        )
        self._per_ip[ip] = self._per_ip.get(ip, 0) + 1
        self.stats.connections += 1
        try:
            async for frame in connection:
                await self._handle_frame(client, frame)
        except ConnectionClosed:
            pass  # includes 1009 for a frame over the hard limit
        finally:
            self._behind_since.pop(connection, None)
            self._count_subscriptions(client, -len(client.topics))
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
        await self._pace(client, 1.0)
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
                raw = stamp_origin(raw, client.origin)
                self._fan_out(topic, raw)
                if self.backplane is not None:
                    await self.backplane.publish(topic, raw)
            case Subscribe(topics=wanted, proof=proof):
                await self._subscribe(client, wanted, proof)
            case Unsubscribe(topics=unwanted):
                for topic in unwanted:
                    if topic in client.topics:
                        client.topics.discard(topic)
                        self._count_subscriptions(client, -1)
                        emptied = self.registry.unsubscribe(client.connection, topic)
                        if emptied and self.backplane is not None:
                            await self.backplane.unsubscribe(topic)
            case Ping():
                await client.connection.send(PONG_FRAME)
            case ChallengeRequest():
                reply = {
                    "type": CHALLENGE,
                    "nonce": client.challenge,
                    "iceServers": ice_servers_json(self.ice.servers(time.time())),
                }
                await client.connection.send(json.dumps(reply))

    async def _pace(self, client: _Client, cost: float) -> None:
        """Hold this connection to its frame rate by reading it more slowly."""
        wait = client.frames.reserve(time.monotonic(), cost)
        if wait > 0:
            self.stats.throttled += 1
            await asyncio.sleep(wait)

    async def _subscribe(self, client: _Client, wanted: tuple[str, ...], proof: object) -> None:
        ids = owned_ids(wanted)
        if ids:
            await self._pace(client, self.limits.subscribe_cost - 1)
        refusal = check_proof(ids, proof, client.challenge)
        if refusal is not None:
            await self._reject(client, FrameError("not-owner", refusal))
            return
        new = set(wanted) - client.topics
        if len(client.topics) + len(new) > self.limits.max_topics_per_connection:
            limit = self.limits.max_topics_per_connection
            message = f"subscribing would exceed {limit} topics per connection"
            await self._reject(client, FrameError("too-many-topics", message))
            return
        from_address = self._subscriptions_per_ip.get(client.address, 0)
        if from_address + len(new) > self.limits.max_subscriptions_per_ip:
            limit = self.limits.max_subscriptions_per_ip
            message = f"subscribing would exceed {limit} subscriptions from one address"
            await self._reject(client, FrameError("too-many-topics", message))
            return
        if self._subscriptions + len(new) > self.limits.max_subscriptions:
            message = "the broker holds all the subscriptions it can; try again later"
            await self._reject(client, FrameError("broker-full", message))
            return
        client.topics |= new
        self._count_subscriptions(client, len(new))
        for topic in new:
            created = self.registry.subscribe(client.connection, topic)
            if created and self.backplane is not None:
                # Awaited before the next frame is read: a reply to what this client
                # publishes next, from a client on another broker, cannot be missed.
                await self.backplane.subscribe(topic)

    def _count_subscriptions(self, client: _Client, change: int) -> None:
        self._subscriptions += change
        left = self._subscriptions_per_ip.get(client.address, 0) + change
        if left:
            self._subscriptions_per_ip[client.address] = left
        else:
            self._subscriptions_per_ip.pop(client.address, None)

    def _fan_out(self, topic: str, raw: str) -> None:
        receivers = []
        now = time.monotonic()
        for subscriber in self.registry.subscribers(topic):
            if subscriber.transport.is_closing():
                # Gone, and not yet unsubscribed: a write now is lost, and asyncio would
                # log each one (hundreds of lines when a crowd came and went).
                continue
            if subscriber.transport.get_write_buffer_size() <= self.limits.max_write_buffer_bytes:
                self._behind_since.pop(subscriber, None)
                receivers.append(subscriber)
                continue
            # Behind: this message is dropped for it alone (signalling retries), and it
            # stays connected, so a flood cannot get honest subscribers cut off. One
            # that has not caught up for a whole ping interval stopped reading for good.
            self.stats.slow_consumer_drops += 1
            since = self._behind_since.setdefault(subscriber, now)
            if now - since > self.limits.ping_interval:
                log.warning("closing %s: it stopped reading", subscriber.remote_address)
                subscriber.transport.abort()  # close() would wait for the full buffer
        broadcast(receivers, raw)
        self.stats.messages_out += len(receivers)

    def _ip(self, connection: ServerConnection, request: Request) -> str:
        """The client's address as its limits count it (an IPv6 /64 as one)."""
        forwarded = request.headers.get("X-Forwarded-For")
        if self.trust_proxy and forwarded:
            return address_group(forwarded.rsplit(",", 1)[-1].strip())
        address = connection.remote_address
        return address_group(str(address[0])) if address else "unknown"

    async def _reject(self, client: _Client, error: FrameError) -> None:
        """Tell the client what was wrong, at a bounded rate: refused work stays cheap.
        A client that keeps sending what is refused is cut off."""
        self.stats.errors += 1
        now = time.monotonic()
        if not client.strikes.take(now):
            self.stats.disconnected_for_abuse += 1
            self._refusals.log(logging.INFO, client.origin, "disconnecting %s: %s", "flooding")
            with contextlib.suppress(Exception):
                async with asyncio.timeout(1.0):
                    await client.connection.close(CloseCode.POLICY_VIOLATION, "too many bad frames")
            client.connection.transport.abort()  # whatever it sent meanwhile goes unread
            return
        if client.error_replies.take(now):
            self.stats.error_replies += 1
            self._refusals.log(logging.INFO, client.origin, "rejected frame from %s: %s", error)
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
    metrics_token: str | None = None,
    allowed_origins: tuple[str, ...] = (),
    allowed_hosts: tuple[str, ...] = (),
) -> tuple[Broker, Server]:
    """Start a broker on ``host:port`` (port 0 picks a free one); with ``redis_url``,
    share topics with the other brokers on that Redis. ``allowed_hosts``: names
    (``Host`` headers) it answers to besides loopback names and addresses."""
    broker = Broker(
        limits,
        access_token=access_token,
        redis_url=redis_url,
        trust_proxy=trust_proxy,
        ice=ice,
        metrics_token=metrics_token,
        allowed_origins=allowed_origins,
        host_check=HostCheck(host, frozenset(name.lower() for name in allowed_hosts)),
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
