"""``GET /metrics``: the broker's counters in Prometheus' text exposition format."""

from __future__ import annotations

from collections.abc import Mapping

# name -> (type, help)
METRICS: dict[str, tuple[str, str]] = {
    "connections": ("gauge", "Open websocket connections."),
    "topics": ("gauge", "Topics with at least one local subscriber."),
    "messages_in_total": ("counter", "Frames received from clients."),
    "messages_out_total": ("counter", "Frames delivered to subscribers."),
    "errors_total": ("counter", "Frames refused."),
    "error_replies_total": ("counter", "Error frames sent (at a bounded rate per connection)."),
    "dropped_total": ("counter", "Publishes dropped by the rate limit."),
    "refused_connections_total": ("counter", "Handshakes refused (token or limits)."),
    "slow_consumer_drops_total": ("counter", "Messages not sent to a subscriber too far behind."),
    "throttled_total": ("counter", "Times a connection was read slower for its frame rate."),
    "disconnected_for_abuse_total": ("counter", "Connections cut off for sending bad frames."),
    "backplane_published_total": ("counter", "Publishes sent to the Redis backplane."),
    "backplane_received_total": ("counter", "Publishes received from other brokers."),
}


def render_metrics(values: Mapping[str, int]) -> str:
    lines = []
    for name, (kind, text) in METRICS.items():
        full = f"meshchat_broker_{name}"
        lines += [f"# HELP {full} {text}", f"# TYPE {full} {kind}", f"{full} {values[name]}"]
    return "\n".join(lines) + "\n"
