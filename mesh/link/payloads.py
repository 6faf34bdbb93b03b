"""Channel payloads on the wire: any JSON value or bytes, up to 64 MiB, in binary frames.

A payload travels as one *start* frame and as many *chunk* frames as it needs, each at
most ``MAX_CHUNK_FRAME`` bytes, so that SCTP never has to carry a large message:

    start:  0x01 | header length (u32, big-endian) | header (UTF-8 JSON) | first bytes
    chunk:  0x02 | message id (16 bytes) | offset (u64, big-endian) | bytes

The header says who wrote it (``from``, ``seq``, ``id``), on which channel (``ch``),
what it is (``kind``: ``json`` or ``bytes``), how big (``size``) and its SHA-256
(``sha256``, hex); ``to`` lists the recipients when it is not for everyone. The author
signs the header once, whatever the size (``signed_content()``); the body is bound
to it by the digest, checked when the last byte is in.

Pure functions; the data plane does the rest (``link/dataplane.py``).
"""

from __future__ import annotations

import hashlib
import json
import re
import struct
from dataclasses import dataclass, field

from meshchat.mesh.errors import MeshError
from meshchat.mesh.link.chat_frames import (
    MAX_SEQ,
    MAX_TIMESTAMP_MS,
    SIGNATURE_PATTERN,
    whole_number,
)
from meshchat.mesh.signalling.messages import ID_PATTERN, ProtocolError
from meshchat.wire.canonical import canonical, loads_untrusted

MAX_PAYLOAD_BYTES = 64 * 1024 * 1024
MAX_CHUNK_FRAME = 16 * 1024  # bytes per frame, headers included: SCTP carries it easily
MAX_HEADER_BYTES = 4096
MAX_CHANNEL_NAME = 64  # characters
MAX_RECIPIENTS = 256
CHAT_CHANNEL = "chat"  # the chat itself: text, sent as chat frames (link/chat_frames.py)
# A JSON value is parsed whole, on the event loop, into objects that take many times
# its size (25 MiB for a megabyte of "{},"): values stay small, and anything larger
# travels as bytes. The framework's own control channels carry less still.
MAX_JSON_BYTES = 1024 * 1024
RESERVED_JSON_BYTES = {"meshchat/files": 64 * 1024}

START = 0x01
CHUNK = 0x02
_START_PREFIX = struct.Struct(">BI")
_CHUNK_PREFIX = struct.Struct(">B16sQ")
CHUNK_OVERHEAD = _CHUNK_PREFIX.size
MESSAGE_ID_PATTERN = re.compile(r"^[0-9a-f]{32}$")  # 16 random bytes, hex
DIGEST_PATTERN = re.compile(r"^[0-9a-f]{64}$")
KINDS = ("json", "bytes")


class PayloadTooLarge(MeshError, ValueError):
    """A payload over ``MAX_PAYLOAD_BYTES``; nothing was sent."""


@dataclass(frozen=True, slots=True)
class PayloadHeader:
    """What a payload's start frame says. ``nick`` is filled in on receipt from what the
    author announced when it joined; it is not part of the frame."""

    id: str
    sender: str
    channel: str
    seq: int
    timestamp_ms: int
    kind: str  # "json" or "bytes"
    size: int
    sha256: str
    to: tuple[str, ...] = ()  # empty: everyone
    signature: str = ""
    nick: str = field(default="", compare=False)


def check_channel_name(name: object) -> str:
    """A channel name: 1-64 printable characters. Raise ValueError otherwise."""
    if not isinstance(name, str) or not 1 <= len(name) <= MAX_CHANNEL_NAME:
        raise ValueError(f"a channel name is 1-{MAX_CHANNEL_NAME} characters")
    if not name.isprintable():
        raise ValueError("a channel name must not contain control or format characters")
    return name


def encode_body(data: object) -> tuple[str, bytes]:
    """What an application sends, as the kind and bytes that travel. Raise ValueError
    for what is neither bytes nor a JSON value, and ``PayloadTooLarge``."""
    if isinstance(data, bytes | bytearray | memoryview):
        body = bytes(data) if not isinstance(data, bytes) else data
        kind = "bytes"
    else:
        try:
            text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError) as error:
            raise ValueError(f"a payload is bytes or a JSON value: {error}") from None
        body = text.encode("utf-8", "surrogatepass")
        kind = "json"
    if len(body) > MAX_PAYLOAD_BYTES:
        raise PayloadTooLarge(
            f"payload is {len(body)} bytes; the limit is {MAX_PAYLOAD_BYTES} bytes (64 MiB)"
        )
    return kind, body


def json_limit(channel: str) -> int:
    """The most bytes a JSON value on ``channel`` may take."""
    return RESERVED_JSON_BYTES.get(channel, MAX_JSON_BYTES)


def check_json_size(channel: str, size: int) -> None:
    """Raise ``PayloadTooLarge`` for a JSON value too large for ``channel``."""
    if size > (limit := json_limit(channel)):
        raise PayloadTooLarge(
            f"a JSON value of {size} bytes; the limit is {limit} bytes on {channel!r}:"
            " send larger data as bytes"
        )


def decode_json_body(body: bytes) -> object:
    """A received ``json`` payload's value; ProtocolError if it is not valid JSON."""
    try:
        return loads_untrusted(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise ProtocolError(f"a json payload that is not valid JSON: {error}") from None


def new_header(
    sender: str,
    channel: str,
    seq: int,
    timestamp_ms: int,
    kind: str,
    body: bytes,
    to: tuple[str, ...],
    message_id: str,
) -> PayloadHeader:
    return PayloadHeader(
        id=message_id,
        sender=sender,
        channel=channel,
        seq=seq,
        timestamp_ms=timestamp_ms,
        kind=kind,
        size=len(body),
        sha256=hashlib.sha256(body).hexdigest(),
        to=tuple(sorted(set(to))),
    )


def signed_content(header: PayloadHeader, room: str) -> bytes:
    """What the author signs: the whole header but the nick, bound to the room."""
    content: dict[str, object] = {
        "room": room,
        "channel": header.channel,
        "id": header.id,
        "seq": header.seq,
        "from": header.sender,
        "ts": header.timestamp_ms,
        "kind": header.kind,
        "size": header.size,
        "sha256": header.sha256,
    }
    if header.to:
        content["to"] = list(header.to)
    return canonical(content)


def encode_header(header: PayloadHeader) -> bytes:
    wire: dict[str, object] = {
        "type": "data",
        "id": header.id,
        "from": header.sender,
        "ch": header.channel,
        "seq": header.seq,
        "ts": header.timestamp_ms,
        "kind": header.kind,
        "size": header.size,
        "sha256": header.sha256,
        "sig": header.signature,
    }
    if header.to:
        wire["to"] = list(header.to)
    return json.dumps(wire, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def start_frame(encoded_header: bytes, body: memoryview) -> tuple[bytes, int]:
    """The start frame, with as much of ``body`` as fits; and how much that was."""
    room = MAX_CHUNK_FRAME - _START_PREFIX.size - len(encoded_header)
    first = body[:room]
    prefix = _START_PREFIX.pack(START, len(encoded_header))
    return b"".join((prefix, encoded_header, first)), len(first)


def chunk_frame(message_id: str, offset: int, body: memoryview) -> tuple[bytes, int]:
    """The chunk frame of ``body`` at ``offset``, as much as fits; and how much that was."""
    piece = body[offset : offset + MAX_CHUNK_FRAME - CHUNK_OVERHEAD]
    prefix = _CHUNK_PREFIX.pack(CHUNK, bytes.fromhex(message_id), offset)
    return prefix + piece, len(piece)


@dataclass(frozen=True, slots=True)
class StartFrame:
    header: PayloadHeader
    data: bytes


@dataclass(frozen=True, slots=True)
class ChunkFrame:
    message_id: str
    offset: int
    data: bytes


def decode_binary_frame(frame: bytes) -> StartFrame | ChunkFrame:
    """Parse a binary frame; raise ``ProtocolError`` if any of it is invalid."""
    if len(frame) > MAX_CHUNK_FRAME:
        raise ProtocolError(f"binary frame of {len(frame)} bytes exceeds {MAX_CHUNK_FRAME}")
    if not frame:
        raise ProtocolError("empty binary frame")
    if frame[0] == CHUNK:
        if len(frame) <= CHUNK_OVERHEAD:
            raise ProtocolError("chunk frame without data")
        _, raw_id, offset = _CHUNK_PREFIX.unpack_from(frame)
        return ChunkFrame(raw_id.hex(), offset, frame[CHUNK_OVERHEAD:])
    if frame[0] != START:
        raise ProtocolError(f"unknown binary frame type {frame[0]}")
    if len(frame) < _START_PREFIX.size:
        raise ProtocolError("start frame too short")
    _, length = _START_PREFIX.unpack_from(frame)
    end = _START_PREFIX.size + length
    if length > MAX_HEADER_BYTES or end > len(frame):
        raise ProtocolError("start frame with a header longer than the frame or the limit")
    header = _header(frame[_START_PREFIX.size : end])
    return StartFrame(header, frame[end:])


def _header(raw: bytes) -> PayloadHeader:
    try:
        wire = loads_untrusted(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise ProtocolError(f"payload header is not JSON: {error}") from None
    if not isinstance(wire, dict) or wire.get("type") != "data":
        raise ProtocolError("payload header is not a data object")
    message_id, sender, channel, kind, digest, sig = (
        wire.get(k) for k in ("id", "from", "ch", "kind", "sha256", "sig")
    )
    if not isinstance(message_id, str) or not MESSAGE_ID_PATTERN.match(message_id):
        raise ProtocolError("payload without a valid 'id' (32 hex digits)")
    if not isinstance(sender, str) or not ID_PATTERN.match(sender):
        raise ProtocolError("payload without a valid 'from'")
    try:
        check_channel_name(channel)
    except ValueError as error:
        raise ProtocolError(f"payload with an invalid 'ch': {error}") from None
    assert isinstance(channel, str)
    if channel == CHAT_CHANNEL:
        raise ProtocolError("the chat channel carries chat frames, not payloads")
    if kind not in KINDS:
        raise ProtocolError(f"payload 'kind' must be one of {', '.join(KINDS)}")
    if not isinstance(digest, str) or not DIGEST_PATTERN.match(digest):
        raise ProtocolError("payload without a valid 'sha256' (64 hex digits)")
    if not isinstance(sig, str) or not SIGNATURE_PATTERN.match(sig):
        raise ProtocolError("payload without a valid 'sig'")
    seq = whole_number(wire.get("seq"), 1, MAX_SEQ)
    ts = whole_number(wire.get("ts"), 0, MAX_TIMESTAMP_MS)
    size = whole_number(wire.get("size"), 0, MAX_PAYLOAD_BYTES)
    if seq is None or ts is None or size is None:
        raise ProtocolError("payload without a valid 'seq', 'ts' or 'size'")
    return PayloadHeader(
        message_id, sender, channel, seq, ts, str(kind), size, digest, _recipients(wire), sig
    )


def _recipients(wire: dict[str, object]) -> tuple[str, ...]:
    if "to" not in wire:
        return ()
    to = wire["to"]
    if (
        not isinstance(to, list)
        or not 1 <= len(to) <= MAX_RECIPIENTS
        or not all(isinstance(p, str) and ID_PATTERN.match(p) for p in to)
        or to != sorted(set(to))
    ):
        raise ProtocolError(f"payload 'to' must be 1-{MAX_RECIPIENTS} distinct peer ids, sorted")
    return tuple(to)
