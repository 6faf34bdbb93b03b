"""Whole-system chat: real broker process (bundled, or the stock y-webrtc server), real
``meshchat join --json`` processes, real aiortc data channels on loopback."""

from __future__ import annotations

import asyncio
import collections
import functools
from typing import Any

import pytest

from .conftest import PeerFactory
from .processes import Peer, Signalling

pytestmark = pytest.mark.integration


async def form_mesh(peers: list[Peer]) -> None:
    ids = {peer.id for peer in peers}
    await asyncio.gather(*(peer.wait_for_peers(ids - {peer.id}) for peer in peers))


async def everyone_says_something(peers: list[Peer], tag: str) -> dict[str, str]:
    """Each peer sends one line; returns text -> sender id."""
    sent = {}
    for peer in peers:
        text = f"{tag} from {peer.nick} <b>&amp;</b> ✓"
        event = await peer.send(text)
        assert sorted(event["to"]) == sorted(p.id for p in peers if p is not peer)
        sent[text] = peer.id
    return sent


def is_message(text: str, event: dict[str, Any]) -> bool:
    return bool(event["event"] == "message" and event["text"] == text)


async def assert_delivered_exactly_once(peers: list[Peer], sent: dict[str, str]) -> None:
    for peer in peers:
        expected = {text for text, sender in sent.items() if sender != peer.id}
        for text in expected:
            await peer.wait_for(functools.partial(is_message, text))
        counts = collections.Counter(m["text"] for m in peer.messages() if m["text"] in sent)
        assert set(counts) == expected, f"{peer.nick} got {counts}"
        assert all(n == 1 for n in counts.values()), f"{peer.nick} got duplicates: {counts}"
        for message in peer.messages():
            if message["text"] in sent:
                assert message["from"] == sent[message["text"]]


async def test_four_peers_chat_survive_a_crash_and_welcome_a_latecomer(
    signalling: Signalling, spawn_peer: PeerFactory
) -> None:
    peers = [await spawn_peer(signalling, "lobby", nick) for nick in ("ana", "bo", "cy", "di")]
    await form_mesh(peers)
    nicknames = {e["peer"]: e["nick"] for p in peers for e in p.events if e["event"] == "joined"}
    assert nicknames == {p.id: p.nick for p in peers}

    first = await everyone_says_something(peers, "round one")
    await assert_delivered_exactly_once(peers, first)

    # One peer crashes: no bye, its process is just gone.
    victim = peers.pop(2)
    victim.kill()
    for peer in peers:
        left = await peer.wait_for(lambda e: e["event"] == "left" and e["peer"] == victim.id)
        assert left["nick"] == victim.nick
    second = await everyone_says_something(peers, "after the crash")
    await assert_delivered_exactly_once(peers, second)

    # A latecomer joins and chats with everyone still here.
    late = await spawn_peer(signalling, "lobby", "eve")
    peers.append(late)
    await form_mesh(peers)
    third = await everyone_says_something(peers, "with eve")
    await assert_delivered_exactly_once(peers, third)
    assert not any(m["text"] in first for m in late.messages()), "old lines never come as new"
    # They come marked as history: asked for as eve's links opened, answered by the peers
    # as a payload, which may come after the third round's lines on a loaded machine.
    for text in second:
        await late.wait_for(functools.partial(is_message, text))
    assert {m["text"] for m in late.history()} >= set(second)


async def test_a_graceful_leave_is_reported_with_its_reason(
    signalling: Signalling, spawn_peer: PeerFactory
) -> None:
    ana = await spawn_peer(signalling, "lobby", "ana")
    bo = await spawn_peer(signalling, "lobby", "bo")
    await form_mesh([ana, bo])
    assert await bo.quit() == 0
    left = await ana.wait_for(lambda e: e["event"] == "left")
    assert (left["peer"], left["reason"]) == (bo.id, "said bye")


async def test_rooms_on_one_broker_are_separate(
    signalling: Signalling, spawn_peer: PeerFactory
) -> None:
    red = [await spawn_peer(signalling, "red", n) for n in ("r1", "r2")]
    blue = [await spawn_peer(signalling, "blue", n) for n in ("b1", "b2")]
    await form_mesh(red)
    await form_mesh(blue)
    await red[0].send("only for red")
    await red[1].wait_for(lambda e: e["event"] == "message")
    await blue[0].send("only for blue")
    await blue[1].wait_for(lambda e: e["event"] == "message")
    for peer in (*red, *blue):
        assert len(peer.connected_peers()) == 1
    assert [m["text"] for m in blue[1].messages()] == ["only for blue"]
    assert [m["text"] for m in red[1].messages()] == ["only for red"]


async def test_a_message_over_the_size_limit_is_refused_with_a_clear_error(
    signalling: Signalling, spawn_peer: PeerFactory
) -> None:
    ana = await spawn_peer(signalling, "lobby", "ana")
    bo = await spawn_peer(signalling, "lobby", "bo")
    await form_mesh([ana, bo])
    assert ana.process.stdin is not None
    ana.process.stdin.write(b"x" * 20_000 + b"\n")
    error = await ana.wait_for(lambda e: e["event"] == "error")
    assert "limit is 16384 bytes" in error["message"]
    await ana.send("still here")  # and the chat goes on
    await bo.wait_for(lambda e: e["event"] == "message" and e["text"] == "still here")
    assert [m["text"] for m in bo.messages()] == ["still here"]
