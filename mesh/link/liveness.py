"""Is a peer still there? The phi accrual failure detector (Hayashibara et al., 2004; the
one Cassandra and Akka use), as a sans-I/O core.

Instead of a fixed timeout, each peer's heartbeat inter-arrival times are learned (a
sliding window of them), and silence is judged by how improbable it is given that
history: ``phi = -log10(P(a gap at least this long))``. A peer on a quiet loopback whose
heartbeats come like clockwork is suspected soon after it stops; one on a loaded machine
or a jittery link, whose heartbeats have always come unevenly, is given longer. An
``acceptable_pause`` is added to the learned mean so that a stall of about a second (a
stopped process, a garbage collection, a busy core) is not taken for a crash.

The normal distribution's tail is approximated by a logistic function (as Akka does), so
that the suspicion deadline has a closed form and the browser's copy
(``broker/web/liveness.js``) computes the same numbers.
"""

from __future__ import annotations

import math
from collections import deque

WINDOW = 100  # heartbeat intervals remembered per peer
THRESHOLD = 8.0  # phi at which a peer is suspected: odds of 1 in 10^8 that it is alive
MIN_STD = 0.05  # seconds: the spread assumed at least, however regular the heartbeats
ACCEPTABLE_PAUSE = 1.0  # seconds of stall tolerated beyond the usual interval
# How far the first estimate of a new peer's intervals spreads, until real ones come.
PRIOR_SPREAD = 0.1


def phi_of(deviations: float) -> float:
    """phi for a silence ``deviations`` standard deviations beyond the expected one."""
    exponent = deviations * (1.5976 + 0.070566 * deviations * deviations)
    if exponent > 700:  # exp() would overflow; log10(1 + e^x) is x / ln 10 there
        return exponent / math.log(10)
    return math.log10(1.0 + math.exp(exponent))


def deviations_for(threshold: float) -> float:
    """The inverse of :func:`phi_of` (it is increasing): found by bisection."""
    low, high = -10.0, 100.0
    for _ in range(100):
        middle = (low + high) / 2
        if phi_of(middle) < threshold:
            low = middle
        else:
            high = middle
    return high


class PhiAccrualDetector:
    """What one peer's heartbeats have been like, and how suspicious its silence is.

    ``heartbeat(now)`` for each heartbeat (the intervals between them are what is
    learned), ``alive(now)`` for any other sign of life (it defers suspicion but is not
    an interval: data comes in bursts), ``suspected(now)`` to ask.
    """

    def __init__(
        self,
        now: float,
        expected_interval: float,
        *,
        threshold: float = THRESHOLD,
        min_std: float = MIN_STD,
        acceptable_pause: float = ACCEPTABLE_PAUSE,
        window: int = WINDOW,
    ) -> None:
        self._intervals: deque[float] = deque(maxlen=window)
        self._sum = 0.0
        self._sum_of_squares = 0.0
        self._min_std = min_std
        self._pause = acceptable_pause
        self._deviations = deviations_for(threshold)
        # The first heartbeat starts the intervals: the channel's opening is not one.
        self._last_heartbeat: float | None = None
        self._last_arrival = now
        for interval in (expected_interval - PRIOR_SPREAD, expected_interval + PRIOR_SPREAD):
            self._record(interval)

    def heartbeat(self, now: float) -> None:
        if self._last_heartbeat is not None and now > self._last_heartbeat:
            self._record(now - self._last_heartbeat)
        self._last_heartbeat = now
        self.alive(now)

    def alive(self, now: float) -> None:
        self._last_arrival = max(self._last_arrival, now)

    def overlook(self, seconds: float) -> None:
        """We were not looking for ``seconds`` (our own process stalled): that time is
        not counted as the peer's silence, nor the next interval as one of its own."""
        self._last_arrival += seconds
        self._last_heartbeat = None

    @property
    def mean(self) -> float:
        return self._sum / len(self._intervals)

    @property
    def std(self) -> float:
        variance = self._sum_of_squares / len(self._intervals) - self.mean**2
        return max(math.sqrt(max(variance, 0.0)), self._min_std)

    def phi(self, now: float) -> float:
        silence = now - self._last_arrival
        return phi_of((silence - self.mean - self._pause) / self.std)

    def deadline(self) -> float:
        """When phi reaches the threshold if nothing arrives until then."""
        return self._last_arrival + self.mean + self._pause + self._deviations * self.std

    def suspected(self, now: float) -> bool:
        return now >= self.deadline()

    def silence(self, now: float) -> float:
        return now - self._last_arrival

    def _record(self, interval: float) -> None:
        if len(self._intervals) == self._intervals.maxlen:
            dropped = self._intervals[0]
            self._sum -= dropped
            self._sum_of_squares -= dropped * dropped
        self._intervals.append(interval)
        self._sum += interval
        self._sum_of_squares += interval * interval
