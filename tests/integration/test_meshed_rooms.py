"""``meshchat.mesh.testing.meshed_rooms``: what an application's tests start from."""

from __future__ import annotations

import pytest

from meshchat.mesh import MessageReceived, RoomClosed
from meshchat.mesh.testing import meshed_rooms

from .rooms import next_event

pytestmark = pytest.mark.integration


async def test_the_rooms_are_linked_when_the_block_starts_and_left_when_it_ends() -> None:
    async with meshed_rooms("ana", "bo", "cy", room="app-test") as rooms:
        ana, bo, cy = rooms
        assert ana.peers == {bo.id: "bo", cy.id: "cy"} and len(bo.peers) == len(cy.peers) == 2
        assert {link.route for link in ana.links().values()} == {"host/host"}
        sent = await ana.send("hi")
        assert sorted(sent.delivered_to) == sorted((bo.id, cy.id))
        heard = await next_event(cy, MessageReceived)
        assert isinstance(heard, MessageReceived) and heard.message.text == "hi"
    for room in rooms:
        with pytest.raises(RoomClosed):
            await room.send("after the block")


async def test_the_rooms_are_left_when_the_block_raises() -> None:
    with pytest.raises(KeyError):
        async with meshed_rooms("ana", "bo", secret="s3cret") as rooms:
            assert all(room.sealed for room in rooms)
            raise KeyError("the test failed")
    for room in rooms:
        with pytest.raises(RoomClosed):
            await room.send("after the block")
