"""The broker's limits, each with its default. Exceeding one earns an error frame (or,
for connection limits, an HTTP refusal of the handshake)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Limits:
    # A frame over this gets an error frame and is dropped; the connection stays.
    max_frame_bytes: int = 64 * 1024
    # A frame over this closes the connection (1009): we refuse to even buffer it.
    max_frame_bytes_hard: int = 1024 * 1024
    max_topics_per_connection: int = 64
    max_topic_length: int = 256
    # Publishes per second per connection (token bucket), with this much burst.
    publish_rate: float = 50.0
    publish_burst: float = 100.0
    max_connections_per_ip: int = 64
    max_connections: int = 10_000
    # A subscriber whose unsent data exceeds this is too slow and is disconnected,
    # so one stalled reader cannot make the broker's memory grow without bound.
    max_write_buffer_bytes: int = 4 * 1024 * 1024
    # Each connection is pinged this often; one that has not answered within the same
    # time again is dead: it is closed and its topics are freed.
    ping_interval: float = 20.0

    def __post_init__(self) -> None:
        if self.max_frame_bytes > self.max_frame_bytes_hard:
            raise ValueError("max_frame_bytes must not exceed max_frame_bytes_hard")
