"""What happens in a room, as the application sees it: one set of event types.

``RoomCore`` emits them (room_core.py: joins and leaves from the links in a full mesh,
from the overlay in a partial one; messages and delivery reports from the data plane
and the gossip) and ``Room.events()`` yields them; the driver only adds what a core
cannot know, such as the ICE route of a connection. They are never the cores' internal
actions.
"""

from __future__ import annotations

import builtins
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Protocol, TypeAlias, cast

from meshchat.mesh.link.chat_frames import ChatMessage
from meshchat.mesh.link.payloads import PayloadHeader

# A peer's id in the room: 32 hex digits, the hash of the key it joined with (``room.id``
# is ours). An alias, so plain strings keep working where one is asked for.
PeerId: TypeAlias = str


@dataclass(frozen=True, slots=True)
class PeerJoined:
    """A member joined the room: in a full mesh, a data channel to it opened; in a
    partial one, the room vouched for it (``route`` is then "overlay" unless we hold a
    link to it)."""

    peer_id: PeerId
    nick: str
    # The candidate types of the pair ICE chose, ours/theirs: "host/host", "relay/host"...
    route: str = "unknown"


@dataclass(frozen=True, slots=True)
class PeerLeft:
    """The member is gone: it said bye (``said_bye``), or it was lost (``silent``:
    nothing came from it for far longer than its heartbeats are apart, as when its
    process or machine died; in a partial mesh, links reported it gone)."""

    peer_id: PeerId
    nick: str
    reason: str
    said_bye: bool = False
    silent: bool = False


@dataclass(frozen=True, slots=True)
class MessageReceived:
    message: ChatMessage
    history: bool = False  # said before we joined, given by a peer (features/history.py)


@dataclass(frozen=True, slots=True)
class MessageUndelivered:
    """A message we sent did not reach ``peer_id`` (see ``link/delivery.py``)."""

    message: ChatMessage
    peer_id: PeerId
    reason: str


@dataclass(frozen=True, slots=True)
class PayloadDelivered:
    """``peer_id`` has a channel payload we sent: it acknowledged the whole of it (over
    a link), or sent back a signed receipt (a payload to chosen members, relayed
    through a partial mesh)."""

    header: PayloadHeader
    peer_id: PeerId


@dataclass(frozen=True, slots=True)
class PayloadUndelivered:
    """A channel payload we sent did not reach ``peer_id``."""

    header: PayloadHeader
    peer_id: PeerId
    reason: str


@dataclass(frozen=True, slots=True)
class TransferProgress:
    """``done`` of ``total`` bytes of a payload went to, or came from, ``peer_id``.
    Reported a few times a second per transfer, and when its last byte went or came."""

    channel: str
    message_id: str
    peer_id: PeerId
    sending: bool
    done: int
    total: int


@dataclass(frozen=True, slots=True)
class SignallingLost:
    """The pub/sub connection is gone: open peer connections keep working, but no new
    peer can join until it is back (the transport keeps trying, unless ``final``)."""

    reason: str
    final: bool = False


@dataclass(frozen=True, slots=True)
class SignallingRestored:
    """The pub/sub connection is back; we have announced ourselves again."""


@dataclass(frozen=True, slots=True)
class FileOffered:
    """``sender`` offers a file of ``size`` bytes; ``name`` is already made safe. It is
    accepted (saved in the downloads folder) unless this client refused it: then a
    ``FileFailed`` follows with the reason the sender was given."""

    transfer_id: str
    sender: PeerId
    nick: str
    name: str
    size: int


@dataclass(frozen=True, slots=True)
class FileProgress:
    """``done`` of ``total`` bytes of a file to (``sending``) or from ``peer_id``: for a
    sender, what the peer confirmed it wrote. A few per second at most."""

    transfer_id: str
    peer_id: PeerId
    sending: bool
    done: int
    total: int


@dataclass(frozen=True, slots=True)
class FileReceived:
    """A file from ``sender`` is saved at ``path``, and its SHA-256 (hex) is the one the
    sender signed."""

    transfer_id: str
    sender: PeerId
    nick: str
    path: Path
    size: int
    sha256: str


@dataclass(frozen=True, slots=True)
class FileDelivered:
    """``peer_id`` saved our file, and its digest matched."""

    transfer_id: str
    peer_id: PeerId


@dataclass(frozen=True, slots=True)
class FileFailed:
    """The transfer of a file to (``sending``) or from ``peer_id`` ended without it:
    ``reason`` says why. A receiver keeps nothing of it."""

    transfer_id: str
    peer_id: PeerId
    sending: bool
    reason: str


@dataclass(frozen=True, slots=True)
class EventsMissed:
    """This listener (one ``room.events()`` iterator) fell more events behind than its
    queue holds: ``count`` of them, the oldest, were dropped for it, not for the other
    listeners, where this stands."""

    count: int


RoomEvent = (
    PeerJoined
    | PeerLeft
    | MessageReceived
    | MessageUndelivered
    | PayloadDelivered
    | PayloadUndelivered
    | TransferProgress
    | SignallingLost
    | SignallingRestored
    | FileOffered
    | FileProgress
    | FileReceived
    | FileDelivered
    | FileFailed
    | EventsMissed
)


@dataclass(frozen=True, slots=True)
class PeerLink:
    """How we are connected to one peer, as of now (``Room.links()``)."""

    nick: str
    route: str  # as in PeerJoined: "host/host", "srflx/host", "relay/host"...
    round_trip: float | None  # smoothed, in seconds; None until the first heartbeat echo


@dataclass(frozen=True, slots=True)
class SentMessage:
    message: ChatMessage
    delivered_to: tuple[PeerId, ...]  # peer ids whose data channel took the message
    # Peers whose connection was lost moments ago: sent to them when they are back.
    queued_for: tuple[PeerId, ...] = ()

    @property
    def id(self) -> str:
        return self.message.id


class PayloadTracking(Protocol):
    """How a payload is going, per recipient (payload_outcomes.py)."""

    progress: dict[PeerId, int]
    outcomes: dict[PeerId, str]

    async def wait(self) -> dict[PeerId, str]: ...


@dataclass(frozen=True, slots=True)
class SentPayload:
    """A payload accepted for sending; its bytes go as the channels take them.
    ``await sent.wait()`` says how it ended for each recipient."""

    header: PayloadHeader
    sending_to: tuple[PeerId, ...]  # peers with an open channel
    queued_for: tuple[PeerId, ...] = ()  # peers away for a moment: sent when they are back
    # Set on what a Room's channel returns; what wait() and progress read.
    tracking: PayloadTracking | None = field(default=None, compare=False, repr=False)

    @property
    def id(self) -> str:
        return self.header.id

    async def wait(self) -> dict[PeerId, str]:
        """Wait until the payload has settled for every recipient, and return ``{peer
        id: outcome}``: ``"delivered"`` (the peer acknowledged all of it, or sent back
        a receipt through a partial mesh), ``"relayed"`` (sent into a partial mesh for
        the whole room: no receipts come back), or the reason it did not arrive (the
        peer left, did not acknowledge in time, the room was left...). Every
        recipient settles within the delivery timeouts; bound it with
        ``asyncio.timeout`` to wait less."""
        return await self._tracking().wait()

    @property
    def progress(self) -> dict[PeerId, int]:
        """Bytes handed to each recipient's channel so far (all of them once it
        acknowledged the payload)."""
        return dict(self._tracking().progress)

    @property
    def outcomes(self) -> dict[PeerId, str]:
        """The recipients settled so far, as ``wait()`` returns them."""
        return dict(self._tracking().outcomes)

    def _tracking(self) -> PayloadTracking:
        if self.tracking is None:
            raise RuntimeError("only a payload sent through a Room's channel is tracked")
        return self.tracking


_UNREAD = object()

# What a JSON payload holds once parsed.
JsonValue: TypeAlias = bool | int | float | str | list["JsonValue"] | dict[str, "JsonValue"] | None


class Received:
    """A message on a channel: ``data`` (a JSON value, bytes, or the text of a chat
    line), who wrote it (``sender``, ``nick``) and when (``timestamp_ms``).

    A large payload waits in a temporary file until ``data`` is read, so receiving one
    costs no memory; ``open()`` streams it instead.
    """

    __slots__ = (
        "_body",
        "_data",
        "channel",
        "id",
        "kind",
        "nick",
        "sender",
        "sha256",
        "size",
        "timestamp_ms",
        "to",
    )

    def __init__(
        self,
        channel: str,
        sender: str,
        nick: str,
        timestamp_ms: int,
        message_id: str,
        *,
        kind: str,
        size: int,
        sha256: str = "",
        data: object = _UNREAD,
        body: IO[builtins.bytes] | None = None,
        to: tuple[PeerId, ...] = (),
    ) -> None:
        if data is _UNREAD and body is None:
            raise ValueError("a received message has data or a body to read it from")
        self.channel = channel
        self.sender = sender
        self.nick = nick
        self.timestamp_ms = timestamp_ms
        self.id = message_id
        self.kind = kind  # "json", "bytes", or "text" (a chat line)
        self.size = size
        self.sha256 = sha256  # hex, checked against the author's signature ("" for chat)
        self._data = data
        self._body = body
        self.to = to  # the members a private chat line was sealed to; () for the room

    @property
    def private(self) -> bool:
        """Whether this is a private chat line, for chosen members only (``to``)."""
        return bool(self.to)

    @property
    def data(self) -> object:
        if self._data is _UNREAD:
            assert self._body is not None
            self._body.seek(0)
            self._data = self._body.read()
            self._body.close()
            self._body = None
        return self._data

    def json(self) -> JsonValue:
        """``data`` of a JSON payload; TypeError for bytes or a chat line."""
        return cast(JsonValue, self._typed("json"))

    def bytes(self) -> builtins.bytes:
        """``data`` of a bytes payload; TypeError for JSON or a chat line."""
        data = self._typed("bytes")
        assert isinstance(data, builtins.bytes)
        return data

    def text(self) -> str:
        """``data`` of a chat line; TypeError for a payload."""
        data = self._typed("text")
        assert isinstance(data, str)
        return data

    def _typed(self, kind: str) -> object:
        if self.kind != kind:
            raise TypeError(f"this message holds {self.kind}, not {kind}")
        return self.data

    def open(self) -> IO[builtins.bytes]:
        """The payload's bytes as a file, read from the start (bytes payloads only)."""
        if self._body is None:
            data = self.data
            if not isinstance(data, bytes):
                raise TypeError("only a bytes payload can be opened as a file")
            return io.BytesIO(data)
        self._body.seek(0)
        return self._body

    def __repr__(self) -> str:
        return (
            f"Received(channel={self.channel!r}, sender={self.sender!r}, nick={self.nick!r}, "
            f"size={self.size})"
        )
