"""``GET /metrics``: the broker's counters in Prometheus' text exposition format.

Each metric is a field of :class:`Snapshot`, named and described once; the server fills
one in (type-checked), and :func:`render_metrics` writes it out.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields


def _gauge(text: str) -> int:
    return field(default=0, metadata={"type": "gauge", "help": text})


def _counter(text: str) -> int:
    return field(default=0, metadata={"type": "counter", "help": text})


@dataclass(frozen=True, slots=True)
class Snapshot:
    connections: int = _gauge("Open websocket connections.")
    topics: int = _gauge("Topics with at least one local subscriber.")
    messages_in_total: int = _counter("Frames received from clients.")
    messages_out_total: int = _counter("Frames delivered to subscribers.")
    errors_total: int = _counter("Frames refused.")
    error_replies_total: int = _counter("Error frames sent (at a bounded rate per connection).")
    dropped_total: int = _counter("Publishes dropped by the rate limit.")
    refused_connections_total: int = _counter("Handshakes refused (token or limits).")
    slow_consumer_drops_total: int = _counter("Messages not sent to a subscriber too far behind.")
    throttled_total: int = _counter("Times a connection was read slower for its frame rate.")
    disconnected_for_abuse_total: int = _counter("Connections cut off for sending bad frames.")
    backplane_published_total: int = _counter("Publishes sent to the Redis backplane.")
    backplane_received_total: int = _counter("Publishes received from other brokers.")


def render_metrics(snapshot: Snapshot) -> str:
    lines = []
    for metric in fields(snapshot):
        full = f"meshchat_broker_{metric.name}"
        lines += [
            f"# HELP {full} {metric.metadata['help']}",
            f"# TYPE {full} {metric.metadata['type']}",
            f"{full} {getattr(snapshot, metric.name)}",
        ]
    return "\n".join(lines) + "\n"
