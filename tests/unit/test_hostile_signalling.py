"""The signalling core against hostile peers: Sybil floods, candidate sprays, nick
changes, garbage senders. Pure: no sockets, no clock."""

from __future__ import annotations

from meshchat.mesh.identity import Identity
from meshchat.mesh.signalling import protocol as p
from meshchat.mesh.signalling.admission import Admission, AdmissionLimits
from meshchat.mesh.signalling.candidates import MAX_PER_ADDRESS, MAX_PER_CONNECTION, CandidateBudget
from meshchat.mesh.signalling.codec import SignalCodec
from meshchat.mesh.signalling.messages import Answer, Candidate, Hello, IceCandidate, Offer

from .test_protocol import (
    BIG,
    GLOBAL,
    IDENTITIES,
    ME,
    OWN,
    ROOM,
    SMALL,
    make,
    of_type,
    open_as_caller,
    wire,
)

IDENTITY_ME = IDENTITIES[1]

SYBILS = [Identity() for _ in range(300)]
SYBIL_HELLOS = [SignalCodec(ROOM, s).encode(Hello(s.client_id, "sybil")) for s in SYBILS]


def test_admission_serves_lanes_in_turn_however_many_strangers_one_lane_has() -> None:
    admission: Admission[str] = Admission(AdmissionLimits(rate=10, burst=10), 0.0)
    for i in range(300):
        admission.wait(f"attacker-{i % 8}", f"sybil-{i}", "flood", 0.0)
    admission.wait("newcomer", "honest", "hello", 0.0)
    served = admission.take(0.0, half_open=0)
    assert ("honest", "hello") in served[:9]  # one turn per lane: the newcomer's comes
    assert len(admission) <= 8 * admission.limits.per_lane  # the flood is not kept


def test_admission_waits_while_too_many_attempts_are_half_open() -> None:
    admission: Admission[str] = Admission(AdmissionLimits(max_half_open=4), 0.0)
    admission.wait("lane", "a", "hello", 0.0)
    assert admission.take(0.0, half_open=4) == []
    assert admission.take(0.1, half_open=3) == [("a", "hello")]


def test_stale_strangers_are_not_served() -> None:
    admission: Admission[str] = Admission(AdmissionLimits(max_age=3.0), 0.0)
    admission.wait("lane", "a", "hello", 0.0)
    assert admission.take(5.0, half_open=0) == []


def test_a_stranger_met_another_way_while_it_waits_leaves_no_empty_lane_behind() -> None:
    # Its lane held only it: the next turn must go to the others, not fail on the gap.
    admission: Admission[str] = Admission(AdmissionLimits(), 0.0)
    admission.wait("lane-1", "a", "hello a", 0.0)
    admission.wait("lane-2", "b", "hello b", 0.0)
    admission.forget("a")
    assert admission.take(0.1, half_open=0) == [("b", "hello b")]
    assert len(admission) == 0


def test_a_member_linked_to_while_its_request_waits_for_admission_breaks_nothing() -> None:
    # A partial mesh: BIG asks us for a link while strangers are out of turns, then the
    # overlay links to BIG itself. The protocol keeps ticking and serves the next.
    proto = p.MeshProtocol(
        ROOM,
        IDENTITY_ME,
        "me",
        timing=p.Timing(join_settle=0.0),
        admission=AdmissionLimits(burst=1),
    )
    proto.start()
    proto.subscribed(0.0)
    proto.go_partial()
    proto.receive(OWN, wire(Hello(SMALL, "small", ME)), 1.0, origin="lane-small")  # the turn
    proto.receive(OWN, wire(Hello(BIG, "big", ME)), 1.0, origin="lane-big")  # waits
    assert [a.peer_id for a in of_type(proto.connect(BIG, "big", 1.1), p.CreatePeerConnection)] == [
        BIG
    ]
    for step in range(20):
        proto.tick(1.2 + step / 10)
    assert proto.phase_of(BIG) is not None


def test_a_sybil_flood_costs_bounded_publishes_no_connections_and_the_newcomer_gets_in() -> None:
    proto = make()
    publishes = to_sybils = 0
    probed_at = connected_at = None
    for step in range(200):  # 10 s of flood, 20 ticks a second
        now = 1.0 + step * 0.05
        actions: list[p.Action] = []
        for i in range(20):  # 400 hellos a second through 8 attacker lanes
            k = (step * 20 + i) % len(SYBILS)
            actions += proto.receive(GLOBAL, SYBIL_HELLOS[k], now, origin=f"attacker-{k % 8}")
        if step >= 60 and step % 20 == 0 and probed_at is None:
            # From 3 s on, an honest peer says hello each second (as one does while it
            # meets no one), through its own address.
            actions += proto.receive(GLOBAL, wire(Hello(BIG, "big")), now, origin="newcomer")
        if probed_at is not None and connected_at is None:
            # It got our probe and replies at once, as a listening peer does.
            reply = proto.receive(OWN, wire(Hello(BIG, "big", ME)), now, origin="newcomer")
            if of_type(reply, p.CreatePeerConnection):
                connected_at = now
            actions += reply
        actions += proto.tick(now)
        publishes += len(of_type(actions, p.Publish))
        to_sybils += sum(1 for a in of_type(actions, p.CreatePeerConnection) if a.peer_id != BIG)
        if probed_at is None and any(
            a.message.get("to") == BIG for a in of_type(actions, p.Publish)
        ):
            probed_at = now
    assert to_sybils == 0, "no peer connection for identities that never replied"
    limits = AdmissionLimits()
    assert publishes <= 10 * limits.rate + limits.burst + 15  # replies + own hellos
    assert probed_at is not None and probed_at - 4.0 < 2.0, probed_at
    assert connected_at is not None and connected_at - probed_at < 1.0


def test_an_offer_that_is_never_answered_is_sent_a_bounded_number_of_times() -> None:
    proto = make()
    open_as_caller(proto, BIG)  # warm up, then a second stranger that never answers
    stranger = Identity()
    codec = SignalCodec(ROOM, stranger)
    proto.receive(OWN, codec.encode(Hello(stranger.client_id, "s", ME)), 2.0)
    sends = 0
    for step in range(400):
        actions = proto.tick(2.0 + step * 0.25)
        for create in of_type(actions, p.CreatePeerConnection):
            sends += len(
                of_type(proto.local_description(create.pc_id, "offer", "v=0", 2.0), p.Publish)
            )
        sends += sum(1 for a in of_type(actions, p.Publish) if a.message["type"] == "offer")
    assert sends <= proto.timing.max_description_sends + 1
    assert proto.phase_of(stranger.client_id) is None


def test_a_nick_is_fixed_once_the_peer_has_joined() -> None:
    proto = make()
    open_as_caller(proto)
    proto.receive(GLOBAL, wire(Hello(BIG, "ana")), 3.0)
    proto.receive(OWN, wire(Hello(BIG, "ana", ME)), 3.1)
    assert proto.open_peers() == {BIG: "big"} and proto.nick_of(BIG) == "big"


def test_a_peer_that_keeps_sending_garbage_is_dropped_and_shunned_for_a_while() -> None:
    proto = make()
    pc_id = open_as_caller(proto)
    actions: list[p.Action] = []
    for _ in range(int(proto.timing.bad_frame_burst) + 1):
        actions += proto.bad_frame(pc_id, 2.0)
    assert p.LinkClosed(BIG, "big", p.SENT_GARBAGE) in actions
    assert proto.receive(OWN, wire(Hello(BIG, "big", ME)), 3.0) == []
    later = 2.0 + proto.timing.shun_seconds + 1
    assert proto.receive(OWN, wire(Hello(BIG, "big", ME)), later) != []


def test_a_few_bad_frames_are_forgiven() -> None:
    proto = make()
    pc_id = open_as_caller(proto)
    for second in range(10):
        assert proto.bad_frame(pc_id, 2.0 + second) == []
    assert proto.open_peers() == {BIG: "big"}


def sprayed_sdp(count: int) -> str:
    line = "a=candidate:{} 1 udp 2130706431 {} {} typ host"
    lines = [line.format(i, "127.0.0.1", 20000 + i) for i in range(count)]
    lines += [line.format(f"x{i}", f"10.0.0.{i}", 30000 + i) for i in range(30)]
    return "v=0\r\n" + "\r\n".join(lines) + "\r\na=end-of-candidates\r\n"


def test_an_offer_spraying_candidates_is_cut_to_what_a_real_peer_has() -> None:
    proto = make()
    actions = proto.receive(OWN, wire(Offer(SMALL, ME, "s1", sprayed_sdp(300), "small")), 1.0)
    (remote,) = of_type(actions, p.SetRemoteDescription)
    kept = [line for line in remote.sdp.splitlines() if line.startswith("a=candidate:")]
    assert len(kept) == MAX_PER_CONNECTION
    assert sum("127.0.0.1" in line for line in kept) == MAX_PER_ADDRESS
    assert "a=end-of-candidates" in remote.sdp
    # Trickled ones count against the same budget.
    more = IceCandidate("candidate:9 1 udp 2130706431 192.0.2.1 40000 typ host", "0", 0)
    trickled = proto.receive(OWN, wire(Candidate(SMALL, ME, "s1", more)), 1.1)
    assert of_type(trickled, p.AddRemoteCandidate) == []


def test_an_answer_is_limited_too() -> None:
    proto = make()
    pc_id = open_as_caller(proto)
    proto.connection_state(pc_id, "failed")
    # A new attempt: BIG replies, we offer, BIG answers with a sprayed SDP.
    actions = proto.receive(OWN, wire(Hello(BIG, "big", ME)), 5.0)
    (create,) = of_type(actions, p.CreatePeerConnection)
    offer = of_type(proto.local_description(create.pc_id, "offer", "v=0", 5.0), p.Publish)
    session = offer[0].message["session"]
    answered = proto.receive(OWN, wire(Answer(BIG, ME, session, sprayed_sdp(50), "big")), 5.1)
    (remote,) = of_type(answered, p.SetRemoteDescription)
    assert remote.sdp.count("a=candidate:") == MAX_PER_CONNECTION


def test_candidates_that_no_real_peer_has_are_refused() -> None:
    budget = CandidateBudget()
    for refused in [
        "candidate:1 1 tcp 1 127.0.0.1 9 typ host tcptype active",
        "candidate:1 1 udp 1 127.0.0.1 22 typ host",
        "candidate:1 1 udp 1 224.0.0.251 5353 typ host",
        "candidate:1 1 udp 1 0.0.0.0 5000 typ host",
        "candidate:1 1 udp 1 255.255.255.255 5000 typ host",
        "candidate:1 1 udp 1 internal.corp.example 5000 typ host",
        "candidate:1 1 udp 1 127.0.0.1",
    ]:
        assert budget.admit(refused) is not None, refused
    for accepted in [
        "candidate:1 1 udp 1 192.168.1.20 50000 typ host",
        "candidate:1 1 udp 1 2001:db8::1 50000 typ host",
        "candidate:1 1 udp 1 0f1e2d3c-aaaa-4bbb-8ccc-112233445566.local 50000 typ host",
    ]:
        assert budget.admit(accepted) is None, accepted


def test_a_known_peer_cannot_make_us_build_connection_after_connection() -> None:
    proto = make()
    created = 0
    for n in range(100):  # SMALL offers a new session each time, as fast as it can publish
        offer = Offer(SMALL, ME, f"spam{n}", "v=0 o", "small")
        actions = proto.receive(OWN, wire(offer), 2.0 + n / 100)
        created += len(of_type(actions, p.CreatePeerConnection))
    assert 1 <= created <= proto.timing.peer_work_burst + 1


def test_a_repeated_offer_gets_our_answer_again_a_bounded_number_of_times() -> None:
    proto = make()
    offer = wire(Offer(SMALL, ME, "s1", "v=0 o", "small"))
    (create,) = of_type(proto.receive(OWN, offer, 1.0), p.CreatePeerConnection)
    proto.local_description(create.pc_id, "answer", "v=0 a", 1.0)
    resent = sum(
        len(of_type(proto.receive(OWN, offer, 1.0 + n / 100), p.Publish)) for n in range(100)
    )
    assert resent <= proto.timing.peer_work_burst + 1
