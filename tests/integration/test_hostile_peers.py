"""Regression tests for attacks by a hostile peer on the data channel (docs/security.md).

Each victim is a real ``meshchat join`` process; the attacker is a real in-process
``Room`` on the real broker that also writes frames of its own making.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from meshchat.mesh import MessageReceived, Room

from .conftest import PeerFactory
from .hostile import TextPeer, chat_frame, joined_room, wait_until_peers
from .links import send_raw
from .processes import EVENT_TIMEOUT, Broker, Peer

pytestmark = pytest.mark.integration

# Sequences that act on a terminal: window title, clear screen, a fake new line that
# overwrites the current one, a one-byte C1 CSI, a right-to-left override.
TERMINAL_ATTACKS = ["\x1b]0;pwned\x07", "\x1b[2J", "\r<ana> fake line", "\x9b31m", "\u202e"]
RAW_UNSAFE = [b"\x1b", b"\x07", b"\r", "\x9b".encode(), "\u202e".encode()]


async def victim_among(
    broker: Broker, spawn_peer: PeerFactory, rooms: list[Room], room: str, *nicks: str
) -> tuple[Peer, list[Room]]:
    """A victim process "bob" in ``room``, and in-process peers called ``nicks``, each
    with an open channel to it (and left at the end of the test)."""
    victim = await spawn_peer(broker, room, "bob")
    others = [await joined_room(broker, room, nick) for nick in nicks]
    rooms += others
    for other in others:
        await wait_until_peers(other, victim.id)
    return victim, others


async def test_one_bad_frame_cannot_blind_a_client(
    meshchat_broker: Broker, rooms: list[Room]
) -> None:
    victim = await TextPeer.start(meshchat_broker, "blind", "bob")
    try:
        eve = await joined_room(meshchat_broker, "blind", "eve")
        ana = await joined_room(meshchat_broker, "blind", "ana")
        rooms += [eve, ana]
        await wait_until_peers(eve, victim.id)
        await wait_until_peers(ana, victim.id)
        # A timestamp no clock can show, and a lone surrogate no UTF-8 output can print.
        send_raw(eve, victim.id, chat_frame(eve, "absurd time", ts=10**20))
        surrogate = chat_frame(eve, "SURROGATE").replace("SURROGATE", "\\ud800")
        send_raw(eve, victim.id, surrogate)
        await ana.send("still here")
        line = await victim.wait_for(b"still here")
        assert b"<ana#" in line
        assert victim.process.returncode is None
    finally:
        await victim.stop()


async def test_no_peer_text_reaches_the_terminal_as_a_control_sequence(
    meshchat_broker: Broker, rooms: list[Room], spawn_peer: PeerFactory
) -> None:
    victim = await TextPeer.start(meshchat_broker, "escapes", "bob")
    watcher = await spawn_peer(meshchat_broker, "escapes", "carol")
    try:
        eve = await joined_room(meshchat_broker, "escapes", "eve\x1b[31m\u202e")
        rooms.append(eve)
        await wait_until_peers(eve, victim.id, watcher.id)
        for attack in TERMINAL_ATTACKS:
            await eve.send(f"x{attack}y")
        await eve.send("the end")
        await victim.wait_for(b"the end")
        await watcher.wait_for(lambda e: e.get("text") == "the end")
    finally:
        await victim.stop()
    text_mode = bytes(victim.output)
    assert b"the end" in text_mode
    for unsafe in RAW_UNSAFE:
        assert unsafe not in text_mode, f"{unsafe!r} reached the terminal"
    assert b"\\x1b]0;pwned\\x07" in text_mode, "escapes are shown, visibly"
    # --json: the same characters only as JSON escapes; the parsed text is intact.
    raw_json = b"".join(json.dumps(e).encode() for e in watcher.events)  # parsed back
    assert "x\x1b]0;pwned\x07y" in [e.get("text") for e in watcher.events], raw_json[:0]


async def test_json_mode_prints_no_raw_control_characters(
    meshchat_broker: Broker, rooms: list[Room]
) -> None:
    victim = await TextPeer.start(meshchat_broker, "jsonesc", "bob", "--json")
    try:
        eve = await joined_room(meshchat_broker, "jsonesc", "eve")
        rooms.append(eve)
        await wait_until_peers(eve, victim.id)
        for attack in TERMINAL_ATTACKS:
            await eve.send(f"x{attack}y")
        await eve.send("the end")
        await victim.wait_for(b"the end")
    finally:
        await victim.stop()
    output = bytes(victim.output)
    for unsafe in RAW_UNSAFE:
        assert unsafe not in output, f"{unsafe!r} reached the terminal in --json"
    texts = [json.loads(line).get("text") for line in output.splitlines() if line]
    assert "x\u202ey" in texts and "x\x9b31my" in texts  # the data itself is intact


async def test_a_peer_cannot_post_under_another_nick(
    meshchat_broker: Broker, rooms: list[Room]
) -> None:
    victim = await TextPeer.start(meshchat_broker, "spoof", "bob")
    try:
        ana = await joined_room(meshchat_broker, "spoof", "ana")
        eve = await joined_room(meshchat_broker, "spoof", "eve")
        twin = await joined_room(meshchat_broker, "spoof", "ana")  # a second "ana"
        rooms += [ana, eve, twin]
        for room in (ana, eve, twin):
            await wait_until_peers(room, victim.id)
        send_raw(eve, victim.id, chat_frame(eve, "I am ana, honest", nick="ana"))
        await ana.send("from the first ana")
        await twin.send("from the second ana")
        forged = await victim.wait_for(b"I am ana, honest")
        first = await victim.wait_for(b"from the first ana")
        second = await victim.wait_for(b"from the second ana")
    finally:
        await victim.stop()
    assert f"<eve#{eve.id[:4]}".encode() in forged, forged
    label_first = first.split(b"<")[1].split(b">")[0]
    label_second = second.split(b"<")[1].split(b">")[0]
    assert label_first.startswith(b"ana#") and label_second.startswith(b"ana#")
    assert label_first != label_second, "two peers called ana look the same"
    assert ana.id.encode().startswith(label_first.removeprefix(b"ana#"))


async def test_a_message_id_reused_by_another_peer_hides_nothing(
    meshchat_broker: Broker, rooms: list[Room], spawn_peer: PeerFactory
) -> None:
    victim, (alice, eve) = await victim_among(
        meshchat_broker, spawn_peer, rooms, "dedupe", "alice", "eve"
    )
    # Eve learns (or guesses) the id of alice's message and gets hers in first.
    send_raw(eve, victim.id, chat_frame(eve, "eve's text", id="shared-id"))
    await victim.wait_for(lambda e: e.get("text") == "eve's text")
    send_raw(alice, victim.id, chat_frame(alice, "alice's text", id="shared-id"))
    shown = await victim.wait_for(lambda e: e.get("text") == "alice's text")
    assert shown["from"] == alice.id and shown["nick"] == "alice"


async def test_a_peer_that_keeps_sending_garbage_is_dropped_and_logged_quietly(
    meshchat_broker: Broker, rooms: list[Room], spawn_peer: PeerFactory
) -> None:
    victim, (ana, eve) = await victim_among(
        meshchat_broker, spawn_peer, rooms, "garbage", "ana", "eve"
    )
    for _ in range(2000):
        send_raw(eve, victim.id, "{not json")
    left = await victim.wait_for(lambda e: e["event"] == "left" and e["peer"] == eve.id)
    assert "invalid" in left["reason"]
    await ana.send("after the garbage")
    await victim.wait_for(lambda e: e.get("text") == "after the garbage")
    warnings = [line for line in victim.logged().splitlines() if "bad data channel" in line]
    assert 1 <= len(warnings) <= 5, f"{len(warnings)} log lines for one peer's garbage"
    await asyncio.sleep(1.5)  # eve's hellos are ignored while she is shunned
    assert eve.id not in victim.connected_peers()


async def test_a_peer_flooding_valid_messages_is_cut_short_and_others_are_heard(
    meshchat_broker: Broker, rooms: list[Room], spawn_peer: PeerFactory
) -> None:
    victim, (ana, eve) = await victim_among(
        meshchat_broker, spawn_peer, rooms, "chatflood", "ana", "eve"
    )
    for n in range(3000):
        send_raw(eve, victim.id, chat_frame(eve, f"spam {n}", seq=n + 1))
    await ana.send("heard through the flood")
    await victim.wait_for(lambda e: e.get("text") == "heard through the flood")
    await victim.wait_for(lambda e: e["event"] == "left" and e["peer"] == eve.id)
    spam = [e for e in victim.messages() if e["text"].startswith("spam")]
    assert len(spam) < 3000, "the flood was cut short"


async def test_a_message_with_a_forged_author_signature_is_dropped_and_counted(
    meshchat_broker: Broker, rooms: list[Room]
) -> None:
    bob = await joined_room(meshchat_broker, "forgery", "bob")
    eve = await joined_room(meshchat_broker, "forgery", "eve")
    rooms += [bob, eve]
    await wait_until_peers(eve, bob.id)
    genuine = json.loads(chat_frame(eve, "what eve signed"))
    send_raw(eve, bob.id, json.dumps({**genuine, "text": "what eve did not sign"}))
    send_raw(eve, bob.id, json.dumps({**genuine, "sig": genuine["sig"][::-1]}))
    await eve.send("and a genuine one")
    async with asyncio.timeout(EVENT_TIMEOUT):
        async for event in bob.events():
            if isinstance(event, MessageReceived):
                assert event.message.text == "and a genuine one", "a forgery was shown"
                break
    assert bob.forged_messages == 2
