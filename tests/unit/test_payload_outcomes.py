"""How each recipient of a payload settles (mesh/payload_outcomes.py), from the events
the room reports: what ``SentPayload.wait()`` and ``.progress`` say."""

from __future__ import annotations

import asyncio

import pytest

from meshchat.mesh.events import (
    PayloadDelivered,
    PayloadUndelivered,
    SentPayload,
    TransferProgress,
)
from meshchat.mesh.link.payloads import PayloadHeader
from meshchat.mesh.payload_outcomes import DELIVERED, LEFT, RELAYED, PayloadOutcomes


def header(message_id: str = "m1", to: tuple[str, ...] = ()) -> PayloadHeader:
    return PayloadHeader(message_id, "ana", "moves", 1, 0, "bytes", 1000, "", to)


def progress(done: int, peer: str = "bo", message_id: str = "m1") -> TransferProgress:
    return TransferProgress("moves", message_id, peer, True, done, 1000)


async def test_every_recipient_settles_delivered_or_with_its_reason() -> None:
    outcomes = PayloadOutcomes()
    sent = outcomes.track(SentPayload(header(), ("bo", "cy"), ("dee",)))
    waiting = asyncio.ensure_future(sent.wait())
    outcomes.observe(progress(400))
    outcomes.observe(progress(300, message_id="other"))  # another payload's
    assert sent.progress == {"bo": 400} and sent.outcomes == {}
    outcomes.observe(PayloadDelivered(header(), "bo"))
    outcomes.observe(PayloadUndelivered(header(), "bo", "late and wrong"))  # already settled
    outcomes.observe(PayloadUndelivered(header(), "cy", "the peer left"))
    await asyncio.sleep(0)
    assert not waiting.done() and len(outcomes) == 1
    outcomes.observe(PayloadDelivered(header(), "dee"))
    assert await waiting == {"bo": DELIVERED, "cy": "the peer left", "dee": DELIVERED}
    assert sent.progress == {"bo": 1000, "dee": 1000}
    assert len(outcomes) == 0  # nothing kept once settled


async def test_a_payload_to_chosen_peers_waits_for_them_only() -> None:
    outcomes = PayloadOutcomes()
    sent = outcomes.track(SentPayload(header(to=("bo",)), ("bo",)))
    outcomes.observe(PayloadDelivered(header(to=("bo",)), "eve"))  # not a recipient
    outcomes.observe(PayloadDelivered(header(to=("bo",)), "bo"))
    assert await sent.wait() == {"bo": DELIVERED}


async def test_a_whole_room_relay_settles_at_once_and_leaving_settles_the_rest() -> None:
    outcomes = PayloadOutcomes()
    relayed = outcomes.track(SentPayload(header("m2"), ("bo",)), relayed_to=["bo", "cy"])
    assert await relayed.wait() == {"bo": RELAYED, "cy": RELAYED} and len(outcomes) == 0
    pending = outcomes.track(SentPayload(header(), ("bo",)))
    outcomes.close()
    assert await pending.wait() == {"bo": LEFT} and len(outcomes) == 0
    after = outcomes.track(SentPayload(header("m3"), ("bo",)))
    assert await after.wait() == {"bo": LEFT}


async def test_a_payload_not_sent_through_a_room_says_it_is_not_tracked() -> None:
    with pytest.raises(RuntimeError, match="tracked"):
        await SentPayload(header(), ("bo",)).wait()
