"""What became of each channel payload an application sent, per recipient: delivered, or
why not, and how many of its bytes went. ``SentPayload.wait()`` and ``.progress`` read
it; the driver feeds it the room's events.

Every recipient settles: the data plane reports each payload it sent over a link as
acknowledged (``PayloadDelivered``) or not
(``PayloadUndelivered``) within its timeouts, and relayed receipts
do the same for a payload relayed to chosen members. A payload to the whole room of a
partial mesh gets no receipts (every member's would flood the room): its members are
settled at once as ``"relayed"``. What has not settled when the room is left settles
then, so no ``wait()`` hangs and nothing is kept past its payload.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterable

from meshchat.mesh.events import (
    PayloadDelivered,
    PayloadUndelivered,
    PeerId,
    RoomEvent,
    SentPayload,
    TransferProgress,
)

DELIVERED = "delivered"
RELAYED = "relayed"  # sent into a partial mesh for the whole room: no receipt comes back
LEFT = "the room was left before it was delivered"


class PayloadTracking:
    """One payload's recipients: bytes sent to each, and how each ended."""

    def __init__(self, size: int, recipients: Iterable[PeerId]) -> None:
        self.size = size
        self.progress: dict[PeerId, int] = {}
        self.outcomes: dict[PeerId, str] = {}
        self._awaited = set(recipients)
        self._settled = asyncio.Event()
        if not self._awaited:
            self._settled.set()

    @property
    def settled(self) -> bool:
        return self._settled.is_set()

    def sent(self, peer_id: PeerId, done: int) -> None:
        if peer_id in self._awaited:
            self.progress[peer_id] = done

    def settle(self, peer_id: PeerId, outcome: str) -> None:
        if peer_id not in self._awaited:
            return  # not ours to report, or already settled
        self._awaited.discard(peer_id)
        self.outcomes[peer_id] = outcome
        if outcome == DELIVERED:
            self.progress[peer_id] = self.size
        if not self._awaited:
            self._settled.set()

    def settle_all(self, outcome: str) -> None:
        for peer_id in sorted(self._awaited):
            self.settle(peer_id, outcome)

    async def wait(self) -> dict[PeerId, str]:
        await self._settled.wait()
        return dict(self.outcomes)


class PayloadOutcomes:
    """The application's payloads not yet settled for every recipient, by id."""

    def __init__(self) -> None:
        self._tracked: dict[str, PayloadTracking] = {}
        self._closed = False

    def track(self, sent: SentPayload, relayed_to: Iterable[PeerId] | None = None) -> SentPayload:
        """``sent``, able to say how it ends. ``relayed_to``: the members a payload to
        the whole room of a partial mesh went to, settled at once."""
        header = sent.header
        if relayed_to is not None:
            tracking = PayloadTracking(header.size, relayed_to)
            tracking.settle_all(RELAYED)
        else:
            recipients = header.to or (*sent.sending_to, *sent.queued_for)
            tracking = PayloadTracking(header.size, recipients)
            if self._closed:
                tracking.settle_all(LEFT)
            elif not tracking.settled:
                self._tracked[header.id] = tracking
        return dataclasses.replace(sent, tracking=tracking)

    def observe(self, event: RoomEvent) -> None:
        match event:
            case PayloadDelivered(header=header, peer_id=peer_id):
                self._settle(header.id, peer_id, DELIVERED)
            case PayloadUndelivered(header=header, peer_id=peer_id, reason=reason):
                self._settle(header.id, peer_id, reason)
            case TransferProgress(message_id=message_id, peer_id=peer_id, sending=True, done=done):
                if (tracking := self._tracked.get(message_id)) is not None:
                    tracking.sent(peer_id, done)

    def close(self) -> None:
        """The room was left: whatever has not settled, settles now."""
        self._closed = True
        for tracking in self._tracked.values():
            tracking.settle_all(LEFT)
        self._tracked.clear()

    def __len__(self) -> int:
        return len(self._tracked)

    def _settle(self, message_id: str, peer_id: PeerId, outcome: str) -> None:
        if (tracking := self._tracked.get(message_id)) is None:
            return
        tracking.settle(peer_id, outcome)
        if tracking.settled:
            del self._tracked[message_id]
