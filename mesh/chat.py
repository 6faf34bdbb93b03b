"""What peers say to each other on the data channel: chat envelopes, heartbeats, bye.

Pure functions and a small de-duplication set; the driver does the sending.
"""

from __future__ import annotations

import json
import uuid
from collections import OrderedDict
from dataclasses import dataclass

from .messages import ID_PATTERN, ProtocolError, clean_nick, loads_untrusted

# The text of one chat message, in UTF-8 bytes. SCTP in aiortc and browsers handles far
# more, but a chat line this long is already a paste accident.
MAX_TEXT_BYTES = 16 * 1024
# A frame longer than this cannot be a valid envelope and is not parsed at all.
MAX_FRAME_BYTES = 64 * 1024

CHANNEL_LABEL = "chat"
# Timestamps are milliseconds since 1970; beyond the year 9999 no clock can show them.
MAX_TIMESTAMP_MS = 253_402_300_799_999


class MessageTooLarge(ValueError):
    """The text to send exceeds :data:`MAX_TEXT_BYTES`."""


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One chat line, as sent and as received.

    On receipt, ``nick`` is what the sender announced for itself when it joined (the
    frame's own ``nick`` field is not trusted), and ``(sender, id)`` identifies it.
    """

    id: str
    sender: str
    nick: str
    timestamp_ms: int
    text: str


@dataclass(frozen=True, slots=True)
class Heartbeat:
    pass


@dataclass(frozen=True, slots=True)
class ChannelBye:
    pass


@dataclass(frozen=True, slots=True)
class ChannelAck:
    """The receiver got chat message ``message_id`` (sent for duplicates too)."""

    message_id: str


ChannelMessage = ChatMessage | Heartbeat | ChannelBye | ChannelAck

HEARTBEAT_FRAME = '{"type":"heartbeat"}'
BYE_FRAME = '{"type":"bye"}'


def ack_frame(message_id: str) -> str:
    return json.dumps({"type": "ack", "id": message_id}, separators=(",", ":"))


def new_chat_message(sender: str, nick: str, text: str, timestamp_ms: int) -> ChatMessage:
    size = len(text.encode("utf-8"))
    if size > MAX_TEXT_BYTES:
        raise MessageTooLarge(
            f"message is {size} bytes; the limit is {MAX_TEXT_BYTES} bytes of UTF-8 text"
        )
    return ChatMessage(uuid.uuid4().hex, sender, nick, timestamp_ms, text)


def encode_chat(message: ChatMessage) -> str:
    return json.dumps(
        {
            "type": "chat",
            "id": message.id,
            "from": message.sender,
            "nick": message.nick,
            "ts": message.timestamp_ms,
            "text": message.text,
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )


def decode_channel_message(frame: str | bytes) -> ChannelMessage:
    """Parse one data-channel frame; raise :class:`ProtocolError` if it is invalid."""
    if len(frame) > MAX_FRAME_BYTES:
        raise ProtocolError(f"data channel frame of {len(frame)} bytes exceeds {MAX_FRAME_BYTES}")
    try:
        wire = loads_untrusted(frame)
    except ValueError as error:
        raise ProtocolError(f"data channel frame is not JSON: {error}") from None
    if not isinstance(wire, dict):
        raise ProtocolError("data channel frame is not a JSON object")
    kind = wire.get("type")
    if kind == "heartbeat":
        return Heartbeat()
    if kind == "bye":
        return ChannelBye()
    if kind == "ack":
        acked = wire.get("id")
        if not isinstance(acked, str) or not ID_PATTERN.match(acked):
            raise ProtocolError("ack without a valid 'id'")
        return ChannelAck(acked)
    if kind != "chat":
        raise ProtocolError(f"unknown data channel message type {kind!r}")
    message_id, sender, nick, ts, text = (wire.get(k) for k in ("id", "from", "nick", "ts", "text"))
    if not isinstance(message_id, str) or not ID_PATTERN.match(message_id):
        raise ProtocolError("chat message without a valid 'id'")
    if not isinstance(sender, str) or not ID_PATTERN.match(sender):
        raise ProtocolError("chat message without a valid 'from'")
    if not isinstance(nick, str):
        raise ProtocolError("chat message without a 'nick'")
    if not isinstance(ts, int) or isinstance(ts, bool) or not 0 <= ts <= MAX_TIMESTAMP_MS:
        raise ProtocolError("chat message without a valid 'ts' (milliseconds, years 1970-9999)")
    if not isinstance(text, str):
        raise ProtocolError("chat message without a 'text'")
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError:
        # JSON can carry lone surrogates ("\ud800"); no UTF-8 output can show them.
        raise ProtocolError("chat text is not valid Unicode (lone surrogate)") from None
    if size > MAX_TEXT_BYTES:
        raise ProtocolError("chat text exceeds the size limit")
    return ChatMessage(message_id, sender, clean_nick(nick), ts, text)


class RecentIds:
    """Remembers the last ``capacity`` (sender, message id) pairs, to drop duplicates.

    Keyed by sender too: an id is only unique per author, and a peer that reuses
    someone else's id must not make that author's real message look like a duplicate.
    """

    def __init__(self, capacity: int = 4096) -> None:
        self._capacity = capacity
        self._ids: OrderedDict[tuple[str, str], None] = OrderedDict()

    def seen(self, sender: str, message_id: str) -> bool:
        """True if ``sender`` sent ``message_id`` before; records it either way."""
        key = (sender, message_id)
        if key in self._ids:
            self._ids.move_to_end(key)
            return True
        self._ids[key] = None
        if len(self._ids) > self._capacity:
            self._ids.popitem(last=False)
        return False
