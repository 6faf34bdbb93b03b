"""Receipts for payloads relayed to chosen members (mesh/partial/relayed_receipts.py): what
each recipient confirmed, and the rest reported undelivered with the reason."""

from __future__ import annotations

import pytest

from meshchat.mesh.events import PayloadDelivered, PayloadUndelivered
from meshchat.mesh.identity import Identity
from meshchat.mesh.link.payloads import PayloadHeader
from meshchat.mesh.partial import relayed_receipts as rr
from meshchat.mesh.partial.gossip import Gossip
from meshchat.mesh.partial.relayed import Receipt, read_body
from meshchat.mesh.signalling.messages import ProtocolError


def header(
    message_id: str = "m1", to: tuple[str, ...] = ("bo", "cy"), size: int = 0
) -> PayloadHeader:
    return PayloadHeader(message_id, "ana", "files", 0, 0, "bytes", size, "", to)


def reported(reports: list[PayloadUndelivered]) -> list[tuple[str, str, str]]:
    return [(report.header.id, report.peer_id, report.reason) for report in reports]


def test_a_payload_confirmed_by_every_recipient_is_delivered_once_to_each() -> None:
    receipts = rr.RelayedReceipts()
    assert receipts.sent(header(), 0.0) == []
    assert receipts.got("m1", "bo") == [PayloadDelivered(header(), "bo")]
    assert receipts.got("m1", "bo") == []  # a second receipt, replayed or late
    assert receipts.got("m1", "cy") == [PayloadDelivered(header(), "cy")]
    assert receipts.awaited == 0 and receipts.expire(10_000.0) == []


def test_a_silent_recipient_is_reported_once_its_receipt_is_overdue() -> None:
    receipts = rr.RelayedReceipts()
    receipts.sent(header(size=rr.RELAYED_RATE * 10), 0.0)  # 10 s more for its size
    receipts.got("m1", "bo")
    assert receipts.expire(rr.RECEIPT_WAIT + 9.0) == []
    assert reported(receipts.expire(rr.RECEIPT_WAIT + 11.0)) == [
        ("m1", "cy", "no receipt came back through the room")
    ]
    assert receipts.expire(10_000.0) == []


def test_a_receipt_from_someone_not_addressed_changes_nothing() -> None:
    receipts = rr.RelayedReceipts()
    receipts.sent(header(to=("bo",)), 0.0)
    assert receipts.got("m1", "eve") == receipts.got("other", "bo") == []
    assert reported(receipts.expire(rr.RECEIPT_WAIT + 1)) == [
        ("m1", "bo", "no receipt came back through the room")
    ]


def test_a_recipient_that_leaves_is_reported_at_once() -> None:
    receipts = rr.RelayedReceipts()
    receipts.sent(header("m1"), 0.0)
    receipts.sent(header("m2", to=("cy",)), 0.0)
    assert reported(receipts.left("cy")) == [
        ("m1", "cy", "the peer left"),
        ("m2", "cy", "the peer left"),
    ]
    receipts.got("m1", "bo")
    assert receipts.awaited == 0


def test_a_payload_to_everyone_awaits_no_receipts() -> None:
    receipts = rr.RelayedReceipts()
    assert receipts.sent(header(to=()), 0.0) == [] and receipts.awaited == 0


def test_what_awaits_receipts_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rr, "MAX_AWAITED", 2)
    receipts = rr.RelayedReceipts()
    receipts.sent(header("m1", to=("bo",)), 0.0)
    receipts.sent(header("m2", to=("bo",)), 0.0)
    overflow = receipts.sent(header("m3", to=("bo",)), 0.0)
    assert [(r.header.id, r.peer_id) for r in overflow] == [("m1", "bo")]
    assert receipts.awaited == 2


def test_a_receipt_body_is_read_and_a_bad_one_refused() -> None:
    identity = Identity()
    core = Gossip(identity.client_id, "crowd", key=identity.public_key_b64, sign=identity.sign)
    envelope, _ = core.publish(rr.got_body("m1"), 0.0, ("bo",))
    assert read_body(envelope, "crowd") == Receipt("m1")
    bad, _ = core.publish({"type": "got", "id": "no spaces"}, 0.0, ("bo",))
    with pytest.raises(ProtocolError, match="receipt"):
        read_body(bad, "crowd")
