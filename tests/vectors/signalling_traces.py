"""Input -> expected-actions traces of the signalling core, made by running the Python
core (``mesh/signalling/protocol.py``) through scripted conversations. The page's core
(``broker/web/signalling.js``) must turn the same inputs into the same actions, in the
same order, and reject the same messages (tests/node/signalling.test.mjs).

The page verifies signatures before its core sees a message, so a trace gives the
page a message's fields and the Python core the same message signed. Hello jitter is
zero and sessions are numbered, so both sides' choices are fully determined.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from meshchat.mesh.identity import Identity
from meshchat.mesh.signalling import messages as m
from meshchat.mesh.signalling import protocol as p
from meshchat.wire.canonical import canonical

ROOM = "lobby"
# Three fixed identities, by id: SMALL calls ME, ME calls BIG.
_IDENTITIES = sorted(
    (Identity(Ed25519PrivateKey.from_private_bytes(bytes([seed] * 32))) for seed in (7, 8, 9)),
    key=lambda identity: identity.client_id,
)
SMALL, ME, BIG = (identity.client_id for identity in _IDENTITIES)
# A crowd of strangers, each a real identity: their signatures must verify.
_CROWD = [
    Identity(Ed25519PrivateKey.from_private_bytes(bytes([seed] * 32)))
    for seed in range(20, 20 + p.CROWD_PROBES + 2)
]
_BY_ID = {identity.client_id: identity for identity in _IDENTITIES + _CROWD}
GLOBAL = f"meshchat/{ROOM}/global"
OWN = f"meshchat/{ROOM}/client-{ME}"
SDP = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\n"
CANDIDATE = m.IceCandidate("candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host", "0", 0)
CANDIDATE_2 = m.IceCandidate("candidate:2 1 udp 2130706431 127.0.0.1 5002 typ host", "0", 0)


def _fields(wire: dict[str, Any]) -> dict[str, Any]:
    """What a publish says, without what the page's driver adds (version, room, sender,
    key and signature)."""
    return {k: v for k, v in wire.items() if k not in ("v", "room", "from", "pk", "xk", "sig")}


def normal(action: p.Action) -> dict[str, Any]:
    """An action as plain JSON, the shape the page's core returns."""
    match action:
        case p.Publish(topic=topic, message=wire):
            to = None if topic == GLOBAL else topic.rpartition("/client-")[2]
            return {"type": "Publish", "to": to, "message": _fields(wire)}
        case p.CreatePeerConnection(pc_id=pc_id, peer_id=peer, caller=caller):
            return {"type": "CreatePeerConnection", "pcId": pc_id, "peer": peer, "caller": caller}
        case p.SetRemoteDescription(pc_id=pc_id, sdp_type=sdp_type, sdp=sdp):
            return {"type": "SetRemoteDescription", "pcId": pc_id, "sdpType": sdp_type, "sdp": sdp}
        case p.AddRemoteCandidate(pc_id=pc_id, candidate=candidate):
            return {"type": "AddRemoteCandidate", "pcId": pc_id, "candidate": _candidate(candidate)}
        case p.ClosePeerConnection(pc_id=pc_id):
            return {"type": "ClosePeerConnection", "pcId": pc_id}
        case p.LinkOpened(peer_id=peer, nick=nick):
            return {"type": "LinkOpened", "peer": peer, "nick": nick}
        case p.LinkClosed():
            return {
                "type": "LinkClosed",
                "peer": action.peer_id,
                "nick": action.nick,
                "reason": action.reason,
                "saidBye": action.said_bye,
                "silent": action.silent,
            }
        case p.Announced(peer_id=peer, nick=nick, wire=wire):
            crowd = isinstance(wire, dict) and wire.get("crowd") is True
            return {"type": "Announced", "peer": peer, "nick": nick, "crowd": crowd}
        case p.Departed(peer_id=peer):
            return {"type": "Departed", "peer": peer}
    raise AssertionError(f"no trace form for {action}")


def _candidate(candidate: m.IceCandidate | None) -> dict[str, Any] | None:
    if candidate is None:
        return None
    return {
        "candidate": candidate.candidate,
        "sdpMid": candidate.sdp_mid,
        "sdpMLineIndex": candidate.sdp_mline_index,
    }


class Recorder:
    """One Python core, and the steps a trace records: each input as the page's core
    takes it, and what the Python core did with it."""

    def __init__(self) -> None:
        sessions = (f"s{n}" for n in itertools.count(1))
        self.proto = p.MeshProtocol(
            ROOM,
            _BY_ID[ME],
            "me",
            timing=p.Timing(hello_jitter=0.0),  # the page is given the same
            new_session=sessions.__next__,
        )
        self.proto.start()
        self.steps: list[dict[str, Any]] = []

    def _step(self, given: dict[str, Any], actions: list[p.Action]) -> None:
        given["expect"] = [normal(action) for action in actions]
        given["dropped"] = self.proto.dropped
        self.steps.append(given)

    def subscribed(self, now: float) -> None:
        self._step({"do": "subscribed", "now": now}, self.proto.subscribed(now))

    def tick(self, now: float) -> None:
        self._step({"do": "tick", "now": now}, self.proto.tick(now))

    def hear(self, message: m.SignalMessage, now: float, lane: str | None = None) -> None:
        """A message from a peer, signed by it, on the topic it belongs on."""
        wire = m.encode(message, ROOM)
        self.raw(wire, now, lane, on_global=getattr(message, "to", None) is None)

    def raw(
        self, wire: dict[str, Any], now: float, lane: str | None = None, *, on_global: bool
    ) -> None:
        """A wire message as given, signed by its sender (malformed ones too)."""
        sender = _BY_ID.get(wire.get("from", ""), _BY_ID[BIG])
        signed = {**wire, "pk": sender.public_key_b64}
        signed["sig"] = sender.sign(canonical(signed))
        topic = GLOBAL if on_global else OWN
        page = {k: v for k, v in wire.items() if k not in ("v", "room")}
        given = {"do": "received", "wire": page, "now": now, "lane": lane, "global": on_global}
        self._step(given, self.proto.receive(topic, signed, now, lane))

    def local_description(self, pc_id: int, sdp_type: str, now: float) -> None:
        given = {"do": "localDescription", "pcId": pc_id, "sdpType": sdp_type, "sdp": SDP}
        self._step({**given, "now": now}, self.proto.local_description(pc_id, sdp_type, SDP, now))

    def channel_open(self, pc_id: int, now: float) -> None:
        self._step(
            {"do": "channelOpen", "pcId": pc_id, "now": now}, self.proto.channel_open(pc_id, now)
        )

    def call(self, name: str, method: Callable[..., list[p.Action] | None], **args: Any) -> None:
        """Any other input: ``name`` is the page core's method, ``args`` in its order."""
        self._step({"do": name, **args}, method(*args.values()) or [])


def _hello(sender: str, to: str | None = None, *, crowd: bool = False) -> m.Hello:
    return m.Hello(sender, sender[:4], to, crowd)


def _settled(recorder: Recorder) -> Recorder:
    recorder.subscribed(0.0)
    recorder.tick(1.6)  # settled: nothing was noted
    return recorder


def a_stranger_is_probed_then_called() -> Recorder:
    r = _settled(Recorder())
    r.hear(_hello(BIG), 2.0)  # an announcement: one directed hello back
    r.hear(_hello(BIG, ME), 2.1)  # it answers: we are the caller
    r.local_description(1, "offer", 2.2)
    r.hear(m.Candidate(BIG, ME, "s1", CANDIDATE), 2.3)  # before its answer: kept
    r.hear(m.Answer(BIG, ME, "s1", SDP, "big"), 2.4)
    r.hear(m.Answer(BIG, ME, "s1", SDP, "big"), 2.45)  # a duplicate
    r.hear(m.Candidate(BIG, ME, "s1", CANDIDATE_2), 2.5)
    r.hear(m.Candidate(BIG, ME, "s1", None), 2.55)  # end of candidates
    r.channel_open(1, 2.6)
    r.tick(3.0)
    r.hear(m.Bye(BIG), 4.0)
    return r


def a_caller_s_offer_is_answered_with_its_early_candidates() -> Recorder:
    r = _settled(Recorder())
    r.hear(m.Candidate(SMALL, ME, "x1", CANDIDATE), 2.0)  # a stranger's, ahead of its offer
    r.hear(m.Offer(SMALL, ME, "x1", SDP, "small"), 2.1)
    r.local_description(1, "answer", 2.2)
    r.hear(m.Offer(SMALL, ME, "x1", SDP, "small"), 3.0)  # our answer was lost: again
    r.channel_open(1, 3.5)
    r.call("channelActivity", r.proto.channel_activity, pcId=1, now=3.6)
    r.hear(_hello(SMALL, ME), 4.0)  # stale: it heartbeated just now
    r.call("peerSilent", r.proto.peer_silent, pcId=1, silence=4.5)
    r.tick(5.0)
    return r


def offers_cross_and_the_smaller_id_wins() -> Recorder:
    r = _settled(Recorder())
    r.hear(_hello(BIG, ME), 2.0)
    r.local_description(1, "offer", 2.1)
    r.hear(m.Offer(BIG, ME, "b1", SDP, "big"), 2.2)  # crossed: ours wins
    r.hear(m.Answer(BIG, ME, "zz", SDP, "big"), 2.3)  # for no session of ours
    r.hear(m.Candidate(BIG, ME, "zz", CANDIDATE), 2.4)  # likewise
    r.hear(m.Answer(BIG, ME, "s1", SDP, "big"), 2.5)
    return r


def an_unanswered_offer_is_sent_again_then_given_up() -> Recorder:
    r = _settled(Recorder())
    r.hear(_hello(BIG, ME), 2.0)
    r.local_description(1, "offer", 2.0)
    for second in range(3, 13):
        r.tick(float(second))
    r.hear(_hello(BIG, ME), 13.0)  # it is back: a new attempt
    r.tick(35.0)  # which never opens
    return r


def strangers_that_never_answer_are_forgotten() -> Recorder:
    r = _settled(Recorder())
    r.hear(_hello(BIG), 2.0)
    r.hear(_hello(BIG), 3.0)  # its next announcement: no second probe
    r.tick(8.5)  # no reply in 6 s: forgotten
    r.hear(_hello(BIG), 9.0)  # and probed again if it is still around
    return r


def announcements_heard_while_settling_wait_for_it() -> Recorder:
    r = Recorder()
    r.subscribed(0.0)
    r.hear(_hello(BIG), 0.5, lane="conn-1")
    r.hear(_hello(SMALL), 0.7, lane="conn-2")
    r.tick(1.0)
    r.tick(1.6)  # settled: both get their turn
    return r


def a_crowd_gets_a_few_probes() -> Recorder:
    r = _settled(Recorder())
    r.hear(_hello(BIG, crowd=True), 2.0)  # a hello says the room is a crowd
    for n, stranger in enumerate(_CROWD):
        r.hear(_hello(stranger.client_id), 2.1 + n / 100)  # a few are probed, not all
    r.hear(_hello(_CROWD[-1].client_id, ME), 2.5)  # one asking for a link is served
    return r


def a_partial_mesh_links_only_whom_it_is_told() -> Recorder:
    r = _settled(Recorder())
    r.hear(_hello(BIG, ME), 2.0)  # an attempt under way
    r.call("goPartial", r.proto.go_partial)
    r.hear(_hello(SMALL), 2.5)  # announcements are the overlay's business now
    r.call("connect", r.proto.connect, id=BIG, nick="big", now=3.0)
    r.call("connect", r.proto.connect, id=SMALL, nick="small", now=3.1)
    r.call("paceHellos", r.proto.pace_hellos, floor=5.0)
    r.tick(8.0)
    r.call("unlink", r.proto.unlink, id=BIG)
    return r


def a_peer_that_sends_garbage_is_dropped_and_shunned() -> Recorder:
    r = _settled(Recorder())
    r.hear(_hello(BIG, ME), 2.0)
    r.local_description(1, "offer", 2.0)
    r.hear(m.Answer(BIG, ME, "s1", SDP, "big"), 2.1)
    r.channel_open(1, 2.2)
    for _ in range(21):
        r.call("badFrame", r.proto.bad_frame, pcId=1, now=3.0)
    r.hear(_hello(BIG, ME), 4.0)  # shunned
    r.hear(_hello(BIG, ME), 64.0)  # forgiven
    return r


def malformed_and_misdirected_messages_are_dropped() -> Recorder:
    r = _settled(Recorder())
    base = {"v": 1, "room": ROOM, "from": BIG}
    for wire in (
        {**base, "type": "hello"},  # no nick
        {**base, "type": "hello", "nick": 5},
        {**base, "type": "shout", "nick": "x"},
        {**base, "type": "offer", "to": ME, "session": "s", "sdp": "nope", "nick": "x"},
        {**base, "type": "offer", "to": ME, "session": "bad session", "sdp": SDP, "nick": "x"},
        {**base, "type": "candidate", "to": ME, "session": "s", "candidate": {"candidate": "a"}},
        {**base, "type": "candidate", "to": ME, "session": "s", "candidate": 7},
        {**base, "type": "hello", "nick": "x", "to": SMALL},  # for someone else
    ):
        r.raw(wire, 2.0, on_global=False)
    r.hear(m.Offer(BIG, ME, "q1", SDP, "big\u202e\x1b[2J"), 2.1)  # its nick is cleaned
    r.hear(_hello(BIG, ME), 2.2)
    r.call("leave", r.proto.leave)
    r.hear(_hello(BIG, ME), 2.3)  # after leaving: nothing
    return r


SCENARIOS = [
    a_stranger_is_probed_then_called,
    a_caller_s_offer_is_answered_with_its_early_candidates,
    offers_cross_and_the_smaller_id_wins,
    an_unanswered_offer_is_sent_again_then_given_up,
    strangers_that_never_answer_are_forgotten,
    announcements_heard_while_settling_wait_for_it,
    a_crowd_gets_a_few_probes,
    a_partial_mesh_links_only_whom_it_is_told,
    a_peer_that_sends_garbage_is_dropped_and_shunned,
    malformed_and_misdirected_messages_are_dropped,
]


def signalling_traces() -> dict[str, Any]:
    return {
        "me": ME,
        "nick": "me",
        "timing": {"helloJitter": 0.0},
        "traces": [
            {"name": scenario.__name__, "steps": scenario().steps} for scenario in SCENARIOS
        ],
    }
