"""Payloads relayed in parts (mesh/partial/relayed_parts.py): part bodies checked field by
field, payloads put back together from parts in any order and handed on in their
author's order, or dropped when they stall."""

from __future__ import annotations

import hashlib
import io
from typing import IO, Any

import pytest

from meshchat.mesh.link.payloads import MAX_PAYLOAD_BYTES
from meshchat.mesh.partial import relayed_parts as rp
from meshchat.mesh.signalling.messages import ProtocolError

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


def add(
    assembler: rp.PartAssembler,
    part: rp.RelayedPart,
    n: int | None = None,
    now: float = 0.0,
    author: str = AUTHOR,
    via: str = "link",
) -> list[bytes]:
    """Feed one part (relayed as envelope ``n``: its index + 1 unless said, brought by
    the link ``via``); the payloads it made due, read."""
    due = assembler.add(author, part, part.index + 1 if n is None else n, now, via=via)
    return [whole.body.read() for whole in due]


def test_a_payload_is_cut_into_parts_and_put_back_together() -> None:
    data = bytes(range(256)) * 100  # 25600 bytes: three parts, the last shorter
    cut = parts(data)
    assert [len(part.data) for part in cut] == [rp.PART_BYTES, rp.PART_BYTES, 5120]
    assembler = rp.PartAssembler(Sinks())
    assert assembler.add(AUTHOR, cut[0], 1, 0.0) == []
    assert assembler.add(AUTHOR, cut[1], 2, 0.0) == []
    (whole,) = assembler.add(AUTHOR, cut[2], 3, 0.0)
    assert whole.body.read() == data
    assert whole.sha256 == hashlib.sha256(data).hexdigest()
    assert whole.part.channel == "files" and whole.part.size == len(data)


def test_an_empty_payload_is_one_empty_part() -> None:
    (part,) = parts(b"")
    assert add(rp.PartAssembler(Sinks()), part) == [b""]


def test_parts_out_of_order_are_put_in_their_place() -> None:
    data = bytes(range(256)) * 200  # five parts
    cut = parts(data)
    assembler = rp.PartAssembler(Sinks())
    assert [add(assembler, cut[index]) for index in (0, 3, 1, 4)] == [[], [], [], []]
    (whole,) = assembler.add(AUTHOR, cut[2], 3, 0.0)
    assert whole.body.read() == data
    assert whole.sha256 == hashlib.sha256(data).hexdigest()


def test_a_payload_whose_first_part_comes_last_is_whole() -> None:
    data = b"late start" * 3000
    cut = parts(data)
    assembler = rp.PartAssembler(Sinks())
    assert [add(assembler, part) for part in reversed(cut[1:])] == [[], []]
    assert add(assembler, cut[0]) == [data]


def test_a_copy_of_a_part_is_ignored_and_a_finished_payload_not_restarted() -> None:
    cut = parts(b"c" * (rp.PART_BYTES + 1))
    assembler = rp.PartAssembler(Sinks())
    assert add(assembler, cut[0]) == []
    assert add(assembler, cut[0]) == []
    assert len(add(assembler, cut[1])) == 1
    assert add(assembler, cut[0], now=1.0) == []  # late: nothing half-received again
    assert assembler.expire(rp.STALL_SECONDS + 2) == ([], []) and assembler.lost == 0


def test_a_payload_to_chosen_members_says_so_when_whole() -> None:
    """It wants a receipt (partial/relayed_receipts.py); one to everyone does not."""
    assembler = rp.PartAssembler(Sinks())
    (to_us,) = parts(b"mine", "to-us")
    (to_all,) = parts(b"ours", "to-all")
    assert [whole.addressed for whole in assembler.add(AUTHOR, to_us, 1, 0.0, addressed=True)] == [
        True
    ]
    assert [whole.addressed for whole in assembler.add(AUTHOR, to_all, 2, 0.0)] == [False]


def test_whole_payloads_come_out_in_their_author_s_order() -> None:
    """A small payload whole before a big one sent earlier (missing a part) waits for
    it, so the application sees them as they were sent."""
    assembler = rp.PartAssembler(Sinks())
    old = parts(b"a" * (rp.PART_BYTES + 1), "old")  # relayed as 1 and 2
    assert add(assembler, old[0], 1) == []
    (new,) = parts(b"new", "new")
    assert add(assembler, new, 3, now=1.0) == []  # whole, but 2 is missing
    assert add(assembler, old[1], 2, now=2.0) == [b"a" * (rp.PART_BYTES + 1), b"new"]
    assert assembler.lost == 0


def test_a_whole_payload_waits_for_an_earlier_one_for_a_while_only() -> None:
    assembler = rp.PartAssembler(Sinks())
    add(assembler, parts(b"a" * (rp.PART_BYTES + 1), "stuck")[0], 1)
    (new,) = parts(b"new", "new")
    assert add(assembler, new, 3, now=1.0) == []
    assert assembler.expire(1.0 + rp.ORDER_WAIT - 0.1)[1] == []
    dropped, due = assembler.expire(1.0 + rp.ORDER_WAIT)
    assert dropped == [] and [whole.body.read() for whole in due] == [b"new"]


def test_what_an_author_left_whole_is_still_due() -> None:
    assembler = rp.PartAssembler(Sinks())
    add(assembler, parts(b"a" * (rp.PART_BYTES + 1), "never")[0], 1)
    (new,) = parts(b"new", "new")
    add(assembler, new, 3)
    assert [whole.body.read() for whole in assembler.forget(AUTHOR)] == [b"new"]
    assert assembler.lost == 1


def test_an_author_has_few_payloads_half_received_at_once() -> None:
    assembler = rp.PartAssembler(Sinks())
    for number in range(rp.MAX_PAYLOADS_PER_AUTHOR):
        add(assembler, parts(b"x" * (rp.PART_BYTES + 1), f"m{number}")[0], 2 * number + 1)
    with pytest.raises(ValueError, match="payloads of one author half-received"):
        add(assembler, parts(b"x" * (rp.PART_BYTES + 1), "one-more")[0], 1000)
    assert add(assembler, parts(b"o" * (rp.PART_BYTES + 1))[0], author="other") == []


def test_an_author_cannot_take_the_whole_room_s_room_for_payloads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(rp, "MAX_AUTHOR_BYTES", 3 * rp.PART_BYTES)
    assembler = rp.PartAssembler(Sinks())
    big = parts(b"1" * (3 * rp.PART_BYTES), "big")
    bigger = parts(b"2" * (3 * rp.PART_BYTES), "bigger")
    add(assembler, big[0])
    add(assembler, big[1])
    add(assembler, bigger[0], 5)
    with pytest.raises(ValueError, match="bytes of one author half-received"):
        add(assembler, bigger[1], 6)
    assert add(assembler, parts(b"o" * (2 * rp.PART_BYTES))[0], author="other") == []


def test_a_declared_size_holds_nothing_until_its_parts_come() -> None:
    """Four authors each send the first part of a 64 MiB payload: before, that reserved
    the whole budget and another member's 50 KB payload was dropped at every member."""
    assembler = rp.PartAssembler(Sinks())
    for n, author in enumerate(["f1", "f2", "f3", "f4"]):
        huge = rp.read_part(
            rp.part_body("files", f"huge{n}", 0, "bytes", MAX_PAYLOAD_BYTES, 0),
            bytes(rp.PART_BYTES),
        )
        add(assembler, huge, 1, author=author, via="liar")
    assert assembler.held() == 4 * rp.PART_BYTES
    honest = b"h" * 50_000
    got = [body for part in parts(honest, "fine") for body in add(assembler, part, author="ana")]
    assert got == [honest]


def test_a_link_cannot_fill_the_budget_through_identities_it_vouches_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(rp, "MAX_LINK_BYTES", 4 * rp.PART_BYTES)
    assembler = rp.PartAssembler(Sinks())
    for n in range(4):
        add(assembler, parts(bytes(2 * rp.PART_BYTES + 1), f"m{n}")[0], author=f"a{n}", via="liar")
    with pytest.raises(ValueError, match="through one link"):
        add(assembler, parts(bytes(2 * rp.PART_BYTES + 1), "m9")[0], author="a9", via="liar")
    assert add(assembler, parts(b"ok", "m8")[0], author="a8", via="honest") == [b"ok"]


def test_parts_that_disagree_on_their_payload_drop_it() -> None:
    sinks = Sinks()
    assembler = rp.PartAssembler(sinks)
    first = parts(b"d" * (rp.PART_BYTES + 1))[0]
    other_size = parts(b"d" * (rp.PART_BYTES + 2))[1]  # same id, another size
    add(assembler, first)
    with pytest.raises(ValueError, match="disagree"):
        add(assembler, other_size)
    assert sinks.made[0].closed and assembler.lost == 1


def test_authors_are_assembled_side_by_side() -> None:
    assembler = rp.PartAssembler(Sinks())
    one, two = parts(b"1" * (rp.PART_BYTES + 5), "p1"), parts(b"2" * (rp.PART_BYTES + 5), "p2")
    add(assembler, one[0], author="one")
    add(assembler, two[0], author="two")
    assert add(assembler, two[1], author="two") == [b"2" * (rp.PART_BYTES + 5)]
    assert add(assembler, one[1], author="one") == [b"1" * (rp.PART_BYTES + 5)]


def test_a_stalled_payload_is_dropped_after_a_while() -> None:
    sinks = Sinks()
    assembler = rp.PartAssembler(sinks)
    add(assembler, parts(b"s" * (rp.PART_BYTES + 1))[0])
    assert assembler.expire(rp.STALL_SECONDS - 1) == ([], [])
    assert assembler.expire(rp.STALL_SECONDS + 1) == ([f"m1 from {AUTHOR}"], [])
    assert sinks.made[0].closed


def test_half_received_payloads_are_bounded_and_the_biggest_holder_gives_way(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(rp, "MAX_ASSEMBLING_BYTES", 3 * rp.PART_BYTES)
    assembler = rp.PartAssembler(Sinks())
    one = parts(b"1" * (3 * rp.PART_BYTES), "m1")
    add(assembler, one[0], author="one")
    add(assembler, one[1], author="one")
    two = parts(b"2" * (2 * rp.PART_BYTES), "m2")
    add(assembler, two[0], author="two")
    assert assembler.held() == 3 * rp.PART_BYTES and assembler.lost == 0
    assert add(assembler, two[1], author="two") == [b"2" * (2 * rp.PART_BYTES)]
    assert assembler.lost == 1, "one, holding the most, gave up its payload"
    three = parts(b"3" * (4 * rp.PART_BYTES), "m3")
    for part in three[:3]:
        add(assembler, part, author="three")
    with pytest.raises(ValueError, match="half-received already"):
        add(assembler, three[3], author="three")  # the biggest holder itself: refused
    assembler.forget("three")  # the author left: room again
    assert assembler.held() == 0


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
        (
            body(kind="json", size=2**20 + 1, count=rp.part_count(2**20 + 1)),
            b"x" * rp.PART_BYTES,
            "JSON value of 1048577 bytes is over the limit",
        ),
    ],
)
def test_a_bad_part_body_is_refused_with_what_is_wrong(
    fields: dict[str, Any], data: bytes, complaint: str
) -> None:
    with pytest.raises(ProtocolError, match=complaint):
        rp.read_part(fields, data)
