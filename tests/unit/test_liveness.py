"""The phi accrual failure detector: suspicion grows with improbable silence, and what
counts as improbable is learned from each peer's own heartbeats."""

from __future__ import annotations

import random

import pytest

from meshchat.mesh.link.liveness import PhiAccrualDetector, deviations_for, phi_of


def fed(intervals: list[float], start: float = 0.0) -> tuple[PhiAccrualDetector, float]:
    """A detector that has seen heartbeats ``intervals`` apart; the last one's time."""
    detector = PhiAccrualDetector(start, 1.0)
    now = start
    for interval in intervals:
        now += interval
        detector.heartbeat(now)
    return detector, now


@pytest.mark.parametrize("threshold", [0.5, 1.0, 3.0, 8.0, 16.0])
def test_the_deadline_is_where_phi_reaches_the_threshold(threshold: float) -> None:
    assert phi_of(deviations_for(threshold)) == pytest.approx(threshold, rel=1e-9)
    detector = PhiAccrualDetector(0.0, 1.0, threshold=threshold)
    for second in range(1, 31):
        detector.heartbeat(second + (0.05 if second % 3 else -0.05))
    deadline = detector.deadline()
    assert detector.phi(deadline) == pytest.approx(threshold, rel=1e-6)
    assert not detector.suspected(deadline - 0.01) and detector.suspected(deadline)


def test_phi_only_grows_with_silence() -> None:
    detector, last = fed([1.0, 1.1, 0.9] * 10)
    values = [detector.phi(last + silence / 10) for silence in range(0, 100)]
    assert values == sorted(values) and values[0] < 0.1 and values[-1] > 100


def test_regular_heartbeats_tolerate_a_one_second_stall_and_no_more_than_needed() -> None:
    detector, last = fed([1.0] * 50)
    assert not detector.suspected(last + 2.05)  # a heartbeat held up by a 1 s stall
    assert detector.suspected(last + 2.4)


def test_a_jittery_peer_is_given_longer_than_a_regular_one() -> None:
    jitter = random.Random(3)
    regular, regular_last = fed([1.0] * 100)
    jittery, jittery_last = fed([jitter.uniform(0.4, 1.6) for _ in range(100)])
    assert jittery.deadline() - jittery_last > regular.deadline() - regular_last + 0.5


def test_old_intervals_are_forgotten() -> None:
    jitter = random.Random(4)
    detector, now = fed([jitter.uniform(0.2, 3.0) for _ in range(100)])
    loose = detector.deadline() - now
    for _ in range(100):  # the window, after which only regular heartbeats are left
        now += 1.0
        detector.heartbeat(now)
    assert detector.deadline() - now < loose - 1.0
    assert detector.std == pytest.approx(0.05)  # the floor: no spread left at all


def test_other_signs_of_life_defer_suspicion_without_being_intervals() -> None:
    detector, last = fed([1.0] * 20)
    before = detector.deadline()
    detector.alive(last + 0.7)
    assert detector.deadline() == pytest.approx(before + 0.7)
    assert detector.mean == pytest.approx(1.0, abs=0.01), "a data frame is not a heartbeat"


def test_time_we_were_not_looking_is_overlooked() -> None:
    detector, last = fed([1.0] * 20)
    before = detector.deadline()
    detector.overlook(3.0)
    assert detector.deadline() == pytest.approx(before + 3.0)
    assert detector.silence(last + 3.0) == pytest.approx(0.0)
