"""A local endpoint that speaks Ably's realtime websocket protocol, for offline tests.

Ably's service cannot be reached from the test machines, so the real ``ably`` SDK is
pointed here (``endpoint="127.0.0.1:PORT"``, ``tls=False``). This implements the part of
the protocol that signalling uses, as Ably documents it (protocol version 2+):

* connection: ``key`` (basic auth) or ``accessToken`` in the query string; ``CONNECTED``
  with ``connectionDetails``; invalid credentials get ``ERROR`` (40101) and a close;
* ``HEARTBEAT``: echoed with its ``id`` when the client pings; sent unprompted when the
  connection is otherwise idle;
* ``ATTACH``/``ATTACHED`` and ``DETACH``/``DETACHED`` per channel, checked against the
  key's capability (40160 if not permitted);
* ``MESSAGE`` publish with ``msgSerial``: ``ACK`` once accepted, ``NACK`` for a message over
  ``maxMessageSize`` (40009) or over the per-connection rate (42910); delivery to every
  attached connection as a ``MESSAGE`` with ids, ``connectionId`` and timestamps, except
  to the publisher when it connected with ``echo=false``;
* ``CLOSE``/``CLOSED``;
* resume: a client reconnecting with ``resume=<connectionKey>`` within the state TTL gets
  the same ``connectionId`` and keeps its attachments, and the messages published to its
  channels while it was away are delivered after ``CONNECTED``;
* both wire formats: JSON text frames and msgpack binary frames (``format=msgpack``).

The test hooks ``drop_connections()`` (abrupt loss, as a network failure) and ``stats``
let tests exercise the SDK's recovery.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import json
import secrets
import time
import urllib.parse
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import msgpack
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from meshchat.wire.ratelimit import TokenBucket

HEARTBEAT, ACK, NACK, CONNECT, CONNECTED = 0, 1, 2, 3, 4
DISCONNECT, DISCONNECTED, CLOSE, CLOSED, ERROR = 5, 6, 7, 8, 9
ATTACH, ATTACHED, DETACH, DETACHED, MESSAGE = 10, 11, 12, 13, 15

FLAG_RESUMED = 1 << 2
FLAG_PUBLISH = 1 << 17
FLAG_SUBSCRIBE = 1 << 18

MAX_MESSAGE_SIZE = 64 * 1024  # Ably's free-plan limit
PUBLISH_RATE = 50.0  # messages per second per connection, as on Ably's free plans
MAX_IDLE_INTERVAL_MS = 15_000
CONNECTION_STATE_TTL_MS = 120_000
QUEUE_LIMIT = 1000  # messages kept for a disconnected connection


def error(code: int, status: int, message: str) -> dict[str, Any]:
    return {"code": code, "statusCode": status, "message": message}


@dataclass
class ApiKey:
    name: str  # "appId.keyId"
    secret: str
    # Ably capability: channel pattern -> operations ("publish", "subscribe", "*").
    capability: dict[str, list[str]] = field(default_factory=lambda: {"*": ["*"]})

    @property
    def key(self) -> str:
        return f"{self.name}:{self.secret}"

    def allows(self, channel: str, operation: str) -> bool:
        return any(
            fnmatch.fnmatchcase(channel, pattern) and ("*" in ops or operation in ops)
            for pattern, ops in self.capability.items()
        )


@dataclass
class Session:
    """A connection's server-side state; it outlives a dropped websocket until the TTL."""

    connection_id: str
    connection_key: str
    api_key: ApiKey
    echo: bool
    binary: bool
    attached: set[str] = field(default_factory=set)
    websocket: ServerConnection | None = None
    # Everything sent to the client goes through here, in order; while the client is
    # away, it waits here for a resume.
    outbox: deque[bytes | str] = field(default_factory=lambda: deque(maxlen=QUEUE_LIMIT))
    wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    disconnected_at: float | None = None
    publishes: TokenBucket = field(
        default_factory=lambda: TokenBucket(PUBLISH_RATE, PUBLISH_RATE, time.monotonic())
    )

    def encode(self, message: dict[str, Any]) -> bytes | str:
        return msgpack.packb(message, use_bin_type=True) if self.binary else json.dumps(message)

    def push(self, message: dict[str, Any]) -> None:
        self.outbox.append(self.encode(message))
        self.wakeup.set()

    async def write(self, websocket: ServerConnection) -> None:
        with contextlib.suppress(ConnectionClosed):
            while True:
                while self.outbox:
                    await websocket.send(self.outbox[0])
                    self.outbox.popleft()
                self.wakeup.clear()
                await self.wakeup.wait()

    def decode(self, frame: bytes | str) -> dict[str, Any]:
        decoded: dict[str, Any] = (
            msgpack.unpackb(frame, raw=False) if isinstance(frame, bytes) else json.loads(frame)
        )
        return decoded


@dataclass
class Stats:
    connections: int = 0
    resumed: int = 0
    published: int = 0
    nacked: int = 0
    heartbeats_echoed: int = 0


class AblyEndpoint:
    def __init__(self, keys: list[ApiKey]) -> None:
        self.keys = {key.name: key for key in keys}
        self.sessions: dict[str, Session] = {}  # by connection key
        self.stats = Stats()
        self._server: Server | None = None
        self._serials: dict[str, int] = {}

    @property
    def port(self) -> int:
        assert self._server is not None
        port: int = next(iter(self._server.sockets)).getsockname()[1]
        return port

    @property
    def endpoint(self) -> str:
        """What to give the SDK as ``endpoint`` (with ``tls=False``)."""
        return f"127.0.0.1:{self.port}"

    async def start(self, port: int = 0) -> None:
        self._server = await serve(self._handle, "127.0.0.1", port, max_size=None)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def outage(self) -> int:
        """Go away: refuse new connections and cut the open ones. Sessions are kept, so
        clients can resume after :meth:`start` on the returned port."""
        port = self.port
        assert self._server is not None
        self._server.close(close_connections=False)
        self.drop_connections()
        await self._server.wait_closed()
        return port

    def drop_connections(self) -> None:
        """Cut every websocket without a close frame, as a network failure would."""
        for session in self.sessions.values():
            if session.websocket is not None:
                session.websocket.transport.abort()

    # --- connection lifecycle ---

    async def _handle(self, websocket: ServerConnection) -> None:
        assert websocket.request is not None
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(websocket.request.path).query))
        binary = query.get("format") == "msgpack"
        api_key = self._authenticate(query)
        if api_key is None:
            reply = {"action": ERROR, "error": error(40101, 401, "Invalid credentials")}
            await websocket.send(msgpack.packb(reply) if binary else json.dumps(reply))
            await websocket.close()
            return
        session, resumed = self._session_for(query, api_key, binary)
        session.websocket = websocket
        session.disconnected_at = None
        self.stats.connections += 1
        # CONNECTED first, then whatever was published to it while it was away.
        session.outbox.appendleft(session.encode(self._connected(session, resumed)))
        session.wakeup.set()
        writer = asyncio.create_task(session.write(websocket))
        heartbeats = asyncio.create_task(self._heartbeats(session))
        try:
            async for frame in websocket:
                if not self._on_frame(session, session.decode(frame)):
                    await asyncio.sleep(0.1)  # let CLOSED go out
                    break
        except ConnectionClosed:
            pass
        finally:
            heartbeats.cancel()
            writer.cancel()
            if session.websocket is websocket:
                session.websocket = None
                session.disconnected_at = time.monotonic()

    def _authenticate(self, query: dict[str, str]) -> ApiKey | None:
        if "key" in query:
            name, _, secret = query["key"].partition(":")
            key = self.keys.get(name)
            return key if key is not None and secrets.compare_digest(key.secret, secret) else None
        return None

    def _session_for(
        self, query: dict[str, str], api_key: ApiKey, binary: bool
    ) -> tuple[Session, bool]:
        self._expire_sessions()
        previous = self.sessions.get(query.get("resume", ""))
        if previous is not None and previous.api_key is api_key:
            self.stats.resumed += 1
            previous.binary = binary
            return previous, True
        connection_id = secrets.token_hex(5)
        session = Session(
            connection_id,
            f"{secrets.token_hex(4)}!{connection_id}",
            api_key,
            echo=query.get("echo", "true") != "false",
            binary=binary,
        )
        self.sessions[session.connection_key] = session
        return session, False

    def _expire_sessions(self) -> None:
        horizon = time.monotonic() - CONNECTION_STATE_TTL_MS / 1000
        for key, session in list(self.sessions.items()):
            if session.disconnected_at is not None and session.disconnected_at < horizon:
                del self.sessions[key]

    def _connected(self, session: Session, resumed: bool) -> dict[str, Any]:
        return {
            "action": CONNECTED,
            "connectionId": session.connection_id,
            "connectionKey": session.connection_key,
            "connectionDetails": {
                "connectionKey": session.connection_key,
                "maxIdleInterval": MAX_IDLE_INTERVAL_MS,
                "maxMessageSize": MAX_MESSAGE_SIZE,
                "maxFrameSize": 256 * 1024,
                "connectionStateTtl": CONNECTION_STATE_TTL_MS,
                "serverId": "meshchat-test-endpoint",
            },
            **({"flags": FLAG_RESUMED} if resumed else {}),
        }

    async def _heartbeats(self, session: Session) -> None:
        """Ably sends heartbeats so that an idle client knows the connection is alive."""
        while True:
            await asyncio.sleep(MAX_IDLE_INTERVAL_MS / 1000 / 2)
            session.push({"action": HEARTBEAT})

    # --- protocol messages from the client ---

    def _on_frame(self, session: Session, message: dict[str, Any]) -> bool:
        """Handle one protocol message; False ends the connection."""
        action = message.get("action")
        channel = message.get("channel")
        send = session.push
        if action == HEARTBEAT:
            self.stats.heartbeats_echoed += 1
            send({"action": HEARTBEAT, "id": message.get("id")})
        elif action == ATTACH and isinstance(channel, str):
            if not session.api_key.allows(channel, "subscribe"):
                send(self._channel_error(channel, "subscribe"))
                return True
            resumed = channel in session.attached
            session.attached.add(channel)
            flags = FLAG_PUBLISH | FLAG_SUBSCRIBE | (FLAG_RESUMED if resumed else 0)
            send(
                {
                    "action": ATTACHED,
                    "channel": channel,
                    "flags": flags,
                    "channelSerial": self._channel_serial(channel, advance=False),
                }
            )
        elif action == DETACH and isinstance(channel, str):
            session.attached.discard(channel)
            send({"action": DETACHED, "channel": channel})
        elif action == MESSAGE and isinstance(channel, str):
            self._on_publish(session, channel, message)
        elif action == CLOSE:
            send({"action": CLOSED})
            self.sessions.pop(session.connection_key, None)
            return False
        else:
            reply = {"action": ERROR, "error": error(40000, 400, f"unexpected action {action}")}
            send(reply)
        return True

    def _on_publish(self, session: Session, channel: str, message: dict[str, Any]) -> None:
        serial = message.get("msgSerial", 0)
        messages = message.get("messages") or []
        size = sum(_message_size(m) for m in messages)
        reason = None
        if not session.api_key.allows(channel, "publish"):
            reason = error(40160, 401, f"Action not permitted: publish on channel {channel}")
        elif size > MAX_MESSAGE_SIZE:
            reason = error(
                40009,
                400,
                f"Maximum size of messages that can be published at once exceeded "
                f"(was {size} bytes; limit is {MAX_MESSAGE_SIZE} bytes)",
            )
        elif not session.publishes.take(time.monotonic()):
            reason = error(42910, 429, "Rate limit exceeded; request rejected")
        if reason is not None:
            self.stats.nacked += 1
            nack = {"action": NACK, "msgSerial": serial, "count": 1, "error": reason}
            session.push(nack)
            return
        self.stats.published += len(messages)
        session.push({"action": ACK, "msgSerial": serial, "count": 1})
        self._deliver(session, channel, messages)

    def _deliver(self, sender: Session, channel: str, messages: list[dict[str, Any]]) -> None:
        now = int(time.time() * 1000)
        protocol_id = f"{sender.connection_id}:{secrets.token_hex(3)}"
        delivered = {
            "action": MESSAGE,
            "channel": channel,
            "channelSerial": self._channel_serial(channel, advance=True),
            "id": protocol_id,
            "connectionId": sender.connection_id,
            "timestamp": now,
            "messages": [
                {
                    **m,
                    "id": f"{protocol_id}:{i}",
                    "connectionId": sender.connection_id,
                    "timestamp": now,
                }
                for i, m in enumerate(messages)
            ],
        }
        for session in list(self.sessions.values()):
            if channel in session.attached and (session is not sender or sender.echo):
                session.push(delivered)

    def _channel_serial(self, channel: str, *, advance: bool) -> str:
        if advance:
            self._serials[channel] = self._serials.get(channel, 0) + 1
        return f"{self._serials.get(channel, 0):016d}"

    def _channel_error(self, channel: str, operation: str) -> dict[str, Any]:
        return {
            "action": ERROR,
            "channel": channel,
            "error": error(40160, 401, f"Action not permitted: {operation} on channel {channel}"),
        }


def _message_size(message: dict[str, Any]) -> int:
    """Ably counts the name, data, client id and extras of a message."""
    size = 0
    for key in ("name", "data", "clientId", "extras"):
        value = message.get(key)
        if isinstance(value, str | bytes):
            size += len(value.encode() if isinstance(value, str) else value)
        elif value is not None:
            size += len(json.dumps(value))
    return size


async def _main(port: int, keys: list[str]) -> None:
    api_keys = []
    for key in keys:
        name, _, secret = key.partition(":")
        api_keys.append(ApiKey(name, secret))
    endpoint = AblyEndpoint(api_keys)
    await endpoint.start(port)
    print(f"ably endpoint listening on 127.0.0.1:{endpoint.port}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    # As a process of its own (e.g. inside a test's network namespace):
    #   python -m tests.support.ably_endpoint PORT KEY_NAME:SECRET ...
    import sys

    asyncio.run(_main(int(sys.argv[1]), sys.argv[2:]))
