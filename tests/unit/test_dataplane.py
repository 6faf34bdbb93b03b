"""The data-plane core on its own, and joined to the signalling core in the simulation:
acks, duplicates, resends over a rebuilt connection, reports, heartbeats, garbage."""

from __future__ import annotations

import json
from typing import Any

import pytest

from meshchat.mesh.events import MessageReceived, MessageUndelivered
from meshchat.mesh.identity import Identity
from meshchat.mesh.link import dataplane as d
from meshchat.mesh.link.chat_frames import (
    ACK_FRAME,
    BYE_FRAME,
    HEARTBEAT_FRAME,
    decode_channel_frame,
    encode_heartbeat,
)

from .simulation import SimNetwork

IDENTITIES = {identity.client_id: identity for identity in (Identity(), Identity())}
ANA, BO = IDENTITIES


def key_of(peer_id: str) -> str | None:
    identity = IDENTITIES.get(peer_id)
    return identity.public_key_b64 if identity else None


def plane(client_id: str, nick: str, **options: Any) -> d.DataPlane:
    """A data plane for one of the two identities, knowing both public keys."""
    sign = IDENTITIES[client_id].sign
    return d.DataPlane(client_id, nick, room="lobby", sign=sign, key_of=key_of, **options)


def frames_to(actions: list[d.DataAction], peer_id: str) -> list[str]:
    """The text frames among ``actions`` for ``peer_id``."""
    return [
        a.frame
        for a in actions
        if isinstance(a, d.SendFrame) and a.peer_id == peer_id and isinstance(a.frame, str)
    ]


def test_a_message_goes_to_every_open_channel_and_an_ack_settles_it() -> None:
    ana = plane(ANA, "ana", ack_timeout=5)
    ana.opened(BO, 0.0)
    sent, actions = ana.send_chat("hi", 1.0, 1_000)
    assert sent.delivered_to == (BO,) and json.loads(frames_to(actions, BO)[0])["text"] == "hi"
    ana.receive(BO, '{"type":"ack","acks":[[1,1]]}', 1.1)
    assert [a for a in ana.tick(100.0) if isinstance(a, MessageUndelivered)] == []


def test_a_received_message_is_acked_every_time_and_shown_once() -> None:
    ana, bo = plane(ANA, "ana"), plane(BO, "bo")
    ana.opened(BO, 0.0)
    bo.opened(ANA, 0.0)
    _, actions = ana.send_chat("once", 1.0, 1_000)
    (frame,) = frames_to(actions, BO)
    first, again = bo.receive(ANA, frame, 1.1), bo.receive(ANA, frame, 1.12)
    assert [type(a) for a in first] == [d.FlushAcksAt, MessageReceived]
    assert again == [], "a duplicate is acknowledged again (below), not shown"
    (ack,) = frames_to(bo.flush(1.15), ANA)
    assert decode_channel_frame(ack)[1] == ((1, 1),)


def test_acks_ride_on_the_next_frame_and_are_batched_into_ranges() -> None:
    ana, bo = plane(ANA, "ana"), plane(BO, "bo")
    ana.opened(BO, 0.0)
    bo.opened(ANA, 0.0)
    for n in range(5):
        _, actions = ana.send_chat(f"line {n}", 1.0 + n / 100, 1_000)
        bo.receive(ANA, frames_to(actions, BO)[0], 1.0 + n / 100)
    # bo answers before the flush is due: its message carries all five acks, and the
    # flush then has nothing left to send.
    _, reply = bo.send_chat("got them", 1.045, 1_045)
    (frame,) = frames_to(reply, ANA)
    assert decode_channel_frame(frame)[1] == ((1, 5),)
    assert frames_to(bo.flush(1.05), ANA) == []
    ana.receive(BO, frame, 1.05)
    undelivered = [a for a in ana.tick(100.0) if isinstance(a, MessageUndelivered)]
    assert undelivered == [], "one frame acknowledged all five"


def test_in_a_slow_conversation_acks_ride_on_the_replies() -> None:
    # Lines a few hundred ms apart each way (a busy room, where every process is slow):
    # each line's ack rides on the next line back, and no ack frame goes on its own.
    ana, bo = plane(ANA, "ana"), plane(BO, "bo")
    ana.opened(BO, 0.0)
    bo.opened(ANA, 0.0)
    ack_frames = 0
    for n in range(10):
        now = 1.0 + n * 0.6
        _, actions = ana.send_chat(f"ana {n}", now, 1_000)
        (due,) = [
            a
            for a in bo.receive(ANA, frames_to(actions, BO)[0], now)
            if isinstance(a, d.FlushAcksAt)
        ]
        assert due.when >= now + 0.3, "long enough for bo's reply"
        _, reply = bo.send_chat(f"bo {n}", now + 0.3, 1_300)
        (frame,) = frames_to(reply, ANA)
        assert decode_channel_frame(frame)[1] == ((n + 1, n + 1),)
        ack_frames += len(frames_to(bo.flush(due.when), ANA))
        ana.receive(BO, frame, now + 0.3)
    assert ack_frames == 0


def test_unanswered_acks_go_on_their_own_after_a_short_delay() -> None:
    ana, bo = plane(ANA, "ana"), plane(BO, "bo")
    ana.opened(BO, 0.0)
    bo.opened(ANA, 0.0)
    _, actions = ana.send_chat("hi", 1.0, 1_000)
    (due,) = [
        a for a in bo.receive(ANA, frames_to(actions, BO)[0], 1.0) if isinstance(a, d.FlushAcksAt)
    ]
    assert 1.0 < due.when <= 1.0 + d.ACK_DELAY
    (ack,) = frames_to(bo.flush(due.when), ANA)
    assert ack.startswith(ACK_FRAME[:-1]) and decode_channel_frame(ack)[1] == ((1, 1),)


def test_a_frame_from_the_wrong_sender_or_garbage_is_misbehaviour() -> None:
    bo = plane(BO, "bo")
    forged = json.dumps(
        {
            "type": "chat",
            "id": "x1",
            "from": "c" * 32,
            "nick": "c",
            "ts": 1,
            "text": "as someone else",
        }
    )
    for frame in (forged, "{not json", '{"type":"chat","ts":1e300}'):
        (action,) = bo.receive(ANA, frame, 1.0)
        assert isinstance(action, d.PeerMisbehaved) and action.peer_id == ANA


def test_bye_heartbeats_and_leaving() -> None:
    ana = plane(ANA, "ana", heartbeat_interval=1.0)
    assert ana.receive(BO, BYE_FRAME, 0.0) == [d.PeerSaidBye(BO)]
    assert ana.receive(BO, HEARTBEAT_FRAME, 0.0) == []
    ana.opened(BO, 0.0)
    assert frames_to(ana.tick(0.1), BO) == [encode_heartbeat(100, None)]
    assert frames_to(ana.tick(0.5), BO) == [], "one heartbeat a second, no more"
    assert ana.leave() == [d.SendFrame(BO, BYE_FRAME)]


def test_a_peer_whose_heartbeat_is_a_second_late_is_overdue_until_it_speaks() -> None:
    ana = plane(ANA, "ana", heartbeat_interval=1.0)
    ana.opened(BO, 0.0)
    assert ana.overdue_peers(1.9) == frozenset()  # expected a second apart, a second's grace
    assert ana.overdue_peers(2.1) == {BO}
    ana.receive(BO, HEARTBEAT_FRAME, 2.2)
    assert ana.overdue_peers(2.3) == frozenset()
    assert ana.overdue_peers(4.3) == {BO}
    ana.closed(BO, 4.4, said_bye=False)
    assert ana.overdue_peers(9.0) == frozenset()


def test_heartbeats_keep_a_steady_clock_whatever_else_is_sent() -> None:
    # They are what the peer's failure detector learns from: a busy channel still gets
    # one a second, on time, and the driver is told when the next round is due.
    ana = plane(ANA, "ana", heartbeat_interval=1.0)
    ana.opened(BO, 0.0)
    assert frames_to(ana.tick(0.0), BO) == [encode_heartbeat(0, None)]
    assert ana.next_wakeup() == 1.0
    ana.send_chat("busy", 0.5, 500)
    assert frames_to(ana.tick(1.02), BO) == [encode_heartbeat(1020, None)]
    assert ana.next_wakeup() == 2.0, "late by 20 ms, the next round is still on the clock"
    after_stall = frames_to(ana.tick(5.3), BO)
    assert after_stall == [encode_heartbeat(5300, None)], "after a stall, one round"
    assert ana.next_wakeup() == 6.3


def test_heartbeats_measure_the_round_trip_whatever_the_two_clocks_say() -> None:
    # Each side's clock starts elsewhere (bo's runs 1000 s ahead); frames take 40 ms
    # each way, and each side holds the other's ping until its own next heartbeat.
    ana, bo = plane(ANA, "ana"), plane(BO, "bo")
    ana.opened(BO, 0.0)
    bo.opened(ANA, 1000.0)
    one_way, skew = 0.04, 1000.0
    in_flight: list[tuple[float, str, str]] = []  # (arrival on ana's clock, to, frame)
    for tick in range(0, 48):
        now = tick / 4
        for arrival, to, frame in [f for f in in_flight if f[0] <= now]:
            in_flight.remove((arrival, to, frame))
            if to == ANA:
                ana.receive(BO, frame, arrival)
            else:
                bo.receive(ANA, frame, arrival + skew)
        in_flight += [(now + one_way, BO, f) for f in frames_to(ana.tick(now), BO)]
        bo_frames = frames_to(bo.tick(now + 0.1 + skew), ANA)  # bo ticks out of step
        in_flight += [(now + 0.1 + one_way, ANA, f) for f in bo_frames]
    assert ana.round_trip(BO) == pytest.approx(2 * one_way, abs=0.002)
    assert bo.round_trip(ANA) == pytest.approx(2 * one_way, abs=0.002)
    ana.closed(BO, 13.0, said_bye=False)
    assert ana.round_trip(BO) is None, "a new channel is measured afresh"


@pytest.mark.parametrize(
    ("pause", "window"),
    [(None, (2.0, 2.5)), (3.0, (4.0, 4.5))],  # a full mesh's, and a partial mesh's
)
def test_a_peer_whose_heartbeats_stop_is_reported_silent_once(
    pause: float | None, window: tuple[float, float]
) -> None:
    ana = plane(ANA, "ana", heartbeat_interval=1.0)
    if pause is not None:
        ana.tolerate_pauses(pause)
    ana.opened(BO, 0.0)
    now = 0.0
    for tick in range(1, 81):  # bo's heartbeats, like clockwork, and our ticks
        now = tick * d.TICK_INTERVAL
        if tick % 4 == 0:
            ana.receive(BO, HEARTBEAT_FRAME, now)
        assert not any(isinstance(a, d.PeerSilent) for a in ana.tick(now))
    last = now
    silent: list[d.DataAction] = []
    while not silent:  # woken whenever the core asks, as room.py does
        now = min(ana.next_wakeup(), now + d.TICK_INTERVAL)
        silent = [a for a in ana.tick(now) if isinstance(a, d.PeerSilent)]
    assert silent == [d.PeerSilent(BO, round(now - last, 3))]
    assert window[0] < now - last < window[1], "a stall of the pause is not a crash; more is"
    assert not any(isinstance(a, d.PeerSilent) for a in ana.tick(now + 0.25))


def test_our_own_stall_is_not_taken_for_the_peers_silence() -> None:
    ana = plane(ANA, "ana", heartbeat_interval=1.0)
    ana.opened(BO, 0.0)
    for tick in range(1, 41):
        if tick % 4 == 0:
            ana.receive(BO, HEARTBEAT_FRAME, tick / 4)
        ana.tick(tick / 4)
    # Our process stood still for 3 s; bo's heartbeats wait unread in the socket.
    after_stall = ana.tick(13.0)
    assert not any(isinstance(a, d.PeerSilent) for a in after_stall)
    assert d.WeStalled(3.0) in after_stall, "the driver is told (a partial mesh says hello)"
    ana.receive(BO, HEARTBEAT_FRAME, 13.01)
    assert not any(isinstance(a, d.PeerSilent | d.WeStalled) for a in ana.tick(13.1))


def test_a_peer_that_says_bye_gets_its_unacknowledged_messages_reported() -> None:
    ana = plane(ANA, "ana")
    ana.opened(BO, 0.0)
    ana.send_chat("never acked", 1.0, 1_000)
    reports = ana.closed(BO, 2.0, said_bye=True)
    assert [(r.peer_id, r.message.text) for r in reports if isinstance(r, MessageUndelivered)] == [
        (BO, "never acked")
    ]


def test_messages_for_a_peer_that_is_away_wait_and_go_when_it_is_back() -> None:
    ana = plane(ANA, "ana", reconnect_grace=30)
    ana.opened(BO, 0.0)
    ana.send_chat("in flight", 1.0, 1_000)
    assert ana.closed(BO, 2.0, said_bye=False) == []
    sent, actions = ana.send_chat("while away", 3.0, 3_000)
    assert sent.queued_for == (BO,) and actions == []
    resent = frames_to(ana.opened(BO, 4.0), BO)
    assert [json.loads(f)["text"] for f in resent] == ["in flight", "while away"]


# --- the two cores together, in the simulated world ------------------------------------


def test_chat_reaches_everyone_exactly_once_in_a_simulated_room() -> None:
    net = SimNetwork(seed=21, max_delay=0.2)
    clients = [net.add_client(name) for name in ("ana", "bo", "cy")]
    net.run(5.0)
    assert net.mesh_complete()
    for client in clients:
        net.say(client.id, f"from {client.proto.nick}")
    net.run(2.0)
    for client in clients:
        expected = {(o.id, f"from {o.proto.nick}") for o in clients if o is not client}
        assert sorted(client.received) == sorted(expected)
        assert client.undelivered == []


def test_a_connection_lost_mid_message_is_rebuilt_and_nothing_is_lost_or_doubled() -> None:
    net = SimNetwork(seed=5, max_delay=0.2)
    ana, bo = net.add_client("ana"), net.add_client("bo")
    net.run(5.0)
    assert net.mesh_complete()
    net.say(ana.id, "just before")
    net.break_connection(ana.id, bo.id)  # the frame was in flight: it is lost with it
    net.say(ana.id, "while away")
    net.run(10.0)  # the peers meet again; both messages go again on the new channel
    assert net.mesh_complete()
    assert bo.received == [(ana.id, "just before"), (ana.id, "while away")]
    assert ana.undelivered == []


def test_a_resend_that_crosses_a_late_ack_shows_nothing_twice() -> None:
    net = SimNetwork(seed=8, max_delay=0.4)
    ana, bo = net.add_client("ana"), net.add_client("bo")
    net.run(5.0)
    net.say(ana.id, "once")
    while not bo.received:
        net.run(0.01, step=0.01)
    # Delivered, but bo's acknowledgement waits (up to ACK_DELAY) for a frame to ride
    # on: the connection dies first, so ana sends the message again once they meet.
    assert not any('"acks"' in frame for *_, frame in net.frames)
    net.break_connection(ana.id, bo.id)
    net.run(10.0)
    assert bo.received == [(ana.id, "once")]
    assert ana.undelivered == []


def test_a_peer_that_never_comes_back_is_reported() -> None:
    net = SimNetwork(seed=9, max_delay=0.1)
    ana, bo = net.add_client("ana"), net.add_client("bo")
    net.run(5.0)
    net.kill(bo.id)
    net.say(ana.id, "into the void")
    net.run(40.0)  # heartbeat timeout, then the 30 s reconnect grace
    assert [(peer, text) for peer, text, _ in ana.undelivered] == [(bo.id, "into the void")]


def test_a_chat_flood_from_one_peer_is_cut_short_and_not_acknowledged() -> None:
    ana, bo = plane(ANA, "ana"), plane(BO, "bo")
    ana.opened(BO, 0.0)
    bo.opened(ANA, 0.0)
    shown = misbehaved = 0
    for n in range(1000):  # all within one second
        _, actions = ana.send_chat(f"spam {n}", 1.0 + n / 2000, 1_000)
        for action in bo.receive(ANA, frames_to(actions, BO)[0], 1.0 + n / 2000):
            shown += isinstance(action, MessageReceived)
            misbehaved += isinstance(action, d.PeerMisbehaved)
    assert shown <= d.CHAT_BURST + d.CHAT_RATE and misbehaved >= 1000 - shown
    (ack,) = frames_to(bo.flush(2.0), ANA)
    acked = decode_channel_frame(ack)[1]
    assert sum(last - first + 1 for first, last in acked) == shown, "only what was taken"


def test_a_message_whose_signature_does_not_verify_is_dropped_and_counted() -> None:
    ana, bo = plane(ANA, "ana"), plane(BO, "bo")
    ana.opened(BO, 0.0)
    _, actions = ana.send_chat("genuine", 1.0, 1_000)
    (frame,) = frames_to(actions, BO)
    altered = frame.replace("genuine", "altered")
    (action,) = bo.receive(ANA, altered, 1.1)
    assert isinstance(action, d.PeerMisbehaved) and bo.forged == 1
    assert [type(a) for a in bo.receive(ANA, frame, 1.2)][-1] is MessageReceived
    # Signed by someone else's key (bo's), claiming to be ana: dropped too.
    bo_plane = plane(BO, "bo")
    bo_plane.opened(ANA, 0.0)
    _, by_bo = bo_plane.send_chat("genuine", 1.0, 1_000)
    claimed = frames_to(by_bo, ANA)[0].replace(BO, ANA)
    assert isinstance(bo.receive(ANA, claimed, 1.3)[0], d.PeerMisbehaved) and bo.forged == 2


def test_a_killed_peer_is_noticed_by_everyone_within_three_seconds() -> None:
    net = SimNetwork(seed=21, max_delay=0.1)
    victim, *others = [net.add_client(f"p{i}") for i in range(4)]
    net.run(20.0)  # long enough for the detectors to learn the heartbeats
    assert net.mesh_complete()
    net.kill(victim.id)
    killed_at = net.now
    while any(not client.left for client in others) and net.now < killed_at + 10:
        net.run(0.05)
    noticed = net.now - killed_at
    assert 1.0 < noticed < 3.0, f"the last peer noticed after {noticed:.2f} s"
    for client in others:
        assert client.left == [(victim.id, client.left[0][1])]
        assert client.left[0][1].startswith("silent for ")


@pytest.mark.parametrize("phase", [0.0, 0.3, 0.6, 0.95])
def test_a_peer_that_stalls_for_a_second_is_not_reported_gone(phase: float) -> None:
    net = SimNetwork(seed=22, max_delay=0.1)
    stalling, *others = [net.add_client(f"p{i}") for i in range(4)]
    net.run(20.0 + phase)
    net.stall(stalling.id, 1.0)
    net.run(6.0)
    assert all(client.left == [] for client in [stalling, *others])
    net.say(stalling.id, "still here")
    net.run(1.0)
    assert all(client.received == [(stalling.id, "still here")] for client in others)
