"""What an application learns of a payload it sent, through the Python API, with real
aiortc connections between rooms in one process: ``await sent.wait()`` per recipient,
``sent.progress``, and the channel's own reports (``channel.on``)."""

from __future__ import annotations

import asyncio

import pytest

from meshchat.mesh import PayloadDelivered, PayloadUndelivered, TransferProgress
from meshchat.mesh.payload_outcomes import LEFT
from meshchat.mesh.testing import meshed_rooms

from .processes import EVENT_TIMEOUT

pytestmark = pytest.mark.integration
MIB = 1024 * 1024


async def test_wait_says_each_recipient_has_the_payload_and_the_channel_reports_it() -> None:
    async with meshed_rooms("ana", "bo", "cy", room="outcomes") as (ana, bo, cy):
        moves = ana.channel("moves")
        progress: list[TransferProgress] = []
        delivered: list[PayloadDelivered] = []
        moves.on(TransferProgress, progress.append)
        moves.on(PayloadDelivered, delivered.append)
        ana.channel("other").on(PayloadDelivered, lambda _: pytest.fail("not its channel"))

        sent = await moves.send(bytes(2 * MIB))
        async with asyncio.timeout(EVENT_TIMEOUT):
            outcome = await sent.wait()
        assert outcome == {bo.id: "delivered", cy.id: "delivered"}
        assert sent.progress == {bo.id: 2 * MIB, cy.id: 2 * MIB}
        assert sorted(event.peer_id for event in delivered) == sorted((bo.id, cy.id))
        assert all(event.header.id == sent.id for event in delivered)
        assert progress and all(event.channel == "moves" and event.sending for event in progress)

        one = await moves.send({"to": "bo only"}, to=[bo.id])
        async with asyncio.timeout(EVENT_TIMEOUT):
            assert await one.wait() == {bo.id: "delivered"}


async def test_a_recipient_that_leaves_settles_with_the_reason() -> None:
    async with meshed_rooms("ana", "bo", room="outcomes") as (ana, bo):
        undelivered: list[PayloadUndelivered] = []
        ana.channel("big").on(PayloadUndelivered, undelivered.append)
        sent = await ana.channel("big").send(bytes(32 * MIB))
        await bo.leave()  # long before 32 MiB can have gone
        async with asyncio.timeout(EVENT_TIMEOUT):
            outcome = await sent.wait()
        assert list(outcome) == [bo.id] and outcome[bo.id] != "delivered"
        assert [(e.header.id, e.peer_id, e.reason) for e in undelivered] == [
            (sent.id, bo.id, outcome[bo.id])
        ]
        assert sent.progress.get(bo.id, 0) < 32 * MIB


async def test_what_is_not_settled_when_the_room_is_left_settles_then() -> None:
    async with meshed_rooms("ana", "bo", room="outcomes") as (ana, bo):
        sent = await ana.channel("big").send(bytes(32 * MIB))
        waiting = asyncio.create_task(sent.wait())
        await asyncio.sleep(0)
        assert not waiting.done()
        await ana.leave()
        async with asyncio.timeout(EVENT_TIMEOUT):
            assert await waiting == {bo.id: LEFT}
        assert len(ana._driver.sender.outcomes) == 0  # nothing kept past its payload


async def test_a_payload_to_nobody_settles_at_once() -> None:
    async with meshed_rooms("ana", room="outcomes") as (ana,):
        sent = await ana.channel("moves").send({"alone": True})
        assert await sent.wait() == {} and sent.progress == {}
