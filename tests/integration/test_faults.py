"""Faults the mesh must survive, with real processes: the broker dying and coming back."""

from __future__ import annotations

import signal

import pytest

from .conftest import PeerFactory
from .processes import start_meshchat_broker
from .test_chat_mesh import assert_delivered_exactly_once, everyone_says_something, form_mesh

pytestmark = pytest.mark.integration


async def test_a_broker_restart_loses_no_chat_and_newcomers_join_after(
    spawn_peer: PeerFactory,
) -> None:
    broker = await start_meshchat_broker()
    port = int(broker.url.rsplit(":", 1)[1])
    try:
        peers = [await spawn_peer(broker, "lobby", nick) for nick in ("ana", "bo", "cy")]
        await form_mesh(peers)

        assert broker.process is not None
        broker.process.send_signal(signal.SIGKILL)
        await broker.process.wait()
        for peer in peers:
            lost = await peer.wait_for(lambda e: e["event"] == "signalling-lost")
            assert lost["final"] is False
        during = await everyone_says_something(peers, "while the broker is down")
        await assert_delivered_exactly_once(peers, during)

        broker = await start_meshchat_broker(port=port)
        for peer in peers:
            await peer.wait_for(lambda e: e["event"] == "signalling-restored")
        late = await spawn_peer(broker, "lobby", "dee")
        peers.append(late)
        await form_mesh(peers)
        after = await everyone_says_something(peers, "after the restart")
        await assert_delivered_exactly_once(peers, after)
        for peer in peers[:3]:
            assert not any(e["event"] == "left" for e in peer.events), "nobody left"
    finally:
        await broker.stop()
