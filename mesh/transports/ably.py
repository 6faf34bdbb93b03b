"""Transport over Ably's hosted pub/sub, with the ``ably`` SDK's realtime client.

One realtime connection per client. meshchat topics map one-to-one onto Ably channel
names in the ``meshchat`` namespace (``meshchat/lobby/global`` -> ``meshchat:lobby:global``),
so a key's capability can be limited to ``meshchat:*``. Messages are published with the
name ``signal`` and the signalling object as JSON data.

Ably's limits that matter here (free plans): 64 KiB per message, and about 50 publishes
per second per connection. Publishes are paced below that rate by a token bucket, so a
newcomer's burst of offers to a large room is delayed, not rejected; a message over the
size limit is refused here with a clear error instead of being sent to be rejected.

Connection drops are the SDK's business: it reconnects and resumes, keeping channel
attachments, and messages published meanwhile are queued by it (ours) or by Ably
(theirs). Peers already connected keep chatting over their data channels throughout.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from ably import AblyRealtime
from ably.types.connectionstate import ConnectionState
from ably.util.exceptions import AblyException

from meshchat.mesh.identity import Identity
from meshchat.mesh.transports.base import (
    ConnectionLost,
    ConnectionRestored,
    Transport,
    TransportError,
    TransportEvent,
    TransportMessage,
    plausible_origin,
)
from meshchat.mesh.webrtc.ice import IceServer
from meshchat.wire.ratelimit import TokenBucket
from meshchat.wire.topics import ably_channel

log = logging.getLogger(__name__)

MESSAGE_NAME = "signal"
MAX_MESSAGE_BYTES = 64 * 1024
PUBLISH_RATE = 40.0  # per second: below Ably's 50, leaving room for the SDK's own traffic
PUBLISH_BURST = 20.0
CONNECT_TIMEOUT = 10.0  # and the command has given up, in one line, within 15 s


def _route_sdk_task_errors(loop: asyncio.AbstractEventLoop) -> None:
    """The SDK leaves failed tasks of its own behind when a connection goes wrong (the
    endpoint unreachable, the key refused); asyncio would print each one's traceback.
    meshchat reports those failures itself, in one line: send them to the SDK's logger
    (shown with -v) instead, and everything else to the handler that was there."""
    previous = loop.get_exception_handler()
    if getattr(previous, "routes_ably_errors", False):
        return

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        error = context.get("exception")
        traceback = error.__traceback__ if error is not None else None
        modules = []
        while traceback is not None:
            modules.append(traceback.tb_frame.f_globals.get("__name__", ""))
            traceback = traceback.tb_next
        if any(name.split(".")[0] == "ably" for name in modules):
            logging.getLogger("ably").debug("SDK task failed: %s", context.get("message"))
        elif previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)

    handler.routes_ably_errors = True  # type: ignore[attr-defined]
    loop.set_exception_handler(handler)


@dataclass(frozen=True, slots=True)
class AblyConfig:
    """How to reach and authenticate with Ably. Exactly one credential is needed."""

    key: str | None = None  # "appId.keyId:secret", full access per the key's capability
    token: str | None = None  # a token issued by your server: no key on the client
    auth_url: str | None = None  # an URL that returns tokens (the SDK calls it as needed)
    # For self-hosted or test endpoints: "host:port"; with tls=False, plain ws://.
    endpoint: str | None = None
    tls: bool = True
    use_binary_protocol: bool = True
    extra_options: dict[str, Any] = field(default_factory=dict)

    def client_options(self) -> dict[str, Any]:
        credentials = [c for c in (self.key, self.token, self.auth_url) if c]
        if len(credentials) != 1:
            raise TransportError(
                "Ably needs exactly one of: an API key (ABLY_API_KEY), a token "
                "(ABLY_TOKEN) or an auth URL (ABLY_AUTH_URL)"
            )
        options: dict[str, Any] = {
            "tls": self.tls,
            "use_binary_protocol": self.use_binary_protocol,
            # Our own publishes are of no use to us; the protocol drops them anyway.
            "transport_params": {"echo": "false"},
            "auto_connect": False,
            **self.extra_options,
        }
        if self.key:
            options["key"] = self.key
        elif self.token:
            options["auth_token"] = self.token
        else:
            options["auth_url"] = self.auth_url
        if self.endpoint:
            options["endpoint"] = self.endpoint
        return options


class AblyTransport(Transport):
    def __init__(self, config: AblyConfig) -> None:
        self._config = config
        self._client: AblyRealtime | None = None
        self._queue: asyncio.Queue[TransportEvent | None] = asyncio.Queue()
        self._connection_id: str | None = None
        self._away = False
        self._bucket = TokenBucket(PUBLISH_RATE, PUBLISH_BURST, time.monotonic())
        self._publish_lock = asyncio.Lock()

    async def connect(self, identity: Identity) -> tuple[IceServer, ...]:
        """Ably checks keys and capabilities, not identities; it offers no ICE servers."""
        _route_sdk_task_errors(asyncio.get_running_loop())
        try:
            self._client = AblyRealtime(**self._config.client_options())
        except (ValueError, AblyException) as error:
            raise TransportError(f"invalid Ably configuration: {error}") from None
        connection = self._client.connection
        connection.on(self._on_connection_state)
        self._client.connect()
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT):
                while connection.state is not ConnectionState.CONNECTED:
                    change = await connection.once_async()
                    if change.current in (ConnectionState.FAILED, ConnectionState.SUSPENDED):
                        raise TransportError(
                            f"Ably refused the connection: {_reason(change.reason)}"
                        )
        except TimeoutError:
            reason = _reason(connection.error_reason)
            await self.close()
            raise TransportError(
                f"cannot reach Ably within {CONNECT_TIMEOUT:.0f} s: {reason}"
            ) from None
        except TransportError:
            await self.close()
            raise
        return ()

    async def subscribe(self, topics: Sequence[str]) -> None:
        client = self._require()
        for topic in topics:
            channel = client.channels.get(ably_channel(topic))

            def deliver(message: Any, topic: str = topic) -> None:
                origin = plausible_origin(getattr(message, "connection_id", None))
                self._queue.put_nowait(TransportMessage(topic, message.data, origin))

            try:
                # Resolves once the channel is attached: later publishes cannot outrun it.
                await channel.subscribe(MESSAGE_NAME, deliver)
            except AblyException as error:
                raise TransportError(f"cannot subscribe to {topic} on Ably: {error}") from None

    async def publish(self, topic: str, data: dict[str, Any]) -> None:
        size = len(json.dumps(data, separators=(",", ":")).encode())
        if size > MAX_MESSAGE_BYTES:
            raise TransportError(
                f"signalling message of {size} bytes exceeds Ably's {MAX_MESSAGE_BYTES}-byte limit"
            )
        channel = self._require().channels.get(ably_channel(topic))
        async with self._publish_lock:  # keep order, and pace the whole connection
            await asyncio.sleep(self._bucket.reserve(time.monotonic()))
            try:
                await channel.publish(MESSAGE_NAME, data)
            except AblyException as error:
                raise TransportError(f"Ably rejected a publish to {topic}: {error}") from None

    async def messages(self) -> AsyncIterator[TransportEvent]:
        while (message := await self._queue.get()) is not None:
            yield message

    async def close(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            if client.connection.state in (ConnectionState.FAILED, ConnectionState.CLOSED):
                self._queue.put_nowait(None)
                return  # nothing to close; the SDK would fail trying
            try:
                await asyncio.wait_for(client.close(), 5)
            except (AblyException, TimeoutError) as error:
                log.debug("closing the Ably connection: %s", error)
        self._queue.put_nowait(None)

    def _on_connection_state(self, change: Any) -> None:
        log.info("Ably connection %s -> %s", change.previous, change.current)
        current = change.current
        if current is ConnectionState.CONNECTED and self._client is not None:
            connection_id = self._client.connection.connection_manager.connection_id
            if self._away:
                # Same connection id: Ably resumed it and replays what we missed.
                self._queue.put_nowait(ConnectionRestored(connection_id == self._connection_id))
            self._away = False
            self._connection_id = connection_id
        elif (
            current in (ConnectionState.DISCONNECTED, ConnectionState.SUSPENDED)
            and self._connection_id is not None
            and not self._away
        ):
            self._away = True
            self._queue.put_nowait(ConnectionLost(_reason(change.reason)))
        if current is ConnectionState.FAILED:
            # Unrecoverable (e.g. the key was revoked): end messages(), the room is told.
            log.warning("Ably connection failed: %s", _reason(change.reason))
            self._queue.put_nowait(None)

    def _require(self) -> AblyRealtime:
        if self._client is None:
            raise TransportError("Ably transport is not connected")
        return self._client


def _reason(error: BaseException | None) -> str:
    """SDK state changes carry an AblyException, or sometimes the transport's own error."""
    if error is None:
        return "no reason given"
    if isinstance(error, AblyException):
        return f"{error.message} (code {error.code})"
    return str(error) or type(error).__name__
