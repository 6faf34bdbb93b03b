"""What peers say to each other on the data channel: chat envelopes, heartbeats, bye,
acknowledgements.

Every chat message carries its author's sequence number. Receivers acknowledge in
batches: the sequence numbers received, as ranges, ride on the next frame they send to
that peer anyway (``"acks"``), or in an ``ack`` frame of their own after a short delay.

Pure functions and a small de-duplication set; the data plane does the rest.
"""

from __future__ import annotations

import json
import re
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from meshchat.mesh.errors import MeshError
from meshchat.mesh.signalling.messages import ID_PATTERN, ProtocolError, clean_nick
from meshchat.wire.canonical import canonical, loads_untrusted
from meshchat.wire.canonical import json_string as _json_string

# The text of one chat message, in UTF-8 bytes. SCTP in aiortc and browsers handles far
# more, but a chat line this long is already a paste accident.
MAX_TEXT_BYTES = 16 * 1024
# A frame longer than this cannot be a valid envelope and is not parsed at all.
MAX_FRAME_BYTES = 64 * 1024

CHANNEL_LABEL = "chat"
# Timestamps are milliseconds since 1970; beyond the year 9999 no clock can show them.
MAX_TIMESTAMP_MS = 253_402_300_799_999
MAX_SEQ = 2**53 - 1  # what a JavaScript number holds exactly
MAX_ACK_RANGES = 64
MAX_PRIVATE_RECIPIENTS = 64
# A seal for the most recipients (32 + 48 each), and sealed text of the longest line,
# both base64url: what a private line may carry at most.
MAX_SEAL_CHARS = -(-(32 + 48 * MAX_PRIVATE_RECIPIENTS) * 4 // 3)
MAX_SEALED_CHARS = -(-(MAX_TEXT_BYTES + 16) * 4 // 3)
B64URL_PATTERN = re.compile(r"^[A-Za-z0-9_-]*$")
SIGNATURE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{86}$")  # 64 bytes, base64url unpadded

# Sequence numbers acknowledged, as inclusive (first, last) ranges.
AckRanges = tuple[tuple[int, int], ...]


class MessageTooLarge(MeshError, ValueError):
    """The text to send exceeds ``MAX_TEXT_BYTES``."""


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One chat line, as sent and as received.

    On receipt, ``nick`` is what the sender announced for itself when it joined (the
    frame's own ``nick`` field is not trusted), and ``(sender, id)`` identifies it.
    ``to`` names the members a private line was sealed to (empty: the whole room).
    """

    id: str
    sender: str
    nick: str
    timestamp_ms: int
    text: str
    seq: int = 0  # the author's sequence number, from 1
    signature: str = ""  # the author's Ed25519 signature over signed_content()
    to: tuple[str, ...] = ()

    @property
    def private(self) -> bool:
        """Whether this is a private line, sealed to chosen members (``to``)."""
        return bool(self.to)


@dataclass(frozen=True, slots=True)
class PrivateLine:
    """A private chat line as it travels: its text sealed to the members ``to``
    (``private/seal.py``), the seal and the sealed text base64url; signed by its author
    over :func:`private_signed_content`. ``private/lines.py`` seals and opens it."""

    id: str
    sender: str
    nick: str
    timestamp_ms: int
    seq: int
    to: tuple[str, ...]
    seal: str
    sealed: str
    signature: str = ""


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """Also how round trips are measured (link/round_trip.py): ``ping`` is the sender's
    clock in ms; ``pong`` echoes the last ping it had from us, with the ms it held it."""

    ping: int | None = None
    pong: tuple[int, int] | None = None


@dataclass(frozen=True, slots=True)
class ChannelBye:
    pass


@dataclass(frozen=True, slots=True)
class ChannelAck:
    """An acknowledgement on its own (acks usually ride on other frames)."""


ChannelMessage = ChatMessage | PrivateLine | Heartbeat | ChannelBye | ChannelAck

HEARTBEAT_FRAME = '{"type":"heartbeat"}'  # a bare one, as valid as one with ping and pong
MAX_PONG_HOLD_MS = 60_000  # a ping is echoed by the next heartbeat, a second later
BYE_FRAME = '{"type":"bye"}'
ACK_FRAME = '{"type":"ack"}'


def with_acks(frame: str, acks: AckRanges) -> str:
    """``frame`` (a JSON object) carrying ``acks`` too. Spliced in as text, so a message
    encoded once can go to many peers, each with its own acknowledgements."""
    if not acks:
        return frame
    ranges = json.dumps([list(r) for r in acks], separators=(",", ":"))
    return f'{frame[:-1]},"acks":{ranges}}}'


def as_ranges(seqs: set[int]) -> AckRanges:
    """Sorted sequence numbers as inclusive ranges: {1, 2, 3, 7} -> ((1, 3), (7, 7))."""
    ranges: list[tuple[int, int]] = []
    for seq in sorted(seqs):
        if ranges and seq == ranges[-1][1] + 1:
            ranges[-1] = (ranges[-1][0], seq)
        else:
            ranges.append((seq, seq))
    return tuple(ranges)


def new_message_id() -> str:
    """16 random bytes, hex: unique per author (a payload's chunk frames carry it raw)."""
    return uuid.uuid4().hex


def new_chat_message(
    sender: str, nick: str, text: str, timestamp_ms: int, seq: int, message_id: str
) -> ChatMessage:
    size = len(text.encode("utf-8"))
    if size > MAX_TEXT_BYTES:
        raise MessageTooLarge(
            f"message is {size} bytes; the limit is {MAX_TEXT_BYTES} bytes of UTF-8 text"
        )
    return ChatMessage(message_id, sender, nick, timestamp_ms, text, seq)


def signed_content(message: ChatMessage, room: str) -> bytes:
    """What the author signs: everything a message says but the nick (which is not the
    author's to vouch for per message), bound to the room and the channel. Canonical
    JSON, as signalling signs.

    Every receiver builds this for every message it checks, so it is written out here
    with the keys in canonical order rather than sorted by ``canonical()`` each time:
    the same bytes (tested against it) at about a fifth of the cost."""
    return (
        f'{{"channel":"{CHANNEL_LABEL}","from":{_json_string(message.sender)},'
        f'"id":{_json_string(message.id)},"room":{_json_string(room)},"seq":{message.seq},'
        f'"text":{_json_string(message.text)},"ts":{message.timestamp_ms}}}'
    ).encode()


def chat_fields(message: ChatMessage) -> dict[str, Any]:
    """A chat frame's fields (what ``read_chat_message`` reads back)."""
    return {
        "type": "chat",
        "id": message.id,
        "seq": message.seq,
        "from": message.sender,
        "nick": message.nick,
        "ts": message.timestamp_ms,
        "text": message.text,
        "sig": message.signature,
    }


def encode_chat(message: ChatMessage) -> str:
    return json.dumps(chat_fields(message), ensure_ascii=False, separators=(",", ":"))


def private_signed_content(line: PrivateLine, room: str) -> bytes:
    """What the author of a private line signs: all it says but the nick, bound to the
    room and the channel, the sealed text as it travels (relays can check it)."""
    return canonical(
        {
            "channel": CHANNEL_LABEL,
            "from": line.sender,
            "id": line.id,
            "room": room,
            "seq": line.seq,
            "ts": line.timestamp_ms,
            "to": list(line.to),
            "seal": line.seal,
            "sealed": line.sealed,
        }
    )


def private_fields(line: PrivateLine) -> dict[str, Any]:
    """A private line's frame fields (what ``read_private_line`` reads back)."""
    return {
        "type": "chat",
        "id": line.id,
        "seq": line.seq,
        "from": line.sender,
        "nick": line.nick,
        "ts": line.timestamp_ms,
        "to": list(line.to),
        "seal": line.seal,
        "sealed": line.sealed,
        "sig": line.signature,
    }


def encode_private(line: PrivateLine) -> str:
    return json.dumps(private_fields(line), ensure_ascii=False, separators=(",", ":"))


def decode_channel_message(frame: str | bytes) -> ChannelMessage:
    """Parse one data-channel frame; raise ``ProtocolError`` if it is invalid."""
    return decode_channel_frame(frame)[0]


def decode_channel_frame(frame: str | bytes) -> tuple[ChannelMessage, AckRanges]:
    """Parse one data-channel frame: what it says, and the acknowledgements it carries.
    Raise ``ProtocolError`` if any of it is invalid."""
    if len(frame) > MAX_FRAME_BYTES:
        raise ProtocolError(f"data channel frame of {len(frame)} bytes exceeds {MAX_FRAME_BYTES}")
    try:
        wire = loads_untrusted(frame)
    except ValueError as error:
        raise ProtocolError(f"data channel frame is not JSON: {error}") from None
    if not isinstance(wire, dict):
        raise ProtocolError("data channel frame is not a JSON object")
    acks = _ack_ranges(wire.get("acks", []))
    kind = wire.get("type")
    if kind == "heartbeat":
        return _heartbeat(wire), acks
    if kind == "bye":
        return ChannelBye(), acks
    if kind == "ack":
        return ChannelAck(), acks
    if kind != "chat":
        raise ProtocolError(f"unknown data channel message type {kind!r}")
    if "to" in wire:
        return read_private_line(wire), acks
    return _chat(wire), acks


def encode_heartbeat(ping: int, pong: tuple[int, int] | None) -> str:
    pong_field = f',"pong":[{pong[0]},{pong[1]}]' if pong is not None else ""
    return f'{{"type":"heartbeat","ping":{ping}{pong_field}}}'


def _heartbeat(wire: dict[str, Any]) -> Heartbeat:
    ping = wire.get("ping")
    if ping is not None and (ping := whole_number(ping, 0, MAX_SEQ)) is None:
        raise ProtocolError("a heartbeat's 'ping' must be a whole number of milliseconds")
    raw_pong = wire.get("pong")
    if raw_pong is None:
        return Heartbeat(ping)
    if not (isinstance(raw_pong, list) and len(raw_pong) == 2):
        raise ProtocolError("a heartbeat's 'pong' must be [ping, milliseconds held]")
    echoed = whole_number(raw_pong[0], 0, MAX_SEQ)
    held = whole_number(raw_pong[1], 0, MAX_PONG_HOLD_MS)
    if echoed is None or held is None:
        raise ProtocolError("a heartbeat's 'pong' must be [ping, milliseconds held]")
    return Heartbeat(ping, (echoed, held))


def _ack_ranges(raw: object) -> AckRanges:
    if not isinstance(raw, list) or len(raw) > MAX_ACK_RANGES:
        raise ProtocolError(f"'acks' must be a list of at most {MAX_ACK_RANGES} ranges")
    ranges = []
    for pair in raw:
        if not (isinstance(pair, list) and len(pair) == 2):
            raise ProtocolError("an ack range must be [first, last] sequence numbers")
        first, last = (whole_number(n, 1, MAX_SEQ) for n in pair)
        if first is None or last is None:
            raise ProtocolError("an ack range must be [first, last] sequence numbers")
        if first > last:
            raise ProtocolError("an ack range must not run backwards")
        ranges.append((first, last))
    return tuple(ranges)


def whole_number(value: object, low: int, high: int) -> int | None:
    """``value`` as a whole number within [low, high], or None. JSON has one number
    type: ``1.0`` is the whole number 1 to JavaScript, so it is here too."""
    if type(value) is int and low <= value <= high:
        return value  # the usual case, first: every frame has a few of these
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:
        return value
    return None


def read_chat_message(wire: dict[str, object]) -> ChatMessage:
    """A chat message from the fields of a chat frame (checked as a frame's are);
    ProtocolError if any is invalid."""
    return _chat(wire)


def read_private_line(wire: dict[str, object]) -> PrivateLine:
    """A private line from the fields of its frame; ProtocolError if any is invalid
    (whether it opens is for its recipients to find out: private/lines.py)."""
    seq = whole_number(wire.get("seq"), 1, MAX_SEQ)
    ts = whole_number(wire.get("ts"), 0, MAX_TIMESTAMP_MS)
    if seq is None or ts is None:
        raise ProtocolError("private line without a valid 'seq' and 'ts'")
    message_id, sender, nick, sig = (wire.get(k) for k in ("id", "from", "nick", "sig"))
    if not isinstance(sig, str) or not SIGNATURE_PATTERN.match(sig):
        raise ProtocolError("private line without a valid 'sig'")
    if not isinstance(message_id, str) or not ID_PATTERN.match(message_id):
        raise ProtocolError("private line without a valid 'id'")
    if not isinstance(sender, str) or not ID_PATTERN.match(sender):
        raise ProtocolError("private line without a valid 'from'")
    if not isinstance(nick, str):
        raise ProtocolError("private line without a 'nick'")
    to = wire.get("to")
    if (
        not isinstance(to, list)
        or not 1 <= len(to) <= MAX_PRIVATE_RECIPIENTS
        or not all(isinstance(p, str) and ID_PATTERN.match(p) for p in to)
        or to != sorted(set(to))
    ):
        raise ProtocolError(
            f"private line 'to' must be 1-{MAX_PRIVATE_RECIPIENTS} distinct peer ids, sorted"
        )
    seal, sealed = wire.get("seal"), wire.get("sealed")
    if not isinstance(seal, str) or len(seal) > MAX_SEAL_CHARS or not B64URL_PATTERN.match(seal):
        raise ProtocolError("private line without a valid 'seal'")
    if (
        not isinstance(sealed, str)
        or len(sealed) > MAX_SEALED_CHARS
        or not B64URL_PATTERN.match(sealed)
    ):
        raise ProtocolError("private line without a valid 'sealed' text")
    return PrivateLine(message_id, sender, clean_nick(nick), ts, seq, tuple(to), seal, sealed, sig)


def _chat(wire: dict[str, object]) -> ChatMessage:
    seq = whole_number(wire.get("seq"), 1, MAX_SEQ)
    if seq is None:
        raise ProtocolError("chat message without a valid 'seq'")
    ts = whole_number(wire.get("ts"), 0, MAX_TIMESTAMP_MS)
    if ts is None:
        raise ProtocolError("chat message without a valid 'ts' (milliseconds, years 1970-9999)")
    message_id, sender, nick, text, sig = (
        wire.get("id"),
        wire.get("from"),
        wire.get("nick"),
        wire.get("text"),
        wire.get("sig"),
    )
    if not isinstance(sig, str) or not SIGNATURE_PATTERN.match(sig):
        raise ProtocolError("chat message without a valid 'sig'")
    if not isinstance(message_id, str) or not ID_PATTERN.match(message_id):
        raise ProtocolError("chat message without a valid 'id'")
    if not isinstance(sender, str) or not ID_PATTERN.match(sender):
        raise ProtocolError("chat message without a valid 'from'")
    if not isinstance(nick, str):
        raise ProtocolError("chat message without a 'nick'")
    if not isinstance(text, str):
        raise ProtocolError("chat message without a 'text'")
    # Every receiver checks every chat line: ASCII text needs no encoding to be measured.
    if text.isascii():
        size = len(text)  # one byte a character, and no lone surrogates
    else:
        try:
            size = len(text.encode("utf-8"))
        except UnicodeEncodeError:
            # JSON can carry lone surrogates ("\ud800"); no UTF-8 output can show them.
            raise ProtocolError("chat text is not valid Unicode (lone surrogate)") from None
    if size > MAX_TEXT_BYTES:
        raise ProtocolError("chat text exceeds the size limit")
    return ChatMessage(message_id, sender, clean_nick(nick), ts, text, seq, sig)


class RecentIds:
    """Remembers the last ``capacity`` (sender, message id) pairs, to drop duplicates.

    Keyed by sender too: an id is only unique per author, and a peer that reuses
    someone else's id must not make that author's real message look like a duplicate.
    """

    def __init__(self, capacity: int = 4096) -> None:
        self._capacity = capacity
        self._ids: OrderedDict[tuple[str, str], None] = OrderedDict()

    def has(self, sender: str, message_id: str) -> bool:
        """True if ``sender`` sent ``message_id`` before; records nothing."""
        return (sender, message_id) in self._ids

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
