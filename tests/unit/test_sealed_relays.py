"""Payloads relayed to chosen members, sealed to their keys (partial/sealed_relays.py):
their recipients open them, relays and other members cannot, and a part moved, altered
or claimed by another author does not open."""

from __future__ import annotations

import dataclasses
import io
import json

import pytest

from meshchat.mesh.partial import relayed_parts as rp
from meshchat.mesh.partial.relayed import RelayedValue
from meshchat.mesh.partial.sealed_relays import SealedRelays
from meshchat.mesh.private.seal import SealKey
from meshchat.mesh.signalling.messages import ProtocolError
from meshchat.wire.keys import b64encode

ROOM = "lobby"
KEYS = {peer: SealKey() for peer in ("ana", "bo", "cy", "relay")}
TO = ("bo", "cy")


def relays_of(peer: str) -> SealedRelays:
    return SealedRelays(ROOM, peer, KEYS[peer], lambda p: KEYS[p].public_key if p in KEYS else None)


def sealed_parts(data: bytes, message_id: str = "m1", author: str = "ana") -> list[rp.RelayedPart]:
    sealing = relays_of(author).seal_for("blobs", message_id, TO)
    size = rp.part_bytes(True)
    parts = []
    for index in range(rp.part_count(len(data), sealed=True)):
        body = rp.part_body("blobs", message_id, 5, "bytes", len(data), index, seal=sealing.seal)
        attachment = sealing.encrypt(index, data[index * size : (index + 1) * size])
        parts.append(rp.read_part(body, attachment))
    return parts


def test_a_sealed_value_opens_for_each_recipient_only() -> None:
    sealing = relays_of("ana").seal_for("moves", "v1", TO)
    plaintext = json.dumps({"x": [1, 2]}).encode()
    value = RelayedValue(
        "moves", "v1", 5, None, 0, sealing.seal, b64encode(sealing.encrypt(0, plaintext))
    )
    for peer in TO:
        assert relays_of(peer).open_value("ana", value, TO) == ({"x": [1, 2]}, len(plaintext))
    with pytest.raises(ProtocolError, match="for others"):
        relays_of("relay").open_value("ana", value, TO)
    with pytest.raises(ProtocolError, match="does not open"):
        relays_of("bo").open_value("cy", value, TO)  # claimed by a co-recipient


def test_sealed_parts_open_in_any_order_and_not_when_moved_altered_or_reauthored() -> None:
    data = bytes(range(256)) * 100  # 25,600 bytes: four sealed parts
    parts = sealed_parts(data)
    assert len(parts) == 4 and all(
        len(p.data) == len(d) + 16
        for p, d in zip(parts, [data[i * 8192 : (i + 1) * 8192] for i in range(4)], strict=True)
    )
    bo = relays_of("bo")
    opened = {p.index: bo.open_part("ana", p, TO).data for p in reversed(parts)}
    assert b"".join(opened[i] for i in range(4)) == data
    moved = dataclasses.replace(parts[1], index=2)
    altered = dataclasses.replace(parts[0], data=bytes([parts[0].data[0] ^ 1]) + parts[0].data[1:])
    for bad, author in ((moved, "ana"), (altered, "ana"), (parts[0], "cy")):
        with pytest.raises(ProtocolError, match="does not open"):
            relays_of("cy").open_part(author, bad, TO)
    with pytest.raises(ProtocolError, match="for others"):
        relays_of("relay").open_part("ana", parts[0], TO)


def test_a_sealed_part_must_hold_its_bytes_and_tag_and_a_sane_seal() -> None:
    body = rp.part_body("blobs", "m1", 5, "bytes", 100, 0, seal="AAAA")
    assert rp.read_part(body, bytes(116)).seal == "AAAA"
    with pytest.raises(ProtocolError, match="holds 100 bytes, not 116"):
        rp.read_part(body, bytes(100))
    for seal in ("not base64!", "A" * (rp.MAX_SEAL_CHARS + 1), 5):
        with pytest.raises(ProtocolError, match="seal"):
            rp.read_part({**body, "seal": seal}, bytes(116))
    unsealed_count = rp.part_body("blobs", "m1", 5, "bytes", 9000, 0, seal="AAAA") | {"count": 1}
    with pytest.raises(ProtocolError, match="do not fit"):
        rp.read_part(unsealed_count, bytes(8192 + 16))


def test_parts_of_one_payload_with_two_seals_do_not_fit_together() -> None:
    first, _ = sealed_parts(bytes(9000), "same")
    _, second = sealed_parts(bytes(9000), "same")  # another seal, same id
    assembler = rp.PartAssembler(lambda size: io.BytesIO())
    bo = relays_of("bo")
    assembler.add("ana", bo.open_part("ana", first, TO), 1, 0.0)
    with pytest.raises(ValueError, match="disagree"):
        assembler.add("ana", bo.open_part("ana", second, TO), 2, 0.0)


def test_a_recipient_without_a_key_is_refused_before_anything_is_sealed() -> None:
    with pytest.raises(ValueError, match="no key for private messages from dee"):
        relays_of("ana").seal_for("blobs", "m1", ("bo", "dee"))
