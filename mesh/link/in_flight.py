"""Payloads in flight, both ways: cutting them into frames under flow control, and
putting them back together within bounds. Pure bookkeeping, no I/O: the data plane
(``link/dataplane.py``) drives it, and the driver says how full each channel is.

Sending: each peer has a queue of payloads; :meth:`Outbox.frames` hands out frames,
taking turns between payloads so that one large payload does not hold up the others,
until the channel holds :data:`HIGH_WATER` bytes. The payload itself is never copied
whole, so what a sender holds stays bounded whatever the payload size.

Receiving: a payload's declared size counts against its sender's own limits when its
start frame arrives (how much one peer may have under way); against everyone's budget
counts only what has arrived, so a declaration costs nothing until its bytes come. When
arrived bytes would pass that budget, the peer holding the most gives up its largest
payload first (never acknowledged: its sender hears so), so a few peers together cannot
crowd out another. A half-received payload must keep gaining at least
:data:`MIN_PAYLOAD_RATE`, or it is dropped and its sender blamed: trickling a byte now
and then holds nothing for long. Bytes go to a sink (memory, or a temporary file for
large payloads: the driver chooses) and into a running SHA-256.
"""

from __future__ import annotations

import hashlib
import itertools
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO

from meshchat.mesh.link.payloads import (
    MAX_PAYLOAD_BYTES,
    PayloadHeader,
    chunk_frame,
    start_frame,
)

HIGH_WATER = 1024 * 1024  # bytes a channel may hold before we stop handing out frames
LOW_WATER = 256 * 1024  # the driver asks for more frames once it holds no more than this
PROGRESS_INTERVAL = 0.25  # seconds between progress reports of one transfer
# Half-received payloads one peer may have under way, by declared size (two of the
# largest payloads at once) and by count.
MAX_INCOMING_PER_PEER = 2 * MAX_PAYLOAD_BYTES
MAX_INCOMING_PAYLOADS_PER_PEER = 16
# Bytes of half-received payloads held for everyone together, by what has arrived.
MAX_INCOMING_TOTAL = 8 * MAX_PAYLOAD_BYTES
# Every STALL_WINDOW seconds a half-received payload must have gained at least
# MIN_PAYLOAD_RATE bytes a second. An honest sender fills the channel as fast as it
# drains (a link moves megabytes a second; even 8 payloads at once to each of 23 peers
# leave each tens of KiB/s), so a slower one is holding room on purpose.
STALL_WINDOW = 30.0
MIN_PAYLOAD_RATE = 4 * 1024
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
    window_from: float = 0.0  # when the current STALL_WINDOW began
    window_bytes: int = 0  # bytes gained in it
    reported_at: float = float("-inf")
    digest: hashlib._Hash = field(default_factory=hashlib.sha256)

    @property
    def held(self) -> int:
        """Bytes of it held in a sink (none for a duplicate or a refused payload)."""
        return self.received if self.sink is not None else 0


@dataclass(frozen=True, slots=True)
class Stalled:
    """``incoming`` from ``peer_id`` gained only ``gained`` bytes in a whole window."""

    peer_id: str
    incoming: Incoming
    gained: int


class PayloadTooMuch(Exception):
    """The peer sends more at once than a receiver takes from one peer."""


class Inbox:
    """Payloads being received, per peer, within the limits above."""

    def __init__(self, new_sink: Callable[[int], IO[bytes]]) -> None:
        self._new_sink = new_sink
        self._by_peer: dict[str, dict[str, Incoming]] = {}
        self._declared: dict[str, int] = {}  # per peer: declared sizes under way
        self._held: dict[str, int] = {}  # per peer: bytes arrived and held in sinks
        self._total = 0  # bytes held for everyone together

    def start(self, peer_id: str, header: PayloadHeader, now: float, *, keep: bool) -> Incoming:
        """Take ``header``'s payload under way; raise :class:`PayloadTooMuch` if the peer
        is over its limits. Its bytes go into a sink only if ``keep`` (not for a
        duplicate, nor for a channel nobody reads: those are only counted through)."""
        mine = self._by_peer.setdefault(peer_id, {})
        if header.id in mine:
            raise PayloadTooMuch("a payload started twice")
        if len(mine) >= MAX_INCOMING_PAYLOADS_PER_PEER:
            raise PayloadTooMuch(f"more than {MAX_INCOMING_PAYLOADS_PER_PEER} payloads at once")
        declared = self._declared.get(peer_id, 0) + header.size
        if declared > MAX_INCOMING_PER_PEER:
            raise PayloadTooMuch(
                f"{declared} bytes of payloads at once; the limit is {MAX_INCOMING_PER_PEER}"
            )
        self._declared[peer_id] = declared
        sink = self._new_sink(header.size) if keep else None
        incoming = mine[header.id] = Incoming(header, sink, window_from=now)
        return incoming

    def take(self, peer_id: str, incoming: Incoming, size: int) -> list[Incoming]:
        """Make room for ``size`` more bytes of ``incoming`` in everyone's budget.
        Past it, the peer holding the most gives up its largest payload, until there
        is room or ``incoming`` itself is the one given up. Returns the payloads given
        up (refused: counted through, never acknowledged)."""
        if incoming.sink is None:
            return []
        given_up: list[Incoming] = []
        while self._total + size > MAX_INCOMING_TOTAL:
            richest = max(self._held, key=self._held.__getitem__)
            if richest == peer_id or self._held[richest] <= self._held.get(peer_id, 0) + size:
                richest, victim = peer_id, incoming
            else:
                victim = max(self._by_peer[richest].values(), key=lambda i: i.held)
            self._refuse(richest, victim)
            given_up.append(victim)
            if victim is incoming:
                return given_up
        self._held[peer_id] = self._held.get(peer_id, 0) + size
        self._total += size
        return given_up

    def _refuse(self, peer_id: str, incoming: Incoming) -> None:
        self._release(peer_id, incoming)
        assert incoming.sink is not None
        incoming.sink.close()
        incoming.sink = None
        incoming.refused = True

    def _release(self, peer_id: str, incoming: Incoming) -> None:
        if held := incoming.held:
            self._held[peer_id] -= held
            self._total -= held
            if not self._held[peer_id]:
                del self._held[peer_id]

    def peers(self) -> set[str]:
        """Peers a payload is half-received from."""
        return {peer_id for peer_id, mine in self._by_peer.items() if mine}

    def get(self, peer_id: str, message_id: str) -> Incoming | None:
        return self._by_peer.get(peer_id, {}).get(message_id)

    def held(self) -> int:
        """Bytes of half-received payloads held for everyone together."""
        return self._total

    def finish(self, peer_id: str, incoming: Incoming) -> None:
        """Release what ``incoming`` holds and declared (complete, or abandoned)."""
        mine = self._by_peer.get(peer_id, {})
        if mine.pop(incoming.header.id, None) is None:
            return
        self._release(peer_id, incoming)
        self._declared[peer_id] -= incoming.header.size
        if not mine:
            self._by_peer.pop(peer_id, None)
            self._declared.pop(peer_id, None)

    def abandon(self, peer_id: str) -> None:
        """The channel to ``peer_id`` is gone: what it was sending will come again whole."""
        for incoming in list(self._by_peer.get(peer_id, {}).values()):
            self.discard(peer_id, incoming)

    def discard(self, peer_id: str, incoming: Incoming) -> None:
        self.finish(peer_id, incoming)
        if incoming.sink is not None:
            incoming.sink.close()

    def forgive(self, now: float) -> None:
        """Our own process stood still: the windows under way start again from now
        (what did not arrive meanwhile was not the senders' doing)."""
        for mine in self._by_peer.values():
            for incoming in mine.values():
                incoming.window_from, incoming.window_bytes = now, 0

    def stalled(self, now: float) -> list[Stalled]:
        """Half-received payloads that gained less than :data:`MIN_PAYLOAD_RATE` over
        the window that just ended; the others start a new window."""
        slow: list[Stalled] = []
        for peer_id, mine in self._by_peer.items():
            for incoming in mine.values():
                if now - incoming.window_from < STALL_WINDOW:
                    continue
                if incoming.window_bytes < MIN_PAYLOAD_RATE * STALL_WINDOW:
                    slow.append(Stalled(peer_id, incoming, incoming.window_bytes))
                incoming.window_from, incoming.window_bytes = now, 0
        return slow
