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
    # Frames of any kind per second per connection, with this much burst. A client
    # over it is not refused but read more slowly: its frames wait in its own TCP
    # buffers, not in the broker, and cost the broker nothing meanwhile.
    frame_rate: float = 100.0
    frame_burst: float = 200.0
    # What a subscribe frame costs in frames: checking a proof is an Ed25519 verify.
    subscribe_cost: float = 10.0
    # Error frames per second per connection (a client is told what was wrong, but
    # refusing more work does not cost the broker more replies).
    error_rate: float = 1.0
    error_burst: float = 5.0
    # Refused frames forgiven per second, and in a burst; a client past that is
    # disconnected (1008) and what it had already sent is discarded unread.
    strike_rate: float = 5.0
    strike_burst: float = 50.0
    max_connections_per_ip: int = 64  # an IPv6 /64 counts as one address
    max_connections: int = 10_000
    # Subscriptions (a connection to a topic) held at once: from one address, and in
    # all. Each costs the broker about 1.1 KiB with a topic of 256 characters (measured:
    # 1,000 connections of 64 such topics took 72 MiB); a client uses two per room.
    max_subscriptions_per_ip: int = 512
    max_subscriptions: int = 100_000
    # A subscriber whose unsent data exceeds this is skipped (the message is dropped
    # for it, and counted), so one stalled reader cannot make the broker's memory grow
    # and a flood on a topic cannot get its honest subscribers disconnected; a reader
    # that has stalled for good stops answering pings and is closed for that.
    max_write_buffer_bytes: int = 4 * 1024 * 1024
    # Each connection is pinged this often; one that has not answered within the same
    # time again is dead: it is closed and its topics are freed.
    ping_interval: float = 20.0

    def __post_init__(self) -> None:
        if self.max_frame_bytes > self.max_frame_bytes_hard:
            raise ValueError("max_frame_bytes must not exceed max_frame_bytes_hard")
