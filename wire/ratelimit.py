"""A token bucket: ``rate`` events per second on average, bursts of up to ``burst``.

Pure arithmetic on a clock the caller passes in; the broker uses it to refuse floods,
the Ably transport to pace itself below Ably's limit.
"""

from __future__ import annotations


class TokenBucket:
    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate, self.burst = rate, burst
        self._tokens, self._stamp = burst, now

    def _refill(self, now: float) -> None:
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    def take(self, now: float, cost: float = 1.0) -> bool:
        """Spend ``cost`` tokens if there are that many."""
        self._refill(now)
        if self._tokens < cost:
            return False
        self._tokens -= cost
        return True

    def reserve(self, now: float, cost: float = 1.0) -> float:
        """Spend ``cost`` tokens, borrowing them if need be: the seconds to wait before
        acting, so that callers queued behind each other keep to the rate."""
        self._refill(now)
        self._tokens -= cost
        return max(0.0, -self._tokens / self.rate)
