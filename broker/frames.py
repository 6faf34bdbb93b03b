"""Parsing and checking client frames, and the frames the broker sends back."""

from __future__ import annotations

import json
from dataclasses import dataclass

from meshchat.wire.canonical import loads_untrusted
from meshchat.wire.frames import (
    CHALLENGE,
    ERROR,
    ORIGIN_FIELD,
    PING,
    PONG,
    PUBLISH,
    SUBSCRIBE,
    UNSUBSCRIBE,
)

from .limits import Limits


class FrameError(ValueError):
    """A client frame the broker will not act on; ``code`` goes into the error frame."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class Subscribe:
    topics: tuple[str, ...]
    proof: object = None  # needed for client topics; see ownership.py


@dataclass(frozen=True, slots=True)
class Unsubscribe:
    topics: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Publish:
    topic: str
    raw: str  # forwarded to subscribers exactly as received


@dataclass(frozen=True, slots=True)
class Ping:
    pass


@dataclass(frozen=True, slots=True)
class ChallengeRequest:
    """Browsers cannot read handshake headers: they ask for the challenge in a frame."""


Command = Subscribe | Unsubscribe | Publish | Ping | ChallengeRequest

PONG_FRAME = json.dumps({"type": PONG}, separators=(",", ":"))


def stamp_origin(raw: str, origin: str) -> str:
    """``raw`` (a publish frame, a JSON object) with the origin tag added. Spliced in as
    text: re-serialising every publish would cost more than the whole fan-out."""
    return f'{raw[:-1]},"{ORIGIN_FIELD}":"{origin}"}}'


def error_frame(code: str, message: str) -> str:
    return json.dumps({"type": ERROR, "code": code, "message": message})


def parse_frame(frame: str | bytes, limits: Limits) -> Command:
    if len(frame) > limits.max_frame_bytes:
        raise FrameError(
            "frame-too-large", f"frame of {len(frame)} bytes exceeds {limits.max_frame_bytes}"
        )
    try:
        text = frame.decode("utf-8") if isinstance(frame, bytes) else frame
        wire = loads_untrusted(text)
    except ValueError as error:  # UnicodeDecodeError and too deep nesting too
        raise FrameError("malformed", f"frame is not JSON: {error}") from None
    if not isinstance(wire, dict):
        raise FrameError("malformed", "frame is not a JSON object")
    kind = wire.get("type")
    if kind == PUBLISH:
        topic = wire.get("topic")
        if not isinstance(topic, str) or not topic:
            raise FrameError("bad-topic", "publish needs a non-empty string 'topic'")
        if ORIGIN_FIELD in wire:
            raise FrameError("malformed", f"'{ORIGIN_FIELD}' is set by the broker, not by clients")
        return Publish(topic, text.rstrip())
    if kind in (SUBSCRIBE, UNSUBSCRIBE):
        topics = wire.get("topics")
        if not isinstance(topics, list) or not all(isinstance(t, str) and t for t in topics):
            raise FrameError("bad-topic", f"{kind} needs 'topics': a list of non-empty strings")
        for topic in topics:
            if len(topic) > limits.max_topic_length:
                raise FrameError(
                    "bad-topic", f"topic longer than {limits.max_topic_length} characters"
                )
        if kind == SUBSCRIBE:
            return Subscribe(tuple(topics), wire.get("proof"))
        return Unsubscribe(tuple(topics))
    if kind == PING:
        return Ping()
    if kind == CHALLENGE:
        return ChallengeRequest()
    raise FrameError("unknown-type", f"unknown frame type {kind!r}")
