"""Payloads relayed through a partial mesh in pieces: bytes, and JSON values too big
for one envelope. Sans-I/O: cutting a payload into part bodies, and putting the parts
an author sent back together.

A relayed envelope is at most 16 KiB (``gossip.MAX_BINARY_FRAME``), so a payload of
up to 64 MiB travels as ``count`` envelopes, each with :data:`PART_BYTES` of it
attached (the last with the rest) and a body naming the payload:

    {"type": "part", "channel", "id", "ts", "kind", "size", "i", "count", "digest"}

Every part is signed by its author like any envelope (``digest`` is the SHA-256 of
the bytes attached), because every relay checks each envelope before forwarding it: a
signature over the whole payload alone would let a relay pass on garbage for a whole
transfer before anyone could tell. Gossip delivers an author's envelopes in order and
an author sends one relayed payload at a time, so the parts of a payload arrive one
after another: a part out of turn means one was lost for good (gossip gave up waiting
for it), and the payload is dropped.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

from .chat import MAX_TIMESTAMP_MS, whole_number
from .messages import ID_PATTERN, ProtocolError
from .payloads import KINDS, MAX_PAYLOAD_BYTES, check_channel_name

PART_BYTES = 10 * 1024  # attached to one envelope, leaving room for 64 recipients' ids
MAX_PARTS = -(-MAX_PAYLOAD_BYTES // PART_BYTES)
STALL_SECONDS = 60.0  # a payload whose next part has not come for this long is dropped
MAX_ASSEMBLING_BYTES = 256 * 1024 * 1024  # half-received, all authors together


def part_count(size: int) -> int:
    return max(1, -(-size // PART_BYTES))


def part_body(
    channel: str, message_id: str, timestamp_ms: int, kind: str, size: int, index: int
) -> dict[str, Any]:
    """The body of part ``index`` of a payload (gossip adds the digest of its bytes)."""
    return {
        "type": "part",
        "channel": channel,
        "id": message_id,
        "ts": timestamp_ms,
        "kind": kind,
        "size": size,
        "i": index,
        "count": part_count(size),
    }


@dataclass(frozen=True, slots=True)
class RelayedPart:
    channel: str
    message_id: str
    timestamp_ms: int
    kind: str
    size: int
    index: int
    count: int
    data: bytes


def read_part(body: dict[str, Any], attachment: bytes) -> RelayedPart:
    """A part body with its bytes; ProtocolError if a field is invalid or the bytes are
    not as long as the part's place in the payload says."""
    channel, message_id, kind = body.get("channel"), body.get("id"), body.get("kind")
    timestamp_ms = whole_number(body.get("ts"), 0, MAX_TIMESTAMP_MS)
    size = whole_number(body.get("size"), 0, MAX_PAYLOAD_BYTES)
    index = whole_number(body.get("i"), 0, MAX_PARTS - 1)
    count = whole_number(body.get("count"), 1, MAX_PARTS)
    try:
        check_channel_name(channel)
    except ValueError as error:
        raise ProtocolError(str(error)) from None
    assert isinstance(channel, str)
    if not isinstance(message_id, str) or not ID_PATTERN.match(message_id):
        raise ProtocolError("a relayed part without a valid 'id'")
    if kind not in KINDS:
        raise ProtocolError(f"a relayed part's 'kind' is one of {', '.join(KINDS)}")
    if timestamp_ms is None or size is None or index is None or count is None:
        raise ProtocolError("a relayed part without valid 'ts', 'size', 'i' and 'count'")
    if count != part_count(size) or index >= count:
        raise ProtocolError("a relayed part whose 'i' and 'count' do not fit its 'size'")
    expected = min(PART_BYTES, size - index * PART_BYTES)
    if len(attachment) != expected:
        raise ProtocolError(f"relayed part {index} holds {len(attachment)} bytes, not {expected}")
    return RelayedPart(channel, message_id, timestamp_ms, kind, size, index, count, attachment)


@dataclass(frozen=True, slots=True)
class Assembled:
    """A whole relayed payload: its bytes in ``body``, read from the start."""

    author: str
    part: RelayedPart  # the last one: channel, id, kind, size and timestamp
    sha256: str
    body: IO[bytes]


@dataclass
class _Assembly:
    message_id: str
    size: int
    next: int
    sink: IO[bytes]
    digest: Any  # hashlib's running SHA-256
    last_part_at: float


class PartAssembler:
    """Relayed payloads being put back together, one per author at a time."""

    def __init__(self, new_sink: Callable[[int], IO[bytes]]) -> None:
        self._new_sink = new_sink
        self._assemblies: dict[str, _Assembly] = {}
        self._bytes = 0  # the sizes of the payloads being assembled
        self.lost = 0  # payloads dropped unfinished

    def add(self, author: str, part: RelayedPart, now: float) -> Assembled | None:
        """Part of ``author``'s payload, in its order; the payload once it is whole.
        Raises ValueError (with what went wrong) when a payload is dropped: a part
        lost on the way, or too much half-received already."""
        assembly = self._assemblies.get(author)
        if assembly is not None and (
            part.message_id != assembly.message_id or part.index != assembly.next
        ):
            self._drop(author)
            if part.index != 0 or part.message_id == assembly.message_id:
                raise ValueError(f"part {assembly.next} of payload {assembly.message_id} was lost")
            assembly = None  # the author moved on to a new payload: start on it
        if assembly is None:
            if part.index != 0:
                raise ValueError(f"payload {part.message_id} began before we could hear it")
            if self._bytes + part.size > MAX_ASSEMBLING_BYTES:
                raise ValueError(
                    f"{self._bytes} bytes of relayed payloads are half-received already"
                )
            assembly = _Assembly(
                part.message_id, part.size, 0, self._new_sink(part.size), hashlib.sha256(), now
            )
            self._assemblies[author] = assembly
            self._bytes += part.size
        assembly.sink.write(part.data)
        assembly.digest.update(part.data)
        assembly.next += 1
        assembly.last_part_at = now
        if assembly.next < part.count:
            return None
        del self._assemblies[author]
        self._bytes -= assembly.size
        assembly.sink.seek(0)
        return Assembled(author, part, assembly.digest.hexdigest(), assembly.sink)

    def expire(self, now: float) -> list[str]:
        """Drop payloads whose next part is overdue; what was dropped, to log."""
        stalled = [
            author
            for author, assembly in self._assemblies.items()
            if now - assembly.last_part_at > STALL_SECONDS
        ]
        dropped = [f"{self._assemblies[author].message_id} from {author}" for author in stalled]
        for author in stalled:
            self._drop(author)
        return dropped

    def forget(self, author: str) -> None:
        """The author left: its half-received payload will never be whole."""
        if author in self._assemblies:
            self._drop(author)

    def close(self) -> None:
        for assembly in self._assemblies.values():
            assembly.sink.close()
        self._assemblies.clear()
        self._bytes = 0

    def _drop(self, author: str) -> None:
        self.lost += 1
        assembly = self._assemblies.pop(author)
        self._bytes -= assembly.size
        assembly.sink.close()
