"""Private lines sealed end to end (mesh/private/seal.py, link/private_lines.py): only
the members they are sealed to can open them, whoever carries them; altered, re-signed,
misdirected or replayed ones are refused; the data plane and the relayed path agree."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from meshchat.mesh.events import MessageReceived, MessageUndelivered
from meshchat.mesh.identity import Identity
from meshchat.mesh.link import dataplane as d
from meshchat.mesh.link.chat_frames import (
    PrivateLine,
    decode_channel_frame,
    encode_private,
    new_chat_message,
    private_fields,
    private_signed_content,
)
from meshchat.mesh.link.private_lines import open_line, seal_line
from meshchat.mesh.partial import relayed as r
from meshchat.mesh.partial.gossip import Envelope
from meshchat.mesh.private import seal as s
from meshchat.mesh.signalling.codec import SignalCodec
from meshchat.mesh.signalling.messages import Hello, ProtocolError
from meshchat.wire.canonical import canonical
from meshchat.wire.keys import b64decode, b64encode

ROOM = "lobby"
PEOPLE = [Identity() for _ in range(4)]
ANA, BO, CY, MALLORY = (identity.client_id for identity in PEOPLE)
BY_ID = {identity.client_id: identity for identity in PEOPLE}


def key_of(peer_id: str) -> str | None:
    return BY_ID[peer_id].public_key_b64 if peer_id in BY_ID else None


def seal_key_of(peer_id: str) -> bytes | None:
    return BY_ID[peer_id].seal_key.public_key if peer_id in BY_ID else None


def plane(client_id: str, **options: Any) -> d.DataPlane:
    identity = BY_ID[client_id]
    return d.DataPlane(
        client_id,
        client_id[:4],
        room=ROOM,
        sign=identity.sign,
        key_of=key_of,
        seal_key=identity.seal_key,
        seal_key_of=seal_key_of,
        **options,
    )


def linked(*ids: str) -> dict[str, d.DataPlane]:
    planes = {peer: plane(peer) for peer in ids}
    for peer, data in planes.items():
        for other in ids:
            if other != peer:
                data.opened(other, 0.0)
    return planes


def frame_to(actions: list[d.DataAction], peer_id: str) -> str:
    (frame,) = [a.frame for a in actions if isinstance(a, d.SendFrame) and a.peer_id == peer_id]
    assert isinstance(frame, str)
    return frame


def received(actions: list[d.DataAction]) -> list[MessageReceived]:
    return [a for a in actions if isinstance(a, MessageReceived)]


# --- the construction ---


def test_each_recipient_opens_a_seal_and_nobody_else_does() -> None:
    keys = [s.SealKey() for _ in range(3)]
    context = s.seal_context(ROOM, "chat", ANA, "m1", ["b", "c", "d"])
    content_key, seal = s.new_seal([k.public_key for k in keys], context)
    assert len(seal) == s.seal_bytes(3)
    sealed = s.encrypt(content_key, 0, b"for three", context)
    for index, key in enumerate(keys):
        assert s.decrypt(key.content_key(seal, index, context), 0, sealed, context) == b"for three"
    with pytest.raises(s.CannotOpen):
        s.SealKey().content_key(seal, 0, context)  # another key
    with pytest.raises(s.CannotOpen):
        keys[0].content_key(seal, 1, context)  # someone else's place
    with pytest.raises(s.CannotOpen):
        keys[0].content_key(seal, 3, context)  # past the end
    other = s.seal_context(ROOM, "chat", MALLORY, "m1", ["b", "c", "d"])
    with pytest.raises(s.CannotOpen):
        keys[0].content_key(seal, 0, other)  # claimed by another author
    with pytest.raises(s.CannotOpen):
        s.decrypt(content_key, 1, sealed, context)  # as another part
    flipped = bytes([sealed[0] ^ 1]) + sealed[1:]
    with pytest.raises(s.CannotOpen):
        s.decrypt(content_key, 0, flipped, context)


def test_a_lasting_identity_keeps_its_x25519_key_and_it_is_not_its_signing_key() -> None:
    identity = PEOPLE[0]
    again = Identity(Ed25519PrivateKey.from_private_bytes(identity.private_bytes()))
    assert again.seal_key.public_key == identity.seal_key.public_key
    assert identity.seal_key.public_key != identity.public_key
    assert Identity().seal_key.public_key != identity.seal_key.public_key


def test_a_low_order_key_cannot_be_sealed_to() -> None:
    with pytest.raises(ValueError):
        s.new_seal([bytes(32)], b"context")


def test_an_announced_key_must_be_32_bytes_of_base64url() -> None:
    good = b64encode(bytes(range(32)))
    assert s.public_key_bytes(good) == bytes(range(32))
    for bad in (None, 42, "", good[:-1], good + "A", "!" * 43, "=" * 43):
        with pytest.raises(ValueError):
            s.public_key_bytes(bad)


# --- private lines over links ---


def test_a_private_line_reaches_its_recipient_sealed_and_shows_private() -> None:
    planes = linked(ANA, BO)
    sent, actions = planes[ANA].send_private("meet at noon", [BO], 1.0, 1_000)
    assert sent.message.private and sent.message.to == (BO,) and sent.delivered_to == (BO,)
    frame = frame_to(actions, BO)
    assert "meet at noon" not in frame and '"text"' not in frame
    (shown,) = received(planes[BO].receive(ANA, frame, 1.1))
    assert shown.message.text == "meet at noon" and shown.message.private
    assert shown.message.to == (BO,) and shown.message.sender == ANA
    assert received(planes[BO].receive(ANA, frame, 1.2)) == [], "a replay is not shown again"


def test_a_private_line_goes_only_to_its_recipients_links() -> None:
    planes = linked(ANA, BO, CY)
    sent, actions = planes[ANA].send_private("just bo", [BO], 1.0, 1_000)
    assert {a.peer_id for a in actions if isinstance(a, d.SendFrame)} == {BO}
    assert sent.delivered_to == (BO,)


def test_a_private_line_not_for_us_is_misbehaviour_and_shows_nothing() -> None:
    planes = linked(ANA, BO, CY)
    frame = frame_to(planes[ANA].send_private("just bo", [BO], 1.0, 1_000)[1], BO)
    actions = planes[CY].receive(ANA, frame, 1.1)
    assert received(actions) == []
    assert [type(a) for a in actions] == [d.PeerMisbehaved]


@pytest.mark.parametrize(
    "alter",
    [
        pytest.param(lambda w: {**w, "sealed": _flip(w["sealed"])}, id="sealed-text"),
        pytest.param(lambda w: {**w, "seal": _flip(w["seal"])}, id="seal"),
        pytest.param(lambda w: {**w, "to": sorted([BO, CY])}, id="recipients"),
        pytest.param(lambda w: {**w, "seq": w["seq"] + 1}, id="seq"),
        pytest.param(lambda w: {**w, "ts": w["ts"] + 1}, id="timestamp"),
    ],
)
def test_an_altered_private_line_is_refused_and_not_acknowledged(alter: Any) -> None:
    planes = linked(ANA, BO)
    frame = frame_to(planes[ANA].send_private("as said", [BO], 1.0, 1_000)[1], BO)
    actions = planes[BO].receive(ANA, json.dumps(alter(json.loads(frame))), 1.1)
    assert received(actions) == [] and not any(isinstance(a, d.FlushAcksAt) for a in actions)
    assert any(isinstance(a, d.PeerMisbehaved) for a in actions)


def _flip(text: str) -> str:
    raw = bytearray(b64decode(text))
    raw[-1] ^= 1
    return b64encode(bytes(raw))


def test_a_sealed_text_resigned_by_another_member_does_not_open() -> None:
    """Mallory takes ana's private line to bo and signs it as her own: the seal is
    bound to its author, so bo cannot be made to read ana's words as mallory's."""
    planes = linked(ANA, BO)
    line = decode_channel_frame(frame_to(planes[ANA].send_private("ana's", [BO], 1.0, 1)[1], BO))[0]
    assert isinstance(line, PrivateLine)
    stolen = dataclasses.replace(line, sender=MALLORY, signature="")
    stolen = dataclasses.replace(
        stolen, signature=BY_ID[MALLORY].sign(private_signed_content(stolen, ROOM))
    )
    bo = plane(BO)
    bo.opened(MALLORY, 0.0)
    actions = bo.receive(MALLORY, encode_private(stolen), 1.1)
    assert received(actions) == [] and [type(a) for a in actions] == [d.PeerMisbehaved]
    assert "does not open" in actions[0].reason  # type: ignore[union-attr]


def test_a_private_line_for_a_peer_without_a_key_is_refused_before_anything_goes() -> None:
    ana = d.DataPlane(
        ANA, "ana", room=ROOM, sign=PEOPLE[0].sign, key_of=key_of, seal_key_of=lambda _: None
    )
    ana.opened(BO, 0.0)
    with pytest.raises(ValueError, match="no key for private messages"):
        ana.send_private("hello", [BO], 1.0, 1)
    with pytest.raises(ValueError, match="not in the room"):
        plane(ANA).send_private("hello", [CY], 1.0, 1)
    with pytest.raises(ValueError, match="not to ourselves"):
        linked(ANA, BO)[ANA].send_private("hello", [ANA, BO], 1.0, 1)


def test_a_private_line_is_sent_again_sealed_as_it_was_when_the_link_is_back() -> None:
    planes = linked(ANA, BO)
    ana = planes[ANA]
    first = frame_to(ana.send_private("still there?", [BO], 1.0, 1)[1], BO)
    ana.closed(BO, 2.0, said_bye=False)
    again = frame_to(ana.opened(BO, 3.0), BO)
    assert json.loads(again)["sealed"] == json.loads(first)["sealed"]
    (shown,) = received(planes[BO].receive(ANA, again, 3.1))
    assert shown.message.text == "still there?"


def test_an_unacknowledged_private_line_is_reported_undelivered_and_forgotten() -> None:
    ana = plane(ANA, ack_timeout=5.0)
    ana.opened(BO, 0.0)
    ana.send_private("anyone?", [BO], 1.0, 1)
    lost = [a for a in ana.tick(10.0) if isinstance(a, MessageUndelivered)]
    assert [a.message.text for a in lost] == ["anyone?"] and lost[0].message.private
    assert ana._private_frames == {}


# --- relayed through a partial mesh ---


def envelope_of(line: PrivateLine, to: tuple[str, ...]) -> Envelope:
    body = private_fields(line)
    return Envelope(line.sender, 1, PEOPLE[0].public_key_b64, to, body, "", "")


def test_a_relayed_private_line_is_checked_against_its_envelope_and_opened_by_its_recipient() -> (
    None
):
    message = new_chat_message(ANA, "ana", "through the room", 5, 1, "m9")
    line = seal_line(message, (BO,), [PEOPLE[1].seal_key.public_key], ROOM, PEOPLE[0].sign)
    said = r.read_body(envelope_of(line, (BO,)), ROOM)
    assert isinstance(said, r.RelayedPrivate)
    opened = open_line(said.line, ROOM, BO, PEOPLE[1].seal_key)
    assert opened.text == "through the room" and opened.private
    with pytest.raises(ProtocolError):
        open_line(said.line, ROOM, CY, PEOPLE[2].seal_key)  # a relay cannot
    with pytest.raises(ProtocolError):
        r.read_body(envelope_of(line, (BO, CY)), ROOM)  # readdressed envelope
    forged = dataclasses.replace(line, timestamp_ms=6)
    with pytest.raises(ProtocolError):
        r.read_body(envelope_of(forged, (BO,)), ROOM)  # its own signature


# --- keys announced in signalling ---


def test_the_x25519_key_is_announced_signed_and_remembered_only_once_it_checks_out() -> None:
    ana, bo = PEOPLE[0], PEOPLE[1]
    hello = SignalCodec(ROOM, ana).encode(Hello(ana.client_id, "ana"))
    assert hello["xk"] == ana.seal_key.public_key_b64
    receiver = SignalCodec(ROOM, bo)
    receiver.decode(hello)
    assert receiver.seal_key_of(ana.client_id) == ana.seal_key.public_key

    swapped = SignalCodec(ROOM, PEOPLE[2])
    with pytest.raises(ProtocolError, match="forged or altered"):
        swapped.decode({**hello, "xk": PEOPLE[3].seal_key.public_key_b64})  # a relay's own key
    assert swapped.seal_key_of(ana.client_id) is None

    bad = {k: v for k, v in hello.items() if k != "sig"} | {"xk": "too-short"}
    bad["sig"] = ana.sign(canonical(bad))
    with pytest.raises(ProtocolError, match="'xk'"):
        SignalCodec(ROOM, PEOPLE[2]).decode(bad)

    older = {k: v for k, v in hello.items() if k not in ("sig", "xk")}
    older["sig"] = ana.sign(canonical(older))
    quiet = SignalCodec(ROOM, PEOPLE[2])
    assert quiet.decode(older) == Hello(ana.client_id, "ana"), "an older client still joins"
    assert quiet.seal_key_of(ana.client_id) is None
