"""Round-trip times to each peer, measured by the heartbeats themselves (no frames of
their own), in the way NTP does it: each heartbeat carries the sender's clock, and
echoes the last clock it had from the peer together with how long it held it. The
sender subtracts both from its own clock now; the two clocks never need to agree.
"""

from __future__ import annotations

import math

from meshchat.mesh.link.chat_frames import Heartbeat, encode_heartbeat

SMOOTHING = 0.125  # weight of a new sample, as TCP's smoothed RTT (RFC 6298)
MAX_SAMPLE = 60.0  # seconds: anything longer is a stall or a lie, not a round trip


def clock_ms(now: float) -> int:
    """Our clock as a heartbeat carries it (whole ms; floor, as the page computes it)."""
    return max(0, math.floor(now * 1000))


class RoundTrips:
    def __init__(self) -> None:
        self._pings: dict[str, tuple[int, float]] = {}  # peer -> its last ping, when had
        self._smoothed: dict[str, float] = {}

    def heartbeat_for(self, peer_id: str, now: float) -> str:
        """The heartbeat frame to send ``peer_id`` now: our ping, and its echoed one."""
        pong = None
        if (had := self._pings.pop(peer_id, None)) is not None:
            ping, received_at = had
            pong = (ping, clock_ms(now - received_at))
        return encode_heartbeat(clock_ms(now), pong)

    def received(self, peer_id: str, heartbeat: Heartbeat, now: float) -> None:
        if heartbeat.ping is not None:
            self._pings[peer_id] = (heartbeat.ping, now)
        if heartbeat.pong is None:
            return
        sent_ms, held_ms = heartbeat.pong
        sample = (clock_ms(now) - sent_ms - held_ms) / 1000
        if not 0 <= sample <= MAX_SAMPLE:
            return  # an echo from another connection's clock, or made up
        previous = self._smoothed.get(peer_id)
        smoothed = sample if previous is None else previous + SMOOTHING * (sample - previous)
        self._smoothed[peer_id] = smoothed

    def of(self, peer_id: str) -> float | None:
        """The smoothed round-trip time to ``peer_id`` in seconds, once measured."""
        return self._smoothed.get(peer_id)

    def forget(self, peer_id: str) -> None:
        self._pings.pop(peer_id, None)
        self._smoothed.pop(peer_id, None)
