"""Files between peers, on the channel data plane: the protocol, as pure functions and
bookkeeping (``features/file_transfer.py`` does the disk and the waiting).

Control messages are JSON payloads on the reserved channel :data:`FILES_CHANNEL`, so
each is signed by its author like any payload (``link/payloads.py``):

    offer     {"type": "offer", "id", "name", "size", "sha256"}   sender -> recipients
    accept    {"type": "accept", "id"}                           recipient -> sender
    refuse    {"type": "refuse", "id", "reason"}                 recipient -> sender
    have      {"type": "have", "id", "bytes"}                    recipient -> sender
    received  {"type": "received", "id"}                         recipient -> sender
    failed    {"type": "failed", "id", "reason"}                 either way

``have`` confirms the bytes written so far from the start of the file, a few times a
second (the sender's progress); ``received`` says the file is saved and its SHA-256 is
the one the signed offer gave. The file's bytes are bytes payloads on
:data:`FILE_DATA_CHANNEL`, at most :data:`CHUNK_BYTES` each:

    transfer id (16 bytes) | offset (u64, big-endian) | bytes

Each chunk is acknowledged, and sent again after a rebuilt connection if it was not,
by the data plane: an interrupted transfer resumes from the last chunk that arrived.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass

from meshchat.mesh.link.chat_frames import whole_number
from meshchat.mesh.signalling.messages import ProtocolError

FILES_CHANNEL = "meshchat/files"
FILE_DATA_CHANNEL = "meshchat/file-data"
RESERVED_PREFIX = "meshchat/"  # channel names the framework keeps for itself

CHUNK_BYTES = 256 * 1024 - 64  # a chunk payload at most 256 KiB: few are held at once
DEFAULT_MAX_FILE_SIZE = 4 * 1024**3
MAX_FILE_SIZE = 2**50  # what an offer may say at all (a petabyte)
MAX_OFFERED_NAME = 1024  # characters of an offered name, before it is made safe
MAX_REASON = 200  # characters of a reason given by a peer
TRANSFER_ID_PATTERN = re.compile(r"^[0-9a-f]{32}$")
DIGEST_PATTERN = re.compile(r"^[0-9a-f]{64}$")
_CHUNK_PREFIX = struct.Struct(">16sQ")


@dataclass(frozen=True, slots=True)
class Offer:
    id: str
    name: str
    size: int
    sha256: str


@dataclass(frozen=True, slots=True)
class Accept:
    id: str


@dataclass(frozen=True, slots=True)
class Refuse:
    id: str
    reason: str


@dataclass(frozen=True, slots=True)
class Have:
    id: str
    bytes: int


@dataclass(frozen=True, slots=True)
class Saved:
    """``received``: the recipient saved the file and its digest matched."""

    id: str


@dataclass(frozen=True, slots=True)
class Failed:
    id: str
    reason: str


Control = Offer | Accept | Refuse | Have | Saved | Failed


def encode_control(message: Control) -> dict[str, object]:
    """A control message as the JSON value that travels."""
    match message:
        case Offer():
            return {
                "type": "offer",
                "id": message.id,
                "name": message.name,
                "size": message.size,
                "sha256": message.sha256,
            }
        case Accept():
            return {"type": "accept", "id": message.id}
        case Refuse():
            return {"type": "refuse", "id": message.id, "reason": message.reason}
        case Have():
            return {"type": "have", "id": message.id, "bytes": message.bytes}
        case Saved():
            return {"type": "received", "id": message.id}
        case Failed():
            return {"type": "failed", "id": message.id, "reason": message.reason}


def decode_control(value: object) -> Control:
    """A control message from a peer; ProtocolError for anything else."""
    if not isinstance(value, dict):
        raise ProtocolError("a file message that is not an object")
    kind, transfer = value.get("type"), value.get("id")
    if not isinstance(transfer, str) or not TRANSFER_ID_PATTERN.match(transfer):
        raise ProtocolError("a file message without a valid transfer id")
    match kind:
        case "offer":
            name, size, digest = value.get("name"), value.get("size"), value.get("sha256")
            if not isinstance(name, str) or not 1 <= len(name) <= MAX_OFFERED_NAME:
                raise ProtocolError(
                    f"a file offer whose name is not 1-{MAX_OFFERED_NAME} characters"
                )
            size = whole_number(size, 0, MAX_FILE_SIZE)
            if size is None:
                raise ProtocolError("a file offer with an impossible size")
            if not isinstance(digest, str) or not DIGEST_PATTERN.match(digest):
                raise ProtocolError("a file offer without a SHA-256 digest")
            return Offer(transfer, name, size, digest)
        case "accept":
            return Accept(transfer)
        case "refuse" | "failed":
            reason = value.get("reason")
            if not isinstance(reason, str):
                raise ProtocolError(f"a file {kind} message without a reason")
            reason = _printable(reason)[:MAX_REASON] or "no reason given"
            return Refuse(transfer, reason) if kind == "refuse" else Failed(transfer, reason)
        case "have":
            done = whole_number(value.get("bytes"), 0, MAX_FILE_SIZE)
            if done is None:
                raise ProtocolError("a file progress report with an impossible count")
            return Have(transfer, done)
        case "received":
            return Saved(transfer)
    raise ProtocolError(f"an unknown file message type {kind!r}")


def encode_chunk(transfer_id: str, offset: int, data: bytes) -> bytes:
    return _CHUNK_PREFIX.pack(bytes.fromhex(transfer_id), offset) + data


def decode_chunk(body: bytes) -> tuple[str, int, memoryview]:
    """A chunk payload's transfer id, offset and bytes; ProtocolError if it is short."""
    if len(body) < _CHUNK_PREFIX.size:
        raise ProtocolError("a file chunk shorter than its header")
    raw_id, offset = _CHUNK_PREFIX.unpack_from(body)
    return raw_id.hex(), offset, memoryview(body)[_CHUNK_PREFIX.size :]


class Assembly:
    """Which bytes of an incoming file have arrived: chunks may complete out of order
    (the data plane sends several at once), but the SHA-256 is taken from the start,
    so what is contiguous from offset 0 is tracked."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.contiguous = 0  # bytes from the start that have all arrived
        self._ahead: dict[int, int] = {}  # offset -> length, beyond ``contiguous``
        self._ahead_bytes = 0

    @property
    def complete(self) -> bool:
        return self.contiguous == self.size

    def add(self, offset: int, length: int) -> tuple[int, int]:
        """A chunk arrived: the range ``(start, end)`` that just became contiguous (to
        hash now; empty if none). ProtocolError for a chunk out of bounds or
        overlapping one already here."""
        end = offset + length
        if length == 0 or end > self.size:
            raise ProtocolError("a file chunk outside the offered size")
        if offset < self.contiguous or any(
            offset < o + n and o < end for o, n in self._ahead.items()
        ):
            raise ProtocolError("a file chunk overlapping bytes already received")
        self._ahead[offset] = length
        self._ahead_bytes += length
        start = self.contiguous
        while (next_length := self._ahead.pop(self.contiguous, None)) is not None:
            self._ahead_bytes -= next_length
            self.contiguous += next_length
        return start, self.contiguous

    @property
    def received(self) -> int:
        """Bytes arrived so far, contiguous or not."""
        return self.contiguous + self._ahead_bytes

    @property
    def ahead_bytes(self) -> int:
        """Bytes arrived beyond the contiguous start: bounded by the sender's window."""
        return self._ahead_bytes


def _printable(text: str) -> str:
    return "".join(ch if ch.isprintable() else " " for ch in text).strip()
