"""The public API: a chat room over a full mesh of aiortc peer connections.

``Room`` is the thin I/O layer around :class:`~meshchat.mesh.protocol.MeshProtocol`:
it feeds transport messages, peer-connection events and clock ticks into the state
machine and carries out the actions it returns.

    async with Room(WebSocketTransport(url), "lobby", nick="ana") as room:
        await room.send("hi")
        async for event in room.events():
            ...
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Self

from aiortc import RTCDataChannel, RTCPeerConnection, RTCSessionDescription
from aiortc.sdp import candidate_from_sdp

from . import protocol as p
from .chat import (
    BYE_FRAME,
    CHANNEL_LABEL,
    HEARTBEAT_FRAME,
    ChannelAck,
    ChannelBye,
    ChatMessage,
    Heartbeat,
    RecentIds,
    ack_frame,
    decode_channel_message,
    encode_chat,
    new_chat_message,
)
from .delivery import DeliveryTracker, Undelivered
from .ice import IceConfig, restrict_host_addresses
from .identity import Identity
from .messages import IceCandidate, ProtocolError, clean_nick, validate_room
from .quietlog import QuietLog
from .ratelimit import TokenBucket
from .sealing import RoomSeal
from .transport import (
    ConnectionLost,
    ConnectionRestored,
    Transport,
    TransportError,
    TransportMessage,
)

log = logging.getLogger(__name__)

TICK_SECONDS = 0.25
PUBLISH_RATE = 40.0
PUBLISH_BURST = 80.0


# --- events for the application ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PeerJoined:
    peer_id: str
    nick: str
    # The candidate types of the pair ICE chose, ours/theirs: "host/host", "relay/host"...
    route: str = "unknown"


@dataclass(frozen=True, slots=True)
class PeerLeft:
    peer_id: str
    nick: str
    reason: str


@dataclass(frozen=True, slots=True)
class MessageReceived:
    message: ChatMessage


@dataclass(frozen=True, slots=True)
class SignallingLost:
    """The pub/sub connection is gone: open peer connections keep working, but no new
    peer can join until it is back (the transport keeps trying, unless ``final``)."""

    reason: str
    final: bool = False


@dataclass(frozen=True, slots=True)
class MessageUndelivered:
    """A message we sent did not reach ``peer_id`` (see ``delivery.py``)."""

    message: ChatMessage
    peer_id: str
    reason: str


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


# --- one peer connection ---------------------------------------------------------------


@dataclass
class _Connection:
    """An aiortc peer connection and the queue that serialises operations on it."""

    pc: RTCPeerConnection
    peer_id: str
    channel: RTCDataChannel | None = None
    operations: asyncio.Queue[Callable[[], Awaitable[None]] | None] = field(
        default_factory=asyncio.Queue
    )
    worker: asyncio.Task[None] | None = None


class Room:
    """One client's membership of one chat room."""

    def __init__(
        self,
        transport: Transport,
        room: str,
        *,
        nick: str = "anon",
        ice: IceConfig | None = None,
        identity: Identity | None = None,
        secret: str | None = None,
        timing: p.Timing | None = None,
    ) -> None:
        """``secret``: only holders of the same secret can join, and the signalling
        service sees nothing but sealed messages (see docs/security.md)."""
        self.name = validate_room(room)
        identity = identity or Identity()
        self.id = identity.client_id
        self.nick = clean_nick(nick)
        self._transport = transport
        transport.bind_identity(identity)
        self._ice = ice or IceConfig()
        if secret is not None and not secret.strip():
            # Never fall back to an open room when the user asked for a sealed one.
            raise ValueError("the room secret is empty; give a secret, or none for an open room")
        seal = RoomSeal(self.name, secret) if secret is not None else None
        self.sealed = seal is not None
        self._protocol = p.MeshProtocol(self.name, identity, self.nick, seal=seal, timing=timing)
        self._connections: dict[int, _Connection] = {}
        self._events: asyncio.Queue[RoomEvent | None] = asyncio.Queue()
        self._outbox: asyncio.Queue[p.Publish | None] = asyncio.Queue()
        self._recent = RecentIds()
        self._bad_frame_log = QuietLog(log)
        self._delivery = DeliveryTracker()
        self._tasks: list[asyncio.Task[None]] = []
        self._closing: set[asyncio.Task[None]] = set()  # keeps close tasks referenced
        self._joined = False
        self._closed = False
        self._signalling_lost = False

    # --- public API ---

    async def __aenter__(self) -> Self:
        await self.join()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.leave()

    @property
    def peers(self) -> dict[str, str]:
        """Peers with an open data channel: id -> nickname."""
        return self._protocol.open_peers()

    async def join(self) -> None:
        """Connect to the signalling service and announce ourselves."""
        if self._ice.host_addresses is not None:
            restrict_host_addresses(self._ice.host_addresses)
        await self._transport.connect()
        if not self._ice.servers and self._transport.ice_servers():
            # Nothing configured here: use what the broker offers (STUN, TURN).
            self._ice = dataclasses.replace(self._ice, servers=self._transport.ice_servers())
        # Subscribe first, then start reading, then say hello: a reply cannot be missed.
        for action in self._protocol.start():
            assert isinstance(action, p.Subscribe)
            await self._transport.subscribe(action.topics)
        self._joined = True
        self._tasks = [
            asyncio.create_task(self._read_transport(), name="meshchat-transport"),
            asyncio.create_task(self._publish_outbox(), name="meshchat-outbox"),
            asyncio.create_task(self._tick(), name="meshchat-tick"),
        ]
        self._apply(self._protocol.subscribed(time.monotonic()))

    async def send(self, text: str) -> SentMessage:
        """Send ``text`` to every peer with an open data channel, and keep it for peers
        whose connection was lost moments ago (sent when they are back; see delivery.py).

        Raises :class:`~meshchat.mesh.chat.MessageTooLarge` if the text is over the limit.
        """
        message = new_chat_message(self.id, self.nick, text, int(time.time() * 1000))
        frame = encode_chat(message)
        delivered = []
        for connection in list(self._connections.values()):
            channel = connection.channel
            if channel is not None and channel.readyState == "open":
                channel.send(frame)
                delivered.append(connection.peer_id)
        queued = [p for p in self._delivery.away_peers() if p not in delivered]
        self._delivery.sent(message, delivered + queued, time.monotonic())
        return SentMessage(message, tuple(delivered), tuple(queued))

    async def events(self) -> AsyncIterator[RoomEvent]:
        """Peer joined, message received, peer left...; ends when the room is left."""
        while (event := await self._events.get()) is not None:
            yield event

    async def leave(self) -> None:
        """Say bye, close every peer connection and the transport."""
        if self._closed:
            return
        self._closed = True
        for connection in self._connections.values():
            if connection.channel is not None and connection.channel.readyState == "open":
                connection.channel.send(BYE_FRAME)
        if self._joined:
            self._apply(self._protocol.leave())
            self._outbox.put_nowait(None)  # drain what is queued (the bye), then stop
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._tasks[1]), timeout=2.0)
        connections = list(self._connections.values())
        self._connections.clear()
        await asyncio.gather(
            *(self._shut_down(connection) for connection in connections),
            *self._closing,
            return_exceptions=True,
        )
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            await self._transport.close()
        self._events.put_nowait(None)

    # --- carrying out the protocol's actions ---

    def _apply(self, actions: list[p.Action]) -> None:
        for action in actions:
            match action:
                case p.Publish():
                    self._outbox.put_nowait(action)
                case p.CreatePeerConnection():
                    self._create_connection(action)
                case p.SetRemoteDescription(pc_id=pc_id):
                    self._enqueue(pc_id, functools.partial(self._set_remote, action))
                case p.AddRemoteCandidate(pc_id=pc_id):
                    self._enqueue(pc_id, functools.partial(self._add_candidate, action))
                case p.ClosePeerConnection(pc_id=pc_id):
                    # Detach at once, so nothing is sent on it any more; close in the background.
                    if (connection := self._connections.pop(pc_id, None)) is not None:
                        self._spawn(self._shut_down(connection))
                case p.SendHeartbeat(pc_id=pc_id):
                    self._send_on_channel(pc_id, HEARTBEAT_FRAME)
                case p.PeerJoined(peer_id=peer_id, nick=nick):
                    self._events.put_nowait(PeerJoined(peer_id, nick, self._route_to(peer_id)))
                case p.PeerLeft(peer_id=peer_id, nick=nick, reason=reason):
                    self._events.put_nowait(PeerLeft(peer_id, nick, reason))
                    if reason == p.SAID_BYE:
                        for lost in self._delivery.peer_gone(peer_id, "the peer left"):
                            self._report_undelivered(lost)
                    else:
                        self._delivery.peer_lost(peer_id, time.monotonic())
                case p.Subscribe():
                    raise AssertionError("subscriptions happen only in join()")

    def _spawn(self, coroutine: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    def _create_connection(self, action: p.CreatePeerConnection) -> None:
        pc = RTCPeerConnection(self._ice.rtc_configuration())
        connection = _Connection(pc, action.peer_id)
        pc_id = action.pc_id
        self._connections[pc_id] = connection
        connection.worker = asyncio.create_task(self._run_operations(pc_id, connection))

        @pc.on("connectionstatechange")
        def on_state() -> None:
            self._apply(self._protocol.connection_state(pc_id, pc.connectionState))

        if action.caller:
            self._attach_channel(pc_id, connection, pc.createDataChannel(CHANNEL_LABEL))
            self._enqueue(pc_id, lambda: self._make_offer(pc_id, pc))
        else:

            @pc.on("datachannel")
            def on_datachannel(channel: RTCDataChannel) -> None:
                if channel.label != CHANNEL_LABEL:
                    log.warning("peer %s opened channel %r", action.peer_id, channel.label)
                    return
                self._attach_channel(pc_id, connection, channel)

    def _attach_channel(self, pc_id: int, connection: _Connection, channel: RTCDataChannel) -> None:
        connection.channel = channel

        def on_open() -> None:
            now = time.monotonic()
            self._apply(self._protocol.channel_open(pc_id, now))
            # Whatever this peer has not acknowledged yet goes again on the new channel.
            for message in self._delivery.peer_back(connection.peer_id, now):
                channel.send(encode_chat(message))

        @channel.on("message")
        def on_message(frame: str | bytes) -> None:
            self._on_channel_frame(pc_id, frame)

        @channel.on("close")
        def on_close() -> None:
            self._apply(self._protocol.channel_closed(pc_id))

        if channel.readyState == "open":  # aiortc hands the callee an already open channel
            on_open()
        else:
            channel.on("open", on_open)

    def _on_channel_frame(self, pc_id: int, frame: str | bytes) -> None:
        peer_id = self._protocol.peer_for(pc_id)
        if peer_id is None:
            return
        self._protocol.channel_activity(pc_id, time.monotonic())
        try:
            message = decode_channel_message(frame)
        except ProtocolError as error:
            self._bad_frame(pc_id, peer_id, str(error))
            return
        match message:
            case Heartbeat():
                pass
            case ChannelBye():
                self._apply(self._protocol.channel_bye(pc_id))
            case ChannelAck(message_id=message_id):
                self._delivery.acked(peer_id, message_id)
            case ChatMessage():
                if message.sender != peer_id:
                    self._bad_frame(pc_id, peer_id, f"message claiming to be {message.sender}")
                    return
                self._send_on_channel(pc_id, ack_frame(message.id))
                if not self._recent.seen(peer_id, message.id):
                    # Shown under the nick the peer announced when it joined, whatever
                    # the frame says: a peer cannot post as someone else line by line.
                    nick = self._protocol.nick_of(peer_id) or message.nick
                    shown = dataclasses.replace(message, nick=nick)
                    self._events.put_nowait(MessageReceived(shown))

    def _bad_frame(self, pc_id: int, peer_id: str, reason: str) -> None:
        self._bad_frame_log.warning(peer_id, "peer %s sent a bad data channel frame: %s", reason)
        self._apply(self._protocol.bad_frame(pc_id, time.monotonic()))

    def _route_to(self, peer_id: str) -> str:
        for connection in self._connections.values():
            if connection.peer_id == peer_id:
                return _selected_route(connection.pc)
        return "unknown"

    def _send_on_channel(self, pc_id: int, frame: str) -> None:
        connection = self._connections.get(pc_id)
        if connection and connection.channel and connection.channel.readyState == "open":
            connection.channel.send(frame)

    # --- per-connection operations, run in order by one worker per connection ---

    def _enqueue(self, pc_id: int, operation: Callable[[], Awaitable[None]]) -> None:
        connection = self._connections.get(pc_id)
        if connection is not None:
            connection.operations.put_nowait(operation)

    async def _run_operations(self, pc_id: int, connection: _Connection) -> None:
        while (operation := await connection.operations.get()) is not None:
            try:
                await operation()
            except Exception as error:  # a bad SDP or candidate from the peer
                reason = f"{type(error).__name__}: {error}"
                self._apply(self._protocol.peer_connection_error(pc_id, reason))

    async def _make_offer(self, pc_id: int, pc: RTCPeerConnection) -> None:
        await pc.setLocalDescription(await pc.createOffer())
        # aiortc has gathered every local candidate by now: they are all in the SDP.
        self._apply(
            self._protocol.local_description(
                pc_id, "offer", pc.localDescription.sdp, time.monotonic()
            )
        )

    async def _set_remote(self, action: p.SetRemoteDescription) -> None:
        pc = self._connections[action.pc_id].pc
        await pc.setRemoteDescription(RTCSessionDescription(action.sdp, action.sdp_type))
        if action.sdp_type == "offer":
            await pc.setLocalDescription(await pc.createAnswer())
            sdp = pc.localDescription.sdp
            self._apply(
                self._protocol.local_description(action.pc_id, "answer", sdp, time.monotonic())
            )

    async def _add_candidate(self, action: p.AddRemoteCandidate) -> None:
        pc = self._connections[action.pc_id].pc
        await pc.addIceCandidate(_to_rtc_candidate(action.candidate))

    async def _shut_down(self, connection: _Connection) -> None:
        connection.operations.put_nowait(None)
        if connection.worker is not None:
            connection.worker.cancel()
        await connection.pc.close()

    # --- background tasks ---

    async def _read_transport(self) -> None:
        async for event in self._transport.messages():
            now = time.monotonic()
            match event:
                case TransportMessage(topic=topic, data=data, origin=origin):
                    self._apply(self._protocol.receive(topic, data, now, origin))
                case ConnectionLost(reason=reason):
                    self._signalling_lost = True
                    self._events.put_nowait(SignallingLost(reason))
                case ConnectionRestored(resumed=resumed):
                    self._signalling_lost = False
                    self._events.put_nowait(SignallingRestored())
                    if not resumed:  # what was said meanwhile is lost: announce again
                        self._apply(self._protocol.reannounce(now))
        self._signalling_lost = True
        if not self._closed:
            self._events.put_nowait(SignallingLost("the signalling connection was closed", True))

    async def _publish_outbox(self) -> None:
        # Stay under the broker's publish limit (50/s, bursts of 100): a burst of our
        # own replies waits a moment instead of being refused.
        pace = TokenBucket(PUBLISH_RATE, PUBLISH_BURST, time.monotonic())
        while (action := await self._outbox.get()) is not None:
            if (delay := pace.reserve(time.monotonic())) > 0:
                await asyncio.sleep(delay)
            try:
                await self._transport.publish(action.topic, action.message)
            except TransportError as error:
                # Once the broker is gone every publish fails the same way: say it once.
                level = logging.DEBUG if self._signalling_lost else logging.WARNING
                log.log(level, "could not publish to %s: %s", action.topic, error)
                self._signalling_lost = True

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(TICK_SECONDS)
            now = time.monotonic()
            self._apply(self._protocol.tick(now))
            for lost in self._delivery.tick(now):
                self._report_undelivered(lost)

    def _report_undelivered(self, lost: Undelivered) -> None:
        self._events.put_nowait(MessageUndelivered(lost.message, lost.peer_id, lost.reason))


def _selected_route(pc: RTCPeerConnection) -> str:
    """The candidate types of the nominated pair. aiortc has no public getter for the
    selected pair (getSelectedCandidatePair), so this reads aioice's connection state;
    it is for display and diagnostics only."""
    if pc.sctp is None:
        return "unknown"
    try:
        pairs = pc.sctp.transport.transport._connection._nominated
        pair = pairs[min(pairs)]
        return f"{pair.local_candidate.type}/{pair.remote_candidate.type}"
    except (AttributeError, KeyError, ValueError):
        return "unknown"


def _to_rtc_candidate(candidate: IceCandidate | None) -> Any:
    if candidate is None:
        return None
    text = candidate.candidate.removeprefix("candidate:")
    try:
        rtc = candidate_from_sdp(text)
    except (AssertionError, ValueError, IndexError) as error:
        raise ProtocolError(f"unparseable ICE candidate {candidate.candidate!r}") from error
    rtc.sdpMid = candidate.sdp_mid
    rtc.sdpMLineIndex = candidate.sdp_mline_index
    return rtc
