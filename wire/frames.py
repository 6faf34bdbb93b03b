"""Frames between a client and the bundled broker: JSON text, one object each, a
superset of the y-webrtc signalling protocol (docs/protocol.md, section 1).

    {"type": "subscribe", "topics": [...], "proof": {...}}   the proof: keys.py
    {"type": "unsubscribe", "topics": [...]}
    {"type": "publish", "topic": T, "data": D}    forwarded as is, stamped with "origin"
    {"type": "ping"} / {"type": "pong"}
    {"type": "challenge"}    the page asks for what the handshake headers say
    {"type": "error", "code": C, "message": M}   the broker refuses a frame
"""

from __future__ import annotations

from typing import Any

SUBSCRIBE = "subscribe"
UNSUBSCRIBE = "unsubscribe"
PUBLISH = "publish"
PING = "ping"
PONG = "pong"
CHALLENGE = "challenge"
ERROR = "error"
# The broker stamps each publish it forwards with a tag for the publisher's address;
# clients may not set it themselves.
ORIGIN_FIELD = "origin"


def subscribe_frame(topics: list[str], proof: dict[str, str] | None = None) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": SUBSCRIBE, "topics": topics}
    if proof is not None:
        frame["proof"] = proof
    return frame


def publish_frame(topic: str, data: object) -> dict[str, Any]:
    return {"type": PUBLISH, "topic": topic, "data": data}
