"""Signalling messages: the JSON objects peers publish to each other over pub/sub.

This module only converts between wire dictionaries and typed messages, checking every
field on the way in. It knows nothing about state; see ``signalling/protocol.py`` for that.
The format is specified in ``docs/protocol.md``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")

PROTOCOL_VERSION = 1

# Generous for real SDP (aiortc's offers are ~1 KiB, Chromium's ~3 KiB with many
# candidates) yet small enough that a hostile peer cannot make us buffer much.
MAX_SDP_CHARS = 32 * 1024
MAX_CANDIDATE_CHARS = 1024
MAX_NICK_CHARS = 64

ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
ROOM_PATTERN = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
SESSION_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class ProtocolError(ValueError):
    """An incoming message does not follow the protocol; it is dropped."""


@dataclass(frozen=True, slots=True)
class IceCandidate:
    """One trickled ICE candidate, in the browser's ``RTCIceCandidateInit`` shape."""

    candidate: str
    sdp_mid: str | None = None
    sdp_mline_index: int | None = None


@dataclass(frozen=True, slots=True)
class Hello:
    """Announce oneself: broadcast on ``global``, or sent to one peer (``to`` set)."""

    sender: str
    nick: str
    to: str | None = None
    # The sender is in a partial mesh (partial/membership.py): the room is bigger than a full mesh.
    crowd: bool = False


@dataclass(frozen=True, slots=True)
class Offer:
    sender: str
    to: str
    session: str
    sdp: str
    nick: str


@dataclass(frozen=True, slots=True)
class Answer:
    sender: str
    to: str
    session: str
    sdp: str
    nick: str


@dataclass(frozen=True, slots=True)
class Candidate:
    """A trickled candidate; ``candidate is None`` means end-of-candidates."""

    sender: str
    to: str
    session: str
    candidate: IceCandidate | None


@dataclass(frozen=True, slots=True)
class Bye:
    sender: str


SignalMessage = Hello | Offer | Answer | Candidate | Bye


def validate_room(room: str) -> str:
    if not ROOM_PATTERN.match(room):
        raise ValueError(f"invalid room name {room!r}: use 1-64 letters, digits, '.', '_' or '-'")
    return room


def validate_client_id(client_id: str) -> str:
    if not ID_PATTERN.match(client_id):
        raise ValueError(f"invalid client id {client_id!r}: use 1-64 letters, digits, '_' or '-'")
    return client_id


def clean_nick(nick: str) -> str:
    """Nicknames are display text: strip control characters and bound the length."""
    # Every chat frame carries one: the usual, clean nick skips the character loop.
    printable = nick if nick.isprintable() else "".join(ch for ch in nick if ch.isprintable())
    printable = printable.strip()
    return printable[:MAX_NICK_CHARS] or "anon"


def encode(message: SignalMessage, room: str) -> dict[str, Any]:
    """The wire form of ``message`` for ``room``."""
    wire: dict[str, Any] = {"v": PROTOCOL_VERSION, "room": room, "from": message.sender}
    match message:
        case Hello(nick=nick, to=to, crowd=crowd):
            wire["type"] = "hello"
            wire["nick"] = nick
            if to is not None:
                wire["to"] = to
            if crowd:
                wire["crowd"] = True
        case Offer() | Answer():
            wire["type"] = "offer" if isinstance(message, Offer) else "answer"
            wire.update(to=message.to, session=message.session, sdp=message.sdp, nick=message.nick)
        case Candidate(to=to, session=session, candidate=candidate):
            wire.update(type="candidate", to=to, session=session)
            wire["candidate"] = (
                None
                if candidate is None
                else {
                    "candidate": candidate.candidate,
                    "sdpMid": candidate.sdp_mid,
                    "sdpMLineIndex": candidate.sdp_mline_index,
                }
            )
        case Bye():
            wire["type"] = "bye"
    return wire


def decode(wire: object, *, room: str) -> SignalMessage:
    """Parse and check one wire message; raise :class:`ProtocolError` if it is invalid."""
    if not isinstance(wire, dict):
        raise ProtocolError(f"expected a JSON object, got {type(wire).__name__}")
    if wire.get("v") != PROTOCOL_VERSION:
        raise ProtocolError(f"unsupported protocol version {wire.get('v')!r}")
    if wire.get("room") != room:
        raise ProtocolError(f"message for another room {wire.get('room')!r}")
    kind = wire.get("type")
    sender = _field(wire, "from", str, ID_PATTERN)
    if kind == "hello":
        nick = clean_nick(_field(wire, "nick", str))
        to = _field(wire, "to", str, ID_PATTERN) if "to" in wire else None
        return Hello(sender=sender, nick=nick, to=to, crowd=wire.get("crowd") is True)
    if kind == "bye":
        return Bye(sender=sender)
    if kind not in ("offer", "answer", "candidate"):
        raise ProtocolError(f"unknown message type {kind!r}")
    to = _field(wire, "to", str, ID_PATTERN)
    session = _field(wire, "session", str, SESSION_PATTERN)
    if kind == "candidate":
        return Candidate(sender, to, session, _decode_candidate(wire.get("candidate", ...)))
    sdp = _field(wire, "sdp", str)
    if len(sdp) > MAX_SDP_CHARS:
        raise ProtocolError(f"sdp of {len(sdp)} characters exceeds {MAX_SDP_CHARS}")
    if not sdp.startswith("v=0"):
        raise ProtocolError("sdp does not start with 'v=0'")
    nick = clean_nick(_field(wire, "nick", str))
    return (Offer if kind == "offer" else Answer)(sender, to, session, sdp, nick)


def _decode_candidate(raw: object) -> IceCandidate | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ProtocolError("field 'candidate' must be an object or null")
    text = _field(raw, "candidate", str)
    if len(text) > MAX_CANDIDATE_CHARS:
        raise ProtocolError("candidate string is too long")
    if text == "":
        # Browsers signal end-of-candidates for a generation with an empty string.
        return None
    mid = raw.get("sdpMid")
    index = raw.get("sdpMLineIndex")
    if mid is not None and not isinstance(mid, str):
        raise ProtocolError("field 'sdpMid' must be a string or null")
    if index is not None and (not isinstance(index, int) or isinstance(index, bool) or index < 0):
        raise ProtocolError("field 'sdpMLineIndex' must be a non-negative integer or null")
    if mid is None and index is None:
        raise ProtocolError("a candidate needs 'sdpMid' or 'sdpMLineIndex'")
    return IceCandidate(text, mid, index)


def _field(
    wire: dict[str, Any], name: str, kind: type[T], pattern: re.Pattern[str] | None = None
) -> T:
    if name not in wire:
        raise ProtocolError(f"missing field {name!r}")
    value = wire[name]
    if not isinstance(value, kind):
        raise ProtocolError(f"field {name!r} must be {kind.__name__}")
    if pattern is not None and isinstance(value, str) and not pattern.match(value):
        raise ProtocolError(f"field {name!r} is malformed")
    return value
