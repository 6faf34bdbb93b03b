"""What :class:`~meshchat.mesh.room_core.RoomCore` asks its driver to do.

The core decides; the driver (``room.py`` over aiortc, or the simulation in the tests)
carries these out and feeds what happens back in. Besides these, the core hands on the
signalling core's ``Publish`` and peer-connection actions and the data plane's
``Pump`` unchanged (``RoomAction`` lists them all).
"""

from __future__ import annotations

from dataclasses import dataclass

from meshchat.mesh.events import Received, RoomEvent
from meshchat.mesh.link import dataplane as d
from meshchat.mesh.signalling import protocol as p


@dataclass(frozen=True, slots=True)
class Send:
    """Send ``frame`` on the data channel of the peer connection ``pc_id``. The link
    is named when the frame is decided on: a close decided after it in the same
    list (a bye, then the connection closed) must not keep it from going."""

    pc_id: int
    frame: str | bytes


@dataclass(frozen=True, slots=True)
class Emit:
    """Hand ``event`` to the application (``Room.events()``)."""

    event: RoomEvent


@dataclass(frozen=True, slots=True)
class LinkedPeerJoined:
    """A full mesh gained a peer: emit ``PeerJoined`` with the ICE route of its link,
    which only the driver knows."""

    peer_id: str
    nick: str


@dataclass(frozen=True, slots=True)
class ToChannel:
    """A message for the application's channel ``received.channel``."""

    received: Received


@dataclass(frozen=True, slots=True)
class ToFiles:
    """A message on the file channels, for the driver's file transfers."""

    received: Received


@dataclass(frozen=True, slots=True)
class FilesPeerJoined:
    """A member the file transfers may now send to."""

    peer_id: str


@dataclass(frozen=True, slots=True)
class FilesPeerLeft:
    peer_id: str
    said_bye: bool


@dataclass(frozen=True, slots=True)
class FilesUndelivered:
    """Part of a file (payload ``message_id``) did not reach ``peer_id``."""

    message_id: str
    peer_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class SendPayload:
    """Send ``value`` on ``channel`` to ``to``, as the application's sends go (paced,
    relayed in a partial mesh): the core's own messages, such as history."""

    channel: str
    value: object
    to: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class WakeAt:
    """Call ``RoomCore.tick`` at ``when`` at the latest (earlier than ``next_wakeup``
    said before)."""

    when: float


RoomAction = (
    p.Publish
    | p.CreatePeerConnection
    | p.SetRemoteDescription
    | p.AddRemoteCandidate
    | p.ClosePeerConnection
    | Send
    | d.Pump
    | Emit
    | LinkedPeerJoined
    | ToChannel
    | ToFiles
    | FilesPeerJoined
    | FilesPeerLeft
    | FilesUndelivered
    | SendPayload
    | WakeAt
)
