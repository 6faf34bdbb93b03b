"""The token bucket that paces and limits publishes."""

import pytest

from meshchat.wire.ratelimit import TokenBucket


def test_a_burst_then_the_steady_rate() -> None:
    bucket = TokenBucket(rate=10, burst=3, now=0.0)
    assert [bucket.take(0.0) for _ in range(4)] == [True, True, True, False]
    assert bucket.take(0.05) is False
    assert bucket.take(0.1) is True
    assert [bucket.take(100.0) for _ in range(4)] == [True, True, True, False], "burst caps"


def test_reservations_queue_up_at_the_rate() -> None:
    bucket = TokenBucket(rate=10, burst=2, now=0.0)
    waits = [bucket.reserve(0.0) for _ in range(5)]
    assert waits[:2] == [0.0, 0.0]
    assert waits[2:] == pytest.approx([0.1, 0.2, 0.3])
