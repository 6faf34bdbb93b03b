"""Payloads in flight, both ways: cutting them into frames under flow control, and
putting them back together within bounds. Pure bookkeeping, no I/O: the data plane
(``dataplane.py``) drives it, and the driver says how full each channel is.

Sending: each peer has a queue of payloads; :meth:`Outbox.frames` hands out frames,
taking turns between payloads so that one large payload does not hold up the others,
until the channel holds :data:`HIGH_WATER` bytes. The payload itself is never copied
whole, so what a sender holds stays bounded whatever the payload size.

Receiving: a payload's declared size is reserved when its start frame arrives, per peer
and in total, and refused past the limits; its bytes go to a sink (memory, or a
temporary file for large payloads: the driver chooses) and into a running SHA-256.
"""

from __future__ import annotations

import hashlib
import itertools
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO

from .payloads import (
    MAX_PAYLOAD_BYTES,
    PayloadHeader,
    chunk_frame,
    start_frame,
)

HIGH_WATER = 1024 * 1024  # bytes a channel may hold before we stop handing out frames
LOW_WATER = 256 * 1024  # the driver asks for more frames once it holds no more than this
PROGRESS_INTERVAL = 0.25  # seconds between progress reports of one transfer
# Half-received payloads a receiver holds, by declared size: per peer (two of the
# largest payloads at once) and for everyone together.
MAX_INCOMING_PER_PEER = 2 * MAX_PAYLOAD_BYTES
MAX_INCOMING_PAYLOADS_PER_PEER = 16
MAX_INCOMING_TOTAL = 8 * MAX_PAYLOAD_BYTES
STALL_TIMEOUT = 30.0  # seconds without a byte before a half-received payload is dropped
# Payloads under way to one peer at once: half of what a receiver takes from one peer,
# so a sender with many queued never trips the limit.
MAX_SENDING_AT_ONCE = MAX_INCOMING_PAYLOADS_PER_PEER // 2


@dataclass(frozen=True, slots=True)
class Progress:
    """``done`` of ``total`` bytes of a payload, to or from ``peer_id``."""

    header: PayloadHeader
    peer_id: str
    done: int


@dataclass(eq=False)
class _Sending:
    header: PayloadHeader
    encoded_header: bytes
    body: memoryview
    offset: int = 0
    started: bool = False
    reported_at: float = float("-inf")


@dataclass(eq=False)
class _PeerQueue:
    sending: deque[_Sending] = field(default_factory=deque)  # started, taking turns
    waiting: deque[_Sending] = field(default_factory=deque)  # not started yet

    def __iter__(self) -> Iterator[_Sending]:
        return itertools.chain(self.sending, self.waiting)


class Outbox:
    """Payloads waiting to go out, per peer. At most :data:`MAX_SENDING_AT_ONCE` are
    under way to one peer at a time (the receiver takes no more); the rest wait."""

    def __init__(self) -> None:
        self._queues: dict[str, _PeerQueue] = {}

    def add(self, peer_id: str, header: PayloadHeader, encoded: bytes, body: memoryview) -> None:
        queue = self._queues.setdefault(peer_id, _PeerQueue())
        queue.waiting.append(_Sending(header, encoded, body))

    def backlog(self) -> int:
        """Bytes waiting to be handed to any channel."""
        return sum(s.header.size - s.offset for q in self._queues.values() for s in q)

    def peers(self) -> set[str]:
        """Peers with payload frames still to go."""
        return set(self._queues)

    def waiting(self, peer_id: str) -> bool:
        return peer_id in self._queues

    def cancel(self, peer_id: str, message_id: str | None = None) -> None:
        """Stop sending to ``peer_id`` (one payload, or all of them)."""
        queue = self._queues.get(peer_id)
        if queue is None:
            return
        if message_id is None:
            del self._queues[peer_id]
            return
        for line in (queue.sending, queue.waiting):
            kept = [s for s in line if s.header.id != message_id]
            line.clear()
            line.extend(kept)
        if not queue.sending and not queue.waiting:
            del self._queues[peer_id]

    def frames(
        self, peer_id: str, buffered: int, now: float
    ) -> tuple[list[bytes], list[Progress], list[PayloadHeader]]:
        """Frames for ``peer_id`` while its channel holds less than :data:`HIGH_WATER`
        bytes (``buffered`` now); progress to report; payloads whose last byte went."""
        queue = self._queues.get(peer_id)
        frames: list[bytes] = []
        progress: list[Progress] = []
        finished: list[PayloadHeader] = []
        while queue is not None and buffered < HIGH_WATER:
            while len(queue.sending) < MAX_SENDING_AT_ONCE and queue.waiting:
                queue.sending.append(queue.waiting.popleft())
            if not queue.sending:
                break
            sending = queue.sending.popleft()
            frame = self._next_frame(sending)
            frames.append(frame)
            buffered += len(frame)
            done = sending.offset >= sending.header.size
            if done or now - sending.reported_at >= PROGRESS_INTERVAL:
                sending.reported_at = now
                if sending.header.size > len(frame):  # one frame is no transfer to watch
                    progress.append(Progress(sending.header, peer_id, sending.offset))
            if done:
                finished.append(sending.header)
            else:
                queue.sending.append(sending)  # take turns with the other payloads
        if queue is not None and not queue.sending and not queue.waiting:
            del self._queues[peer_id]
        return frames, progress, finished

    @staticmethod
    def _next_frame(sending: _Sending) -> bytes:
        if not sending.started:
            sending.started = True
            frame, taken = start_frame(sending.encoded_header, sending.body)
        else:
            frame, taken = chunk_frame(sending.header.id, sending.offset, sending.body)
        sending.offset += taken
        return frame


@dataclass(eq=False)
class Incoming:
    """A payload being received. ``sink`` is None for a duplicate or a payload refused
    for want of room: its bytes are only counted, to keep the frames in step."""

    header: PayloadHeader
    sink: IO[bytes] | None
    refused: bool = False  # no room for it: it is not acknowledged either
    received: int = 0
    last_byte_at: float = 0.0
    reported_at: float = float("-inf")
    digest: hashlib._Hash = field(default_factory=hashlib.sha256)


class PayloadTooMuch(Exception):
    """The peer sends more at once than a receiver takes from one peer."""


class Inbox:
    """Payloads being received, per peer, within the limits above."""

    def __init__(self, new_sink: Callable[[int], IO[bytes]]) -> None:
        self._new_sink = new_sink
        self._by_peer: dict[str, dict[str, Incoming]] = {}
        self._reserved: dict[str, int] = {}
        self._total = 0

    def start(
        self, peer_id: str, header: PayloadHeader, now: float, *, duplicate: bool
    ) -> Incoming:
        """Reserve room for ``header``'s payload; raise :class:`PayloadTooMuch` if the
        peer is over its limits. If everyone together is over theirs, the payload is
        refused (not the peer's fault): it is counted through, never acknowledged."""
        mine = self._by_peer.setdefault(peer_id, {})
        if header.id in mine:
            raise PayloadTooMuch("a payload started twice")
        if len(mine) >= MAX_INCOMING_PAYLOADS_PER_PEER:
            raise PayloadTooMuch(f"more than {MAX_INCOMING_PAYLOADS_PER_PEER} payloads at once")
        reserved = self._reserved.get(peer_id, 0) + header.size
        if reserved > MAX_INCOMING_PER_PEER:
            raise PayloadTooMuch(
                f"{reserved} bytes of payloads at once; the limit is {MAX_INCOMING_PER_PEER}"
            )
        if self._total + header.size > MAX_INCOMING_TOTAL:
            refused = mine[header.id] = Incoming(header, None, refused=True, last_byte_at=now)
            return refused
        self._reserved[peer_id] = reserved
        self._total += header.size
        sink = None if duplicate else self._new_sink(header.size)
        incoming = mine[header.id] = Incoming(header, sink, last_byte_at=now)
        return incoming

    def peers(self) -> set[str]:
        """Peers a payload is half-received from."""
        return {peer_id for peer_id, mine in self._by_peer.items() if mine}

    def get(self, peer_id: str, message_id: str) -> Incoming | None:
        return self._by_peer.get(peer_id, {}).get(message_id)

    def finish(self, peer_id: str, incoming: Incoming) -> None:
        """Release ``incoming``'s reservation (complete, or abandoned)."""
        mine = self._by_peer.get(peer_id, {})
        if mine.pop(incoming.header.id, None) is None:
            return
        if not incoming.refused:
            self._reserved[peer_id] -= incoming.header.size
            self._total -= incoming.header.size
        if not mine:
            self._by_peer.pop(peer_id, None)
            self._reserved.pop(peer_id, None)

    def abandon(self, peer_id: str) -> None:
        """The channel to ``peer_id`` is gone: what it was sending will come again whole."""
        for incoming in list(self._by_peer.get(peer_id, {}).values()):
            self.discard(peer_id, incoming)

    def discard(self, peer_id: str, incoming: Incoming) -> None:
        self.finish(peer_id, incoming)
        if incoming.sink is not None:
            incoming.sink.close()

    def stalled(self, now: float) -> list[tuple[str, Incoming]]:
        return [
            (peer_id, incoming)
            for peer_id, mine in self._by_peer.items()
            for incoming in mine.values()
            if now - incoming.last_byte_at > STALL_TIMEOUT
        ]
