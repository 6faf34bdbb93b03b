"""Delivery accounting: acknowledged, resent after a reconnection, or reported."""

from __future__ import annotations

from meshchat.mesh.link.chat_frames import new_chat_message
from meshchat.mesh.link.delivery import DeliveryTracker, Undelivered

A = new_chat_message("me", "me", "first", 0, 1, "m1")
B = new_chat_message("me", "me", "second", 0, 2, "m2")


def test_acknowledged_messages_are_forgotten() -> None:
    tracker = DeliveryTracker(ack_timeout=10)
    tracker.sent(A, ["bo", "cy"], now=0)
    tracker.acked("bo", ((1, 1),))
    tracker.acked("cy", ((1, 1),))
    assert tracker.tick(100) == []


def test_a_lost_peer_gets_its_unacknowledged_and_new_messages_when_it_is_back() -> None:
    tracker = DeliveryTracker(ack_timeout=10, reconnect_grace=30)
    tracker.sent(A, ["bo"], now=0)  # in flight when the connection died
    tracker.peer_lost("bo", now=1)
    assert tracker.away_peers() == ["bo"]
    tracker.sent(B, ["bo"], now=2)  # sent while bo is away: kept for it
    assert tracker.tick(20) == [], "the ack clock does not run while the peer is away"
    assert tracker.peer_back("bo", now=25) == [A, B]
    tracker.acked("bo", ((1, 1),))
    tracker.acked("bo", ((2, 2),))
    assert tracker.tick(100) == []


def test_a_peer_that_does_not_come_back_in_time_is_reported() -> None:
    tracker = DeliveryTracker(reconnect_grace=30)
    tracker.sent(A, ["bo"], now=0)
    tracker.peer_lost("bo", now=1)
    assert tracker.tick(30) == []
    assert tracker.tick(32) == [Undelivered(A, "bo", "the peer did not come back")]
    assert tracker.away_peers() == [] and tracker.tick(100) == []


def test_a_peer_that_says_bye_takes_nothing_more_and_it_is_reported() -> None:
    tracker = DeliveryTracker()
    tracker.sent(A, ["bo"], now=0)
    assert tracker.peer_gone("bo", "the peer left") == [Undelivered(A, "bo", "the peer left")]


def test_an_unacknowledged_message_to_a_connected_peer_is_reported_once() -> None:
    tracker = DeliveryTracker(ack_timeout=10)
    tracker.sent(A, ["bo"], now=0)
    assert tracker.tick(9) == []
    assert tracker.tick(11) == [Undelivered(A, "bo", "not acknowledged")]
    assert tracker.tick(50) == []
