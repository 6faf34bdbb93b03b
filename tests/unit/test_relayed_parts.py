"""Payloads relayed in parts (mesh/relayed_parts.py): part bodies checked field by
field, and payloads put back together in order, or dropped when a part is lost."""

from __future__ import annotations

import hashlib
import io
from typing import IO, Any

import pytest

from meshchat.mesh import relayed_parts as rp
from meshchat.mesh.messages import ProtocolError
from meshchat.mesh.payloads import MAX_PAYLOAD_BYTES

AUTHOR = "author-1"


def parts(data: bytes, message_id: str = "m1", kind: str = "bytes") -> list[rp.RelayedPart]:
    cut = []
    for index in range(rp.part_count(len(data))):
        body = rp.part_body("files", message_id, 1_700_000_000_000, kind, len(data), index)
        piece = data[index * rp.PART_BYTES : (index + 1) * rp.PART_BYTES]
        cut.append(rp.read_part(body, piece))
    return cut


class Sinks:
    """In-memory sinks that remember whether they were closed."""

    def __init__(self) -> None:
        self.made: list[io.BytesIO] = []

    def __call__(self, size: int) -> IO[bytes]:
        self.made.append(io.BytesIO())
        return self.made[-1]


def test_a_payload_is_cut_into_parts_and_put_back_together() -> None:
    data = bytes(range(256)) * 100  # 25600 bytes: three parts, the last shorter
    cut = parts(data)
    assert [len(part.data) for part in cut] == [rp.PART_BYTES, rp.PART_BYTES, 5120]
    assembler = rp.PartAssembler(Sinks())
    results = [assembler.add(AUTHOR, part, 0.0) for part in cut]
    assert results[:2] == [None, None]
    whole = results[2]
    assert whole is not None and whole.body.read() == data
    assert whole.sha256 == hashlib.sha256(data).hexdigest()
    assert whole.part.channel == "files" and whole.part.size == len(data)


def test_an_empty_payload_is_one_empty_part() -> None:
    (part,) = parts(b"")
    whole = rp.PartAssembler(Sinks()).add(AUTHOR, part, 0.0)
    assert whole is not None and whole.body.read() == b""


def test_a_lost_part_drops_the_payload_and_says_which() -> None:
    sinks = Sinks()
    assembler = rp.PartAssembler(sinks)
    first, _, third = parts(b"z" * (2 * rp.PART_BYTES + 1))
    assert assembler.add(AUTHOR, first, 0.0) is None
    with pytest.raises(ValueError, match="part 1 of payload m1 was lost"):
        assembler.add(AUTHOR, third, 0.1)
    assert sinks.made[0].closed and assembler.lost == 1


def test_a_payload_begun_before_we_listened_is_not_half_shown() -> None:
    _, second = parts(b"y" * (rp.PART_BYTES + 1))
    with pytest.raises(ValueError, match="began before"):
        rp.PartAssembler(Sinks()).add(AUTHOR, second, 0.0)


def test_a_new_payload_after_an_unfinished_one_starts_afresh() -> None:
    assembler = rp.PartAssembler(Sinks())
    assembler.add(AUTHOR, parts(b"a" * (rp.PART_BYTES + 1), "old")[0], 0.0)
    (only,) = parts(b"new", "new")
    whole = assembler.add(AUTHOR, only, 1.0)
    assert whole is not None and whole.body.read() == b"new" and assembler.lost == 1


def test_authors_are_assembled_side_by_side() -> None:
    assembler = rp.PartAssembler(Sinks())
    one, two = parts(b"1" * (rp.PART_BYTES + 5), "p1"), parts(b"2" * (rp.PART_BYTES + 5), "p2")
    assembler.add("one", one[0], 0.0)
    assembler.add("two", two[0], 0.0)
    first, second = assembler.add("two", two[1], 0.0), assembler.add("one", one[1], 0.0)
    assert first is not None and first.body.read() == b"2" * (rp.PART_BYTES + 5)
    assert second is not None and second.body.read() == b"1" * (rp.PART_BYTES + 5)


def test_a_stalled_payload_is_dropped_after_a_while() -> None:
    sinks = Sinks()
    assembler = rp.PartAssembler(sinks)
    assembler.add(AUTHOR, parts(b"s" * (rp.PART_BYTES + 1))[0], 0.0)
    assert assembler.expire(rp.STALL_SECONDS - 1) == []
    assert assembler.expire(rp.STALL_SECONDS + 1) == [f"m1 from {AUTHOR}"]
    assert sinks.made[0].closed


def test_half_received_payloads_are_bounded_across_authors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rp, "MAX_ASSEMBLING_BYTES", 3 * rp.PART_BYTES)
    assembler = rp.PartAssembler(Sinks())
    assembler.add("one", parts(b"1" * (2 * rp.PART_BYTES))[0], 0.0)
    with pytest.raises(ValueError, match="half-received already"):
        assembler.add("two", parts(b"2" * (2 * rp.PART_BYTES))[0], 0.0)
    assembler.forget("one")  # the author left: room again
    assert assembler.add("two", parts(b"2" * (2 * rp.PART_BYTES))[0], 0.0) is None


def body(**changes: Any) -> dict[str, Any]:
    return rp.part_body("files", "m1", 0, "bytes", rp.PART_BYTES + 1, 0) | changes


@pytest.mark.parametrize(
    ("fields", "data", "complaint"),
    [
        (body(kind="text"), b"x" * rp.PART_BYTES, "kind"),
        (body(size=MAX_PAYLOAD_BYTES + 1), b"x" * rp.PART_BYTES, "size"),
        (body(count=3), b"x" * rp.PART_BYTES, "do not fit"),
        (body(i=2), b"x" * rp.PART_BYTES, "do not fit"),
        (body(i=-1), b"x" * rp.PART_BYTES, "'i'"),
        (body(), b"x" * 10, "holds 10 bytes"),
        (body(i=1), b"x" * 2, "holds 2 bytes"),
        (body(id="no spaces allowed"), b"x" * rp.PART_BYTES, "'id'"),
        (body(channel=""), b"x" * rp.PART_BYTES, "channel name"),
        (body(ts="now"), b"x" * rp.PART_BYTES, "'ts'"),
    ],
)
def test_a_bad_part_body_is_refused_with_what_is_wrong(
    fields: dict[str, Any], data: bytes, complaint: str
) -> None:
    with pytest.raises(ProtocolError, match=complaint):
        rp.read_part(fields, data)
