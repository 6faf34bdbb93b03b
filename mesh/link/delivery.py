"""Chat delivery accounting: every message reaches each peer, or the user is told it did not.

Receivers acknowledge chat messages on the data channel, by the author's sequence
numbers. Until then the sender keeps each message per peer. If that peer's connection
is lost, its unacknowledged messages, and those sent while it is away, wait for it:
when it reconnects they are sent again (receivers drop duplicates, so nothing shows
twice). If it does not come back in time, or says bye, or a message stays
unacknowledged too long, the message is reported as undelivered to that peer. Pure
bookkeeping: the data plane does the sending.
"""

from __future__ import annotations

from dataclasses import dataclass

from meshchat.mesh.link.chat_frames import AckRanges, ChatMessage
from meshchat.mesh.link.payloads import PayloadHeader

# What is kept until acknowledged: a chat line, or a channel payload (by its header).
Outgoing = ChatMessage | PayloadHeader


@dataclass(frozen=True, slots=True)
class Undelivered:
    message: Outgoing
    peer_id: str
    reason: str


class DeliveryTracker:
    def __init__(self, *, ack_timeout: float = 15.0, reconnect_grace: float = 30.0) -> None:
        self.ack_timeout = ack_timeout
        self.reconnect_grace = reconnect_grace
        # peer -> message id -> (message, when it was last sent); insertion keeps order.
        self._pending: dict[str, dict[str, tuple[Outgoing, float]]] = {}
        self._away_since: dict[str, float] = {}

    def away_peers(self) -> list[str]:
        """Peers whose connection was lost recently: new messages are kept for them."""
        return list(self._away_since)

    def sent(self, message: Outgoing, peer_ids: list[str], now: float) -> None:
        for peer_id in peer_ids:
            self._pending.setdefault(peer_id, {})[message.id] = (message, now)

    def acked(self, peer_id: str, ranges: AckRanges) -> list[Outgoing]:
        """``peer_id`` has the messages whose sequence numbers lie in ``ranges``: those
        of them still awaited, now settled."""
        pending = self._pending.get(peer_id)
        if not pending or not ranges:
            return []
        settled = []
        for message_id, (message, _) in list(pending.items()):
            if any(first <= message.seq <= last for first, last in ranges):
                del pending[message_id]
                settled.append(message)
        return settled

    def touch(self, peer_id: str, message_id: str, now: float) -> None:
        """Part of a large message went to ``peer_id`` just now: its ack clock restarts
        (a 64 MiB payload takes longer than the ack timeout to send)."""
        pending = self._pending.get(peer_id)
        if pending is not None and message_id in pending:
            pending[message_id] = (pending[message_id][0], now)

    def waiting_on(self) -> set[str]:
        """Peers that have not acknowledged all we sent them."""
        return {peer_id for peer_id, pending in self._pending.items() if pending}

    def pending_anywhere(self, message_id: str) -> bool:
        return any(message_id in pending for pending in self._pending.values())

    def peer_lost(self, peer_id: str, now: float) -> None:
        """The connection died without a bye: the peer may well come back."""
        self._away_since.setdefault(peer_id, now)

    def peer_back(self, peer_id: str, now: float) -> list[Outgoing]:
        """The peer is connected again: what to send it again, oldest first."""
        self._away_since.pop(peer_id, None)
        pending = self._pending.get(peer_id, {})
        for message_id, (message, _) in pending.items():
            pending[message_id] = (message, now)
        return [message for message, _ in pending.values()]

    def peer_gone(self, peer_id: str, reason: str) -> list[Undelivered]:
        """The peer left for good (said bye, or we are leaving)."""
        self._away_since.pop(peer_id, None)
        pending = self._pending.pop(peer_id, {})
        return [Undelivered(message, peer_id, reason) for message, _ in pending.values()]

    def tick(self, now: float) -> list[Undelivered]:
        undelivered: list[Undelivered] = []
        for peer_id, since in list(self._away_since.items()):
            if now - since > self.reconnect_grace:
                undelivered += self.peer_gone(peer_id, "the peer did not come back")
        for peer_id, pending in self._pending.items():
            if peer_id in self._away_since:
                continue  # its clock restarts when it is back
            for message_id, (message, sent_at) in list(pending.items()):
                if now - sent_at > self.ack_timeout:
                    del pending[message_id]
                    undelivered.append(Undelivered(message, peer_id, "not acknowledged"))
        return undelivered
