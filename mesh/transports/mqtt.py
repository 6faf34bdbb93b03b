"""Transport over any MQTT broker (mosquitto, EMQX, HiveMQ...), with ``aiomqtt``.

meshchat topics map onto MQTT topics under a prefix (``meshchat/`` by default:
``meshchat/lobby/global`` stays as it is; with ``--mqtt-prefix acme/chat/`` it becomes
``acme/chat/lobby/global``); a sealed room's topics carry its tag, never its name.
URLs: ``mqtt://host[:1883]``, ``mqtts://host[:8883]`` (TLS), ``ws://host[:80]/path`` and
``wss://host[:443]/path`` (MQTT over websockets); a user name and password may be in
the URL or given apart, and are never shown.

The choices, and why (docs/operations.md says the same for operators):

- **QoS 1** for publishes and subscriptions: a publish returns once the broker has it,
  so what we publish after subscribing is ordered after the subscription (the seam's
  promise), and a broker briefly overloaded does not drop what it accepted. Duplicates
  that QoS 1 may bring are harmless: the protocol ignores them.
- **Never retained**: signalling is about now; a retained hello would announce a peer
  long gone to every newcomer.
- **Clean sessions**: the broker keeps nothing for us between connections, and we
  subscribe again after a reconnection, as over the bundled broker. The client
  identifier is our peer id (the broker sees it in our topics anyway), so that a
  self-run broker's ACL can let each peer read only its own topic (``%c``).
- **Keepalive 5 s**: a broker that dies without closing the connection is noticed within
  about 7.5 s; one that restarts closes it, and is found again within 2 s (reconnection
  backs off from 0.25 s to 2 s, with jitter, so a room does not come back at once).
- **Publishes paced** at 40 a second (bursts of 20): under the limits hosted brokers set
  per connection, so a newcomer's offers to a large room are delayed, not refused.

An MQTT broker checks no signatures, and on a shared one anyone may subscribe to any
topic: docs/security.md says what that changes (use a sealed room on a broker you do
not run), and ``deploy/mosquitto/`` has a configuration for a self-run broker.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import ssl
import urllib.parse
from collections.abc import AsyncIterator, Sequence
from typing import Any

import aiomqtt

from meshchat.mesh.identity import Identity
from meshchat.mesh.transports.base import (
    ConnectionLost,
    ConnectionRestored,
    Transport,
    TransportError,
    TransportEvent,
    TransportMessage,
    reconnect,
)
from meshchat.mesh.webrtc.ice import IceServer
from meshchat.wire.canonical import loads_untrusted
from meshchat.wire.quietlog import QuietLog
from meshchat.wire.ratelimit import TokenBucket

log = logging.getLogger(__name__)

DEFAULT_PREFIX = "meshchat/"
TOPIC_ROOT = "meshchat/"  # how the mesh names its topics (wire/topics.py)
QOS = 1
KEEPALIVE = 5  # seconds (MQTT counts whole seconds)
CONNECT_TIMEOUT = 10.0  # and the command has given up, in one line, within 15 s
RECONNECT_INITIAL = 0.25
RECONNECT_MAX = 2.0
PUBLISH_RATE = 40.0
PUBLISH_BURST = 20.0
MAX_MESSAGE_BYTES = 256 * 1024  # what arrives larger is no signalling message of ours
DEFAULT_PORTS = {"mqtt": 1883, "mqtts": 8883, "ws": 80, "wss": 443}
# What a broker's refusal code means, in words (MQTT 3.1.1 and 5).
# (paho reports MQTT 3.1.1's codes 4 and 5 as MQTT 5's 134 and 135; mosquitto says
# "not authorized" for a wrong password.)
NOT_AUTHORIZED = "not authorized (a wrong user name or password, or no login allowed)"
REFUSALS = {
    4: "bad user name or password",
    5: NOT_AUTHORIZED,
    134: "bad user name or password",
    135: NOT_AUTHORIZED,
}


class MqttTransport(Transport):
    def __init__(
        self,
        url: str,
        *,
        username: str | None = None,
        password: str | None = None,
        prefix: str = DEFAULT_PREFIX,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        """``url``: the broker (see above). ``prefix``: what the room's topics go
        under, ending with ``/``. ``tls_context``: for ``mqtts``/``wss``, instead of
        the system's trusted authorities (a self-signed broker in a test)."""
        parts = urllib.parse.urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in DEFAULT_PORTS or not parts.hostname:
            raise TransportError(
                f"invalid MQTT URL {_shown(url)!r}: use mqtt://, mqtts://, ws:// or wss://"
                " and a host"
            )
        try:
            self._port = parts.port or DEFAULT_PORTS[scheme]
        except ValueError:
            raise TransportError(f"invalid MQTT URL {_shown(url)!r}: bad port") from None
        if not prefix.endswith("/") or any(c in prefix for c in "+#") or prefix.startswith("$"):
            raise TransportError(f"an MQTT topic prefix ends with '/' and has no + # $: {prefix!r}")
        self._host = parts.hostname
        self._websockets = scheme in ("ws", "wss")
        self._path = parts.path or "/"
        self._tls = scheme in ("mqtts", "wss")
        self._tls_context = tls_context
        self._username = username if username is not None else _unquoted(parts.username)
        self._password = password if password is not None else _unquoted(parts.password)
        self.url = _shown(url)  # what messages show: no password
        self._prefix = prefix
        self._client: aiomqtt.Client | None = None
        self._identifier = ""
        self._topics: list[str] = []
        self._pace = TokenBucket(PUBLISH_RATE, PUBLISH_BURST, 0.0)
        self._closing = False
        self._rng = random.Random()
        # Anyone on a shared broker may publish junk to our topics: said, but not often.
        self._junk = QuietLog(log)

    async def connect(self, identity: Identity) -> tuple[IceServer, ...]:
        """Connect; ``TransportError`` in one line if the broker is not there or
        refuses us. MQTT brokers offer no ICE servers."""
        self._identifier = identity.client_id
        await self._connect_once()
        return ()

    async def _connect_once(self) -> None:
        client = aiomqtt.Client(
            self._host,
            self._port,
            username=self._username,
            password=self._password,
            identifier=self._identifier,
            protocol=aiomqtt.ProtocolVersion.V311,
            clean_session=True,
            transport="websockets" if self._websockets else "tcp",
            websocket_path=self._path if self._websockets else None,
            keepalive=KEEPALIVE,
            timeout=CONNECT_TIMEOUT,
            tls_context=(self._tls_context or ssl.create_default_context()) if self._tls else None,
            logger=log,
        )
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT):
                await client.__aenter__()
        except aiomqtt.MqttCodeError as error:
            reason = REFUSALS.get(_code(error), str(error))
            raise TransportError(f"MQTT broker at {self.url} refused us: {reason}") from None
        except (aiomqtt.MqttError, OSError, TimeoutError) as error:
            reason = str(error) or type(error).__name__
            raise TransportError(f"cannot reach MQTT broker at {self.url}: {reason}") from None
        self._client = client

    async def subscribe(self, topics: Sequence[str]) -> None:
        self._topics += [t for t in topics if t not in self._topics]
        await self._subscribe_to(topics)

    async def _subscribe_to(self, topics: Sequence[str]) -> None:
        try:
            await self._require().subscribe([(self._mapped(t), QOS) for t in topics])
        except aiomqtt.MqttError as error:
            raise TransportError(f"MQTT subscribe failed: {error}") from None

    async def publish(self, topic: str, data: dict[str, Any]) -> None:
        payload = json.dumps(data, separators=(",", ":"))
        if len(payload) > MAX_MESSAGE_BYTES:
            raise TransportError(f"a message of {len(payload)} bytes is over {MAX_MESSAGE_BYTES}")
        wait = self._pace.reserve(asyncio.get_running_loop().time())
        if wait:
            await asyncio.sleep(wait)
        try:
            await self._require().publish(self._mapped(topic), payload, qos=QOS, retain=False)
        except aiomqtt.MqttError as error:
            raise TransportError(f"MQTT publish failed: {error}") from None

    async def messages(self) -> AsyncIterator[TransportEvent]:
        while not self._closing:
            reason = "the MQTT broker closed the connection"
            try:
                async for message in self._require().messages:
                    received = self._parse(message)
                    if received is not None:
                        yield received
            except aiomqtt.MqttError as error:
                reason = str(error) or reason
            if self._closing:
                return
            log.warning("MQTT broker connection lost (%s); reconnecting", reason)
            yield ConnectionLost(reason)
            await self._reconnect()
            if self._closing:
                return
            yield ConnectionRestored(resumed=False)  # a clean session: nothing kept for us

    async def _reconnect(self) -> None:
        async def attempt() -> None:
            await self._connect_once()
            if self._topics:
                await self._subscribe_to(self._topics)
            log.info("MQTT broker connection restored")

        await reconnect(
            attempt,
            lambda: self._closing,
            self._rng,
            initial=RECONNECT_INITIAL,
            longest=RECONNECT_MAX,
        )

    async def close(self) -> None:
        self._closing = True
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(aiomqtt.MqttError):  # gone already
                await client.__aexit__(None, None, None)

    def _mapped(self, topic: str) -> str:
        """The MQTT topic for a meshchat topic."""
        return self._prefix + topic.removeprefix(TOPIC_ROOT)

    def _parse(self, message: aiomqtt.Message) -> TransportMessage | None:
        topic = message.topic.value
        if not topic.startswith(self._prefix):
            return None
        payload = message.payload
        if not isinstance(payload, bytes | bytearray) or len(payload) > MAX_MESSAGE_BYTES:
            self._junk.warning(topic, "an MQTT message on %s is not one of ours; ignored")
            return None
        try:
            data = loads_untrusted(bytes(payload))
        except ValueError:
            self._junk.warning(topic, "an MQTT message on %s is not JSON; ignored")
            return None
        return TransportMessage(TOPIC_ROOT + topic.removeprefix(self._prefix), data)

    def _require(self) -> aiomqtt.Client:
        if self._client is None:
            raise TransportError("transport is not connected")
        return self._client


def _code(error: aiomqtt.MqttCodeError) -> int:
    rc = error.rc
    return int(rc.value if hasattr(rc, "value") else rc) if rc is not None else -1


def _unquoted(text: str | None) -> str | None:
    return urllib.parse.unquote(text) if text is not None else None


def _shown(url: str) -> str:
    """``url`` without a password in it."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))
