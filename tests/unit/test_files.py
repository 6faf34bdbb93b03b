"""The file protocol's pure parts: names made safe, control messages judged, chunks
put back together."""

from __future__ import annotations

from pathlib import Path

import pytest

from meshchat.mesh.features.file_protocol import (
    Accept,
    Assembly,
    Failed,
    Have,
    Offer,
    Refuse,
    Saved,
    decode_chunk,
    decode_control,
    encode_chunk,
    encode_control,
)
from meshchat.mesh.features.filenames import MAX_NAME_BYTES, create_unused, safe_file_name
from meshchat.mesh.signalling.messages import ProtocolError

TRANSFER = "ab" * 16
DIGEST = "cd" * 32


@pytest.mark.parametrize(
    ("offered", "saved"),
    [
        ("report.pdf", "report.pdf"),
        ("../../etc/passwd", "passwd"),
        ("/etc/shadow", "shadow"),
        ("..\\..\\windows\\system.ini", "system.ini"),
        ("C:evil.exe", "evil.exe"),
        ("..", "file"),
        ("...", "file"),
        (".bashrc", "bashrc"),
        ("", "file"),
        ("   ", "file"),
        ("a/", "file"),
        ("CON", "_CON"),
        ("nul.txt", "_nul.txt"),
        ("COM1.tar.gz", "_COM1.tar.gz"),
        ("name. . ", "name"),
        ("bell\x07\x1b[2Jclear\x9b", "bell[2Jclear"),
        ("invoice\u202egpj.exe", "invoicegpj.exe"),  # a right-to-left override
        ("zero\u200bwidth\ufeff", "zerowidth"),
        ("line\u2028break", "linebreak"),
        ("café ☕.txt", "café ☕.txt"),
    ],
)
def test_offered_names_are_made_harmless(offered: str, saved: str) -> None:
    assert safe_file_name(offered) == saved


def test_long_names_are_cut_on_a_character_boundary_keeping_the_extension() -> None:
    name = safe_file_name("é" * 300 + ".tar")
    assert name.endswith("é.tar") and len(name.encode()) <= MAX_NAME_BYTES
    assert len(safe_file_name("x" * 5000).encode()) == MAX_NAME_BYTES


def test_an_existing_file_is_never_overwritten(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    first = create_unused(tmp_path, "notes.txt", suffix=".part")
    second = create_unused(tmp_path, "notes.txt", suffix=".part")
    assert (first.name, second.name) == ("notes (1).txt.part", "notes (2).txt.part")
    assert create_unused(tmp_path, "notes.txt").name == "notes (1).txt"
    assert create_unused(tmp_path, "README").name == "README"
    assert create_unused(tmp_path, "README").name == "README (1)"
    assert (tmp_path / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize(
    "message",
    [
        Offer(TRANSFER, "a.txt", 0, DIGEST),
        Offer(TRANSFER, "../x", 2**40, DIGEST),
        Accept(TRANSFER),
        Refuse(TRANSFER, "too big"),
        Have(TRANSFER, 1024),
        Saved(TRANSFER),
        Failed(TRANSFER, "digest mismatch"),
    ],
)
def test_control_messages_round_trip(message: object) -> None:
    assert decode_control(encode_control(message)) == message  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "value",
    [
        None,
        [],
        {"type": "offer"},
        {"type": "accept", "id": "../../x"},
        {"type": "offer", "id": TRANSFER, "name": "", "size": 1, "sha256": DIGEST},
        {"type": "offer", "id": TRANSFER, "name": "x" * 2000, "size": 1, "sha256": DIGEST},
        {"type": "offer", "id": TRANSFER, "name": "a", "size": -1, "sha256": DIGEST},
        {"type": "offer", "id": TRANSFER, "name": "a", "size": 1e300, "sha256": DIGEST},
        {"type": "offer", "id": TRANSFER, "name": "a", "size": True, "sha256": DIGEST},
        {"type": "offer", "id": TRANSFER, "name": "a", "size": 1, "sha256": "nope"},
        {"type": "have", "id": TRANSFER, "bytes": "many"},
        {"type": "refuse", "id": TRANSFER},
        {"type": "dance", "id": TRANSFER},
    ],
)
def test_malformed_control_messages_are_refused(value: object) -> None:
    with pytest.raises(ProtocolError):
        decode_control(value)


def test_a_peer_given_reason_is_printable_and_bounded() -> None:
    refused = decode_control({"type": "refuse", "id": TRANSFER, "reason": "\x1b[2J" + "x" * 999})
    assert isinstance(refused, Refuse)
    assert refused.reason.startswith("[2J") and len(refused.reason) == 200


def test_chunks_carry_their_transfer_and_offset() -> None:
    transfer, offset, data = decode_chunk(encode_chunk(TRANSFER, 7 * 2**32, b"data"))
    assert (transfer, offset, bytes(data)) == (TRANSFER, 7 * 2**32, b"data")
    with pytest.raises(ProtocolError):
        decode_chunk(b"short")


def test_chunks_out_of_order_become_contiguous_once_the_gap_fills() -> None:
    assembly = Assembly(30)
    assert assembly.add(10, 10) == (0, 0)
    assert assembly.add(20, 10) == (0, 0)
    assert assembly.ahead_bytes == 20
    assert assembly.add(0, 10) == (0, 30)
    assert assembly.complete and assembly.ahead_bytes == 0


@pytest.mark.parametrize(("offset", "length"), [(25, 10), (12, 0), (5, 10), (16, 1), (14, 2)])
def test_chunks_outside_the_file_or_over_others_are_refused(offset: int, length: int) -> None:
    assembly = Assembly(30)
    assembly.add(0, 10)
    assembly.add(15, 5)
    with pytest.raises(ProtocolError):
        assembly.add(offset, length)
