"""Everything said on data channels, as a sans-I/O core: framing, heartbeats, bye,
acknowledgements, de-duplication, resends after a rebuilt connection, delivery reports.

Acknowledgements are batched: the sequence numbers received from a peer ride on the
next frame sent to it anyway, or, if none goes within ``ACK_DELAY``, in an ``ack`` frame
of their own; so a conversation costs no extra frames at all.

Inputs are method calls (a channel to a peer opened or closed, a frame arrived, the
application sends, time passed; time comes in as ``now``); every method returns the
actions the driver must carry out, in order. Peers are named by id: which peer
connection carries a peer's channel is the signalling core's business
(``protocol.py``), and ``room.py`` joins the two. The wire format is in
``docs/protocol.md`` section 3.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from .chat import (
    ACK_FRAME,
    BYE_FRAME,
    HEARTBEAT_FRAME,
    ChannelAck,
    ChannelBye,
    ChatMessage,
    Heartbeat,
    RecentIds,
    as_ranges,
    decode_channel_frame,
    encode_chat,
    new_chat_message,
    signed_content,
    with_acks,
)
from .delivery import DeliveryTracker
from .events import MessageReceived, MessageUndelivered, SentMessage
from .identity import BadSignature, verify
from .messages import ProtocolError
from .ratelimit import TokenBucket

ACK_DELAY = 0.05  # seconds an acknowledgement may wait for a frame to ride on
# Chat messages taken from one peer per second, and in a burst; past that they are
# dropped unacknowledged (its sender learns they were undelivered) and the peer is
# reported as misbehaving, so one flooder cannot hold up what everyone else says.
CHAT_RATE = 50.0
CHAT_BURST = 200.0

# --- actions: what the driver must do --------------------------------------------------


@dataclass(frozen=True, slots=True)
class SendFrame:
    """Send ``frame`` on the open data channel to ``peer_id``."""

    peer_id: str
    frame: str


@dataclass(frozen=True, slots=True)
class PeerSaidBye:
    """The peer said bye on its channel: the signalling core drops it as having left."""

    peer_id: str


@dataclass(frozen=True, slots=True)
class PeerMisbehaved:
    """The peer sent an invalid frame (``reason``); the signalling core counts these and
    drops a peer that keeps at it."""

    peer_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class FlushAcksAt:
    """Call :meth:`DataPlane.flush` at ``when`` (the clock of ``now``): acknowledgements
    are waiting for a frame to ride on."""

    when: float


DataAction = (
    SendFrame | MessageReceived | MessageUndelivered | PeerSaidBye | PeerMisbehaved | FlushAcksAt
)


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
    ) -> None:
        self.client_id = client_id
        self.nick = nick
        self.room = room
        # Our signing key, and the public key (base64url) each peer proved in signalling.
        self._sign = sign
        self._key_of = key_of
        self.forged = 0  # chat messages dropped because their signature did not verify
        self.heartbeat_interval = heartbeat_interval
        self._open: set[str] = set()  # peers whose channel is open, in no order
        self._recent = RecentIds()
        self._delivery = DeliveryTracker(ack_timeout=ack_timeout, reconnect_grace=reconnect_grace)
        self._next_heartbeat = 0.0
        self._seq = 0  # of our last chat message
        self._acks_due: dict[str, set[int]] = {}  # peer -> its sequence numbers to ack
        self._flush_at: float | None = None
        self._inbound: dict[str, TokenBucket] = {}  # peer -> its chat budget

    # -- channels --

    def opened(self, peer_id: str, now: float) -> list[DataAction]:
        """A channel to ``peer_id`` is open: what it has not acknowledged goes again."""
        self._open.add(peer_id)
        return [
            self._frame_to(peer_id, encode_chat(message))
            for message in self._delivery.peer_back(peer_id, now)
        ]

    def closed(self, peer_id: str, now: float, *, said_bye: bool) -> list[DataAction]:
        """The channel to ``peer_id`` is gone. A peer that said bye will not read what
        it has not acknowledged: that is reported. Another may come back: it is kept."""
        self._open.discard(peer_id)
        self._inbound.pop(peer_id, None)
        self._acks_due.pop(peer_id, None)  # it sends again what we had not acknowledged
        if said_bye:
            return [
                MessageUndelivered(lost.message, lost.peer_id, lost.reason)
                for lost in self._delivery.peer_gone(peer_id, "the peer left")
            ]
        self._delivery.peer_lost(peer_id, now)
        return []

    # -- frames in --

    def receive(self, peer_id: str, frame: str | bytes, now: float) -> list[DataAction]:
        """A frame arrived on the channel to ``peer_id``."""
        try:
            message, acks = decode_channel_frame(frame)
        except ProtocolError as error:
            return [PeerMisbehaved(peer_id, str(error))]
        self._delivery.acked(peer_id, acks)
        match message:
            case Heartbeat() | ChannelAck():
                return []
            case ChannelBye():
                return [PeerSaidBye(peer_id)]
            case ChatMessage():
                if message.sender != peer_id:
                    return [PeerMisbehaved(peer_id, f"message claiming to be {message.sender}")]
                budget = self._inbound.get(peer_id)
                if budget is None:
                    budget = self._inbound[peer_id] = TokenBucket(CHAT_RATE, CHAT_BURST, now)
                if not budget.take(now):
                    return [PeerMisbehaved(peer_id, f"more than {CHAT_RATE:g} messages a second")]
                if not self._authentic(message):
                    self.forged += 1
                    return [PeerMisbehaved(peer_id, "a message whose signature does not verify")]
                # Acknowledged whether new or a duplicate: the ack may have been lost.
                actions: list[DataAction] = self._ack_later(peer_id, message.seq, now)
                if not self._recent.seen(peer_id, message.id):
                    actions.append(MessageReceived(message))
                return actions

    # -- frames out --

    def send_chat(
        self, text: str, now: float, timestamp_ms: int
    ) -> tuple[SentMessage, list[DataAction]]:
        """A chat line to every open channel, kept for peers that are away.

        Raises :class:`~meshchat.mesh.chat.MessageTooLarge` if the text is over the limit.
        """
        message = new_chat_message(self.client_id, self.nick, text, timestamp_ms, self._seq + 1)
        self._seq += 1
        signature = self._sign(signed_content(message, self.room))
        message = dataclasses.replace(message, signature=signature)
        frame = encode_chat(message)
        delivered = sorted(self._open)
        queued = [p for p in self._delivery.away_peers() if p not in self._open]
        self._delivery.sent(message, delivered + queued, now)
        sent = SentMessage(message, tuple(delivered), tuple(queued))
        return sent, [self._frame_to(peer_id, frame) for peer_id in delivered]

    def leave(self) -> list[DataAction]:
        """We are leaving: bye on every open channel."""
        return [self._frame_to(peer_id, BYE_FRAME) for peer_id in sorted(self._open)]

    def flush(self, now: float) -> list[DataAction]:
        """Acknowledgements that found no frame to ride on go on their own."""
        self._flush_at = None
        peers = [p for p in sorted(self._acks_due) if p in self._open]
        return [self._frame_to(peer_id, ACK_FRAME) for peer_id in peers]

    def _authentic(self, message: ChatMessage) -> bool:
        key = self._key_of(message.sender)
        if key is None:
            return False
        try:
            verify(message.sender, key, message.signature, signed_content(message, self.room))
        except BadSignature:
            return False
        return True

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
        """Call often (every ~0.25 s): heartbeats, and messages that never made it."""
        actions: list[DataAction] = [
            MessageUndelivered(lost.message, lost.peer_id, lost.reason)
            for lost in self._delivery.tick(now)
        ]
        if self._flush_at is not None and now >= self._flush_at:
            actions += self.flush(now)  # the driver's timer is late, or it has none
        if now >= self._next_heartbeat:
            self._next_heartbeat = now + self.heartbeat_interval
            actions += [self._frame_to(peer_id, HEARTBEAT_FRAME) for peer_id in sorted(self._open)]
        return actions
