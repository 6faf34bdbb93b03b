"""What happens in a room, as the application sees it: one set of event types.

The cores emit them (``protocol.py`` the joins and leaves, ``dataplane.py`` the
messages and delivery reports) and ``Room.events()`` yields them; the driver only adds
what a core cannot know, such as the ICE route of a connection.
"""

from __future__ import annotations

from dataclasses import dataclass

from .chat import ChatMessage


@dataclass(frozen=True, slots=True)
class PeerJoined:
    """A data channel to this peer is open."""

    peer_id: str
    nick: str
    # The candidate types of the pair ICE chose, ours/theirs: "host/host", "relay/host"...
    route: str = "unknown"


@dataclass(frozen=True, slots=True)
class PeerLeft:
    """The peer is gone: it said bye (``said_bye``), or its connection was lost."""

    peer_id: str
    nick: str
    reason: str
    said_bye: bool = False


@dataclass(frozen=True, slots=True)
class MessageReceived:
    message: ChatMessage


@dataclass(frozen=True, slots=True)
class MessageUndelivered:
    """A message we sent did not reach ``peer_id`` (see ``delivery.py``)."""

    message: ChatMessage
    peer_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class SignallingLost:
    """The pub/sub connection is gone: open peer connections keep working, but no new
    peer can join until it is back (the transport keeps trying, unless ``final``)."""

    reason: str
    final: bool = False


@dataclass(frozen=True, slots=True)
class SignallingRestored:
    """The pub/sub connection is back; we have announced ourselves again."""


RoomEvent = (
    PeerJoined
    | PeerLeft
    | MessageReceived
    | MessageUndelivered
    | SignallingLost
    | SignallingRestored
)


@dataclass(frozen=True, slots=True)
class SentMessage:
    message: ChatMessage
    delivered_to: tuple[str, ...]  # peer ids whose data channel took the message
    # Peers whose connection was lost moments ago: sent to them when they are back.
    queued_for: tuple[str, ...] = ()
