"""Named channels of a room: any JSON value or bytes, to everyone or to chosen peers.

    moves = room.channel("moves")
    sent = await moves.send({"x": 1})
    outcome = await sent.wait()        # {peer id: "delivered" or why not}
    await moves.send(b"\\x00" * 10_000_000, to=[peer_id])
    async for received in moves:       # .json() / .bytes(), .sender, .nick, .timestamp_ms
        ...

The channel named ``"chat"`` is the chat itself: a ``ChatChannel``, which sends
and yields text.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any, Protocol, TypeVar

from meshchat.mesh.events import (
    EventsMissed,
    PayloadDelivered,
    PayloadUndelivered,
    PeerId,
    Received,
    SentMessage,
    SentPayload,
    TransferProgress,
)
from meshchat.mesh.fanout import Fanout, Listener
from meshchat.mesh.features.file_protocol import RESERVED_PREFIX
from meshchat.mesh.link.payloads import check_channel_name

log = logging.getLogger(__name__)

# What one iterator over a channel may hold unread: many small values, or a few large
# payloads (the largest is 64 MiB; held in temporary files past 1 MiB).
BACKLOG = 10_000
BACKLOG_BYTES = 256 * 1024 * 1024


def check_application_channel(name: str) -> str:
    """``name``, if an application may open a channel so called: 1-64 printable
    characters, and not one of the framework's own (``meshchat/...``). ValueError
    saying why otherwise."""
    check_channel_name(name)
    if name.startswith(RESERVED_PREFIX):
        raise ValueError(f"channel names starting {RESERVED_PREFIX!r} are reserved")
    return name


SendPayload = Callable[[str, object, Iterable[str] | None], Awaitable[SentPayload]]


class SendChat(Protocol):
    """``room.send``: a chat line, to the room or privately to chosen members."""

    def __call__(
        self, text: str, *, to: Iterable[PeerId] | None = None
    ) -> Awaitable[SentMessage]: ...


# What a payload channel reports of what we sent on it.
ChannelEvent = TransferProgress | PayloadDelivered | PayloadUndelivered
Handler = Callable[[Any], Awaitable[None] | None]
Subscribe = Callable[[tuple[type, ...], Handler], Callable[[], None]]
E = TypeVar("E", TransferProgress, PayloadDelivered, PayloadUndelivered)


class _Inbox:
    """What arrives on one channel, in order per author, for every iterator: each
    ``async for`` over the channel gets every message from when it started. What
    arrives while nobody iterates waits for the next iterator, so open channels before
    joining to miss nothing. An iterator holds at most :data:`BACKLOG` messages, or
    :data:`BACKLOG_BYTES` of them, unread: past that it loses the oldest, counted in
    ``missed`` and logged."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.missed = 0  # messages a slow iterator lost
        self._received: Fanout[Received] = Fanout(BACKLOG, weigh=_size, max_weight=BACKLOG_BYTES)

    def deliver(self, received: Received) -> None:
        self._received.publish(received)

    def close(self) -> None:
        self._received.close()

    def __aiter__(self) -> AsyncIterator[Received]:
        return _Messages(self._received.iterate(), self)

    def _lost(self, count: int) -> None:
        self.missed += count
        log.warning("a reader of channel %r fell behind and lost %d messages", self.name, count)


class _Messages(AsyncIterator[Received]):
    """One iterator over a channel. Not a generator: one dropped mid-way (``anext(aiter(
    channel))``) lets go of its place at once, and what it left waits for the next."""

    def __init__(self, listener: Listener[Received], inbox: _Inbox) -> None:
        self._listener = listener
        self._inbox = inbox

    def __aiter__(self) -> _Messages:
        return self

    async def __anext__(self) -> Received:
        while isinstance(item := await anext(self._listener), EventsMissed):
            self._inbox._lost(item.count)
        return item

    async def aclose(self) -> None:
        await self._listener.aclose()


def _size(received: Received) -> int:
    return received.size


class Channel(_Inbox):
    """One named channel of a room, for JSON values and bytes."""

    def __init__(self, name: str, send_payload: SendPayload, subscribe: Subscribe) -> None:
        super().__init__(name)
        self._send_payload = send_payload
        self._subscribe = subscribe

    async def send(self, data: object, *, to: Iterable[PeerId] | None = None) -> SentPayload:
        """Send ``data`` (a JSON value, or bytes) to everyone, or to the peer ids ``to``.
        Returns once the payload is accepted; its bytes go as the channels take them:
        ``sent.progress`` says how far, ``await sent.wait()`` how it ended for each.

        Raises ValueError (bad data, unknown recipients) or PayloadTooLarge (over 64
        MiB) before anything is sent.
        """
        return await self._send_payload(self.name, data, to)

    def on(
        self, kind: type[E], handler: Callable[[E], Awaitable[None] | None]
    ) -> Callable[[], None]:
        """Call ``handler(event)`` for each event of type ``kind`` about a payload we
        sent on this channel: ``TransferProgress`` (also for
        payloads coming to us), ``PayloadDelivered`` and
        ``PayloadUndelivered``. A coroutine function runs as a
        task, as with ``room.on``. Returns what stops it."""
        if kind not in (TransferProgress, PayloadDelivered, PayloadUndelivered):
            raise TypeError(
                f"a channel reports TransferProgress and Payload(Un)Delivered, not {kind}"
            )

        def ours(event: E) -> Awaitable[None] | None:
            return handler(event) if _channel_of(event) == self.name else None

        return self._subscribe((kind,), ours)


class ChatChannel(_Inbox):
    """The channel ``"chat"``: the room's chat lines, as text."""

    def __init__(self, name: str, send_chat: SendChat) -> None:
        super().__init__(name)
        self._send_chat = send_chat

    async def send(self, data: str, *, to: Iterable[PeerId] | None = None) -> SentMessage:
        """Say ``data`` to the room, or privately to the peer ids ``to``, as
        ``room.send`` does."""
        if not isinstance(data, str):
            raise ValueError("the chat channel carries text")
        return await self._send_chat(data, to=to)


def _channel_of(event: object) -> str | None:
    match event:
        case TransferProgress(channel=channel):
            return channel
        case PayloadDelivered(header=header) | PayloadUndelivered(header=header):
            return header.channel
    return None
