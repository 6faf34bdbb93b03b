"""Payloads relayed through a partial mesh in pieces: bytes, and JSON values too big
for one envelope. Sans-I/O: cutting a payload into part bodies, and putting the parts
an author sent back together.

A relayed envelope is at most 16 KiB (``gossip.MAX_BINARY_FRAME``), so a payload of
up to 64 MiB travels as ``count`` envelopes, each with :data:`PART_BYTES` of it
attached (the last with the rest) and a body naming the payload:

    {"type": "part", "channel", "id", "ts", "kind", "size", "i", "count", "digest"}

A payload relayed to chosen members is sealed to their keys (``private/seal.py``):
every part body carries the same ``seal``, and its bytes are encrypted under the
content key the seal gives its recipients, the part number as the nonce, so relays
forward what they cannot read. A sealed part carries :data:`SEALED_PART_BYTES` of the
payload (and the 16 bytes of its tag), leaving room for the seal of 64 recipients.

Every part is signed by its author like any envelope (``digest`` is the SHA-256 of
the bytes attached), because every relay checks each envelope before forwarding it: a
signature over the whole payload alone would let a relay pass on garbage for a whole
transfer before anyone could tell. Parts usually arrive in order (gossip keeps an
author's order, and an author sends one relayed payload at a time), but not always:
on a loaded machine a part can be late by more than gossip waits for it, and comes
after its successors. So parts are written where they belong, in any order, and a
payload is dropped only when no part of it has come for ``STALL_SECONDS``. Whole
payloads are handed on in their author's order (by the relay number ``n`` of their
parts): one that is whole waits for an earlier one still missing a part, for
``ORDER_WAIT`` at most.

What is half-received counts by the bytes that have come, never by the size a first
part declares: against its author, against the link that brought its first part, and
against everyone's budget, where the author holding the most gives way first. So
parts of a few huge payloads, sent by a few members together, hold only what they
actually sent, and cannot crowd out another member's payload.
"""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

from meshchat.mesh.link.chat_frames import MAX_TIMESTAMP_MS, whole_number
from meshchat.mesh.link.payloads import KINDS, MAX_PAYLOAD_BYTES, check_channel_name, json_limit
from meshchat.mesh.signalling.messages import ID_PATTERN, ProtocolError

PART_BYTES = 10 * 1024  # attached to one envelope, leaving room for 64 recipients' ids
SEALED_PART_BYTES = 8 * 1024  # ... and for the seal of 64 recipients too
TAG_BYTES = 16  # a sealed part's AES-GCM tag
MAX_PARTS = -(-MAX_PAYLOAD_BYTES // SEALED_PART_BYTES)
# A seal for 64 recipients (32 + 48 each), base64url.
MAX_SEAL_CHARS = -(-(32 + 48 * 64) * 4 // 3)
SEAL_PATTERN = re.compile(r"^[A-Za-z0-9_-]+$")
STALL_SECONDS = 60.0  # a payload with no new part for this long is dropped
MAX_ASSEMBLING_BYTES = 256 * 1024 * 1024  # half-received and held, all authors together
# Of one author, half-received at once: an author sends one payload at a time, but a
# part may be repaired seconds late while the next payloads (a file's chunks) arrive.
MAX_PAYLOADS_PER_AUTHOR = 64
MAX_AUTHOR_BYTES = MAX_PAYLOAD_BYTES + 16 * 1024 * 1024  # held, so no author fills it
# Held for payloads whose first part one link brought, whoever their authors: a link
# cannot fill the budget through identities it vouches for.
MAX_LINK_BYTES = MAX_AUTHOR_BYTES
ORDER_WAIT = 10.0  # a whole payload waits this long at most for an earlier one
MAX_FINISHED = 4096  # payloads done with, remembered so that late parts start nothing


def part_bytes(sealed: bool) -> int:
    """How much of a payload one part carries."""
    return SEALED_PART_BYTES if sealed else PART_BYTES


def part_count(size: int, sealed: bool = False) -> int:
    return max(1, -(-size // part_bytes(sealed)))


def part_body(
    channel: str,
    message_id: str,
    timestamp_ms: int,
    kind: str,
    size: int,
    index: int,
    seal: str = "",
) -> dict[str, Any]:
    """The body of part ``index`` of a payload (gossip adds the digest of its bytes);
    with ``seal`` (base64url), of a payload sealed to its recipients."""
    body = {
        "type": "part",
        "channel": channel,
        "id": message_id,
        "ts": timestamp_ms,
        "kind": kind,
        "size": size,
        "i": index,
        "count": part_count(size, bool(seal)),
    }
    if seal:
        body["seal"] = seal
    return body


@dataclass(frozen=True, slots=True)
class RelayedPart:
    channel: str
    message_id: str
    timestamp_ms: int
    kind: str
    size: int
    index: int
    count: int
    data: bytes  # its bytes; sealed, until its recipient opens them
    seal: str = ""  # base64url: a part of a payload sealed to its recipients

    @property
    def part_bytes(self) -> int:
        return part_bytes(bool(self.seal))


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
    seal = body.get("seal", "")
    if seal != "" and not (
        isinstance(seal, str) and len(seal) <= MAX_SEAL_CHARS and SEAL_PATTERN.match(seal)
    ):
        raise ProtocolError("a relayed part with an invalid 'seal'")
    assert isinstance(seal, str)
    if count != part_count(size, bool(seal)) or index >= count:
        raise ProtocolError("a relayed part whose 'i' and 'count' do not fit its 'size'")
    if kind == "json" and size > json_limit(channel):
        raise ProtocolError(f"a relayed JSON value of {size} bytes is over the limit")
    carried = part_bytes(bool(seal))
    expected = min(carried, size - index * carried) + (TAG_BYTES if seal else 0)
    if len(attachment) != expected:
        raise ProtocolError(f"relayed part {index} holds {len(attachment)} bytes, not {expected}")
    return RelayedPart(
        channel, message_id, timestamp_ms, kind, size, index, count, attachment, seal
    )


@dataclass(frozen=True, slots=True)
class Assembled:
    """A whole relayed payload: its bytes in ``body``, read from the start."""

    author: str
    part: RelayedPart  # the last one: channel, id, kind, size and timestamp
    sha256: str
    body: IO[bytes]
    addressed: bool = False  # to chosen members, us among them: it wants a receipt


@dataclass
class _Assembly:
    first: RelayedPart  # what every later part must agree with
    sink: IO[bytes]
    have: set[int]
    digest: Any  # hashlib's running SHA-256 over the parts that came in order
    hashed: int  # parts 0 .. hashed - 1 are in ``digest``
    last_part_at: float
    lowest_n: int  # the lowest relay number of its parts seen: its place in the order
    via: str  # the link that brought its first part
    addressed: bool = False
    held: int = 0  # bytes of its parts written so far
    whole: Assembled | None = None  # once every part is in, waiting for its turn
    whole_at: float = 0.0

    def fits(self, part: RelayedPart) -> bool:
        first = self.first
        return (part.channel, part.timestamp_ms, part.kind, part.size, part.seal) == (
            first.channel,
            first.timestamp_ms,
            first.kind,
            first.size,
            first.seal,
        )


class PartAssembler:
    """Relayed payloads being put back together, parts in any order."""

    def __init__(self, new_sink: Callable[[int], IO[bytes]]) -> None:
        self._new_sink = new_sink
        self._assemblies: dict[tuple[str, str], _Assembly] = {}
        self._finished: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._bytes = 0  # held in the payloads being assembled, all together
        self._by_author: dict[str, int] = {}  # bytes held, per author
        self._by_link: dict[str, int] = {}  # bytes held, per link that brought a first part
        self.lost = 0  # payloads dropped unfinished

    def add(
        self,
        author: str,
        part: RelayedPart,
        n: int,
        now: float,
        *,
        addressed: bool = False,
        via: str = "",
    ) -> list[Assembled]:
        """Part of one of ``author``'s payloads, relayed as the author's envelope
        ``n`` (``addressed`` to chosen members) and brought by the link ``via``; the
        payloads now whole and due, in order. Raises ValueError (with what went wrong)
        when the part is refused: too much half-received already, or parts of one
        payload that disagree (the payload is dropped)."""
        key = (author, part.message_id)
        if key in self._finished:
            return []  # a late copy of a part of a payload done with
        assembly = self._assemblies.get(key)
        if assembly is None:
            assembly = self._start(key, part, n, now, via)
            assembly.addressed = addressed
        elif not assembly.fits(part):
            self._drop(key)
            raise ValueError(f"the parts of payload {part.message_id} disagree on what it is")
        if part.index in assembly.have:
            return []
        self._hold(key, assembly, len(part.data))
        assembly.sink.seek(part.index * part.part_bytes)
        assembly.sink.write(part.data)
        assembly.have.add(part.index)
        assembly.last_part_at = now
        assembly.lowest_n = min(assembly.lowest_n, n)
        if part.index == assembly.hashed:  # the common case: parts in order
            assembly.digest.update(part.data)
            assembly.hashed += 1
        if len(assembly.have) == part.count:
            assembly.whole = Assembled(
                author, part, _sha256(assembly), assembly.sink, assembly.addressed
            )
            assembly.whole_at = now
        return self._due(author, now)

    def is_new(self, author: str, part: RelayedPart) -> bool:
        """Whether ``part`` would start a payload we have nothing of yet."""
        key = (author, part.message_id)
        return key not in self._assemblies and key not in self._finished

    def _due(self, author: str, now: float) -> list[Assembled]:
        """The author's whole payloads with no unfinished one before them (or that
        waited ORDER_WAIT), in order."""
        own = sorted(
            (assembly.lowest_n, message_id)
            for (other, message_id), assembly in self._assemblies.items()
            if other == author
        )
        due: list[Assembled] = []
        behind_one = False  # an unfinished payload comes before
        for _, message_id in own:
            assembly = self._assemblies[(author, message_id)]
            if assembly.whole is None:
                behind_one = True
            elif behind_one and now - assembly.whole_at < ORDER_WAIT:
                break
            else:
                self._finish((author, message_id))
                due.append(assembly.whole)
        return due

    def _start(
        self, key: tuple[str, str], part: RelayedPart, n: int, now: float, via: str
    ) -> _Assembly:
        author = key[0]
        own = sum(1 for other, _ in self._assemblies if other == author)
        if own >= MAX_PAYLOADS_PER_AUTHOR:
            raise ValueError(f"{MAX_PAYLOADS_PER_AUTHOR} payloads of one author half-received")
        sink = self._new_sink(part.size)
        assembly = _Assembly(part, sink, set(), hashlib.sha256(), 0, now, n, via)
        self._assemblies[key] = assembly
        return assembly

    def _hold(self, key: tuple[str, str], assembly: _Assembly, size: int) -> None:
        """Count ``size`` more bytes of ``assembly``; past everyone's budget, the author
        holding the most gives up its largest payload first. ValueError when the
        part is refused (its payload dropped: its own author or link is over)."""
        author = key[0]
        refusal = None
        if self._by_author.get(author, 0) + size > MAX_AUTHOR_BYTES:
            refusal = f"{MAX_AUTHOR_BYTES} bytes of one author half-received"
        elif self._by_link.get(assembly.via, 0) + size > MAX_LINK_BYTES:
            refusal = f"{MAX_LINK_BYTES} bytes half-received through one link"
        while refusal is None and self._bytes + size > MAX_ASSEMBLING_BYTES:
            richest = max(self._by_author, key=self._by_author.__getitem__)
            if richest == author or self._by_author[richest] <= self._by_author.get(author, 0):
                refusal = f"{self._bytes} bytes of relayed payloads are half-received already"
                break
            largest = max(
                (k for k in self._assemblies if k[0] == richest),
                key=lambda k: self._assemblies[k].held,
            )
            self._drop(largest)
        if refusal is not None:
            self._drop(key)
            raise ValueError(refusal)
        assembly.held += size
        self._bytes += size
        self._by_author[author] = self._by_author.get(author, 0) + size
        self._by_link[assembly.via] = self._by_link.get(assembly.via, 0) + size

    def expire(self, now: float) -> tuple[list[str], list[Assembled]]:
        """Drop payloads that have had no new part for STALL_SECONDS (one was lost
        for good): what was dropped, to log, and the payloads now due."""
        stalled = [
            key
            for key, assembly in self._assemblies.items()
            if assembly.whole is None and now - assembly.last_part_at > STALL_SECONDS
        ]
        for key in stalled:
            self._drop(key)
        waiting = {author for (author, _), assembly in self._assemblies.items() if assembly.whole}
        due = [whole for author in sorted(waiting) for whole in self._due(author, now)]
        return [f"{message_id} from {author}" for author, message_id in stalled], due

    def forget(self, author: str) -> list[Assembled]:
        """The author left: its half-received payloads will never be whole; those
        whole already are due."""
        for key, assembly in list(self._assemblies.items()):
            if key[0] == author and assembly.whole is None:
                self._drop(key)
        return self._due(author, 0.0)

    def close(self) -> None:
        for assembly in self._assemblies.values():
            assembly.sink.close()  # the whole ones' too: nobody will read them
        self._assemblies.clear()
        self._bytes = 0
        self._by_author.clear()
        self._by_link.clear()

    def held(self) -> int:
        """Bytes of half-received (or whole, waiting their turn) payloads held."""
        return self._bytes

    def _finish(self, key: tuple[str, str]) -> _Assembly:
        assembly = self._assemblies.pop(key)
        self._bytes -= assembly.held
        if assembly.held:
            for counts, owner in ((self._by_author, key[0]), (self._by_link, assembly.via)):
                counts[owner] -= assembly.held
                if not counts[owner]:
                    del counts[owner]
        self._finished[key] = None
        if len(self._finished) > MAX_FINISHED:
            self._finished.popitem(last=False)
        return assembly

    def _drop(self, key: tuple[str, str]) -> None:
        self.lost += 1
        self._finish(key).sink.close()


def _sha256(assembly: _Assembly) -> str:
    """The whole payload's SHA-256, reading back what came out of order; leaves the
    sink at its start."""
    sink, digest = assembly.sink, assembly.digest
    sink.seek(assembly.hashed * assembly.first.part_bytes)
    while chunk := sink.read(1024 * 1024):
        digest.update(chunk)
    sink.seek(0)
    return str(digest.hexdigest())
