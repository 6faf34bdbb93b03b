"""Receipts for payloads relayed to chosen members, as a sans-I/O core.

A payload sent over a link is acknowledged by the data plane (``link/dataplane.py``); one
relayed through a partial mesh to members we have no link to is acknowledged by each
recipient with a signed envelope of its own, addressed to us:

    {"type": "got", "id": MESSAGE_ID}

This module keeps what we relayed to chosen members until each has said so, and
reports the rest undelivered: a recipient that left the room, or one whose receipt has
not come within a time that grows with the payload (relaying is slow on a busy room).
A payload to the whole room gets no receipts: every member's would flood the room.
"""

from __future__ import annotations

from dataclasses import dataclass

from meshchat.mesh.events import PayloadDelivered, PayloadUndelivered
from meshchat.mesh.link.payloads import PayloadHeader

RECEIPT_WAIT = 30.0  # seconds for a receipt, plus the time the payload's size takes at
RELAYED_RATE = 64 * 1024  # ... this many bytes a second: relaying is far slower than a link
MAX_AWAITED = 4096  # payloads awaiting receipts; past this the oldest is reported


def got_body(message_id: str) -> dict[str, str]:
    return {"type": "got", "id": message_id}


@dataclass
class _Awaited:
    header: PayloadHeader
    recipients: set[str]
    deadline: float


class RelayedReceipts:
    """Relayed payloads of ours to chosen members, awaiting their receipts."""

    def __init__(self) -> None:
        self._awaited: dict[str, _Awaited] = {}  # message id -> what is still awaited

    @property
    def awaited(self) -> int:
        return len(self._awaited)

    def sent(self, header: PayloadHeader, now: float) -> list[PayloadUndelivered]:
        """The last part of ``header``'s payload to ``header.to`` went out just now."""
        if not header.to:
            return []
        deadline = now + RECEIPT_WAIT + header.size / RELAYED_RATE
        self._awaited[header.id] = _Awaited(header, set(header.to), deadline)
        if len(self._awaited) <= MAX_AWAITED:
            return []
        oldest = next(iter(self._awaited))
        return self._report(oldest, "too many payloads awaiting receipts to keep track")

    def got(self, message_id: str, peer_id: str) -> list[PayloadDelivered]:
        """``peer_id`` says it has the payload (its envelope's signature says it is
        ``peer_id``); a receipt from anyone else, or a second one, changes nothing."""
        awaited = self._awaited.get(message_id)
        if awaited is None or peer_id not in awaited.recipients:
            return []
        awaited.recipients.discard(peer_id)
        if not awaited.recipients:
            del self._awaited[message_id]
        return [PayloadDelivered(awaited.header, peer_id)]

    def left(self, peer_id: str) -> list[PayloadUndelivered]:
        """``peer_id`` left the room: what it had not confirmed will not reach it."""
        reports = []
        for message_id, awaited in list(self._awaited.items()):
            if peer_id in awaited.recipients:
                reports.append(PayloadUndelivered(awaited.header, peer_id, "the peer left"))
                awaited.recipients.discard(peer_id)
                if not awaited.recipients:
                    del self._awaited[message_id]
        return reports

    def expire(self, now: float) -> list[PayloadUndelivered]:
        """Payloads whose receipts are overdue, reported for each silent recipient."""
        reports: list[PayloadUndelivered] = []
        for message_id in [m for m, a in self._awaited.items() if now > a.deadline]:
            reports += self._report(message_id, "no receipt came back through the room")
        return reports

    def _report(self, message_id: str, reason: str) -> list[PayloadUndelivered]:
        awaited = self._awaited.pop(message_id)
        return [
            PayloadUndelivered(awaited.header, peer_id, reason)
            for peer_id in sorted(awaited.recipients)
        ]
