"""The public API: a chat room over a full mesh of aiortc peer connections.

``Room`` is the thin I/O layer around two sans-I/O cores: the signalling state machine
(:class:`~meshchat.mesh.protocol.MeshProtocol`) and the data channels
(:class:`~meshchat.mesh.dataplane.DataPlane`). It feeds them transport messages,
peer-connection and channel events, frames and clock ticks, and carries out the actions
they return.

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
import io
import logging
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Self

from aiortc import RTCDataChannel, RTCPeerConnection, RTCSessionDescription
from aiortc.sdp import candidate_from_sdp

from meshchat.wire.quietlog import QuietLog
from meshchat.wire.ratelimit import TokenBucket

from . import dataplane as d
from . import protocol as p
from . import sctp_sack
from .channel import Channel
from .chat import CHANNEL_LABEL, ChatMessage
from .events import (
    MessageReceived,
    MessageUndelivered,
    PayloadUndelivered,
    PeerJoined,
    PeerLeft,
    PeerLink,
    Received,
    RoomEvent,
    SentMessage,
    SentPayload,
    SignallingLost,
    SignallingRestored,
    TransferProgress,
)
from .file_transfer import FileTransfer, FileTransfers
from .files import DEFAULT_MAX_FILE_SIZE, FILE_DATA_CHANNEL, FILES_CHANNEL, RESERVED_PREFIX
from .history import HISTORY_CHANNEL, REQUEST, HistoryBook
from .history import Answer as HistoryAnswer
from .history import Request as HistoryRequest
from .history import parse as parse_history
from .ice import IceConfig, restrict_host_addresses
from .identity import Identity
from .messages import IceCandidate, ProtocolError, clean_nick, validate_room
from .payloads import CHAT_CHANNEL, check_channel_name
from .sealing import RoomSeal
from .transfers import LOW_WATER
from .transport import (
    ConnectionLost,
    ConnectionRestored,
    Transport,
    TransportError,
    TransportMessage,
)

log = logging.getLogger(__name__)

PUBLISH_RATE = 40.0
PUBLISH_BURST = 80.0
RECONNECT_GRACE = 30.0  # seconds a lost peer's messages and files wait for it
# A payload over this is received into a temporary file, not memory.
SPOOL_ABOVE = 1024 * 1024
# send() waits while this many payload bytes are still to be handed to channels, so a
# sender faster than its peers does not pile up payloads in memory.
SEND_BACKLOG = 8 * 1024 * 1024


def _new_sink(size: int) -> IO[bytes]:
    if size <= SPOOL_ABOVE:
        return io.BytesIO()
    return tempfile.SpooledTemporaryFile(max_size=SPOOL_ABOVE)


# --- one peer connection ---------------------------------------------------------------


@dataclass
class _Connection:
    """An aiortc peer connection and the queue that serialises operations on it."""

    pc: RTCPeerConnection
    peer_id: str
    channel: RTCDataChannel | None = None
    channel_open: bool = False  # the data plane was told this channel opened
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
        downloads: Path | None = None,
        max_file_size: int = DEFAULT_MAX_FILE_SIZE,
        history: bool = True,
    ) -> None:
        """``secret``: only holders of the same secret can join, and the signalling
        service sees nothing but sealed messages (see docs/security.md).
        ``downloads``: the folder files sent to us are saved in (refused without one),
        up to ``max_file_size`` bytes each. ``history``: keep the room's recent chat
        for newcomers, and ask for it on joining (history.py); False: neither."""
        self.name = validate_room(room)
        identity = identity or Identity()
        self.id = identity.client_id
        self.nick = clean_nick(nick)
        self._transport = transport
        self._identity = identity
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
        self._data = d.DataPlane(
            self.id,
            self.nick,
            room=self.name,
            sign=identity.sign,
            key_of=self._protocol.public_key_of,
            heartbeat_interval=self._protocol.timing.heartbeat_interval,
            reconnect_grace=RECONNECT_GRACE,
            new_sink=_new_sink,
        )
        self._channels: dict[str, Channel] = {}
        self._history = HistoryBook(self.name, keep=history)
        self._files = FileTransfers(
            send=self._send_payload,
            peers=self._protocol.open_peers,
            emit=self._events.put_nowait,
            downloads=downloads,
            max_file_size=max_file_size,
            reconnect_grace=RECONNECT_GRACE,
        )
        self._backlog_drained = asyncio.Event()
        self._bad_frame_log = QuietLog(log)
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

    def links(self) -> dict[str, PeerLink]:
        """Each peer with an open data channel: id -> its nick, ICE route and round
        trip, as of now (cheap enough to poll a few times a second for a display)."""
        return {
            peer_id: PeerLink(nick, self._route_to(peer_id), self._data.round_trip(peer_id))
            for peer_id, nick in self.peers.items()
        }

    @property
    def forged_messages(self) -> int:
        """Messages dropped because their author's signature did not verify (sent to
        us, or in the history a peer gave us)."""
        return self._data.forged + self._history.forged

    async def join(self) -> None:
        """Connect to the signalling service and announce ourselves."""
        sctp_sack.install()
        if self._ice.host_addresses is not None:
            restrict_host_addresses(self._ice.host_addresses)
        offered = await self._transport.connect(self._identity)
        if not self._ice.servers and offered:
            # Nothing configured here: use what the broker offers (STUN, TURN).
            self._ice = dataclasses.replace(self._ice, servers=offered)
        # Subscribe first, then start reading, then say hello: a reply cannot be missed.
        for action in self._protocol.start():
            assert isinstance(action, p.Subscribe)
            await self._transport.subscribe(action.topics)
        self._joined = True
        self._history.joined(time.monotonic())
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
        now = time.monotonic()
        sent, actions = self._data.send_chat(text, now, int(time.time() * 1000))
        self._carry(actions)
        self._history.keep(sent.message, self._identity.public_key_b64, now)
        return sent

    async def send_file(self, path: Path | str, to: Iterable[str] | None = None) -> FileTransfer:
        """Offer the file at ``path`` to the peers ``to`` (everyone here by default),
        and stream it to those who accept, from disk, verified by its SHA-256 on
        arrival. Returns at once: watch ``transfer.progress``, ``await
        transfer.wait()``, or the File* events.

        Raises ValueError (not a readable file, nobody here, unknown recipients)."""
        return await self._files.send_file(Path(path), to)

    def channel(self, name: str) -> Channel:
        """The channel ``name`` (1-64 printable characters): send on it, iterate what
        arrives on it. ``"chat"`` is the chat itself; names starting ``meshchat/`` are
        the framework's own. Messages on a channel nobody has asked for are
        acknowledged and dropped: ask before joining to miss none."""
        check_channel_name(name)
        if name.startswith(RESERVED_PREFIX):
            raise ValueError(f"channel names starting {RESERVED_PREFIX!r} are reserved")
        if (channel := self._channels.get(name)) is None:
            channel = self._channels[name] = Channel(name, self._send_payload, self.send)
        return channel

    async def _send_payload(
        self, channel: str, data: object, to: Iterable[str] | None
    ) -> SentPayload:
        while self._data.backlog() > SEND_BACKLOG and not self._closed:
            self._backlog_drained.clear()
            await self._backlog_drained.wait()
        now = time.monotonic()
        sent, actions = self._data.send_payload(channel, data, now, int(time.time() * 1000), to)
        self._carry(actions)
        return sent

    async def events(self) -> AsyncIterator[RoomEvent]:
        """Peer joined, message received, peer left...; ends when the room is left."""
        while (event := await self._events.get()) is not None:
            yield event

    async def leave(self) -> None:
        """Say bye, close every peer connection and the transport."""
        if self._closed:
            return
        self._closed = True
        self._carry(self._data.leave())
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
        await self._files.close()
        self._events.put_nowait(None)
        self._backlog_drained.set()
        for channel in self._channels.values():
            channel.close()

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
                        if connection.channel_open:
                            now = time.monotonic()
                            self._carry(self._data.closed(connection.peer_id, now, said_bye=False))
                        self._spawn(self._shut_down(connection))
                case PeerJoined(peer_id=peer_id):
                    route = self._route_to(peer_id)
                    self._events.put_nowait(dataclasses.replace(action, route=route))
                    self._files.peer_joined(peer_id)
                    if self._history.should_ask(peer_id, time.monotonic()):
                        self._spawn(self._send_history(REQUEST, peer_id))
                case PeerLeft(peer_id=peer_id, said_bye=said_bye):
                    self._events.put_nowait(action)
                    self._carry(self._data.closed(peer_id, time.monotonic(), said_bye=said_bye))
                    self._files.peer_left(peer_id, said_bye=said_bye)
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

    def _carry(self, actions: list[d.DataAction]) -> None:
        """Carry out what the data plane decided."""
        for action in actions:
            match action:
                case d.SendFrame(peer_id=peer_id, frame=frame):
                    self._send_to(peer_id, frame)
                case d.Pump(peer_id=peer_id):
                    self._pump(peer_id)
                case d.FlushAcksAt(when=when):
                    delay = max(0.0, when - time.monotonic())
                    asyncio.get_running_loop().call_later(delay, self._flush_acks)
                case MessageReceived(message=message):
                    # Shown under the nick the peer announced when it joined, whatever
                    # the frame says: a peer cannot post as someone else line by line.
                    nick = self._protocol.nick_of(message.sender) or message.nick
                    shown = dataclasses.replace(message, nick=nick)
                    self._events.put_nowait(MessageReceived(shown))
                    if (key := self._protocol.public_key_of(message.sender)) is not None:
                        self._history.keep(shown, key, time.monotonic())
                    if (chat := self._channels.get(CHAT_CHANNEL)) is not None:
                        chat.deliver(_received_chat(shown))
                case d.PayloadReceived():
                    self._deliver_payload(action)
                case PayloadUndelivered(header=header, peer_id=peer_id, reason=reason) if (
                    header.channel.startswith(RESERVED_PREFIX)
                ):
                    self._files.undelivered(header.id, peer_id, reason)
                case TransferProgress(channel=channel) if channel.startswith(RESERVED_PREFIX):
                    pass  # a file's chunks: the file's own progress is reported instead
                case MessageUndelivered() | PayloadUndelivered() | TransferProgress():
                    self._events.put_nowait(action)
                case d.DropPeer(peer_id=peer_id, reason=reason):
                    log.warning("dropping peer %s: %s", peer_id, reason)
                    if (pc_id := self._protocol.pc_of(peer_id)) is not None:
                        self._apply(self._protocol.misbehaved(pc_id, reason, time.monotonic()))
                case d.PeerSilent(peer_id=peer_id, silence=silence):
                    if (pc_id := self._protocol.pc_of(peer_id)) is not None:
                        self._apply(self._protocol.peer_silent(pc_id, silence))
                case d.PeerSaidBye(peer_id=peer_id):
                    if (pc_id := self._protocol.pc_of(peer_id)) is not None:
                        self._apply(self._protocol.channel_bye(pc_id))
                case d.PeerMisbehaved(peer_id=peer_id, reason=reason):
                    self._bad_frame_log.warning(
                        peer_id, "peer %s sent a bad data channel frame: %s", reason
                    )
                    if (pc_id := self._protocol.pc_of(peer_id)) is not None:
                        self._apply(self._protocol.bad_frame(pc_id, time.monotonic()))
        # Every change to the payload backlog comes through here (frames handed out,
        # payloads for peers that left or never took them dropped): release senders.
        if not self._backlog_drained.is_set() and self._data.backlog() <= SEND_BACKLOG:
            self._backlog_drained.set()

    def _deliver_payload(self, action: d.PayloadReceived) -> None:
        header = action.header
        if header.channel == HISTORY_CHANNEL:
            if action.body is not None:
                action.body.close()  # history is a JSON value, never a stream of bytes
            else:
                self._history_said(header.sender, action.value)
            return
        channel: Channel | FileTransfers | None = self._channels.get(header.channel)
        if header.channel in (FILES_CHANNEL, FILE_DATA_CHANNEL):
            channel = self._files
        if channel is None:
            if action.body is not None:
                action.body.close()
            log.debug("payload on channel %r, which this client has not opened", header.channel)
            return
        nick = self._protocol.nick_of(header.sender) or "anon"
        received = functools.partial(
            Received,
            header.channel,
            header.sender,
            nick,
            header.timestamp_ms,
            header.id,
            kind=header.kind,
            size=header.size,
            sha256=header.sha256,
        )
        if action.body is not None:
            channel.deliver(received(body=action.body))
        else:
            channel.deliver(received(data=action.value))

    def _history_said(self, peer_id: str, value: object) -> None:
        try:
            said = parse_history(value)
        except ProtocolError as error:
            log.info("peer %s sent a bad history message: %s", peer_id, error)
            return
        now = time.monotonic()
        match said:
            case HistoryRequest():
                if (answer := self._history.answer_for(peer_id, now)) is not None:
                    self._spawn(self._send_history(answer, peer_id))
            case HistoryAnswer():
                for message in self._history.believe(peer_id, said, now):
                    self._events.put_nowait(MessageReceived(message, history=True))

    async def _send_history(self, value: object, peer_id: str) -> None:
        try:
            await self._send_payload(HISTORY_CHANNEL, value, (peer_id,))
        except ValueError as error:  # the peer left meanwhile
            log.info("no history for %s: %s", peer_id, error)

    def _pump(self, peer_id: str) -> None:
        """Hand the channel to ``peer_id`` as many payload frames as it takes now."""
        connection = self._connection_to(peer_id)
        channel = connection.channel if connection else None
        if channel is None or channel.readyState != "open":
            return
        self._carry(self._data.pump(peer_id, channel.bufferedAmount, time.monotonic()))

    def _flush_acks(self) -> None:
        if not self._closed:
            self._carry(self._data.flush(time.monotonic()))

    def _connection_to(self, peer_id: str) -> _Connection | None:
        pc_id = self._protocol.pc_of(peer_id)
        return self._connections.get(pc_id) if pc_id is not None else None

    def _send_to(self, peer_id: str, frame: str | bytes) -> None:
        connection = self._connection_to(peer_id)
        channel = connection.channel if connection else None
        if channel is not None and channel.readyState == "open":
            channel.send(frame)

    def _attach_channel(self, pc_id: int, connection: _Connection, channel: RTCDataChannel) -> None:
        connection.channel = channel
        channel.bufferedAmountLowThreshold = LOW_WATER

        @channel.on("bufferedamountlow")
        def on_low() -> None:
            if self._connections.get(pc_id) is connection:
                self._pump(connection.peer_id)

        def on_open() -> None:
            now = time.monotonic()
            self._apply(self._protocol.channel_open(pc_id, now))
            if self._connections.get(pc_id) is connection:
                connection.channel_open = True
                self._carry(self._data.opened(connection.peer_id, now))

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
        now = time.monotonic()
        self._protocol.channel_activity(pc_id, now)
        self._carry(self._data.receive(peer_id, frame, now))

    def _route_to(self, peer_id: str) -> str:
        connection = self._connection_to(peer_id)
        return _selected_route(connection.pc) if connection else "unknown"

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
            # Woken on time for heartbeats and suspicion deadlines, which are what
            # decide how soon a crashed peer is noticed.
            wait = self._data.next_wakeup() - time.monotonic()
            await asyncio.sleep(min(max(wait, 0.0), d.TICK_INTERVAL))
            now = time.monotonic()
            self._apply(self._protocol.tick(now))
            self._carry(self._data.tick(now))


def _received_chat(message: ChatMessage) -> Received:
    return Received(
        CHAT_CHANNEL,
        message.sender,
        message.nick,
        message.timestamp_ms,
        message.id,
        kind="text",
        size=len(message.text.encode()),
        data=message.text,
    )


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
