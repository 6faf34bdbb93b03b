"""History for late joiners, with real processes (and in-process rooms for a forger):
what was said before a peer joined is shown to it once, in order, marked as history,
and verifies as its author's even after the author left."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest

from meshchat.mesh import MessageReceived, Room
from meshchat.mesh.link.chat_frames import encode_chat

from .conftest import PeerFactory
from .hostile import joined_room, wait_until_peers
from .processes import EVENT_TIMEOUT, Broker, Peer

pytestmark = pytest.mark.timeout(120)


def is_message(text: str) -> Callable[[dict[str, Any]], bool]:
    return lambda event: event["event"] == "message" and event["text"] == text


async def chat(speakers: list[Peer], lines: int, room: list[Peer]) -> list[str]:
    """``lines`` lines, the speakers taking turns, each seen by everyone in ``room``
    before the next (so that everyone keeps the same order)."""
    said = []
    for n in range(lines):
        speaker = speakers[n % len(speakers)]
        text = f"line {n} from {speaker.nick}"
        await speaker.send(text)
        for listener in room:
            if listener is not speaker:
                await listener.wait_for(is_message(text))
        said.append(text)
    return said


async def test_a_newcomer_sees_the_rooms_last_lines_once_in_order(
    meshchat_broker: Broker, spawn_peer: PeerFactory
) -> None:
    ana = await spawn_peer(meshchat_broker, "history", "ana")
    bo = await spawn_peer(meshchat_broker, "history", "bo")
    await ana.wait_for_peers({bo.id})
    said = await chat([ana, bo], 10, [ana, bo])

    cy = await spawn_peer(meshchat_broker, "history", "cy")
    await cy.wait_for_peers({ana.id, bo.id})
    await cy.wait_for(lambda e: e.get("text") == said[-1])
    await asyncio.sleep(1)  # both were asked: the second answer must add nothing
    shown = cy.history()
    assert [e["text"] for e in shown] == said, "all ten, in order, once"
    assert {e["from"] for e in shown} == {ana.id, bo.id}
    # Each under the nick the room knows for its author; one cy had not met yet when
    # the answer came shows as "?" (an answer's own nicks are never believed).
    assert {e["nick"] for e in shown if e["from"] == ana.id} <= {"ana", "?"}
    assert {e["nick"] for e in shown if e["from"] == bo.id} <= {"bo", "?"}
    assert not ana.history() and not bo.history(), "the old-timers were not given any"

    await ana.send("after cy came")
    live = await cy.wait_for(lambda e: e.get("text") == "after cy came")
    assert live["history"] is False


async def test_history_outlives_its_author_and_can_be_turned_off(
    meshchat_broker: Broker, spawn_peer: PeerFactory
) -> None:
    ana = await spawn_peer(meshchat_broker, "history-gone", "ana")
    bo = await spawn_peer(meshchat_broker, "history-gone", "bo")
    await ana.wait_for_peers({bo.id})
    said = await chat([ana], 5, [ana, bo])
    assert await ana.quit() == 0
    await bo.wait_for(lambda e: e["event"] == "left" and e["peer"] == ana.id)

    cy = await spawn_peer(meshchat_broker, "history-gone", "cy")
    await cy.wait_for(lambda e: e.get("text") == said[-1], EVENT_TIMEOUT)
    assert [e["text"] for e in cy.history()] == said
    assert {e["from"] for e in cy.history()} == {ana.id}, "still ana's, checked by ana's key"

    dee = await spawn_peer(meshchat_broker, "history-gone", "dee", "--no-history")
    await dee.wait_for_peers({bo.id, cy.id})
    await asyncio.sleep(2)
    assert not dee.history() and not dee.messages(), "--no-history: nothing asked, nothing shown"


async def test_an_altered_or_invented_history_line_is_dropped_and_counted(
    meshchat_broker: Broker, rooms: list[Room]
) -> None:
    ana = await joined_room(meshchat_broker, "history-forged", "ana")
    mallory = await joined_room(meshchat_broker, "history-forged", "mallory")
    rooms += [ana, mallory]
    await wait_until_peers(mallory, ana.id)
    genuine = (await ana.send("the genuine line")).message
    async with asyncio.timeout(EVENT_TIMEOUT):
        async for event in mallory.events():
            if isinstance(event, MessageReceived):
                break
    await ana.leave()
    rooms.remove(ana)

    # Mallory answers with the genuine line, an altered copy, and a line in ana's
    # name signed with mallory's key.
    wire = json.loads(encode_chat(genuine))
    ana_key = ana._identity.public_key_b64
    altered = {**wire, "id": "x2", "text": "the altered line", "key": ana_key}
    invented = {**wire, "id": "x3", "text": "invented", "key": mallory._identity.public_key_b64}
    answer = {"type": "messages", "messages": [{**wire, "key": ana_key}, altered, invented]}
    mallory._core.history.answer_for = lambda peer_id, now: answer  # type: ignore[method-assign]

    cy = await joined_room(meshchat_broker, "history-forged", "cy")
    rooms.append(cy)
    shown: list[MessageReceived] = []
    async with asyncio.timeout(EVENT_TIMEOUT):
        async for event in cy.events():
            if isinstance(event, MessageReceived):
                shown.append(event)
            if cy.forged_messages == 2 and shown:
                break
    await asyncio.sleep(0.5)
    assert [(e.message.text, e.history) for e in shown] == [("the genuine line", True)]
    assert cy.forged_messages == 2
