"""The signalling state machine, driven directly: no sockets, no aiortc, no clock."""

from __future__ import annotations

import dataclasses
import random
from typing import Any, TypeVar

import pytest

from meshchat.mesh.identity import Identity
from meshchat.mesh.signalling import protocol as p
from meshchat.mesh.signalling.codec import SignalCodec
from meshchat.mesh.signalling.messages import (
    Answer,
    Bye,
    Candidate,
    Hello,
    IceCandidate,
    Offer,
    SignalMessage,
)

from .simulation import SimNetwork

ROOM = "lobby"
# Three clients, ordered by id: SMALL calls ME, ME calls BIG.
IDENTITIES = sorted((Identity() for _ in range(3)), key=lambda i: i.client_id)
SMALL, ME, BIG = (identity.client_id for identity in IDENTITIES)
CODECS = {identity.client_id: SignalCodec(ROOM, identity) for identity in IDENTITIES}
OWN = f"meshchat/{ROOM}/client-{ME}"
GLOBAL = f"meshchat/{ROOM}/global"
CAND = IceCandidate("candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host", "0", 0)


def make(timing: p.Timing | None = None) -> p.MeshProtocol:
    """A protocol that has joined and settled (it answers announcements at once)."""
    proto = p.MeshProtocol(
        ROOM,
        IDENTITIES[1],
        "me",
        timing=dataclasses.replace(timing or p.Timing(), join_settle=0.0),
        rng=random.Random(1),
        new_session=iter(f"session{i}" for i in range(1000)).__next__,
    )
    assert proto.start() == [p.Subscribe((OWN, GLOBAL))]
    proto.subscribed(0.0)
    return proto


def wire(message: SignalMessage) -> dict[str, Any]:
    """As the sender would publish it: signed with the sender's key."""
    return CODECS[message.sender].encode(message)


T = TypeVar("T")


def of_type(actions: list[p.Action], kind: type[T]) -> list[T]:
    return [a for a in actions if isinstance(a, kind)]


def published(actions: list[p.Action]) -> list[tuple[str, str]]:
    return [(a.topic, a.message["type"]) for a in of_type(actions, p.Publish)]


def meet(proto: p.MeshProtocol, peer: str = BIG, now: float = 1.0) -> list[p.Action]:
    """``peer`` announces itself; ``proto``, its caller, probes it with a directed hello,
    and ``peer`` replies: the actions of the reply (the peer connection and offer)."""
    probe = proto.receive(GLOBAL, wire(Hello(peer, "big")), now)
    assert published(probe) == [(f"meshchat/{ROOM}/client-{peer}", "hello")]
    return proto.receive(OWN, wire(Hello(peer, "big", ME)), now)


def open_as_caller(proto: p.MeshProtocol, peer: str = BIG) -> int:
    """Take ``proto`` through a full handshake with ``peer`` (which it calls)."""
    actions = meet(proto, peer)
    pc_id = of_type(actions, p.CreatePeerConnection)[0].pc_id
    offer = of_type(proto.local_description(pc_id, "offer", "v=0 o", 1.0), p.Publish)[0].message
    proto.receive(OWN, wire(Answer(peer, ME, offer["session"], "v=0 a", "big")), 1.1)
    proto.channel_open(pc_id, 1.2)
    return pc_id


# --- joining ---------------------------------------------------------------------------


def test_announces_only_after_subscribing() -> None:
    proto = p.MeshProtocol(ROOM, IDENTITIES[1], "me")
    assert proto.start() == [p.Subscribe((OWN, GLOBAL))]
    assert proto.tick(5.0) == []  # nothing before the subscriptions are confirmed
    assert published(proto.subscribed(0.0)) == [(GLOBAL, "hello")]


def test_a_strangers_announcement_gets_one_probe_and_no_peer_connection() -> None:
    proto = make()
    actions = proto.receive(GLOBAL, wire(Hello(BIG, "big")), 1.0)
    assert of_type(actions, p.CreatePeerConnection) == []
    assert [(a.message["type"], a.message["to"]) for a in of_type(actions, p.Publish)] == [
        ("hello", BIG)
    ]
    # No reply: the stranger is forgotten, with no further publish on its behalf.
    later = proto.tick(1.0 + proto.timing.unanswered_timeout + 0.1)
    assert [a for a in of_type(later, p.Publish) if a.message.get("to") == BIG] == []
    assert proto.phase_of(BIG) is None


def test_hello_from_larger_id_makes_us_the_caller() -> None:
    proto = make()
    actions = meet(proto)
    create = of_type(actions, p.CreatePeerConnection)
    assert create == [p.CreatePeerConnection(create[0].pc_id, BIG, caller=True)]
    offer = proto.local_description(create[0].pc_id, "offer", "v=0 offer", 1.0)
    assert published(offer) == [(f"meshchat/{ROOM}/client-{BIG}", "offer")]
    message = of_type(offer, p.Publish)[0].message
    assert message["sdp"] == "v=0 offer" and message["to"] == BIG and message["nick"] == "me"


def test_hello_from_smaller_id_gets_a_directed_reply_and_no_offer() -> None:
    proto = make()
    actions = proto.receive(GLOBAL, wire(Hello(SMALL, "small")), 1.0)
    assert of_type(actions, p.CreatePeerConnection) == []
    reply = of_type(actions, p.Publish)
    assert [(a.topic, a.message["type"], a.message["to"]) for a in reply] == [
        (f"meshchat/{ROOM}/client-{SMALL}", "hello", SMALL)
    ]


def test_callee_answers_an_offer_and_the_channel_opening_means_joined() -> None:
    proto = make()
    actions = proto.receive(OWN, wire(Offer(SMALL, ME, "s1", "v=0 offer", "small")), 1.0)
    create, remote = (
        of_type(actions, p.CreatePeerConnection),
        of_type(actions, p.SetRemoteDescription),
    )
    assert create[0].caller is False
    assert remote == [p.SetRemoteDescription(create[0].pc_id, "offer", "v=0 offer")]
    answer = proto.local_description(create[0].pc_id, "answer", "v=0 answer", 1.0)
    assert of_type(answer, p.Publish)[0].message["session"] == "s1"
    assert proto.channel_open(create[0].pc_id, 1.5) == [p.LinkOpened(SMALL, "small")]
    assert proto.open_peers() == {SMALL: "small"}


def test_two_clients_joining_at_once_make_exactly_one_offer() -> None:
    net = SimNetwork(seed=3, max_delay=0.2)
    a, b = net.add_client("a"), net.add_client("b")  # both hello before either hears
    net.run(3.0)
    assert net.mesh_complete()
    caller, callee = sorted((a, b), key=lambda client: client.id)
    assert (caller.offers_made, callee.offers_made) == (1, 0)
    assert a.joined == [b.id] and b.joined == [a.id]


@pytest.mark.parametrize("size", [3, 6])
def test_a_room_of_clients_forms_a_full_mesh_with_one_connection_per_pair(size: int) -> None:
    net = SimNetwork(seed=size, max_delay=0.3)
    for i in range(size):
        net.add_client(f"c{i}")
        net.run(0.1)
    net.run(5.0)
    assert net.mesh_complete()
    assert net.open_connection_count() == size * (size - 1)
    assert sum(c.offers_made for c in net.clients.values()) == size * (size - 1) // 2


# --- glare -----------------------------------------------------------------------------


def test_crossed_offers_the_caller_keeps_its_own() -> None:
    proto = make()
    actions = meet(proto)
    pc_id = of_type(actions, p.CreatePeerConnection)[0].pc_id
    proto.local_description(pc_id, "offer", "v=0 ours", 1.0)
    assert proto.receive(OWN, wire(Offer(BIG, ME, "theirs", "v=0 theirs", "big")), 1.1) == []
    assert proto.phase_of(BIG) is p.Phase.OFFERING


def test_crossed_offers_the_callee_discards_its_own_and_answers_on_a_fresh_connection() -> None:
    # Our rule never makes the callee offer, but a client with another rule might leave
    # us holding an offer towards a smaller id. Force that state, white-box.
    proto = make()
    proto._peers[SMALL] = p._Peer(SMALL, "small")
    mine = of_type(proto._call(proto._peers[SMALL], 1.0), p.CreatePeerConnection)[0].pc_id
    proto.local_description(mine, "offer", "v=0 mine", 1.0)
    actions = proto.receive(OWN, wire(Offer(SMALL, ME, "s9", "v=0 small", "small")), 1.2)
    assert actions[0] == p.ClosePeerConnection(mine)
    fresh = of_type(actions, p.CreatePeerConnection)[0]
    assert fresh.pc_id != mine and fresh.caller is False
    assert p.SetRemoteDescription(fresh.pc_id, "offer", "v=0 small") in actions
    answer = proto.local_description(fresh.pc_id, "answer", "v=0 answer", 1.0)
    assert of_type(answer, p.Publish)[0].message["session"] == "s9"


# --- candidates, duplicates and reordering ---------------------------------------------


def test_candidates_before_the_answer_are_buffered_then_applied() -> None:
    proto = make()
    actions = meet(proto)
    pc_id = of_type(actions, p.CreatePeerConnection)[0].pc_id
    session = of_type(proto.local_description(pc_id, "offer", "v=0 o", 1.0), p.Publish)[0].message[
        "session"
    ]
    assert proto.receive(OWN, wire(Candidate(BIG, ME, session, CAND)), 1.1) == []
    assert proto.receive(OWN, wire(Candidate(BIG, ME, session, None)), 1.1) == []
    actions = proto.receive(OWN, wire(Answer(BIG, ME, session, "v=0 a", "big")), 1.2)
    assert actions == [
        p.SetRemoteDescription(pc_id, "answer", "v=0 a"),
        p.AddRemoteCandidate(pc_id, CAND),
        p.AddRemoteCandidate(pc_id, None),
    ]
    # After the description, candidates go straight through.
    assert proto.receive(OWN, wire(Candidate(BIG, ME, session, CAND)), 1.3) == [
        p.AddRemoteCandidate(pc_id, CAND)
    ]


def test_candidates_that_overtake_their_offer_are_kept_for_it() -> None:
    proto = make()
    assert proto.receive(OWN, wire(Candidate(SMALL, ME, "s1", CAND)), 1.0) == []
    actions = proto.receive(OWN, wire(Offer(SMALL, ME, "s1", "v=0 o", "small")), 1.1)
    pc_id = of_type(actions, p.CreatePeerConnection)[0].pc_id
    assert actions[-1] == p.AddRemoteCandidate(pc_id, CAND)


def test_duplicate_offer_and_stale_answer_are_dropped() -> None:
    proto = make()
    offer = wire(Offer(SMALL, ME, "s1", "v=0 o", "small"))
    first = proto.receive(OWN, offer, 1.0)
    assert of_type(first, p.CreatePeerConnection)
    assert proto.receive(OWN, offer, 1.1) == []
    pc_id = open_as_caller(proto, BIG)
    assert proto.receive(OWN, wire(Answer(BIG, ME, "old-session", "v=0 a", "big")), 2.0) == []
    assert proto.open_peers() == {BIG: "big"} and proto.peer_for(pc_id) == BIG


def test_a_new_offer_from_a_connected_peer_replaces_the_connection() -> None:
    proto = make()
    first = proto.receive(OWN, wire(Offer(SMALL, ME, "s1", "v=0 o", "small")), 1.0)
    old = of_type(first, p.CreatePeerConnection)[0].pc_id
    proto.channel_open(old, 1.1)
    again = proto.receive(OWN, wire(Offer(SMALL, ME, "s2", "v=0 o2", "small")), 5.0)
    assert again[0] == p.ClosePeerConnection(old)
    new = of_type(again, p.CreatePeerConnection)[0].pc_id
    assert proto.peer_for(old) is None and proto.peer_for(new) == SMALL
    assert proto.channel_open(new, 5.1) == []  # still the same member: no second "joined"


@pytest.mark.parametrize("seed", range(8))
def test_a_lossy_duplicating_reordering_network_still_ends_in_a_full_mesh(seed: int) -> None:
    net = SimNetwork(seed=seed, loss=0.2, duplicate=0.2, max_delay=0.5)
    for i in range(5):
        net.add_client(f"peer{i}")
    net.run(120.0)
    assert net.mesh_complete(), {c: x.proto.open_peers() for c, x in net.clients.items()}
    assert net.open_connection_count() == 5 * 4


# --- garbage ---------------------------------------------------------------------------

GARBAGE: list[object] = [
    None,
    "hello",
    42,
    [],
    {},
    {"v": 1},
    {"v": 2, "room": ROOM, "type": "hello", "from": BIG, "nick": "x"},
    {"v": 1, "room": "elsewhere", "type": "hello", "from": BIG, "nick": "x"},
    {"v": 1, "room": ROOM, "type": "shout", "from": BIG},
    {"v": 1, "room": ROOM, "type": "hello", "from": BIG},
    {"v": 1, "room": ROOM, "type": "hello", "from": "bad id!", "nick": "x"},
    {"v": 1, "room": ROOM, "type": "hello", "from": BIG, "nick": 7},
    {"v": 1, "room": ROOM, "type": "offer", "from": SMALL, "to": ME, "session": "s", "nick": "x"},
    {
        "v": 1,
        "room": ROOM,
        "type": "offer",
        "from": SMALL,
        "to": ME,
        "session": "s",
        "sdp": "not sdp",
        "nick": "x",
    },
    {
        "v": 1,
        "room": ROOM,
        "type": "offer",
        "from": SMALL,
        "to": ME,
        "session": "s",
        "sdp": "v=0" + "x" * 40000,
        "nick": "x",
    },
    {
        "v": 1,
        "room": ROOM,
        "type": "offer",
        "from": SMALL,
        "to": "someone",
        "session": "s",
        "sdp": "v=0",
        "nick": "x",
    },
    {
        "v": 1,
        "room": ROOM,
        "type": "candidate",
        "from": SMALL,
        "to": ME,
        "session": "s",
        "candidate": {"candidate": "c"},
    },
    {
        "v": 1,
        "room": ROOM,
        "type": "candidate",
        "from": SMALL,
        "to": ME,
        "session": "s",
        "candidate": {"candidate": "c", "sdpMLineIndex": -1},
    },
    {
        "v": 1,
        "room": ROOM,
        "type": "candidate",
        "from": SMALL,
        "to": ME,
        "session": "s",
        "candidate": "c",
    },
    {
        "v": 1,
        "room": ROOM,
        "type": "answer",
        "from": BIG,
        "to": ME,
        "session": "nope",
        "sdp": "v=0",
        "nick": "x",
    },
]


@pytest.mark.parametrize("garbage", GARBAGE, ids=range(len(GARBAGE)))
def test_garbage_is_dropped_and_counted_never_raised(garbage: object) -> None:
    proto = make()
    assert proto.receive(OWN, garbage, 1.0) == []
    assert proto.dropped == 1
    assert proto.open_peers() == {}


def test_own_echo_is_ignored_silently() -> None:
    proto = make()
    assert proto.receive(GLOBAL, wire(Hello(ME, "me")), 1.0) == []
    assert proto.dropped == 0


def test_directed_messages_on_the_global_channel_and_foreign_topics_are_dropped() -> None:
    proto = make()
    assert proto.receive(GLOBAL, wire(Offer(SMALL, ME, "s", "v=0", "x")), 1.0) == []
    assert proto.receive("meshchat/other/global", wire(Hello(BIG, "x")), 1.0) == []
    assert proto.dropped == 2


def test_garbage_does_not_disturb_an_open_connection() -> None:
    proto = make()
    pc_id = open_as_caller(proto)
    for garbage in GARBAGE:
        proto.receive(OWN, garbage, 2.0)
    assert proto.open_peers() == {BIG: "big"} and proto.peer_for(pc_id) == BIG


# --- leaving, failing, timing out ------------------------------------------------------


def test_bye_removes_the_peer_and_closes_its_connection() -> None:
    proto = make()
    pc_id = open_as_caller(proto)
    actions = proto.receive(GLOBAL, wire(Bye(BIG)), 2.0)
    left = p.LinkClosed(BIG, "big", "said bye", said_bye=True)
    assert actions == [p.Departed(BIG), p.ClosePeerConnection(pc_id), left]
    assert proto.open_peers() == {}


def test_bye_on_the_data_channel_is_as_good_as_one_via_the_broker() -> None:
    proto = make()
    pc_id = open_as_caller(proto)
    assert proto.channel_bye(pc_id) == [
        p.ClosePeerConnection(pc_id),
        p.LinkClosed(BIG, "big", "said bye", said_bye=True),
    ]


@pytest.mark.parametrize("state", ["failed", "closed"])
def test_a_failed_connection_is_closed_reported_and_the_peer_asked_to_reconnect(state: str) -> None:
    proto = make()
    pc_id = open_as_caller(proto)
    actions = proto.connection_state(pc_id, state)
    assert actions[:2] == [
        p.ClosePeerConnection(pc_id),
        p.LinkClosed(BIG, "big", f"connection {state}"),
    ]
    assert published(actions[2:]) == [(f"meshchat/{ROOM}/client-{BIG}", "hello")]
    assert proto.connection_state(pc_id, state) == []  # already gone


def test_a_peer_the_data_plane_finds_silent_is_lost_and_asked_to_reconnect() -> None:
    proto = make()
    pc_id = open_as_caller(proto)
    assert of_type(proto.tick(60.0), p.LinkClosed) == [], "silence is the data plane's to judge"
    actions = proto.peer_silent(pc_id, 2.3)
    assert actions[:2] == [
        p.ClosePeerConnection(pc_id),
        p.LinkClosed(BIG, "big", "silent for 2.3 s", silent=True),
    ]
    assert published(actions[2:]) == [(f"meshchat/{ROOM}/client-{BIG}", "hello")]
    assert proto.peer_silent(pc_id, 3.0) == []


def test_a_handshake_that_never_completes_is_abandoned() -> None:
    timing = p.Timing(connect_timeout=20.0)
    proto = make(timing)
    actions = meet(proto)
    pc_id = of_type(actions, p.CreatePeerConnection)[0].pc_id
    assert p.ClosePeerConnection(pc_id) not in proto.tick(20.0)
    assert p.ClosePeerConnection(pc_id) in proto.tick(21.5)
    assert proto.phase_of(BIG) is None


def test_a_callee_waiting_for_an_offer_that_never_comes_forgets_the_peer() -> None:
    proto = make(p.Timing(connect_timeout=20.0))
    proto.receive(GLOBAL, wire(Hello(SMALL, "small")), 1.0)
    assert proto.phase_of(SMALL) is p.Phase.IDLE
    proto.tick(22.0)
    assert proto.phase_of(SMALL) is None


def test_hello_repeats_with_growing_jittered_intervals() -> None:
    timing = p.Timing(hello_initial=1.0, hello_max=8.0, hello_jitter=0.25)
    proto = make(timing)
    times = []
    now = 0.0
    while now < 60.0:
        now += 0.05
        if published(proto.tick(now)) == [(GLOBAL, "hello")]:
            times.append(now)
    gaps = [b - a for a, b in zip([0.0, *times], times, strict=False)]
    assert 0.75 <= gaps[0] <= 1.3
    assert 1.5 <= gaps[1] <= 2.55
    assert all(6.0 <= gap <= 10.05 for gap in gaps[4:])  # capped at 8 s +/- 25 %
    assert len({round(g, 2) for g in gaps[4:]}) > 1  # jittered, not a fixed beat


def test_a_lost_peer_makes_the_hello_hurry_again() -> None:
    timing = p.Timing(hello_initial=1.0, hello_max=30.0)
    proto = make(timing)
    for now in range(1, 40):
        proto.tick(float(now))
    pc_id = open_as_caller(proto)
    proto.connection_state(pc_id, "failed")
    hellos = [t for t in range(40, 45) if published(proto.tick(float(t))) == [(GLOBAL, "hello")]]
    assert hellos, "no hello within 5 s of losing a peer"


def test_a_killed_peer_is_reported_left_by_everyone_else() -> None:
    net = SimNetwork(seed=11, max_delay=0.1)
    victim = [net.add_client(f"p{i}") for i in range(4)][2]
    net.run(3.0)
    assert net.mesh_complete()
    net.kill(victim.id)
    net.run(7.0)
    assert net.mesh_complete()
    for client in net.clients.values():
        assert [peer for peer, _ in client.left] == [victim.id]


def test_leave_says_bye_and_closes_everything_without_reporting_departures() -> None:
    proto = make()
    pc_id = open_as_caller(proto)
    actions = proto.leave()
    assert published(actions) == [(GLOBAL, "bye")]
    assert p.ClosePeerConnection(pc_id) in actions
    assert of_type(actions, p.LinkClosed) == []
    assert proto.leave() == [] and proto.receive(GLOBAL, wire(Hello(BIG, "b")), 9.0) == []


def test_an_unanswered_offer_is_sent_again_and_a_repeated_offer_gets_the_answer_again() -> None:
    caller = make(p.Timing(retransmit_interval=2.0))
    actions = meet(caller)
    pc_id = of_type(actions, p.CreatePeerConnection)[0].pc_id
    offer = of_type(caller.local_description(pc_id, "offer", "v=0 o", 1.0), p.Publish)[0]
    assert offer not in caller.tick(2.5)
    assert offer in caller.tick(3.1)  # the same offer, same session

    callee = make()
    first = callee.receive(OWN, wire(Offer(SMALL, ME, "s1", "v=0 o", "small")), 1.0)
    callee_pc = of_type(first, p.CreatePeerConnection)[0].pc_id
    answer = of_type(callee.local_description(callee_pc, "answer", "v=0 a", 1.0), p.Publish)[0]
    # The answer was lost, so the caller repeats its offer: answer again, no new connection.
    assert callee.receive(OWN, wire(Offer(SMALL, ME, "s1", "v=0 o", "small")), 3.0) == [answer]


def test_a_reply_hello_crossing_our_fresh_offer_does_not_duplicate_it() -> None:
    proto = make(p.Timing(retransmit_interval=2.0))
    actions = meet(proto)
    pc_id = of_type(actions, p.CreatePeerConnection)[0].pc_id
    offer = of_type(proto.local_description(pc_id, "offer", "v=0 o", 1.0), p.Publish)[0]
    # BIG answered our global hello before our offer reached it: nothing to do.
    assert proto.receive(OWN, wire(Hello(BIG, "big", to=ME)), 1.2) == []
    # Much later, BIG still asks: our offer must have been lost, so it goes again.
    assert proto.receive(OWN, wire(Hello(BIG, "big", to=ME)), 2.5) == [offer]
    session = offer.message["session"]
    proto.receive(OWN, wire(Answer(BIG, ME, session, "v=0 a", "big")), 2.6)
    dropped = proto.dropped
    assert proto.receive(OWN, wire(Answer(BIG, ME, session, "v=0 a", "big")), 2.7) == []
    assert proto.dropped == dropped, "a duplicate answer is normal, not an error"


def test_on_joining_announcements_are_noted_first_and_answered_once_settled() -> None:
    proto = p.MeshProtocol(ROOM, IDENTITIES[1], "me", timing=p.Timing(join_settle=1.5))
    proto.start()
    proto.subscribed(0.0)
    actions = proto.receive(GLOBAL, wire(Hello(BIG, "big")), 0.5)
    assert of_type(actions, p.Announced) and not of_type(actions, p.Publish)
    to_big = (f"meshchat/{ROOM}/client-{BIG}", "hello")
    assert to_big not in published(proto.tick(1.0))
    assert to_big in published(proto.tick(1.6))


def test_noted_announcements_are_left_to_the_overlay_once_the_room_is_partial() -> None:
    proto = p.MeshProtocol(ROOM, IDENTITIES[1], "me", timing=p.Timing(join_settle=1.5))
    proto.start()
    proto.subscribed(0.0)
    proto.receive(GLOBAL, wire(Hello(BIG, "big")), 0.5)
    proto.go_partial()
    assert [topic for topic, _ in published(proto.tick(1.6)) if "/client-" in topic] == []
    hello = wire(Hello(SMALL, "small"))
    key = CODECS[SMALL].identity.public_key_b64
    assert proto.receive(GLOBAL, hello, 2.0) == [p.Announced(SMALL, "small", key, hello, SMALL)]


# --- a room bigger than a full mesh ----------------------------------------------------


def probes_for(actions: list[p.Action]) -> list[str]:
    publishes = of_type(actions, p.Publish)
    return [
        a.message["to"] for a in publishes if a.message["type"] == "hello" and "to" in a.message
    ]


def test_after_a_hello_says_crowd_only_a_few_strangers_are_probed_and_requests_still_served() -> (
    None
):
    proto = make()
    crowd = [Identity() for _ in range(p.CROWD_PROBES + 4)]
    probed: list[str] = []
    for n, identity in enumerate(crowd):
        hello = SignalCodec(ROOM, identity).encode(Hello(identity.client_id, "m", crowd=True))
        now = 1.0 + n
        probed += probes_for(proto.receive(GLOBAL, hello, now) + proto.tick(now + 0.5))
    assert probed == [identity.client_id for identity in crowd[: p.CROWD_PROBES]]
    # A member asking us for a link (an addressed hello) is answered as ever.
    asker = crowd[-1]
    request = SignalCodec(ROOM, asker).encode(Hello(asker.client_id, "m", to=ME))
    actions = proto.receive(OWN, request, 20.0) + proto.tick(20.5)
    assert of_type(actions, p.CreatePeerConnection) or probes_for(actions) == [asker.client_id]


def test_without_a_crowd_every_stranger_is_probed() -> None:
    proto = make()
    probed: list[str] = []
    strangers = [Identity() for _ in range(p.CROWD_PROBES + 4)]
    for n, identity in enumerate(strangers):
        hello = SignalCodec(ROOM, identity).encode(Hello(identity.client_id, "m"))
        probed += probes_for(proto.receive(GLOBAL, hello, 1.0 + n) + proto.tick(1.5 + n))
    assert len(probed) == len(strangers)


def test_a_peer_in_a_partial_mesh_says_crowd_in_its_hellos() -> None:
    proto = make()
    assert proto.last_hello is not None
    first = CODECS[ME].decode(proto.last_hello)
    assert isinstance(first, Hello) and not first.crowd
    proto.go_partial()
    proto.tick(100.0)
    assert proto.last_hello is not None
    said = CODECS[ME].decode(proto.last_hello)
    assert isinstance(said, Hello) and said.crowd


def test_announce_soon_says_hello_within_the_floor_not_at_the_next_regular_time() -> None:
    hurried, regular = make(), make()
    for proto in (hurried, regular):
        proto.pace_hellos(5.0)
        for second in range(0, 41):  # hellos back off to every 30 s
            proto.tick(float(second))
    hurried.announce_soon()
    for proto, expected in ((hurried, True), (regular, False)):
        said = [(GLOBAL, "hello") in published(proto.tick(t)) for t in (41.0, 45.0, 46.5)]
        assert any(said) is expected


def test_a_stranger_s_request_for_a_link_is_refused_while_accept_link_says_no() -> None:
    # In a partial mesh with its links in use, a member asking for one more (a directed
    # hello or an offer) is not answered: it asks someone else.
    links_full = [True]
    proto = p.MeshProtocol(
        ROOM,
        IDENTITIES[1],
        "me",
        timing=p.Timing(join_settle=0.0),
        accept_link=lambda peer_id: not links_full[0],
    )
    proto.start()
    proto.subscribed(0.0)
    asked = proto.receive(OWN, wire(Hello(BIG, "big", ME)), 1.0) + proto.tick(1.1)
    offered = proto.receive(OWN, wire(Offer(SMALL, ME, "s1", "v=0 o", "small")), 1.2)
    assert of_type(asked + offered + proto.tick(1.3), p.CreatePeerConnection) == []
    assert [topic for topic, _ in published(asked + offered) if "/client-" in topic] == []
    links_full[0] = False  # a link came free
    offered = proto.receive(OWN, wire(Offer(SMALL, ME, "s2", "v=0 o", "small")), 2.0)
    assert [a.peer_id for a in of_type(offered + proto.tick(2.1), p.CreatePeerConnection)] == [
        SMALL
    ]
