"""Faults the mesh must survive, with real processes: the broker dying and coming back."""

from __future__ import annotations

import asyncio
import signal
import time

import pytest

from meshchat.mesh import (
    MessageReceived,
    MessageUndelivered,
    PeerJoined,
    PeerLeft,
    Room,
    RoomEvent,
)
from meshchat.mesh.identity import Identity
from meshchat.mesh.link.chat_frames import encode_chat, new_chat_message, new_message_id

from .conftest import PeerFactory
from .links import break_link, linked_peers, send_raw
from .processes import EVENT_TIMEOUT, Broker, start_meshchat_broker
from .rooms import LOOPBACK, full_mesh
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


async def test_a_failed_peer_connection_is_rebuilt_and_messages_sent_meanwhile_arrive(
    meshchat_broker: Broker,
) -> None:
    """Break one side's peer connection under the protocol's feet (as a dying network
    path would): both sides rebuild it without help, and nothing said meanwhile is lost."""
    ana = Room(meshchat_broker.transport(), "faults", nick="ana", ice=LOOPBACK)
    bo = Room(meshchat_broker.transport(), "faults", nick="bo", ice=LOOPBACK)
    received: list[str] = []
    undelivered: list[MessageUndelivered] = []
    seen_by_ana: list[RoomEvent] = []
    try:
        await ana.join()
        await bo.join()
        await full_mesh(ana, bo)

        async def collect(room: Room) -> None:
            async for event in room.events():
                if isinstance(event, MessageReceived):
                    received.append(event.message.text)
                elif isinstance(event, MessageUndelivered):
                    undelivered.append(event)
                if room is ana:
                    seen_by_ana.append(event)

        watchers = [asyncio.create_task(collect(bo)), asyncio.create_task(collect(ana))]
        await break_link(bo)
        texts = [f"meanwhile {i}" for i in range(5)]
        for text in texts:
            await ana.send(text)
            await asyncio.sleep(0.2)
        async with asyncio.timeout(EVENT_TIMEOUT):
            while sorted(received) != sorted(texts):
                await asyncio.sleep(0.05)
        assert undelivered == []
        assert bo.id in ana.peers and ana.id in bo.peers
        # It really was lost and rebuilt, not just slow.
        kinds = [type(e).__name__ for e in seen_by_ana if isinstance(e, PeerLeft | PeerJoined)]
        assert kinds == ["PeerJoined", "PeerLeft", "PeerJoined"], kinds
        for watcher in watchers:
            watcher.cancel()
    finally:
        await ana.leave()
        await bo.leave()


async def test_a_peer_cannot_post_in_another_ones_name_on_the_data_channel(
    meshchat_broker: Broker,
) -> None:
    ana = Room(meshchat_broker.transport(), "forgery", nick="ana", ice=LOOPBACK)
    bo = Room(meshchat_broker.transport(), "forgery", nick="bo", ice=LOOPBACK)
    try:
        await ana.join()
        await bo.join()
        await full_mesh(ana, bo)
        (bo_id,) = linked_peers(ana)  # white-box: ana misbehaves
        someone_else = Identity().client_id
        forged = new_chat_message(someone_else, "someone else", "forged", 0, 1, new_message_id())
        send_raw(ana, bo_id, encode_chat(forged))
        await ana.send("genuine")
        async with asyncio.timeout(EVENT_TIMEOUT):
            async for event in bo.events():
                if isinstance(event, MessageReceived):
                    assert event.message.text == "genuine", "the forged message got through"
                    assert event.message.sender == ana.id
                    break
    finally:
        await ana.leave()
        await bo.leave()


async def test_a_hung_broker_is_noticed_within_seconds_and_used_again_once_it_answers(
    spawn_peer: PeerFactory,
) -> None:
    """A stopped (not killed) broker keeps the TCP connection open but answers nothing:
    only the client's pings can tell. The clients give up on it, and when it answers
    again they subscribe and announce themselves anew, so a newcomer meets them."""
    broker = await start_meshchat_broker()
    try:
        peers = [await spawn_peer(broker, "lobby", nick) for nick in ("ana", "bo")]
        await form_mesh(peers)
        assert broker.process is not None
        hung_at = time.monotonic()
        broker.process.send_signal(signal.SIGSTOP)  # alive, but answers nothing
        for peer in peers:
            lost = await peer.wait_for(lambda e: e["event"] == "signalling-lost")
            assert lost["final"] is False
        noticed = time.monotonic() - hung_at
        assert noticed < 8.0, f"a hung broker went unnoticed for {noticed:.1f} s"  # goal: 5
        broker.process.send_signal(signal.SIGCONT)
        for peer in peers:
            await peer.wait_for(lambda e: e["event"] == "signalling-restored")
        late = await spawn_peer(broker, "lobby", "cy")  # the others announced themselves again
        peers.append(late)
        await form_mesh(peers)
    finally:
        if broker.process is not None and broker.process.returncode is None:
            broker.process.send_signal(signal.SIGCONT)
        await broker.stop()
