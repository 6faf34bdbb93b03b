"""Everything said on data channels, as a sans-I/O core: framing, heartbeats, bye,
acknowledgements, de-duplication, resends after a rebuilt connection, delivery reports.

Inputs are method calls (a channel to a peer opened or closed, a frame arrived, the
application sends, time passed; time comes in as ``now``); every method returns the
actions the driver must carry out, in order. Peers are named by id: which peer
connection carries a peer's channel is the signalling core's business
(``protocol.py``), and ``room.py`` joins the two. The wire format is in
``docs/protocol.md`` section 3.
"""

from __future__ import annotations

from dataclasses import dataclass

from .chat import (
    BYE_FRAME,
    HEARTBEAT_FRAME,
    ChannelAck,
    ChannelBye,
    ChatMessage,
    Heartbeat,
    RecentIds,
    ack_frame,
    decode_channel_message,
    encode_chat,
    new_chat_message,
)
from .delivery import DeliveryTracker
from .events import MessageReceived, MessageUndelivered, SentMessage
from .messages import ProtocolError

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


DataAction = SendFrame | MessageReceived | MessageUndelivered | PeerSaidBye | PeerMisbehaved


class DataPlane:
    """The data channels of the client ``client_id`` (called ``nick``) in one room."""

    def __init__(
        self,
        client_id: str,
        nick: str,
        *,
        heartbeat_interval: float = 1.0,
        ack_timeout: float = 15.0,
        reconnect_grace: float = 30.0,
    ) -> None:
        self.client_id = client_id
        self.nick = nick
        self.heartbeat_interval = heartbeat_interval
        self._open: set[str] = set()  # peers whose channel is open, in no order
        self._recent = RecentIds()
        self._delivery = DeliveryTracker(ack_timeout=ack_timeout, reconnect_grace=reconnect_grace)
        self._next_heartbeat = 0.0

    @property
    def open_peers(self) -> frozenset[str]:
        return frozenset(self._open)

    # -- channels --

    def opened(self, peer_id: str, now: float) -> list[DataAction]:
        """A channel to ``peer_id`` is open: what it has not acknowledged goes again."""
        self._open.add(peer_id)
        return [
            SendFrame(peer_id, encode_chat(message))
            for message in self._delivery.peer_back(peer_id, now)
        ]

    def closed(self, peer_id: str, now: float, *, said_bye: bool) -> list[DataAction]:
        """The channel to ``peer_id`` is gone. A peer that said bye will not read what
        it has not acknowledged: that is reported. Another may come back: it is kept."""
        self._open.discard(peer_id)
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
            message = decode_channel_message(frame)
        except ProtocolError as error:
            return [PeerMisbehaved(peer_id, str(error))]
        match message:
            case Heartbeat():
                return []
            case ChannelBye():
                return [PeerSaidBye(peer_id)]
            case ChannelAck(message_id=message_id):
                self._delivery.acked(peer_id, message_id)
                return []
            case ChatMessage():
                if message.sender != peer_id:
                    return [PeerMisbehaved(peer_id, f"message claiming to be {message.sender}")]
                actions: list[DataAction] = [SendFrame(peer_id, ack_frame(message.id))]
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
        message = new_chat_message(self.client_id, self.nick, text, timestamp_ms)
        frame = encode_chat(message)
        delivered = sorted(self._open)
        queued = [p for p in self._delivery.away_peers() if p not in self._open]
        self._delivery.sent(message, delivered + queued, now)
        sent = SentMessage(message, tuple(delivered), tuple(queued))
        return sent, [SendFrame(peer_id, frame) for peer_id in delivered]

    def leave(self) -> list[DataAction]:
        """We are leaving: bye on every open channel."""
        return [SendFrame(peer_id, BYE_FRAME) for peer_id in sorted(self._open)]

    # -- time --

    def tick(self, now: float) -> list[DataAction]:
        """Call often (every ~0.25 s): heartbeats, and messages that never made it."""
        actions: list[DataAction] = [
            MessageUndelivered(lost.message, lost.peer_id, lost.reason)
            for lost in self._delivery.tick(now)
        ]
        if now >= self._next_heartbeat:
            self._next_heartbeat = now + self.heartbeat_interval
            actions += [SendFrame(peer_id, HEARTBEAT_FRAME) for peer_id in sorted(self._open)]
        return actions
