"""Sealed rooms and signed signalling with real processes and a real broker."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator

import pytest
from websockets.asyncio.client import connect

from meshchat.mesh.signalling.sealing import RoomSeal

from .conftest import PeerFactory
from .processes import Broker, start_y_webrtc_broker, y_webrtc_available
from .test_chat_mesh import form_mesh

pytestmark = pytest.mark.integration


@pytest.fixture
async def open_broker() -> AsyncIterator[Broker]:
    """A broker that lets anyone subscribe to anything (the stock y-webrtc server), which
    stands for a curious or malicious broker operator: ours would refuse the eavesdropper
    its subscription to a client topic (tested in test_broker.py)."""
    if not y_webrtc_available():
        if os.environ.get("CI"):
            pytest.fail("y-webrtc-signaling not installed")
        pytest.skip("y-webrtc-signaling not installed: run `npm ci --prefix tests/node`")
    broker = await start_y_webrtc_broker()
    yield broker
    await broker.stop()


async def test_a_sealed_room_chats_and_the_broker_sees_no_sdp_and_no_names(
    open_broker: Broker, spawn_peer: PeerFactory
) -> None:
    meshchat_broker = open_broker
    secret = "correct horse battery staple"
    tag = RoomSeal("plans", secret).topic_tag
    ana = await spawn_peer(meshchat_broker, "plans", "ana", "--secret", secret)
    seen: list[str] = []
    async with connect(meshchat_broker.url) as eavesdropper:
        # Someone at the broker watches the room's topics (it can see topic names).
        topics = [f"meshchat/{tag}/global", f"meshchat/{tag}/client-{ana.id}"]
        await eavesdropper.send(json.dumps({"type": "subscribe", "topics": topics}))
        await eavesdropper.send(json.dumps({"type": "ping"}))
        # ana's hellos may already be going by before the pong (the subscription's end).
        while json.loads(frame := str(await eavesdropper.recv())) != {"type": "pong"}:
            seen.append(frame)
        bo = await spawn_peer(meshchat_broker, "plans", "bo", "--secret", secret)
        outsider = await spawn_peer(meshchat_broker, "plans", "eve", "--secret", "guess")
        await form_mesh([ana, bo])
        await ana.send("for bo only")
        await bo.wait_for(lambda e: e["event"] == "message" and e["text"] == "for bo only")
        try:
            async with asyncio.timeout(1):
                while True:
                    seen.append(str(await eavesdropper.recv()))
        except TimeoutError:
            pass
    assert seen, "the eavesdropper saw the signalling go by"
    for frame in seen:
        published = json.loads(frame)
        assert set(published["data"]) == {"v", "sealed"}, "only sealed payloads go by"
        assert "v=0" not in frame  # no SDP ("=" is not in the base64url alphabet)
        assert "plans" not in published["topic"]
    assert outsider.connected_peers() == set(), "the wrong secret met no one"
    assert ana.connected_peers() == {bo.id}
