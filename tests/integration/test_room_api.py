"""The Python API against a real broker process, with real aiortc connections."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, cast

import pytest

from meshchat.mesh import (
    MessageReceived,
    MessageTooLarge,
    PeerJoined,
    PeerLeft,
    Room,
)

from .links import connections
from .processes import EVENT_TIMEOUT, Signalling
from .rooms import LOOPBACK, next_event

pytestmark = pytest.mark.integration


@pytest.fixture
async def rooms(signalling: Signalling) -> AsyncIterator[list[Room]]:
    made = [Room(signalling.transport(), "api", nick=nick, ice=LOOPBACK) for nick in ("ana", "bo")]
    yield made
    for room in made:
        await room.leave()


async def test_join_chat_and_leave_with_no_connection_left_behind(rooms: list[Room]) -> None:
    ana, bo = rooms
    await ana.join()
    alone = await ana.send("anyone?")
    assert alone.delivered_to == ()
    await bo.join()
    joined = await next_event(ana, PeerJoined)
    assert joined == PeerJoined(bo.id, "bo", route="host/host")  # loopback: direct
    await next_event(bo, PeerJoined)
    assert ana.peers == {bo.id: "bo"} and bo.peers == {ana.id: "ana"}

    sent = await ana.send("hi bo")
    assert sent.delivered_to == (bo.id,)
    received = await next_event(bo, MessageReceived)
    assert isinstance(received, MessageReceived)
    assert received.message == sent.message

    with pytest.raises(MessageTooLarge):
        await ana.send("x" * 20_000)

    await bo.leave()
    left = await next_event(ana, PeerLeft)
    assert left == PeerLeft(bo.id, "bo", "said bye", said_bye=True)
    assert ana.peers == {}
    # White-box: the peer connection was detached and closed, not leaked.
    assert connections(ana) == {} and connections(bo) == {}
    closing = cast(Any, ana._driver.engine)._closing.running()
    await asyncio.wait_for(asyncio.gather(*closing), EVENT_TIMEOUT)
