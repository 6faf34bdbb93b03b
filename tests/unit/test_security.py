"""Signed signalling and sealed rooms: forgeries and tampering are caught."""

from __future__ import annotations

import json

import pytest

from meshchat.mesh.identity import Identity
from meshchat.mesh.signalling import protocol as p
from meshchat.mesh.signalling.codec import SignalCodec
from meshchat.mesh.signalling.messages import Hello, Offer, ProtocolError
from meshchat.mesh.signalling.sealing import RoomSeal
from meshchat.wire.keys import client_id_for

ROOM = "lobby"


@pytest.fixture(scope="module")
def alice() -> Identity:
    return Identity()


@pytest.fixture(scope="module")
def mallory() -> Identity:
    return Identity()


def test_the_client_id_is_derived_from_the_public_key(alice: Identity) -> None:
    assert alice.client_id == client_id_for(alice.public_key)
    assert len(alice.client_id) == 32 and Identity().client_id != alice.client_id


def test_a_signed_message_round_trips(alice: Identity) -> None:
    codec = SignalCodec(ROOM, alice)
    offer = Offer(alice.client_id, "b" * 32, "s1", "v=0 sdp", "alice")
    assert SignalCodec(ROOM, Identity()).decode(codec.encode(offer)) == offer


def test_a_peer_cannot_speak_in_another_clients_name(alice: Identity, mallory: Identity) -> None:
    # Mallory signs with her own key a message that claims to come from Alice.
    forged = SignalCodec(ROOM, mallory).encode(Hello(alice.client_id, "alice"))
    with pytest.raises(ProtocolError, match="forged or altered"):
        SignalCodec(ROOM, Identity()).decode(forged)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("sdp", "v=0 fingerprint swapped by the broker"),
        ("to", "c" * 32),
        ("session", "other"),
        ("nick", "someone else"),
        ("room", "lobby2"),
    ],
)
def test_any_change_to_a_signed_message_is_detected(
    alice: Identity, field: str, value: str
) -> None:
    wire = SignalCodec(ROOM, alice).encode(Offer(alice.client_id, "b" * 32, "s1", "v=0 x", "a"))
    wire[field] = value
    room = value if field == "room" else ROOM
    with pytest.raises(ProtocolError):
        SignalCodec(room, Identity()).decode(wire)


def test_unsigned_and_mis_signed_messages_are_refused(alice: Identity) -> None:
    codec = SignalCodec(ROOM, alice)
    wire = codec.encode(Hello(alice.client_id, "alice"))
    unsigned = {k: v for k, v in wire.items() if k not in ("pk", "sig")}
    with pytest.raises(ProtocolError, match="unsigned"):
        codec.decode(unsigned)
    other = codec.encode(Hello(alice.client_id, "alice2"))
    with pytest.raises(ProtocolError, match="forged or altered"):
        codec.decode({**wire, "sig": other["sig"]})
    with pytest.raises(ProtocolError):
        codec.decode({**wire, "pk": "not base64!"})


def test_a_sealed_room_hides_everything_and_needs_the_secret(alice: Identity) -> None:
    sealed = SignalCodec(ROOM, alice, RoomSeal(ROOM, "correct horse"))
    wire = sealed.encode(Offer(alice.client_id, "b" * 32, "s1", "v=0 secret sdp", "alice"))
    assert set(wire) == {"v", "sealed"}
    assert "secret sdp" not in json.dumps(wire) and "alice" not in json.dumps(wire)
    same_secret = SignalCodec(ROOM, Identity(), RoomSeal(ROOM, "correct horse"))
    assert same_secret.decode(wire).sdp == "v=0 secret sdp"  # type: ignore[union-attr]
    with pytest.raises(ProtocolError, match="wrong room secret"):
        SignalCodec(ROOM, Identity(), RoomSeal(ROOM, "wrong")).decode(wire)
    with pytest.raises(ProtocolError):
        SignalCodec(ROOM, Identity()).decode(wire)  # no secret: not a valid message
    open_wire = SignalCodec(ROOM, alice).encode(Hello(alice.client_id, "alice"))
    with pytest.raises(ProtocolError, match="unsealed"):
        same_secret.decode(open_wire)


def test_sealed_topics_do_not_name_the_room(alice: Identity) -> None:
    tag = RoomSeal("secret-plans", "s1").topic_tag
    proto = p.MeshProtocol("secret-plans", alice, "alice", seal=RoomSeal("secret-plans", "s1"))
    for topic in (proto.global_topic, proto.own_topic):
        assert "secret-plans" not in topic and tag in topic
    assert RoomSeal("secret-plans", "s2").topic_tag != tag
    assert RoomSeal("other-room", "s1").topic_tag != tag


def test_the_protocol_drops_a_forged_bye(alice: Identity, mallory: Identity) -> None:
    """Mallory cannot make Alice disappear from Bob's room by saying bye for her."""
    bob = p.MeshProtocol(ROOM, Identity(), "bob", timing=p.Timing(join_settle=0.0))
    bob.subscribed(0.0)
    bob.receive(bob.global_topic, SignalCodec(ROOM, alice).encode(Hello(alice.client_id, "a")), 1.0)
    forged_bye = SignalCodec(ROOM, mallory).encode(Hello(alice.client_id, "a"))
    forged_bye["type"] = "bye"
    assert bob.receive(bob.global_topic, forged_bye, 2.0) == []
    assert bob.dropped == 1 and bob.phase_of(alice.client_id) is not None
