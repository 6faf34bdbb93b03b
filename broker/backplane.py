"""The optional Redis backplane: several broker processes share topics through Redis.

Each broker delivers a publish to its own subscribers at once and also publishes it to
Redis on the channel ``meshchat-broker:<topic>``, prefixed with its own instance id. A
broker subscribes in Redis only to the topics its clients subscribed to, so Redis routes
each message only to the brokers that need it; a broker ignores its own messages coming
back. Without a backplane the broker is one self-contained process.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import cast

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from .errors import BackplaneError

log = logging.getLogger(__name__)

CHANNEL_PREFIX = "meshchat-broker:"


class RedisBackplane:
    def __init__(self, url: str, deliver: Callable[[str, str], None]) -> None:
        self.url = url
        self.instance = secrets.token_hex(6)
        self._deliver = deliver  # (topic, raw frame) -> local fan-out
        self._client: aioredis.Redis | None = None
        self._pubsub: aioredis.client.PubSub | None = None
        self._topics: set[str] = set()
        self._reader: asyncio.Task[None] | None = None
        self.published = 0
        self.received = 0

    async def start(self) -> None:
        try:
            self._client = aioredis.from_url(self.url, decode_responses=True)
            await self._client.ping()
        except (RedisError, OSError, ValueError) as error:
            raise BackplaneError(f"cannot reach Redis at {self.url}: {error}") from None
        self._pubsub = self._client.pubsub()
        self._reader = asyncio.create_task(self._read(), name="meshchat-backplane")

    async def stop(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
        if self._pubsub is not None:
            # redis-py before 8.2 left aclose() unannotated (a no-untyped-call error);
            # the cast is right whether or not the installed release has hints.
            close = cast(Callable[[], Awaitable[None]], self._pubsub.aclose)
            await close()
        if self._client is not None:
            await self._client.aclose()

    async def subscribe(self, topic: str) -> None:
        """A local client is the first here to want ``topic``."""
        self._topics.add(topic)
        assert self._pubsub is not None
        try:
            await self._pubsub.subscribe(CHANNEL_PREFIX + topic)
        except RedisError as error:
            log.warning("backplane: cannot subscribe to %s: %s", topic, error)

    async def unsubscribe(self, topic: str) -> None:
        """No local client wants ``topic`` any more."""
        self._topics.discard(topic)
        assert self._pubsub is not None
        try:
            await self._pubsub.unsubscribe(CHANNEL_PREFIX + topic)
        except RedisError as error:
            log.warning("backplane: cannot unsubscribe from %s: %s", topic, error)

    async def publish(self, topic: str, raw: str) -> None:
        assert self._client is not None
        try:
            await self._client.publish(CHANNEL_PREFIX + topic, f"{self.instance}\n{raw}")
            self.published += 1
        except RedisError as error:
            # Local subscribers already have it; clients on other brokers will
            # recover through the protocol's retransmissions and repeated hellos.
            log.warning("backplane: cannot publish to %s: %s", topic, error)

    async def _read(self) -> None:
        assert self._pubsub is not None
        delay = 0.25
        while True:
            try:
                if not self._pubsub.subscribed:
                    await asyncio.sleep(0.05)
                    continue
                message = await self._pubsub.get_message(timeout=1.0)
                delay = 0.25
            except (RedisError, OSError) as error:
                log.warning("backplane: lost Redis (%s); retrying in %.1f s", error, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
                await self._resubscribe()
                continue
            if message is None or message.get("type") != "message":
                continue
            origin, _, raw = str(message["data"]).partition("\n")
            if origin == self.instance:
                continue  # ours, already delivered locally
            self.received += 1
            self._deliver(str(message["channel"]).removeprefix(CHANNEL_PREFIX), raw)

    async def _resubscribe(self) -> None:
        assert self._pubsub is not None
        if self._topics:
            try:
                await self._pubsub.subscribe(*(CHANNEL_PREFIX + t for t in self._topics))
            except (RedisError, OSError) as error:
                log.debug("backplane: resubscribe failed: %s", error)
