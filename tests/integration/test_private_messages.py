"""Private lines in a full mesh, from the API and from real processes: only the chosen
member shows one, marked private; nobody else does; it never enters history; a lasting
identity can be written to across runs, and an impostor cannot read what is sealed to
it. (Across a partial mesh, through relays: test_relayed_payloads.py.)"""

from __future__ import annotations

import asyncio

import pytest

from meshchat.mesh import MessageReceived, Room
from meshchat.mesh.testing import meshed_rooms
from meshchat.mesh.transports.memory import MemoryHub, MemoryTransport

from .conftest import PeerFactory
from .processes import Broker

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


async def heard(room: Room, into: list[MessageReceived]) -> None:
    async for event in room.events():
        if isinstance(event, MessageReceived):
            into.append(event)


async def test_a_private_line_shows_only_to_its_recipient_and_never_in_history() -> None:
    hub = MemoryHub()
    async with meshed_rooms("ana", "bo", "cy", hub=hub, room="whispers") as (ana, bo, cy):
        got: dict[str, list[MessageReceived]] = {room.nick: [] for room in (bo, cy)}
        tasks = [asyncio.create_task(heard(room, got[room.nick])) for room in (bo, cy)]
        await asyncio.sleep(0.1)
        sent = await ana.send("bo, the key is under the mat", to=[bo.id])
        assert sent.delivered_to == (bo.id,) and sent.message.private
        await ana.send("hello all")
        async with asyncio.timeout(10):
            while len(got["bo"]) < 2 or len(got["cy"]) < 1:
                await asyncio.sleep(0.05)
        whisper, aloud = got["bo"]
        assert whisper.message.text == "bo, the key is under the mat"
        assert whisper.message.private and whisper.message.to == (bo.id,)
        assert not aloud.message.private
        assert [m.message.text for m in got["cy"]] == ["hello all"]

        dee = Room(MemoryTransport(hub), "whispers", nick="dee")
        dee_got: list[MessageReceived] = []
        task = asyncio.create_task(heard(dee, dee_got))
        await dee.join()
        try:
            await dee.wait_for_peers(3)
            async with asyncio.timeout(10):
                while not dee_got:
                    await asyncio.sleep(0.05)
            await asyncio.sleep(1.0)  # every member's answer is in by now
            assert {m.message.text for m in dee_got} == {"hello all"}, "no private line"
            assert all(m.history for m in dee_got)
        finally:
            await dee.leave()
        for running in (*tasks, task):
            running.cancel()


async def test_a_private_line_to_someone_not_here_is_refused_before_anything_goes() -> None:
    async with meshed_rooms("ana", "bo", room="whispers-absent") as (ana, _bo):
        with pytest.raises(ValueError, match="not in the room"):
            await ana.send("hello?", to=["0" * 32])
        with pytest.raises(ValueError, match="not to ourselves"):
            await ana.send("hello?", to=[ana.id])


async def test_msg_between_processes_is_private_and_marked_so(
    meshchat_broker: Broker, spawn_peer: PeerFactory
) -> None:
    ana = await spawn_peer(meshchat_broker, "msg", "ana")
    bo = await spawn_peer(meshchat_broker, "msg", "bo")
    cy = await spawn_peer(meshchat_broker, "msg", "cy")
    for peer, others in ((ana, {bo.id, cy.id}), (bo, {ana.id, cy.id}), (cy, {ana.id, bo.id})):
        await peer.wait_for_peers(others)

    await ana.command_line("/msg bo only you should read this")
    sent = await ana.wait_for(lambda e: e["event"] == "sent" and e.get("private") is True)
    assert sent["recipients"] == [bo.id] and sent["to"] == [bo.id]
    got = await bo.wait_for(lambda e: e["event"] == "message" and e["from"] == ana.id)
    assert got["text"] == "only you should read this" and got["private"] is True

    await bo.command({"say": "and this is for ana", "to": ["ana"]})
    back = await ana.wait_for(lambda e: e["event"] == "message" and e["from"] == bo.id)
    assert back["text"] == "and this is for ana" and back["private"] is True

    await ana.send("a line for everyone")
    aloud = await cy.wait_for(lambda e: e["event"] == "message")
    assert aloud["text"] == "a line for everyone" and aloud["private"] is False
    await asyncio.sleep(0.5)
    assert [e["text"] for e in cy.messages()] == ["a line for everyone"]

    await ana.command_line("/msg nobody-here hello")
    problem = await ana.wait_for(lambda e: e["event"] == "error")
    assert "nobody-here" in problem["message"]
