"""Everything said on data channels, as a sans-I/O core: framing, chunking, heartbeats,
bye, acknowledgements, de-duplication, resends after a rebuilt connection, delivery
reports.

Two kinds of message share one sequence of numbers per author: chat lines (JSON text
frames, ``link/chat_frames.py``) and channel payloads (any JSON value or bytes, in binary frames,
``link/payloads.py``), both signed by their author. Payloads go out under flow control: the
core hands out frames only while the peer's channel holds little (``link/in_flight.py``).

Acknowledgements are batched: the sequence numbers received from a peer ride on the
next frame sent to it anyway, or, if none goes within ``ACK_DELAY``, in an ``ack`` frame
of their own; so a conversation costs no extra frames at all.

Inputs are method calls (a channel to a peer opened or closed, a frame arrived, the
application sends, time passed; time comes in as ``now``); every method returns the
actions the driver must carry out, in order. Peers are named by id: which peer
connection carries a peer's channel is the signalling core's business
(``signalling/protocol.py``), and ``room.py`` joins the two. The wire format is in
``docs/protocol.md`` section 3.
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import IO

from meshchat.mesh.events import (
    MessageReceived,
    MessageUndelivered,
    PayloadDelivered,
    PayloadUndelivered,
    SentMessage,
    SentPayload,
    TransferProgress,
)
from meshchat.mesh.link.actions import (
    PeerMisbehaved as PeerMisbehaved,  # re-exported: part of DataAction
)
from meshchat.mesh.link.actions import SendFrame as SendFrame
from meshchat.mesh.link.chat_frames import (
    ACK_FRAME,
    BYE_FRAME,
    ChannelAck,
    ChannelBye,
    ChannelMessage,
    ChatMessage,
    Heartbeat,
    PrivateLine,
    RecentIds,
    as_ranges,
    decode_channel_frame,
    encode_chat,
    encode_private,
    new_chat_message,
    new_message_id,
    private_signed_content,
    signed_content,
    with_acks,
)
from meshchat.mesh.link.delivery import DeliveryTracker, Undelivered
from meshchat.mesh.link.in_flight import (
    MIN_PAYLOAD_RATE,
    PROGRESS_INTERVAL,
    STALL_WINDOW,
    Inbox,
    Incoming,
    Outbox,
    PayloadTooMuch,
    Progress,
)
from meshchat.mesh.link.liveness import ACCEPTABLE_PAUSE, PhiAccrualDetector
from meshchat.mesh.link.payloads import (
    CHAT_CHANNEL,
    ChunkFrame,
    PayloadHeader,
    PayloadTooLarge,
    StartFrame,
    check_channel_name,
    check_json_size,
    decode_binary_frame,
    decode_json_body,
    encode_body,
    encode_header,
    new_header,
)
from meshchat.mesh.link.payloads import signed_content as payload_signed_content
from meshchat.mesh.link.private_lines import open_line, seal_line
from meshchat.mesh.link.round_trip import RoundTrips
from meshchat.mesh.private.seal import SealKey, keys_for
from meshchat.mesh.signalling.messages import ProtocolError
from meshchat.wire.keys import BadSignature, verify
from meshchat.wire.ratelimit import TokenBucket

# Seconds an acknowledgement may wait for a frame to ride on. Half the heartbeat
# interval: in a busy room, lines to a peer come further apart than any shorter wait,
# and acks that went alone doubled the packets every line cost (docs/benchmarks.md).
# Nothing the user sees waits for an ack; only delivery reports and memory held for
# resends do, and those count in seconds.
ACK_DELAY = 0.5
TICK_INTERVAL = 0.25  # the driver calls tick() at least this often
# A gap between ticks longer than this means our own process stood still.
STALL_GAP = 2 * TICK_INTERVAL
# Chat messages taken from one peer per second, and in a burst; past that they are
# dropped unacknowledged (its sender learns they were undelivered) and the peer is
# reported as misbehaving, so one flooder cannot hold up what everyone else says.
CHAT_RATE = 50.0
CHAT_BURST = 200.0
# Channel payloads taken from one peer: applications (game moves, shared state) send
# more often than people chat.
PAYLOAD_RATE = 200.0
PAYLOAD_BURST = 400.0

# --- actions: what the driver must do --------------------------------------------------


@dataclass(frozen=True, slots=True)
class Pump:
    """Payload frames wait for ``peer_id``: call :meth:`DataPlane.pump` with its
    channel's buffered amount now, and again each time that falls to ``LOW_WATER``."""

    peer_id: str


@dataclass(frozen=True, slots=True)
class DropPeer:
    """Close the connection to ``peer_id`` and keep it away for a while: it broke a
    limit no honest client breaks (``reason``)."""

    peer_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class PayloadReceived:
    """A whole payload arrived and its digest matches the author's signed header:
    ``value`` for ``json``, else its bytes are in ``body`` (read from the start)."""

    header: PayloadHeader
    value: object
    body: IO[bytes] | None


@dataclass(frozen=True, slots=True)
class PeerSaidBye:
    """The peer said bye on its channel: the signalling core drops it as having left."""

    peer_id: str


@dataclass(frozen=True, slots=True)
class PeerSilent:
    """Nothing has come from ``peer_id`` for ``silence`` seconds, far longer than its
    heartbeats have ever been apart: the signalling core drops it as gone."""

    peer_id: str
    silence: float


@dataclass(frozen=True, slots=True)
class WeStalled:
    """Our own process stood still for ``seconds`` between two ticks (stopped, swapped
    out, starved of CPU): peers may have taken us for gone. The failure detectors
    overlook that time already; the driver may tell the room we are here."""

    seconds: float


@dataclass(frozen=True, slots=True)
class FlushAcksAt:
    """Call :meth:`DataPlane.flush` at ``when`` (the clock of ``now``): acknowledgements
    are waiting for a frame to ride on."""

    when: float


DataAction = (
    SendFrame
    | Pump
    | MessageReceived
    | MessageUndelivered
    | PayloadReceived
    | PayloadDelivered
    | PayloadUndelivered
    | TransferProgress
    | PeerSaidBye
    | PeerSilent
    | PeerMisbehaved
    | DropPeer
    | FlushAcksAt
    | WeStalled
)


def _memory_sink(size: int) -> IO[bytes]:
    return io.BytesIO()


class DataPlane:
    """The data channels of the client ``client_id`` (called ``nick``) in one room."""

    def __init__(
        self,
        client_id: str,
        nick: str,
        *,
        room: str,
        sign: Callable[[bytes], str],
        key_of: Callable[[str], str | None],
        heartbeat_interval: float = 1.0,
        ack_timeout: float = 15.0,
        reconnect_grace: float = 30.0,
        new_sink: Callable[[int], IO[bytes]] = _memory_sink,
        new_id: Callable[[], str] = new_message_id,
        wanted: Callable[[str], bool] = lambda channel: True,
        seal_key: SealKey | None = None,
        seal_key_of: Callable[[str], bytes | None] = lambda peer_id: None,
    ) -> None:
        """``new_sink(size)`` gives a file to receive a payload of ``size`` bytes into
        (memory by default; the driver may spill large ones to disk). ``new_id`` makes
        message ids (random; fixed ones make the shared test traces reproducible).
        ``wanted(channel)`` says whether anyone reads a channel: payloads on others are
        acknowledged and dropped unread, their bytes neither kept nor parsed.
        ``seal_key`` opens private lines sealed to us; ``seal_key_of(peer)`` is the X25519
        key a peer announced in signalling, to seal ours to it (``private/``)."""
        self._new_id = new_id
        self._wanted = wanted
        self.client_id = client_id
        self.nick = nick
        self.room = room
        # Our signing key, and the public key (base64url) each peer proved in signalling.
        self._sign = sign
        self._key_of = key_of
        self._seal_key = seal_key or SealKey()
        self._seal_key_of = seal_key_of
        # Private lines not yet acknowledged by all their recipients: id -> sealed frame,
        # sent again as it is when a recipient's channel opens again.
        self._private_frames: dict[str, str] = {}
        self.forged = 0  # messages dropped because their author's signature did not verify
        self.heartbeat_interval = heartbeat_interval
        # Stall tolerated beyond a peer's usual heartbeat interval, for channels opened
        # from now on (a partial mesh tolerates more: tolerate_pauses).
        self._acceptable_pause = ACCEPTABLE_PAUSE
        self._open: set[str] = set()  # peers whose channel is open, in no order
        self._recent = RecentIds()
        self._delivery = DeliveryTracker(ack_timeout=ack_timeout, reconnect_grace=reconnect_grace)
        # Heartbeats go to every peer on a steady clock, busy or not: their intervals
        # are what each peer's failure detector learns (link/liveness.py).
        self._next_heartbeat = 0.0
        self._liveness: dict[str, PhiAccrualDetector] = {}
        self._round_trips = RoundTrips()  # measured by those heartbeats
        self._last_tick: float | None = None
        self._seq = 0  # of our last message, chat line or payload: one sequence for both
        self._acks_due: dict[str, set[int]] = {}  # peer -> its sequence numbers to ack
        self._flush_at: float | None = None
        self._inbound: dict[str, TokenBucket] = {}  # peer -> its chat budget
        self._inbound_payloads: dict[str, TokenBucket] = {}  # peer -> its payload budget
        self._outbox = Outbox()
        self._inbox = Inbox(new_sink)
        # Payloads not yet acknowledged by everyone: id -> encoded header and body.
        self._bodies: dict[str, tuple[bytes, memoryview]] = {}

    # -- channels --

    def tolerate_pauses(self, seconds: float) -> None:
        """Channels opened from now on take a peer for gone only after it stalls
        ``seconds`` beyond its usual heartbeat interval (a partial mesh's links are
        replaced, so it can wait longer: OverlayConfig.link_pause, partial/membership.py)."""
        self._acceptable_pause = seconds

    def opened(self, peer_id: str, now: float) -> list[DataAction]:
        """A channel to ``peer_id`` is open: what it has not acknowledged goes again."""
        self._open.add(peer_id)
        self._liveness[peer_id] = PhiAccrualDetector(
            now, self.heartbeat_interval, acceptable_pause=self._acceptable_pause
        )
        actions: list[DataAction] = []
        for message in self._delivery.peer_back(peer_id, now):
            if isinstance(message, ChatMessage):
                frame = self._private_frames.get(message.id) or encode_chat(message)
                actions.append(self._frame_to(peer_id, frame))
            elif (kept := self._bodies.get(message.id)) is not None:
                self._outbox.add(peer_id, message, *kept)
        if self._outbox.waiting(peer_id):
            actions.append(Pump(peer_id))
        return actions

    def closed(self, peer_id: str, now: float, *, said_bye: bool) -> list[DataAction]:
        """The channel to ``peer_id`` is gone. A peer that said bye will not read what
        it has not acknowledged: that is reported. Another may come back: it is kept."""
        self._open.discard(peer_id)
        self._liveness.pop(peer_id, None)
        self._round_trips.forget(peer_id)
        self._inbound.pop(peer_id, None)
        self._inbound_payloads.pop(peer_id, None)
        self._acks_due.pop(peer_id, None)  # it sends again what we had not acknowledged
        self._inbox.abandon(peer_id)  # ... whole: the half we have is of no use
        self._outbox.cancel(peer_id)  # what it had not acknowledged goes again whole
        if said_bye:
            return self._report(self._delivery.peer_gone(peer_id, "the peer left"))
        self._delivery.peer_lost(peer_id, now)
        return []

    # -- frames in --

    def receive(self, peer_id: str, frame: str | bytes, now: float) -> list[DataAction]:
        """A frame arrived on the channel to ``peer_id``."""
        detector = self._liveness.get(peer_id)
        if isinstance(frame, bytes):
            if detector is not None:
                detector.alive(now)
            return self._receive_binary(peer_id, frame, now)
        try:
            message, acks = decode_channel_frame(frame)
        except ProtocolError as error:
            return [PeerMisbehaved(peer_id, str(error))]
        if detector is not None:
            if isinstance(message, Heartbeat):
                detector.heartbeat(now)
            else:
                detector.alive(now)
        if isinstance(message, Heartbeat):
            self._round_trips.received(peer_id, message, now)
        settled = self._delivery.acked(peer_id, acks)
        if (self._bodies or self._private_frames) and acks:
            self._release_bodies()
        delivered: list[DataAction] = [
            PayloadDelivered(header, peer_id)
            for header in settled
            if isinstance(header, PayloadHeader)
        ]
        if delivered:  # reported before what the frame itself brings
            return delivered + self._receive_message(peer_id, message, now)
        return self._receive_message(peer_id, message, now)

    def _receive_message(
        self, peer_id: str, message: ChannelMessage, now: float
    ) -> list[DataAction]:
        match message:
            case Heartbeat() | ChannelAck():
                return []
            case ChannelBye():
                return [PeerSaidBye(peer_id)]
            case ChatMessage() | PrivateLine():
                if message.sender != peer_id:
                    return [PeerMisbehaved(peer_id, f"message claiming to be {message.sender}")]
                budget = self._inbound.get(peer_id)
                if budget is None:
                    budget = self._inbound[peer_id] = TokenBucket(CHAT_RATE, CHAT_BURST, now)
                if not budget.take(now):
                    return [PeerMisbehaved(peer_id, f"more than {CHAT_RATE:g} messages a second")]
                if isinstance(message, PrivateLine):
                    return self._receive_private(peer_id, message, now)
                content = signed_content(message, self.room)
                if not self._authentic(message.sender, message.signature, content):
                    self.forged += 1
                    return [PeerMisbehaved(peer_id, "a message whose signature does not verify")]
                # Acknowledged whether new or a duplicate: the ack may have been lost.
                actions: list[DataAction] = self._ack_later(peer_id, message.seq, now)
                if not self._recent.seen(peer_id, message.id):
                    actions.append(MessageReceived(message))
                return actions

    def _receive_private(self, peer_id: str, line: PrivateLine, now: float) -> list[DataAction]:
        """A private line over a link, from its author and within its chat budget:
        signed, for us, and it opens; else the peer misbehaved (an honest one sends a
        private line to its recipients only), and it is not acknowledged (its author
        learns it was not delivered)."""
        content = private_signed_content(line, self.room)
        if not self._authentic(line.sender, line.signature, content):
            self.forged += 1
            return [PeerMisbehaved(peer_id, "a private line whose signature does not verify")]
        try:
            message = open_line(line, self.room, self.client_id, self._seal_key)
        except ProtocolError as error:
            return [PeerMisbehaved(peer_id, str(error))]
        actions: list[DataAction] = self._ack_later(peer_id, line.seq, now)
        if not self._recent.seen(peer_id, line.id):
            actions.append(MessageReceived(message))
        return actions

    # -- frames out --

    def send_chat(
        self, text: str, now: float, timestamp_ms: int
    ) -> tuple[SentMessage, list[DataAction]]:
        """A chat line to every open channel, kept for peers that are away.

        Raises :class:`~meshchat.mesh.MessageTooLarge` if the text is over the limit.
        """
        message = self.new_chat(text, timestamp_ms)
        frame = encode_chat(message)
        delivered = sorted(self._open)
        queued = [p for p in self._delivery.away_peers() if p not in self._open]
        self._delivery.sent(message, delivered + queued, now)
        sent = SentMessage(message, tuple(delivered), tuple(queued))
        return sent, [self._frame_to(peer_id, frame) for peer_id in delivered]

    def new_chat(self, text: str, timestamp_ms: int) -> ChatMessage:
        """A chat line of ours, numbered and signed, sent nowhere yet (a partial mesh
        relays it: partial/gossip.py).

        Raises :class:`~meshchat.mesh.MessageTooLarge` if the text is over the limit.
        """
        message = new_chat_message(
            self.client_id, self.nick, text, timestamp_ms, self._seq + 1, self._new_id()
        )
        self._seq += 1
        signature = self._sign(signed_content(message, self.room))
        return dataclasses.replace(message, signature=signature)

    def send_private(
        self, text: str, to: Iterable[str], now: float, timestamp_ms: int
    ) -> tuple[SentMessage, list[DataAction]]:
        """A private line to the peers ``to``, over their links (kept for those away),
        its text sealed to their keys.

        Raises ValueError for no recipients, one not here or without a key, and
        :class:`~meshchat.mesh.MessageTooLarge`.
        """
        chosen = tuple(sorted(set(to)))
        present = self._open | set(self._delivery.away_peers()) | {self.client_id}
        if absent := [peer for peer in chosen if peer not in present]:
            raise ValueError(f"not in the room: {', '.join(absent)}")
        message, line = self.new_private(text, chosen, timestamp_ms)
        frame = encode_private(line)
        self._private_frames[message.id] = frame
        sending = tuple(p for p in chosen if p in self._open)
        queued = tuple(p for p in chosen if p not in self._open)
        self._delivery.sent(message, list(chosen), now)
        sent = SentMessage(message, sending, queued)
        return sent, [self._frame_to(peer_id, frame) for peer_id in sending]

    def new_private(
        self, text: str, to: tuple[str, ...], timestamp_ms: int
    ) -> tuple[ChatMessage, PrivateLine]:
        """A private line of ours to ``to`` (sorted), numbered, sealed and signed, sent
        nowhere yet (a partial mesh relays it); and the chat line it holds.

        Raises ValueError for no recipients, ourselves among them, or one that announced
        no key; :class:`~meshchat.mesh.MessageTooLarge` if the text is over the limit.
        """
        if not to:
            raise ValueError("no recipients given")
        if self.client_id in to:
            raise ValueError("a private line goes to others, not to ourselves")
        keys = keys_for(to, self._seal_key_of)
        message = new_chat_message(
            self.client_id, self.nick, text, timestamp_ms, self._seq + 1, self._new_id()
        )
        line = seal_line(message, to, keys, self.room, self._sign)
        self._seq += 1
        return dataclasses.replace(message, signature=line.signature, to=to), line

    def send_payload(
        self,
        channel: str,
        data: object,
        now: float,
        timestamp_ms: int,
        to: Iterable[str] | None = None,
    ) -> tuple[SentPayload, list[DataAction]]:
        """A JSON value or bytes on ``channel``, to everyone or to the peers ``to``.
        Nothing goes yet: :class:`Pump` actions say which channels have frames waiting.

        Raises ValueError for a bad channel name, data that is neither bytes nor JSON,
        or a recipient who is not in the room; :class:`~meshchat.mesh.link.payloads.
        PayloadTooLarge` over 64 MiB (a JSON value over 1 MiB). Nothing is sent then.
        """
        check_channel_name(channel)
        if channel == CHAT_CHANNEL:
            raise ValueError("the chat channel carries text: use send_chat")
        kind, body = encode_body(data)
        if kind == "json":
            check_json_size(channel, len(body))
        present = self._open | set(self._delivery.away_peers())
        chosen: tuple[str, ...] = ()
        if to is not None:
            chosen = tuple(sorted(set(to)))
            if not chosen:
                raise ValueError("no recipients given")
            if absent := [peer for peer in chosen if peer not in present]:
                raise ValueError(f"not in the room: {', '.join(absent)}")
        self._seq += 1
        header = new_header(
            self.client_id, channel, self._seq, timestamp_ms, kind, body, chosen, self._new_id()
        )
        signature = self._sign(payload_signed_content(header, self.room))
        header = dataclasses.replace(header, signature=signature, nick=self.nick)
        recipients = chosen or tuple(sorted(present))
        sending = tuple(p for p in recipients if p in self._open)
        queued = tuple(p for p in recipients if p not in self._open)
        kept = (encode_header(header), memoryview(body))
        if recipients:
            self._bodies[header.id] = kept
            self._delivery.sent(header, list(recipients), now)
        for peer_id in sending:
            self._outbox.add(peer_id, header, *kept)
        return SentPayload(header, sending, queued), [Pump(peer_id) for peer_id in sending]

    def busy_peers(self) -> frozenset[str]:
        """Peers something is on its way to or from: payload frames queued for them,
        messages they have not acknowledged, a payload half-received from them."""
        return frozenset(self._outbox.peers() | self._delivery.waiting_on() | self._inbox.peers())

    def overdue_peers(self, now: float) -> frozenset[str]:
        """Peers whose heartbeat is a stall's allowance (``ACCEPTABLE_PAUSE``) or more
        late: perhaps gone, as their failure detector will say soon. A partial mesh
        does not prune their links meanwhile: a crashed member's link, closed by us
        before it looked silent, would take our report of the crash with it."""
        return frozenset(
            peer_id
            for peer_id, detector in self._liveness.items()
            if detector.silence(now) > detector.mean + ACCEPTABLE_PAUSE
        )

    def backlog(self) -> int:
        """Payload bytes not yet handed to a channel, for all peers together."""
        return self._outbox.backlog()

    def pump(self, peer_id: str, buffered: int, now: float) -> list[DataAction]:
        """The channel to ``peer_id`` holds ``buffered`` bytes: payload frames to fill it
        up to ``HIGH_WATER``, and progress to report."""
        if peer_id not in self._open:
            return []
        frames, progress, finished = self._outbox.frames(peer_id, buffered, now)
        actions: list[DataAction] = [SendFrame(peer_id, frame) for frame in frames]
        actions += [self._progress(report, sending=True) for report in progress]
        for report in progress:
            self._delivery.touch(peer_id, report.header.id, now)
        for header in finished:  # its ack clock starts when its last byte went
            self._delivery.touch(peer_id, header.id, now)
        return actions

    def leave(self) -> list[DataAction]:
        """We are leaving: bye on every open channel."""
        return [self._frame_to(peer_id, BYE_FRAME) for peer_id in sorted(self._open)]

    def flush(self, now: float) -> list[DataAction]:
        """Acknowledgements that found no frame to ride on go on their own."""
        self._flush_at = None
        peers = [p for p in sorted(self._acks_due) if p in self._open]
        return [self._frame_to(peer_id, ACK_FRAME) for peer_id in peers]

    def _authentic(self, author: str, signature: str, content: bytes) -> bool:
        key = self._key_of(author)
        if key is None:
            return False
        try:
            verify(author, key, signature, content)
        except BadSignature:
            return False
        return True

    def _receive_binary(self, peer_id: str, frame: bytes, now: float) -> list[DataAction]:
        try:
            parsed = decode_binary_frame(frame)
        except ProtocolError as error:
            return [PeerMisbehaved(peer_id, str(error))]
        match parsed:
            case StartFrame(header=header, data=data):
                return self._payload_started(peer_id, header, data, now)
            case ChunkFrame(message_id=message_id, offset=offset, data=data):
                incoming = self._inbox.get(peer_id, message_id)
                if incoming is None:
                    return [PeerMisbehaved(peer_id, "a chunk of a payload that never started")]
                if offset != incoming.received:
                    self._inbox.discard(peer_id, incoming)
                    return [PeerMisbehaved(peer_id, "a payload's chunks out of order")]
                return self._payload_bytes(peer_id, incoming, data, now)

    def _payload_started(
        self, peer_id: str, header: PayloadHeader, data: bytes, now: float
    ) -> list[DataAction]:
        if header.sender != peer_id:
            return [PeerMisbehaved(peer_id, f"a payload claiming to be from {header.sender}")]
        if header.to and self.client_id not in header.to:
            return [PeerMisbehaved(peer_id, "a payload addressed to other peers")]
        if header.kind == "json":
            try:
                check_json_size(header.channel, header.size)
            except PayloadTooLarge as error:  # our own sends refuse it: no honest client
                return [DropPeer(peer_id, f"it sent {error}")]
        budget = self._inbound_payloads.get(peer_id)
        if budget is None:
            budget = self._inbound_payloads[peer_id] = TokenBucket(PAYLOAD_RATE, PAYLOAD_BURST, now)
        if not budget.take(now):
            return [PeerMisbehaved(peer_id, f"more than {PAYLOAD_RATE:g} payloads a second")]
        content = payload_signed_content(header, self.room)
        if not self._authentic(header.sender, header.signature, content):
            self.forged += 1
            return [PeerMisbehaved(peer_id, "a payload whose signature does not verify")]
        keep = not self._recent.has(peer_id, header.id) and self._wanted(header.channel)
        try:
            incoming = self._inbox.start(peer_id, header, now, keep=keep)
        except PayloadTooMuch as error:
            return [DropPeer(peer_id, f"it sent {error}")]
        return self._payload_bytes(peer_id, incoming, data, now, first=True)

    def _payload_bytes(
        self, peer_id: str, incoming: Incoming, data: bytes, now: float, *, first: bool = False
    ) -> list[DataAction]:
        header = incoming.header
        if incoming.received + len(data) > header.size:
            self._inbox.discard(peer_id, incoming)
            return [PeerMisbehaved(peer_id, "a payload longer than its declared size")]
        self._inbox.take(peer_id, incoming, len(data))  # may refuse it, or another's
        incoming.received += len(data)
        incoming.window_bytes += len(data)
        if incoming.sink is not None:
            incoming.sink.write(data)
            incoming.digest.update(data)
        done = incoming.received == header.size
        actions: list[DataAction] = []
        if not (first and done) and (done or now - incoming.reported_at >= PROGRESS_INTERVAL):
            incoming.reported_at = now
            report = Progress(header, peer_id, incoming.received)
            actions.append(self._progress(report, sending=False))
        if done:
            actions += self._payload_complete(peer_id, incoming, now)
        return actions

    def _payload_complete(self, peer_id: str, incoming: Incoming, now: float) -> list[DataAction]:
        self._inbox.finish(peer_id, incoming)
        header, sink = incoming.header, incoming.sink
        if incoming.refused:
            return []  # no room for it: unacknowledged, its sender will hear so
        if sink is None:  # a duplicate, or unread: acknowledged (again), shown once
            return self._ack_later(peer_id, header.seq, now)
        if incoming.digest.hexdigest() != header.sha256:
            sink.close()
            self.forged += 1
            return [PeerMisbehaved(peer_id, "a payload whose bytes do not match its signed digest")]
        actions = self._ack_later(peer_id, header.seq, now)
        if self._recent.seen(peer_id, header.id):
            sink.close()
            return actions
        if header.kind == "bytes":
            return [*actions, PayloadReceived(header, None, sink)]
        sink.seek(0)
        text = sink.read()
        sink.close()
        try:
            value = decode_json_body(text)
        except ProtocolError as error:
            return [*actions, PeerMisbehaved(peer_id, str(error))]
        return [*actions, PayloadReceived(header, value, None)]

    @staticmethod
    def _progress(report: Progress, *, sending: bool) -> TransferProgress:
        header = report.header
        return TransferProgress(
            header.channel, header.id, report.peer_id, sending, report.done, header.size
        )

    def _report(self, lost: list[Undelivered]) -> list[DataAction]:
        """Messages that will not arrive, as events; payloads among them stop going."""
        actions: list[DataAction] = []
        for item in lost:
            if isinstance(item.message, ChatMessage):
                actions.append(MessageUndelivered(item.message, item.peer_id, item.reason))
            else:
                self._outbox.cancel(item.peer_id, item.message.id)
                actions.append(PayloadUndelivered(item.message, item.peer_id, item.reason))
        if (self._bodies or self._private_frames) and lost:
            self._release_bodies()
        return actions

    def _release_bodies(self) -> None:
        """Forget payloads and private lines that no peer still waits for."""
        for kept in (self._bodies, self._private_frames):
            for message_id in list(kept):
                if not self._delivery.pending_anywhere(message_id):
                    del kept[message_id]

    def _ack_later(self, peer_id: str, seq: int, now: float) -> list[DataAction]:
        self._acks_due.setdefault(peer_id, set()).add(seq)
        if self._flush_at is not None:
            return []
        self._flush_at = now + ACK_DELAY
        return [FlushAcksAt(self._flush_at)]

    def _frame_to(self, peer_id: str, frame: str) -> SendFrame:
        """``frame`` for ``peer_id``, with whatever we owe it in acknowledgements."""
        due = self._acks_due.pop(peer_id, None)
        return SendFrame(peer_id, with_acks(frame, as_ranges(due) if due else ()))

    # -- time --

    def tick(self, now: float) -> list[DataAction]:
        """Call at least every ``TICK_INTERVAL`` seconds, and at :meth:`next_wakeup`:
        heartbeats, silent peers, and messages that never made it."""
        actions: list[DataAction] = []
        if self._last_tick is not None and now - self._last_tick > STALL_GAP:
            # Our own process stood still: the peers' heartbeats wait unread in our
            # socket, so that time is not theirs.
            for detector in self._liveness.values():
                detector.overlook(now - self._last_tick - TICK_INTERVAL)
            self._inbox.forgive(now)
            actions.append(WeStalled(now - self._last_tick))
        self._last_tick = now
        actions += self._report(self._delivery.tick(now))
        slow: dict[str, int] = {}
        for stalled in self._inbox.stalled(now):
            self._inbox.discard(stalled.peer_id, stalled.incoming)
            slow.setdefault(stalled.peer_id, stalled.gained)
        actions += [
            DropPeer(
                peer_id,
                f"a payload gained {gained} bytes in {STALL_WINDOW:g} s"
                f" (at least {MIN_PAYLOAD_RATE} a second are due)",
            )
            for peer_id, gained in sorted(slow.items())
        ]
        if self._flush_at is not None and now >= self._flush_at:
            actions += self.flush(now)  # the driver's timer is late, or it has none
        if now >= self._next_heartbeat:
            # A steady clock; after a stall, start again from now rather than catch up.
            self._next_heartbeat += self.heartbeat_interval
            if self._next_heartbeat <= now:
                self._next_heartbeat = now + self.heartbeat_interval
            actions += [
                self._frame_to(peer_id, self._round_trips.heartbeat_for(peer_id, now))
                for peer_id in sorted(self._open)
            ]
        for peer_id, detector in sorted(self._liveness.items()):
            if detector.suspected(now):
                del self._liveness[peer_id]  # reported once; a new channel starts afresh
                actions.append(PeerSilent(peer_id, round(detector.silence(now), 3)))
        return actions

    def round_trip(self, peer_id: str) -> float | None:
        """The smoothed round-trip time to ``peer_id`` in seconds, once measured."""
        return self._round_trips.of(peer_id)

    def next_wakeup(self) -> float:
        """When :meth:`tick` next has something to do at the latest: the next heartbeat
        round, acks owed that found no frame to ride on, or the moment a silent peer
        becomes suspect."""
        deadlines = [detector.deadline() for detector in self._liveness.values()]
        if self._flush_at is not None:
            deadlines.append(self._flush_at)
        return min([self._next_heartbeat, *deadlines])
