"""Channel payloads: the wire format on its own, the data plane sending and receiving
them (flow control, limits, signatures, digests), and the simulated room with
connections that break mid-payload."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import struct

import pytest

from meshchat.mesh.events import PayloadDelivered, PayloadUndelivered, TransferProgress
from meshchat.mesh.identity import Identity
from meshchat.mesh.link import dataplane as d
from meshchat.mesh.link import in_flight as t
from meshchat.mesh.link import payloads as w
from meshchat.mesh.signalling.messages import ProtocolError

from .simulation import SimNetwork
from .test_dataplane import ANA, BO, IDENTITIES, frames_to, plane

FRAME_BODY = w.MAX_CHUNK_FRAME - w.CHUNK_OVERHEAD


def binary_frames(actions: list[d.DataAction], peer_id: str) -> list[bytes]:
    return [
        a.frame
        for a in actions
        if isinstance(a, d.SendFrame) and a.peer_id == peer_id and isinstance(a.frame, bytes)
    ]


def pair() -> tuple[d.DataPlane, d.DataPlane]:
    ana, bo = plane(ANA, "ana"), plane(BO, "bo")
    ana.opened(BO, 0.0)
    bo.opened(ANA, 0.0)
    return ana, bo


def all_frames(sender: d.DataPlane, to: str, now: float = 1.0) -> list[bytes]:
    """Every frame ``sender`` has for ``to``, pumping as if the channel drained at once."""
    frames: list[bytes] = []
    while batch := binary_frames(sender.pump(to, 0, now), to):
        frames += batch
    return frames


def receive_all(receiver: d.DataPlane, sender_id: str, frames: list[bytes]) -> list[d.DataAction]:
    actions: list[d.DataAction] = []
    for frame in frames:
        actions += receiver.receive(sender_id, frame, 1.5)
    return actions


def received(actions: list[d.DataAction]) -> list[d.PayloadReceived]:
    return [a for a in actions if isinstance(a, d.PayloadReceived)]


def body_of(payload: d.PayloadReceived) -> object:
    if payload.body is None:
        return payload.value
    payload.body.seek(0)
    return payload.body.read()


# --- the wire ---------------------------------------------------------------------------


def test_a_payload_is_cut_into_frames_of_at_most_16_kib_and_put_back_together() -> None:
    for size in (0, 1, FRAME_BODY, FRAME_BODY + 1, 5 * FRAME_BODY + 7):
        ana, bo = pair()
        data = bytes(range(256)) * (size // 256) + bytes(size % 256)
        sent, actions = ana.send_payload("files", data, 1.0, 1_000)
        assert actions == [d.Pump(BO)] and sent.sending_to == (BO,)
        frames = all_frames(ana, BO)
        assert all(len(frame) <= w.MAX_CHUNK_FRAME for frame in frames)
        (payload,) = received(receive_all(bo, ANA, frames))
        assert body_of(payload) == data and payload.header.kind == "bytes"
        assert payload.header.sha256 == hashlib.sha256(data).hexdigest()


def test_a_payload_is_reported_delivered_once_its_receiver_acknowledges_all_of_it() -> None:
    ana, bo = pair()
    sent, _ = ana.send_payload("files", bytes(3 * FRAME_BODY), 1.0, 1_000)
    frames = all_frames(ana, BO)
    replies = receive_all(bo, ANA, frames) + bo.flush(2.0)
    acks = [a.frame for a in replies if isinstance(a, d.SendFrame) and a.peer_id == ANA]
    assert acks, "the receiver acknowledges"
    reports = [action for frame in acks for action in ana.receive(BO, frame, 2.0)]
    assert reports == [PayloadDelivered(sent.header, BO)]
    assert ana.receive(BO, acks[-1], 2.5) == []  # an ack again says nothing new
    late = ana.tick(100.0)  # long past the ack timeout: settled, so not undelivered
    assert not any(isinstance(action, PayloadUndelivered) for action in late)


def test_both_ends_count_a_link_busy_while_a_payload_is_on_its_way() -> None:
    """What a partial mesh keeps from pruning: queued, unacknowledged, half-received."""
    ana, bo = pair()
    assert ana.busy_peers() == bo.busy_peers() == frozenset()
    ana.send_payload("files", bytes(3 * FRAME_BODY), 1.0, 1_000)
    assert ana.busy_peers() == {BO}  # queued
    frames = all_frames(ana, BO)
    assert ana.busy_peers() == {BO}  # sent, not acknowledged
    receive_all(bo, ANA, frames[:1])
    assert bo.busy_peers() == {ANA}  # half-received
    acks = receive_all(bo, ANA, frames[1:])
    assert bo.busy_peers() == frozenset()
    for action in acks + bo.flush(2.0):
        if isinstance(action, d.SendFrame) and action.peer_id == ANA:
            ana.receive(BO, action.frame, 2.0)
    assert ana.busy_peers() == frozenset()


def test_json_values_travel_as_json_and_bytes_as_bytes() -> None:
    values: list[object] = [{"x": 1, "y": [True, None]}, "text", 3.5, [], "snow \u2603"]
    ana, bo = pair()
    for value in values:
        ana.send_payload("moves", value, 1.0, 1_000)
    got = [body_of(p) for p in received(receive_all(bo, ANA, all_frames(ana, BO)))]
    assert got == values
    assert all(b'"' not in frame[:1] for frame in all_frames(ana, BO))  # binary, not text


def test_what_cannot_be_sent_is_refused_before_anything_goes() -> None:
    ana, _ = pair()
    with pytest.raises(w.PayloadTooLarge, match="64 MiB"):
        ana.send_payload("files", bytes(w.MAX_PAYLOAD_BYTES + 1), 1.0, 1_000)
    with pytest.raises(ValueError, match="JSON"):
        ana.send_payload("moves", {1, 2}, 1.0, 1_000)
    with pytest.raises(ValueError, match="not in the room"):
        ana.send_payload("moves", 1, 1.0, 1_000, to=["nobody"])
    with pytest.raises(ValueError, match="channel name"):
        ana.send_payload("bad\x1bname", 1, 1.0, 1_000)
    with pytest.raises(ValueError, match="chat"):
        ana.send_payload("chat", "hi", 1.0, 1_000)
    assert ana.backlog() == 0
    sent, _ = ana.send_payload("moves", 1, 1.0, 1_000)
    assert sent.header.seq == 1, "a refused payload uses no sequence number"


@pytest.mark.parametrize(
    ("frame", "complaint"),
    [
        (b"", "empty"),
        (b"\x07abc", "unknown binary frame type"),
        (b"\x01\x00\x00\x10\x00{}", "header longer"),
        (b"\x01\x00\x00\x00\x02{}", "not a data object"),
        (b"\x02" + bytes(24), "without data"),
        (bytes(w.MAX_CHUNK_FRAME + 1), "exceeds"),
    ],
)
def test_malformed_binary_frames_are_protocol_errors(frame: bytes, complaint: str) -> None:
    with pytest.raises(ProtocolError, match=complaint):
        w.decode_binary_frame(frame)


def header_frame(**changes: str) -> bytes:
    header = w.new_header(ANA, "moves", 1, 1_000, "bytes", b"abc", (), "ab" * 16)
    header = dataclasses.replace(header, signature="A" * 86)
    wire = w.encode_header(header)
    for key, value in changes.items():
        wire = wire.replace(key.encode(), value.encode())
    return struct.pack(">BI", 1, len(wire)) + wire + b"abc"


@pytest.mark.parametrize(
    ("old", "new", "complaint"),
    [
        ('"kind":"bytes"', '"kind":"exe"', "kind"),
        ('"size":3', '"size":-3', "size"),
        ('"size":3', f'"size":{w.MAX_PAYLOAD_BYTES + 1}', "size"),
        ('"ch":"moves"', '"ch":"chat"', "chat channel"),
        ('"ch":"moves"', '"ch":""', "'ch'"),
        ('"seq":1', '"seq":0', "seq"),
        ('"sig":"', '"sig":"x', "sig"),
        ('"sha256":"', '"sha256":"z', "sha256"),
    ],
)
def test_header_fields_are_checked_one_by_one(old: str, new: str, complaint: str) -> None:
    frame = header_frame(**{old: new})
    with pytest.raises(ProtocolError, match=complaint):
        w.decode_binary_frame(frame)


# --- the data plane ------------------------------------------------------------------


def test_frames_go_only_while_the_channel_holds_little() -> None:
    ana, _ = pair()
    ana.send_payload("files", bytes(10 * 1024 * 1024), 1.0, 1_000)
    first = binary_frames(ana.pump(BO, 0, 1.0), BO)
    assert t.HIGH_WATER <= sum(map(len, first)) < t.HIGH_WATER + w.MAX_CHUNK_FRAME
    assert ana.pump(BO, t.HIGH_WATER, 1.1) == [], "a full channel gets nothing more"
    more = binary_frames(ana.pump(BO, t.LOW_WATER, 1.2), BO)
    assert sum(map(len, more)) <= t.HIGH_WATER - t.LOW_WATER + w.MAX_CHUNK_FRAME
    handed_out = sum(map(len, first + more))
    assert 10 * 1024 * 1024 - handed_out <= ana.backlog() < 10 * 1024 * 1024 - handed_out / 2


def test_payloads_to_one_peer_take_turns_and_report_progress() -> None:
    ana, bo = pair()
    big, small = bytes(3 * 1024 * 1024), b"x" * (3 * FRAME_BODY)
    ana.send_payload("files", big, 1.0, 1_000)
    ana.send_payload("files", small, 1.0, 1_000)
    now, actions = 1.0, []
    while frames := binary_frames(ana.pump(BO, 0, now), BO):
        actions += [bo.receive(ANA, frame, now) for frame in frames]
        now += 0.1
    done = [p for batch in actions for p in received(batch)]
    assert [p.header.size for p in done] == [len(small), len(big)], "the small one first"
    reports = [a for batch in actions for a in batch if isinstance(a, TransferProgress)]
    big_reports = [r for r in reports if r.total == len(big)]
    assert big_reports[-1].done == len(big) and not big_reports[-1].sending
    assert len(big_reports) <= now / t.PROGRESS_INTERVAL + 1, "a few a second, not per frame"


def test_a_sender_with_many_payloads_queued_keeps_within_what_the_receiver_takes() -> None:
    ana, bo = pair()
    bodies = [bytes([n]) * (5 * FRAME_BODY) for n in range(5 * t.MAX_INCOMING_PAYLOADS_PER_PEER)]
    for body in bodies:
        ana.send_payload("files", body, 1.0, 1_000)
    actions = receive_all(bo, ANA, all_frames(ana, BO))
    assert not [a for a in actions if isinstance(a, d.DropPeer | d.PeerMisbehaved)]
    assert sorted(body_of(p) for p in received(actions)) == sorted(bodies)  # type: ignore[type-var]


def test_a_payload_to_chosen_peers_is_bound_to_them() -> None:
    ana, bo = pair()
    sent, _ = ana.send_payload("moves", {"to": "bo"}, 1.0, 1_000, to=[BO])
    assert sent.header.to == (BO,)
    (payload,) = received(receive_all(bo, ANA, all_frames(ana, BO)))
    assert payload.value == {"to": "bo"}
    # A payload for ana, shown to another client (here: bo's own key, as a relay
    # would), is refused as misaddressed: "to" is signed, so it cannot be rewritten.
    bo.send_payload("moves", 1, 2.0, 2_000, to=[ANA])
    frame = all_frames(bo, ANA)[0]
    other = plane(BO, "bo-again")
    other.opened(BO, 0.0)
    (refused,) = other.receive(BO, frame, 2.1)
    assert isinstance(refused, d.PeerMisbehaved) and "addressed to other" in refused.reason


def test_a_forged_payload_or_a_body_that_does_not_match_its_digest_is_dropped_and_counted() -> None:
    ana, bo = pair()
    ana.send_payload("files", b"genuine" * 10_000, 1.0, 1_000)
    frames = all_frames(ana, BO)
    altered_header = frames[0].replace(b'"seq":1', b'"seq":2')
    assert isinstance(bo.receive(ANA, altered_header, 1.1)[0], d.PeerMisbehaved)
    assert bo.forged == 1
    tampered = [frames[0], *frames[1:-1], frames[-1][:-7] + b"forged!"]
    actions = receive_all(bo, ANA, tampered)
    assert received(actions) == [] and bo.forged == 2
    assert any("digest" in a.reason for a in actions if isinstance(a, d.PeerMisbehaved))
    assert bo.flush(2.0) == [], "nothing forged is acknowledged"


def test_chunks_that_do_not_fit_their_payload_are_misbehaviour() -> None:
    ana, bo = pair()
    ana.send_payload("files", bytes(3 * FRAME_BODY), 1.0, 1_000)
    start, first, second, *_ = all_frames(ana, BO)
    (stray,) = bo.receive(ANA, first, 1.1)
    assert isinstance(stray, d.PeerMisbehaved) and "never started" in stray.reason
    bo.receive(ANA, start, 1.2)
    (skipped,) = bo.receive(ANA, second, 1.3)
    assert isinstance(skipped, d.PeerMisbehaved) and "out of order" in skipped.reason


def test_a_peer_that_announces_more_than_a_receiver_holds_is_dropped() -> None:
    ana, bo = pair()
    for _ in range(2):
        ana.send_payload("files", bytes(w.MAX_PAYLOAD_BYTES), 1.0, 1_000)
    ana.send_payload("files", b"one byte too many", 1.0, 1_000)
    starts = [f for f in all_frames(ana, BO) if f[0] == w.START]
    taken = [a for f in starts[:2] for a in bo.receive(ANA, f, 1.1)]
    assert not [a for a in taken if isinstance(a, d.DropPeer | d.PeerMisbehaved)]
    (drop,) = bo.receive(ANA, starts[2], 1.2)
    assert isinstance(drop, d.DropPeer) and "limit" in drop.reason
    bo.closed(ANA, 2.0, said_bye=False)  # the reservations go with the connection
    assert bo._inbox.held() == 0 and not bo._inbox.peers()


def member() -> str:
    """One more identity whose key every plane here knows."""
    identity = Identity()
    IDENTITIES[identity.client_id] = identity
    return identity.client_id


def linked(receiver: d.DataPlane, senders: list[str]) -> dict[str, d.DataPlane]:
    planes = {}
    for sender in senders:
        planes[sender] = plane(sender, "x")
        planes[sender].opened(receiver.client_id, 0.0)
        receiver.opened(sender, 0.0)
    return planes


def test_a_half_received_payload_that_stalls_is_let_go_and_its_sender_shunned() -> None:
    ana, bo = pair()
    ana.send_payload("files", bytes(3 * FRAME_BODY), 1.0, 1_000)
    bo.receive(ANA, all_frames(ana, BO)[0], 1.0)
    assert bo._inbox.held() > 0
    ticks = [bo.tick(1.0 + step * d.TICK_INTERVAL) for step in range(1, 130)]
    (drop,) = [a for actions in ticks for a in actions if isinstance(a, d.DropPeer)]
    assert drop.peer_id == ANA and f"bytes in {t.STALL_WINDOW:g} s" in drop.reason
    assert bo._inbox.held() == 0 and not bo._inbox.peers()


def test_a_payload_trickling_in_is_dropped_however_steady_and_a_brisk_one_is_not() -> None:
    """One byte every ten seconds is never silence, yet it is holding room, not sending."""
    bo = plane(BO, "bo")
    slow, brisk = member(), member()
    planes = linked(bo, [slow, brisk])
    for sender in (slow, brisk):
        planes[sender].send_payload("files", bytes(4 * 1024 * 1024), 0.0, 0)
    (slow_id,) = planes[slow]._bodies
    (brisk_id,) = planes[brisk]._bodies
    first = all_frames(planes[slow], BO)[0]
    steady = all_frames(planes[brisk], BO)
    bo.receive(slow, first, 0.0)
    bo.receive(brisk, steady[0], 0.0)
    dropped: list[d.DropPeer] = []
    for step in range(1, 40):
        now = step * 1.0
        if step % 10 == 0:  # a few bytes, in order, far under the rate
            incoming = bo._inbox.get(slow, slow_id)
            assert incoming is not None
            body = memoryview(bytes(incoming.received + 64))
            few, _ = w.chunk_frame(slow_id, incoming.received, body)
            taken = bo.receive(slow, few, now)
            assert [a.done for a in taken if isinstance(a, TransferProgress)] == [incoming.received]
        bo.receive(brisk, steady[step], now)  # 16 KiB a second
        for quarter in (0.75, 0.5, 0.25, 0.0):  # ticking along, as the driver does
            dropped += [a for a in bo.tick(now - quarter) if isinstance(a, d.DropPeer)]
    assert [drop.peer_id for drop in dropped] == [slow]
    assert bo._inbox.get(slow, slow_id) is None
    assert bo._inbox.get(brisk, brisk_id) is not None


def test_declared_sizes_cost_everyone_s_budget_nothing_until_their_bytes_come() -> None:
    """Four members each declare the two largest payloads and send a byte: before,
    that reserved the whole budget and an honest file offer was never even seen."""
    bo = plane(BO, "bo")
    crowd = [member() for _ in range(4)]
    honest = member()
    planes = linked(bo, [*crowd, honest])
    for attacker in crowd:
        for _ in range(2):
            planes[attacker].send_payload("files", bytes(w.MAX_PAYLOAD_BYTES), 0.0, 0)
        starts = [f for f in all_frames(planes[attacker], BO) if f[0] == w.START]
        for start in starts:
            _, header_length = w._START_PREFIX.unpack_from(start)
            one_byte_in = start[: w._START_PREFIX.size + header_length + 1]
            taken = bo.receive(attacker, one_byte_in, 0.5)
            assert not [a for a in taken if isinstance(a, d.DropPeer | d.PeerMisbehaved)]
    planes[honest].send_payload("files", {"type": "offer", "size": 100_000}, 1.0, 0)
    got = received(receive_all(bo, honest, all_frames(planes[honest], BO)))
    assert [body_of(payload) for payload in got] == [{"type": "offer", "size": 100_000}]


def test_when_arrived_bytes_fill_the_budget_the_biggest_holder_gives_way(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(t, "MAX_INCOMING_TOTAL", 40 * FRAME_BODY)
    bo = plane(BO, "bo")
    crowd = [member() for _ in range(3)]
    honest = member()
    planes = linked(bo, [*crowd, honest])
    for attacker in crowd:  # each sends real bytes, and holds them
        planes[attacker].send_payload("files", bytes(100 * FRAME_BODY), 0.0, 0)
        frames = all_frames(planes[attacker], BO)
        receive_all(bo, attacker, frames[:13])
    assert t.MAX_INCOMING_TOTAL - bo._inbox.held() < 5 * FRAME_BODY, "nearly full"
    planes[honest].send_payload("files", bytes(5 * FRAME_BODY), 1.0, 0)
    got = received(receive_all(bo, honest, all_frames(planes[honest], BO)))
    assert [body_of(payload) for payload in got] == [bytes(5 * FRAME_BODY)]
    assert bo._inbox.held() <= t.MAX_INCOMING_TOTAL
    under_way = [bo._inbox.get(a, next(iter(planes[a]._bodies))) for a in crowd]
    given_up = [incoming for incoming in under_way if incoming and incoming.refused]
    assert len(given_up) == 1, "one of the crowd made room, nobody else lost anything"


def test_a_json_value_on_a_channel_nobody_reads_is_acknowledged_unread() -> None:
    sinks: list[int] = []

    def counted_sink(size: int) -> io.BytesIO:
        sinks.append(size)
        return io.BytesIO()

    ana = plane(ANA, "ana")
    bo = plane(BO, "bo", wanted=lambda channel: channel == "read", new_sink=counted_sink)
    ana.opened(BO, 0.0)
    bo.opened(ANA, 0.0)
    ana.send_payload("never-opened", [0] * 300_000, 1.0, 0)
    ana.send_payload("read", {"move": 1}, 1.0, 0)
    actions = receive_all(bo, ANA, all_frames(ana, BO))
    assert [body_of(p) for p in received(actions)] == [{"move": 1}]
    assert not [a for a in actions if isinstance(a, d.PeerMisbehaved | d.DropPeer)]
    assert sinks == [len(b'{"move":1}')], "the unread value was never even kept"
    acks = frames_to(bo.flush(2.0), ANA)
    assert acks, "both acknowledged: the sender must not resend or report either"


def test_json_values_are_small_on_every_channel_and_smaller_on_the_framework_s_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ana, bo = pair()
    with pytest.raises(w.PayloadTooLarge, match="send larger data as bytes"):
        ana.send_payload("game", "x" * w.MAX_JSON_BYTES, 1.0, 0)
    with pytest.raises(w.PayloadTooLarge):
        ana.send_payload("meshchat/files", "x" * 70_000, 1.0, 0)
    ana.send_payload("game", bytes(2 * w.MAX_JSON_BYTES), 1.0, 0)  # bytes may be large
    # A client that skips the check is dropped at the header, before its bytes come.
    ana, bo = pair()
    with monkeypatch.context() as unchecked:
        unchecked.setattr(d, "check_json_size", lambda channel, size: None)
        ana.send_payload("game", "x" * w.MAX_JSON_BYTES, 1.0, 0)
    (drop,) = bo.receive(ANA, all_frames(ana, BO)[0], 1.5)
    assert isinstance(drop, d.DropPeer) and "JSON value of" in drop.reason


def test_a_long_transfer_is_not_reported_undelivered_while_it_progresses() -> None:
    ana, _ = pair()
    ana.send_payload("files", bytes(8 * 1024 * 1024), 0.0, 0)
    now = 0.0
    while binary_frames(ana.pump(BO, 0, now), BO):
        now += 1.0  # a slow peer: 1 MiB a second
        assert not [a for a in ana.tick(now) if isinstance(a, PayloadUndelivered)]
    assert now > 5
    lost = [a for a in ana.tick(now + 16) if isinstance(a, PayloadUndelivered)]
    assert [a.reason for a in lost] == ["not acknowledged"], "but an ack must come in the end"


# --- in the simulated room ------------------------------------------------------------


def test_payloads_reach_everyone_and_chosen_peers_exactly_once() -> None:
    net = SimNetwork(seed=3, max_delay=0.1, bandwidth=4 * 1024 * 1024)
    ana, bo, cy = (net.add_client(n) for n in ("ana", "bo", "cy"))
    net.run(5.0)
    assert net.mesh_complete()
    blob = bytes(range(256)) * 20_000  # 5 MB: many frames
    net.send_payload(ana.id, "files", blob)
    net.send_payload(bo.id, "moves", {"move": "e4"}, to=[cy.id])
    net.run(5.0)
    assert bo.payloads == [(ana.id, "files", blob)]
    assert sorted(map(repr, cy.payloads)) == sorted(
        map(repr, [(ana.id, "files", blob), (bo.id, "moves", {"move": "e4"})])
    )
    assert ana.payloads == [] and ana.payloads_undelivered == []
    assert net.max_buffered < t.HIGH_WATER + w.MAX_CHUNK_FRAME, "flow control held"
    sent = [p for p in ana.progress if p.sending and p.done == p.total]
    assert {p.peer_id for p in sent} == {bo.id, cy.id}


def test_a_connection_lost_mid_payload_is_rebuilt_and_the_payload_arrives_once() -> None:
    net = SimNetwork(seed=4, max_delay=0.1, bandwidth=2 * 1024 * 1024)
    ana, bo = net.add_client("ana"), net.add_client("bo")
    net.run(5.0)
    blob = hashlib.sha256(b"seed").digest() * 100_000  # 3.2 MB
    net.send_payload(ana.id, "files", blob)
    net.run(0.5)
    assert 0 < max((p.done for p in bo.progress), default=0) < len(blob), "half-way"
    net.break_connection(ana.id, bo.id)
    net.run(15.0)
    assert net.mesh_complete()
    assert bo.payloads == [(ana.id, "files", blob)]
    assert ana.payloads_undelivered == [] and bo.misbehaved == []


def test_a_payload_resent_after_its_ack_was_lost_is_shown_once() -> None:
    net = SimNetwork(seed=6, max_delay=0.1)
    ana, bo = net.add_client("ana"), net.add_client("bo")
    net.run(5.0)
    net.send_payload(ana.id, "moves", {"n": 1})
    while not bo.payloads:
        net.run(0.01, step=0.01)
    net.break_connection(ana.id, bo.id)  # before bo's ack went
    net.run(15.0)
    assert bo.payloads == [(ana.id, "moves", {"n": 1})]
    assert ana.payloads_undelivered == []


def test_a_payload_to_a_peer_that_leaves_for_good_is_reported() -> None:
    net = SimNetwork(seed=7, max_delay=0.1, bandwidth=1024 * 1024)
    ana, bo = net.add_client("ana"), net.add_client("bo")
    net.run(5.0)
    sent = net.send_payload(ana.id, "files", bytes(4 * 1024 * 1024))
    net.run(0.5)
    net.kill(bo.id)
    net.run(45.0)
    assert ana.payloads_undelivered == [(bo.id, sent.header.id, "the peer did not come back")]
    assert ana.data.backlog() == 0 and ana.data._bodies == {}, "nothing kept for it"


def test_our_own_stall_is_not_taken_for_a_sender_trickling() -> None:
    ana, bo = pair()
    ana.send_payload("files", bytes(3 * FRAME_BODY), 1.0, 1_000)
    bo.tick(1.0)
    bo.receive(ANA, all_frames(ana, BO)[0], 1.0)
    stood_still = bo.tick(1.0 + t.STALL_WINDOW + 5)  # our process was stopped meanwhile
    assert [a for a in stood_still if isinstance(a, d.WeStalled)]
    assert not [a for a in stood_still if isinstance(a, d.DropPeer)]
    assert bo._inbox.peers() == {ANA}, "its window starts again from now"
