"""The relaying core of a partial mesh (mesh/partial/gossip.py): envelopes, copies, forgeries,
per-author order, repair by IHAVE/IWANT, and a lossy network of cores."""

from __future__ import annotations

import hashlib
import json
import random
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from meshchat.mesh.identity import Identity
from meshchat.mesh.link.dataplane import PeerMisbehaved, SendFrame
from meshchat.mesh.partial import gossip as g

ROOM = "crowd"


class Node:
    def __init__(self, seed: int | None = None) -> None:
        # With a seed, keys from it: ids decide orders inside the cores, and a test
        # over a lossy network must meet the same network every run.
        key = None if seed is None else Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32)
        self.identity = Identity(key)
        self.id = self.identity.client_id
        self.core = g.Gossip(
            self.id,
            ROOM,
            key=self.identity.public_key_b64,
            sign=self.identity.sign,
            rng=random.Random(seed or 0),  # whom IHAVE goes to: the same every run
        )


def frames(actions: list[g.GossipAction]) -> dict[str, list[str]]:
    sent: dict[str, list[str]] = {}
    for action in actions:
        if isinstance(action, SendFrame):
            assert isinstance(action.frame, str)
            sent.setdefault(action.peer_id, []).append(action.frame)
    return sent


def delivered(actions: list[g.GossipAction]) -> list[Any]:
    return [a.envelope.body["text"] for a in actions if isinstance(a, g.Delivered)]


def feed(node: Node, sender: str, frame: str | bytes, now: float = 0.0) -> list[g.GossipAction]:
    if isinstance(frame, bytes):
        return node.core.receive_binary(sender, frame, now)
    return node.core.receive(sender, json.loads(frame), frame, now)


def say(node: Node, text: str, now: float = 0.0, to: tuple[str, ...] = ()) -> str:
    envelope, _ = node.core.publish({"type": "note", "text": text}, now, to)
    assert isinstance(envelope.frame, str)
    return envelope.frame


@pytest.fixture
def trio() -> tuple[Node, Node, Node]:
    """a - b - c in a line, a and c not linked."""
    a, b, c = Node(), Node(), Node()
    a.core.link_up(b.id, 0.0)
    b.core.link_up(a.id, 0.0)
    b.core.link_up(c.id, 0.0)
    c.core.link_up(b.id, 0.0)
    return a, b, c


def test_an_envelope_goes_to_every_link_and_on_along_the_line(
    trio: tuple[Node, Node, Node],
) -> None:
    a, b, c = trio
    envelope, actions = a.core.publish({"type": "note", "text": "hi"}, 0.0)
    assert frames(actions) == {b.id: [envelope.frame]}
    at_b = feed(b, a.id, envelope.frame)
    assert delivered(at_b) == ["hi"]
    assert frames(at_b) == {c.id: [envelope.frame]}  # verbatim, not back to a
    at_c = feed(c, b.id, envelope.frame)
    assert delivered(at_c) == ["hi"] and frames(at_c) == {}


def test_a_second_copy_is_neither_shown_nor_forwarded(trio: tuple[Node, Node, Node]) -> None:
    a, b, _ = trio
    frame = say(a, "once")
    feed(b, a.id, frame)
    assert feed(b, a.id, frame) == []


def test_an_altered_envelope_is_refused_and_does_not_block_the_real_one(
    trio: tuple[Node, Node, Node],
) -> None:
    a, b, c = trio
    frame = say(a, "pay ana")
    altered = frame.replace("pay ana", "pay eve")
    assert feed(b, c.id, altered) == [g.Forged(c.id)]
    assert b.core.forged == 1
    actions = feed(b, a.id, frame)
    assert delivered(actions) == ["pay ana"] and frames(actions) == {c.id: [frame]}


def test_an_envelope_in_someone_elses_name_is_refused(trio: tuple[Node, Node, Node]) -> None:
    a, b, c = trio
    wire = json.loads(say(c, "i am a"))
    wire["from"], wire["key"] = a.id, a.identity.public_key_b64
    forged = json.dumps(wire)
    assert feed(b, c.id, forged) == [g.Forged(c.id)]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"n": 0}, "'n'"),
        ({"n": "1"}, "'n'"),
        ({"from": "../x"}, "'from'"),
        ({"key": "short"}, "'key'"),
        ({"sig": 5}, "'sig'"),
        ({"body": []}, "'body'"),
        ({"body": {"text": "no type"}}, "'body'"),
        ({"to": ["x"] * 65}, "'to'"),
        ({"to": ["bad id"]}, "'to'"),
    ],
)
def test_malformed_envelopes_are_misbehaviour(
    trio: tuple[Node, Node, Node], change: dict[str, object], reason: str
) -> None:
    a, b, _ = trio
    wire = json.loads(say(a, "x")) | change
    actions = feed(b, a.id, json.dumps(wire))
    assert len(actions) == 1 and isinstance(actions[0], PeerMisbehaved)
    assert reason in actions[0].reason


def test_envelopes_wait_for_an_earlier_one_and_come_out_in_order(
    trio: tuple[Node, Node, Node],
) -> None:
    a, b, _ = trio
    first, second, third = say(a, "1"), say(a, "2"), say(a, "3")
    assert delivered(feed(b, a.id, first)) == ["1"]
    assert delivered(feed(b, a.id, third, 0.1)) == []  # 2 is missing
    assert delivered(feed(b, a.id, second, 0.2)) == ["2", "3"]


def test_a_gap_that_is_never_filled_holds_later_envelopes_for_gap_wait_only(
    trio: tuple[Node, Node, Node],
) -> None:
    a, b, _ = trio
    first, _lost, third = say(a, "1"), say(a, "2"), say(a, "3")
    feed(b, a.id, first)
    feed(b, a.id, third, 1.0)
    assert delivered(b.core.tick(1.0 + g.GAP_WAIT - 0.1)) == []
    assert delivered(b.core.tick(1.0 + g.GAP_WAIT)) == ["3"]


def test_the_first_envelope_heard_from_an_author_waits_a_moment_for_earlier_ones(
    trio: tuple[Node, Node, Node],
) -> None:
    a, b, c = trio
    first = say(a, "1")  # said before b was listening
    second, third = say(a, "2"), say(a, "3")
    assert delivered(feed(b, a.id, third, 5.0)) == []
    assert delivered(feed(b, a.id, second, 5.1)) == []
    # A young author (first heard at 2): after that moment the rest goes on, and its
    # first envelope is asked for (it may be on its way), and delivered late if it comes.
    assert delivered(b.core.tick(5.0 + g.START_WAIT + 0.01)) == ["2", "3"]
    ihave = frames(a.core.tick(6.0))[b.id][0]
    want = json.dumps({"type": "iwant", "want": [[a.id, 1, 1]]}, separators=(",", ":"))
    assert frames(feed(b, a.id, ihave, 6.0)) == {a.id: [want]}
    assert delivered(feed(b, a.id, first, 6.1)) == ["1"]
    for n in range(g.START_BACKFILL + 1):  # an older one: from before our time
        say(c, str(n))
    assert delivered(feed(b, c.id, say(c, "late"), 10.0)) == []
    assert delivered(b.core.tick(10.0 + g.START_WAIT + 0.01)) == ["late"]


def test_an_envelope_to_others_is_forwarded_but_not_delivered(
    trio: tuple[Node, Node, Node],
) -> None:
    a, b, c = trio
    frame = say(a, "for c only", to=(c.id,))
    at_b = feed(b, a.id, frame)
    assert delivered(at_b) == [] and frames(at_b) == {c.id: [frame]}
    assert delivered(feed(c, b.id, frame)) == ["for c only"]


def test_a_lost_last_envelope_is_repaired_by_ihave_and_iwant(trio: tuple[Node, Node, Node]) -> None:
    a, b, c = trio
    first = say(a, "1")
    feed(c, b.id, feed_and_forward(b, a, first))
    second = say(a, "2")
    feed(b, a.id, second, 0.5)  # b's copy to c is lost
    ihave = frames(b.core.tick(1.0))[c.id]
    iwant = frames(feed(c, b.id, ihave[0], 1.0))[b.id]
    assert json.loads(iwant[0]) == {"type": "iwant", "want": [[a.id, 2, 2]]}
    resent = frames(feed(b, c.id, iwant[0], 1.0))[c.id]
    assert delivered(feed(c, b.id, resent[0], 1.1)) == ["2"]


def ihave(author: Node, high: int) -> str:
    return json.dumps({"type": "ihave", "high": {author.id: high}})


def test_a_link_is_asked_again_for_an_envelope_only_after_a_while(
    trio: tuple[Node, Node, Node],
) -> None:
    """Its answer may be on its way (a big part on a busy link); another link that has
    the envelope may be asked meanwhile."""
    a, b, c = trio
    feed(b, a.id, say(a, "1"), 0.0)
    say(a, "2")  # lost everywhere
    assert frames(feed(b, c.id, ihave(a, 2), 1.0))[c.id]
    assert feed(b, c.id, ihave(a, 2), 2.0) == []
    assert frames(feed(b, a.id, ihave(a, 2), 2.0))[a.id]
    assert frames(feed(b, c.id, ihave(a, 2), 1.0 + g.WANT_RETRY))[c.id]


def test_envelopes_given_up_on_are_remembered_boundedly_the_latest_kept(
    trio: tuple[Node, Node, Node], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(g, "MAX_SKIPPED", 5)
    a, b, c = trio
    frames_of_a = [say(a, str(n)) for n in range(1, 21)]
    feed(b, a.id, frames_of_a[0], 0.0)
    feed(b, a.id, frames_of_a[19], 0.0)  # 2-19 missing
    b.core.tick(g.GAP_WAIT + 0.1)
    asked = frames(feed(b, c.id, ihave(a, 20), g.GAP_WAIT + 0.2))[c.id]
    assert json.loads(asked[0])["want"] == [[a.id, 15, 19]]


def test_envelopes_passed_over_as_before_our_time_can_be_recovered(
    trio: tuple[Node, Node, Node],
) -> None:
    """An author first heard at a high number: what came before is taken for older than
    us, until the caller learns (a payload's later part) that it is not."""
    a, b, c = trio
    said = [say(a, str(n)) for n in range(1, g.START_BACKFILL + 5)]
    feed(b, a.id, said[-1], 0.0)
    assert delivered(b.core.tick(g.START_WAIT + 0.1)) == [str(len(said))]
    assert feed(b, c.id, ihave(a, len(said)), 1.0) == []  # nothing wanted from before
    b.core.recover(a.id, len(said) - 3, len(said), 1.0)
    asked = frames(feed(b, c.id, ihave(a, len(said)), 1.5))[c.id]
    assert json.loads(asked[0])["want"] == [[a.id, len(said) - 3, len(said) - 1]]
    assert delivered(feed(b, c.id, said[-2], 1.6)) == [str(len(said) - 1)]


def test_recovering_stays_within_the_bound_on_envelopes_given_up_on(
    trio: tuple[Node, Node, Node], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(g, "MAX_SKIPPED", 5)
    a, b, c = trio
    said = [say(a, str(n)) for n in range(1, g.START_BACKFILL + 20)]
    end = len(said)
    feed(b, a.id, said[-1], 0.0)  # first heard at a high number: an older author
    b.core.tick(g.START_WAIT + 0.1)
    b.core.recover(a.id, end - 3, end, 1.0)
    b.core.recover(a.id, end - 10, end - 5, 1.0)  # 3 + 5 given up on: over the bound
    asked = frames(feed(b, c.id, ihave(a, end), 1.5))[c.id]
    # The earliest given up on (the first recovery) went first.
    assert json.loads(asked[0])["want"] == [[a.id, end - 10, end - 6]]


def test_an_author_tells_of_its_own_envelopes_while_it_caches_them(
    trio: tuple[Node, Node, Node],
) -> None:
    """What an author said can sit in a link's buffer for longer than the IHAVE window
    and be lost with the link: the author goes on telling of it."""
    a, b, _ = trio
    feed(b, a.id, say(a, "1"), 0.0)
    lost = say(a, "2", 0.1)
    later = g.IHAVE_WINDOW + 5.0
    told = frames(a.core.tick(later))[b.id]
    asked = frames(feed(b, a.id, told[0], later))[a.id]
    resent = frames(feed(a, b.id, asked[0], later))[b.id]
    assert resent == [lost] and delivered(feed(b, a.id, resent[0], later)) == ["2"]


def test_an_envelope_given_up_on_is_still_asked_for_and_delivered_late(
    trio: tuple[Node, Node, Node],
) -> None:
    a, b, c = trio
    first, second, third = say(a, "1"), say(a, "2"), say(a, "3")
    feed(b, a.id, first, 0.0)
    feed(b, a.id, third, 0.0)
    assert delivered(b.core.tick(g.GAP_WAIT + 0.1)) == ["3"]  # 2 given up on
    asked = frames(feed(b, c.id, ihave(a, 3), g.GAP_WAIT + 0.5))[c.id]
    assert json.loads(asked[0])["want"] == [[a.id, 2, 2]]
    assert delivered(feed(b, c.id, second, g.GAP_WAIT + 0.6)) == ["2"]
    assert feed(b, c.id, ihave(a, 3), g.GAP_WAIT + 5.0) == []  # nothing lacking now


def feed_and_forward(relay: Node, source: Node, frame: str) -> str:
    feed(relay, source.id, frame)
    return frame


def test_a_link_that_floods_is_misbehaving(trio: tuple[Node, Node, Node]) -> None:
    a, b, _ = trio
    results = [feed(b, a.id, say(a, str(n))) for n in range(int(g.ENVELOPE_BURST) + 1)]
    assert isinstance(results[-1][0], PeerMisbehaved)


def test_a_too_big_envelope_is_refused_before_it_is_numbered(trio: tuple[Node, Node, Node]) -> None:
    a, b, _ = trio
    with pytest.raises(ValueError, match="at most"):
        a.core.publish({"type": "note", "text": "x" * 70_000}, 0.0)
    assert delivered(feed(b, a.id, say(a, "next"))) == ["next"]  # still number 1


def test_a_lossy_network_of_cores_delivers_everything_once_and_in_order() -> None:
    """Twenty cores on a random graph of degree about five, a fifth of all frames lost:
    after the repair rounds every core has every author's envelopes once, in order."""
    rng = random.Random(7)
    nodes = [Node(seed) for seed in range(20)]
    by_id = {node.id: node for node in nodes}
    for index, node in enumerate(nodes):  # a ring, for connectivity, plus random chords
        for other in (nodes[(index + 1) % 20], rng.choice(nodes), rng.choice(nodes)):
            if other is not node:
                node.core.link_up(other.id, 0.0)
                other.core.link_up(node.id, 0.0)
    got: dict[str, list[str]] = {node.id: [] for node in nodes}
    queue: list[tuple[str, str, str]] = []  # (from, to, frame)

    def run(owner: Node, actions: list[g.GossipAction]) -> None:
        for action in actions:
            if isinstance(action, g.Delivered):
                got[owner.id].append(action.envelope.body["text"])
            elif isinstance(action, SendFrame) and rng.random() > 0.2:
                queue.append((owner.id, action.peer_id, str(action.frame)))

    authors = nodes[:3]
    now = 0.0
    for round_ in range(20):
        for author in authors:
            run(
                author,
                author.core.publish({"type": "note", "text": f"{author.id} {round_}"}, now)[1],
            )
        while queue:
            sender, receiver, frame = queue.pop(rng.randrange(len(queue)))  # reordered too
            run(by_id[receiver], feed(by_id[receiver], sender, frame, now))
        now += 0.25
        for node in nodes:
            run(node, node.core.tick(now))
    for _ in range(40):  # quiet: repair rounds only (10 s; a fifth of them lost too)
        now += 0.25
        for node in nodes:
            run(node, node.core.tick(now))
        while queue:
            sender, receiver, frame = queue.pop(0)
            run(by_id[receiver], feed(by_id[receiver], sender, frame, now))
    for node in nodes:
        for author in authors:
            if author is node:
                continue
            lines = [text for text in got[node.id] if text.startswith(author.id)]
            assert lines == [f"{author.id} {n}" for n in range(20)], node.id


def test_our_own_envelopes_coming_back_are_dropped_but_one_we_never_sent_is_a_forgery(
    trio: tuple[Node, Node, Node],
) -> None:
    a, b, c = trio
    frame = say(a, "mine")
    assert feed(a, b.id, frame) == []  # back along another path
    wire = json.loads(say(c, "a said this"))
    wire["from"], wire["key"], wire["n"] = a.id, a.identity.public_key_b64, 2
    assert feed(a, b.id, json.dumps(wire)) == [g.Forged(b.id)]


def test_a_new_link_hears_of_everything_still_cached_and_catches_up(
    trio: tuple[Node, Node, Node],
) -> None:
    a, b, _ = trio
    first, second = say(a, "1"), say(a, "2")
    d = Node()
    b.core.link_down(d.id)
    feed(b, a.id, first)
    feed(d, b.id, first)  # d heard the first, then lost its links for a while
    feed(b, a.id, second, 1.0)
    b.core.link_down(d.id)  # b's rounds of IHAVE meanwhile went to its other links
    b.core.tick(20.0)
    ihave = frames(b.core.link_up(d.id, 20.0))[d.id]
    iwant = frames(feed(d, b.id, ihave[0], 20.0))[b.id]
    resent = frames(feed(b, d.id, iwant[0], 20.0))[d.id]
    assert delivered(feed(d, b.id, resent[0], 20.1)) == ["2"]


# --- envelopes with bytes attached (pieces of relayed payloads) ---


def send_bytes(node: Node, data: bytes, now: float = 0.0) -> bytes:
    envelope, _ = node.core.publish({"type": "note", "text": "bytes"}, now, attachment=data)
    assert isinstance(envelope.frame, bytes)
    return envelope.frame


def sent_frames(actions: list[g.GossipAction]) -> dict[str, list[str | bytes]]:
    sent: dict[str, list[str | bytes]] = {}
    for action in actions:
        if isinstance(action, SendFrame):
            sent.setdefault(action.peer_id, []).append(action.frame)
    return sent


def test_bytes_travel_in_a_binary_envelope_relayed_verbatim(trio: tuple[Node, Node, Node]) -> None:
    a, b, c = trio
    data = bytes(range(256)) * 40
    frame = send_bytes(a, data)
    assert frame[0] == g.BINARY_ENVELOPE and g.is_gossip_frame(frame)
    at_b = feed(b, a.id, frame)
    assert sent_frames(at_b) == {c.id: [frame]}
    (arrived,) = [x for x in feed(c, b.id, frame) if isinstance(x, g.Delivered)]
    assert arrived.envelope.attachment == data
    assert arrived.envelope.body["digest"] == hashlib.sha256(data).hexdigest()


def test_swapped_bytes_are_a_forgery_and_do_not_shadow_the_real_envelope(
    trio: tuple[Node, Node, Node],
) -> None:
    a, b, c = trio
    data = b"\x01" * 1000
    frame = send_bytes(a, data)
    swapped = frame[: -len(data)] + b"\x02" * len(data)  # the signed header untouched
    assert feed(b, c.id, swapped) == [g.Forged(c.id)]
    assert b.core.forged == 1
    at_b = feed(b, a.id, frame)
    (arrived,) = [x for x in at_b if isinstance(x, g.Delivered)]
    assert arrived.envelope.attachment == data


def test_a_text_envelope_claiming_bytes_and_bytes_without_a_digest_are_refused(
    trio: tuple[Node, Node, Node],
) -> None:
    a, b, _ = trio
    claimed = a.core.publish({"type": "note", "digest": "0" * 64}, 0.0)[0].frame
    assert isinstance(claimed, str)
    assert feed(b, a.id, claimed) == [g.Forged(a.id)]
    text = say(a, "no digest")
    bare = g.encode_binary_envelope(text, b"extra bytes")
    assert feed(b, a.id, bare) == [g.Forged(a.id)]


@pytest.mark.parametrize(
    "frame",
    [
        b"\x03",
        b"\x03\x00\x00\x10\x00{}",  # says 4096 bytes of header, holds 2
        b"\x03\x00\x00\x00\x02\xff\xfe",  # not UTF-8
        b"\x03\x00\x00\x00\x02[]",
        b'\x03\x00\x00\x00\x10{"type":"ihave"}',
        b"\x03" + b"\x00" * (g.MAX_BINARY_FRAME + 1),
    ],
)
def test_malformed_binary_envelopes_are_misbehaviour(
    trio: tuple[Node, Node, Node], frame: bytes
) -> None:
    _, b, c = trio
    (action,) = feed(b, c.id, frame)
    assert isinstance(action, PeerMisbehaved)


def test_an_envelope_with_too_many_bytes_is_refused_before_it_is_numbered(
    trio: tuple[Node, Node, Node],
) -> None:
    a, b, _ = trio
    with pytest.raises(ValueError, match="at most"):
        send_bytes(a, b"x" * g.MAX_BINARY_FRAME)
    assert delivered(feed(b, a.id, say(a, "next"))) == ["next"]


def test_the_cache_of_bytes_is_bounded_oldest_first(
    trio: tuple[Node, Node, Node], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b, c = trio
    monkeypatch.setattr(g, "CACHE_BYTES", 3 * 12_000)
    frames_sent = [send_bytes(a, bytes([n]) * 10_000) for n in range(5)]
    for frame in frames_sent:
        feed(b, a.id, frame)
    answer = feed(b, c.id, json.dumps({"type": "iwant", "want": [[a.id, 1, 5]]}))
    assert [x.frame for x in answer if isinstance(x, SendFrame)] == frames_sent[2:]


def test_payloads_are_carried_only_for_authors_the_room_knows() -> None:
    """A fresh identity costs nothing: its parts and values are neither forwarded nor
    delivered (the victim used to relay a stranger's 64 MiB claims room-wide); once
    it is a member, what it sent can still be had."""
    stranger, b, c = Node(), Node(), Node()
    members: set[str] = set()
    b.core = g.Gossip(
        b.id, ROOM, key=b.identity.public_key_b64, sign=b.identity.sign, knows=members.__contains__
    )
    for node, link in ((stranger, b), (b, stranger), (b, c)):
        node.core.link_up(link.id, 0.0)
    part, _ = stranger.core.publish({"type": "part", "i": 0}, 0.0, attachment=b"x" * 100)
    value, _ = stranger.core.publish({"type": "data", "value": 1}, 0.0)
    note, _ = stranger.core.publish({"type": "note", "text": "hello"}, 0.0)
    assert feed(b, stranger.id, part.frame) == []
    assert feed(b, stranger.id, value.frame) == []
    told = feed(b, stranger.id, note.frame, 0.5)
    assert frames(told) == {c.id: [note.frame]}, "other envelopes (a 'here') still go on"
    members.add(stranger.id)  # vouched for meanwhile
    again = feed(b, stranger.id, part.frame, 1.0)
    sent = [(a.peer_id, a.frame) for a in again if isinstance(a, SendFrame)]
    assert sent == [(c.id, part.frame)]


def test_iwant_cannot_make_a_peer_send_its_cache_again_and_again(
    trio: tuple[Node, Node, Node],
) -> None:
    """40 IWANTs of 68 bytes in 10 s, each for [author, 1, 256], made a peer resend its
    cache: 1,406 frames, 21.6 MB, 7,952 times the bytes asked with."""
    a, b, c = trio
    for n in range(256):
        feed(b, a.id, send_bytes(a, bytes([n % 256]) * 10_000), n / 1000)
    asked = json.dumps({"type": "iwant", "want": [[a.id, 1, 256]]})
    sent: dict[bytes, int] = {}
    total = 0
    for step in range(40):
        for action in feed(b, c.id, asked, 1.0 + step * 0.25):
            if isinstance(action, SendFrame):
                assert isinstance(action.frame, bytes)
                sent[action.frame] = sent.get(action.frame, 0) + 1
                total += len(action.frame)
    assert max(sent.values()) <= g.MAX_RESENDS, "each envelope a few times at most"
    assert total <= g.ANSWER_BYTES_BURST + 10 * g.ANSWER_BYTES_RATE
    assert len(sent) >= 100, "but what it asked for it gets, within the budget"


# -- pushing: a few links push every envelope to us, the others only tell (IHAVE) --


def hub(links: int) -> tuple[Node, list[Node]]:
    """A node linked to ``links`` others, each linked back."""
    center, around = Node(), [Node() for _ in range(links)]
    for other in around:
        center.core.link_up(other.id, 0.0)
        other.core.link_up(center.id, 0.0)
    return center, around


def test_a_link_that_brings_a_second_copy_is_asked_to_stop_while_enough_others_push() -> None:
    center, around = hub(6)
    author = Node()
    stopped = []
    for number in range(4):
        frame = say(author, f"line {number}")
        first, *copies = around[:6]
        assert delivered(feed(center, first.id, frame)) == [f"line {number}"]
        for link in copies:
            sent = frames(feed(center, link.id, frame))
            if sent:
                assert sent == {link.id: [g.STOP_PUSHING]}
                stopped.append(link.id)
    # Six links: three asked to stop, once each; the first one and two more push on.
    assert len(stopped) == len(set(stopped)) == 6 - g.EAGER_LINKS
    assert around[0].id not in stopped


def test_a_link_told_to_stop_gets_no_envelope_but_still_the_ihave() -> None:
    center, (quiet, pushing) = hub(2)
    feed(center, quiet.id, g.STOP_PUSHING)
    envelope, actions = center.core.publish({"type": "note", "text": "hi"}, 0.0)
    assert frames(actions) == {pushing.id: [envelope.frame]}
    relayed = say(Node(), "relayed")
    assert frames(feed(center, pushing.id, relayed)) == {}  # not to the one that stopped it
    ihave = frames(center.core.tick(10.0))
    assert set(ihave) == {quiet.id, pushing.id}
    feed(center, quiet.id, g.PUSH_AGAIN)
    _, actions = center.core.publish({"type": "note", "text": "again"}, 11.0)
    assert set(frames(actions)) == {quiet.id, pushing.id}


def ihave_of(node: Node, now: float) -> str:
    (frame,) = {f for sent in frames(node.core.tick(now)).values() for f in sent}
    return frame


def stopped_by(center: Node, around: list[Node], frame: str) -> list[Node]:
    """``frame`` comes to ``center`` over every link in turn: those it stops."""
    return [
        link
        for link in around
        if frames(feed(center, link.id, frame)) == {link.id: [g.STOP_PUSHING]}
    ]


def test_a_stopped_link_that_has_what_the_pushing_ones_did_not_bring_pushes_again() -> None:
    center, around = hub(5)
    author = Node()
    holder, *_ = stopped_by(center, around, say(author, "one"))
    # The author's second line reaches the center by no pushing link; one it stopped
    # has it, and its IHAVE says so.
    feed(holder, around[0].id, say(author, "two"))
    ihave = ihave_of(holder, 5.0)
    answer = frames(feed(center, holder.id, ihave, 5.0))
    want = json.dumps({"type": "iwant", "want": [[author.id, 2, 2]]}, separators=(",", ":"))
    assert answer == {holder.id: [g.PUSH_AGAIN, want]}
    assert frames(feed(center, holder.id, ihave, 5.5)) == {}  # asked already, and it pushes


def test_an_author_never_heard_is_asked_for_only_of_a_link_that_stopped_pushing() -> None:
    center, around = hub(5)
    holder, *_ = stopped_by(center, around, say(Node(), "a line that stops two links"))
    stranger = Node()
    for number in range(12):  # not young: only the latest is wanted
        frame = say(stranger, f"line {number}")
    feed(holder, around[0].id, frame)
    ihave = ihave_of(holder, 5.0)
    # From a link that pushes to us, an author we never heard is from before that link.
    assert feed(center, around[0].id, ihave, 5.0) == []
    want = json.dumps({"type": "iwant", "want": [[stranger.id, 12, 12]]}, separators=(",", ":"))
    assert frames(feed(center, holder.id, ihave, 5.0)) == {holder.id: [g.PUSH_AGAIN, want]}


def test_a_link_claiming_ever_higher_numbers_cannot_grow_what_we_remember_asking() -> None:
    a, b = Node(), Node()
    a.core.link_up(b.id, 0.0)
    feed(a, b.id, say(b, "one"))  # an author a knows
    asked = 0
    for round_ in range(200):  # 256 new numbers claimed each time, within IHAVE_RATE
        high = 1000 + 256 * round_
        ihave = json.dumps({"type": "ihave", "high": {b.id: high}}, separators=(",", ":"))
        asked += sum(len(f) for f in frames(feed(a, b.id, ihave, round_ * 0.25)).values()) > 0
    assert asked == 200  # each was asked for
    assert len(a.core._asked) <= g.MAX_ASKED


def test_ihave_after_ihave_is_read_within_a_budget_and_the_push_request_always() -> None:
    a, b = Node(), Node()
    a.core.link_up(b.id, 0.0)
    feed(a, b.id, say(b, "one"))
    answered = 0
    for round_ in range(100):  # all at once
        high = 1000 + 256 * round_
        ihave = json.dumps({"type": "ihave", "high": {b.id: high}}, separators=(",", ":"))
        answered += bool(frames(feed(a, b.id, ihave, 1.0)))
    assert answered == g.IHAVE_BURST
    feed(a, b.id, g.STOP_PUSHING, 1.0)  # past the budget too
    assert frames(a.core.publish({"type": "note", "text": "x"}, 1.0)[1]) == {}
    ihave = json.dumps({"type": "ihave", "high": {b.id: 99999}}, separators=(",", ":"))
    assert frames(feed(a, b.id, ihave, 1.0 + 1 / g.IHAVE_RATE))  # the budget refills
