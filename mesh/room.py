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
import json
import logging
import tempfile
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Self

from aiortc import RTCDataChannel, RTCPeerConnection, RTCSessionDescription
from aiortc.sdp import candidate_from_sdp

from meshchat.wire.canonical import loads_untrusted
from meshchat.wire.quietlog import QuietLog
from meshchat.wire.ratelimit import TokenBucket

from . import dataplane as d
from . import gossip as g
from . import overlay as o
from . import protocol as p
from . import relayed as r
from . import relayed_parts as rp
from . import relayed_receipts as rr
from . import sctp_sack
from .channel import Channel
from .chat import CHANNEL_LABEL, MAX_FRAME_BYTES, ChatMessage, chat_fields, new_message_id
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
from .payloads import (
    CHAT_CHANNEL,
    PayloadHeader,
    check_channel_name,
    check_json_size,
    decode_json_body,
    encode_body,
    new_header,
)
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

# Frames of the partial mesh (overlay.py, gossip.py); they start with their type.
PRUNE_FRAME = '{"type":"prune"}'
REFUTE_INTERVAL = 15.0  # seconds between our answers to reports that we are gone
PRUNE_GRACE = 2.0  # seconds a pruned link stays open for the prune to reach the peer
OVERLAY_FRAMES = (
    *(f'{{"type":"{kind}"' for kind in g.FRAME_TYPES),
    '{"type":"roster"',
    PRUNE_FRAME,
)
PUBLISH_RATE = 40.0
PUBLISH_BURST = 80.0
RECONNECT_GRACE = 30.0  # seconds a lost peer's messages and files wait for it
RECOVER_SLACK = 8  # envelopes an author may have said between two parts of a payload
STALLED = 2.0  # seconds our own loop stood still: a partial mesh may take us for gone
# A payload over this is received into a temporary file, not memory.
SPOOL_ABOVE = 1024 * 1024
_OWN_CHANNELS = frozenset({FILES_CHANNEL, FILE_DATA_CHANNEL, HISTORY_CHANNEL})  # always read
# send() waits while this many payload bytes are still to be handed to channels, so a
# sender faster than its peers does not pile up payloads in memory.
SEND_BACKLOG = 8 * 1024 * 1024
# Parts of a payload relayed through a partial mesh: at most this many a second (every
# relay forwards them, within its links' envelope budgets, gossip.ENVELOPE_RATE), and
# none while a link's channel holds this many bytes not yet sent.
PART_RATE = 150.0
RELAY_HIGH_WATER = 1024 * 1024


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
        overlay: o.OverlayConfig | None = None,
    ) -> None:
        """``secret``: only holders of the same secret can join, and the signalling
        service sees nothing but sealed messages (see docs/security.md).
        ``downloads``: the folder files sent to us are saved in (refused without one),
        up to ``max_file_size`` bytes each. ``history``: keep the room's recent chat
        for newcomers, and ask for it on joining (history.py); False: neither.
        ``overlay``: when the room stops being a full mesh, and how many links each
        peer then keeps (overlay.py)."""
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
        self._overlay = o.Overlay(self.id, overlay, connections=lambda: len(self._connections))
        self._protocol.accept_link = self._overlay.accept_link
        self._gossip = g.Gossip(
            self.id, self.name, key=identity.public_key_b64, sign=identity.sign, knows=self._knows
        )
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
            wanted=self._reads_channel,
        )
        self._channels: dict[str, Channel] = {}
        self._history = HistoryBook(self.name, keep=history)
        self._files = FileTransfers(
            send=self._send_payload,
            peers=lambda: self.peers,
            emit=self._events.put_nowait,
            downloads=downloads,
            max_file_size=max_file_size,
            reconnect_grace=RECONNECT_GRACE,
        )
        self._backlog_drained = asyncio.Event()
        self._parts = rp.PartAssembler(_new_sink)
        self._receipts = rr.RelayedReceipts()  # for what we relayed to chosen members
        self._relaying = asyncio.Lock()  # one relayed payload of ours at a time, in parts
        self._link_drained = asyncio.Event()  # a channel's buffer fell to LOW_WATER
        self._bad_frame_log = QuietLog(log)
        self._tasks: list[asyncio.Task[None]] = []
        self._closing: set[asyncio.Task[None]] = set()  # keeps close tasks referenced
        self._said_here_at = float("-inf")
        self._vouched: OrderedDict[str, p.Announced] = OrderedDict()  # see _vouch
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
        """The other peers in the room: id -> nickname. In a full mesh, those with an
        open data channel; in a partial one, every member, linked to us or not."""
        if self._overlay.sparse:
            return self._overlay.members()
        return self._protocol.open_peers()

    @property
    def partial(self) -> bool:
        """Whether the room has outgrown a full mesh (overlay.py)."""
        return self._overlay.sparse

    def links(self) -> dict[str, PeerLink]:
        """Each peer: id -> its nick, ICE route and round trip, as of now (cheap enough
        to poll a few times a second for a display). A member reached through others
        has the route ``"overlay"``."""
        linked = self._protocol.open_peers()
        return {
            peer_id: (
                PeerLink(nick, self._route_to(peer_id), self._data.round_trip(peer_id))
                if peer_id in linked
                else PeerLink(nick, o.OVERLAY_ROUTE, None)
            )
            for peer_id, nick in self.peers.items()
        }

    @property
    def forged_messages(self) -> int:
        """Messages dropped because their author's signature did not verify (sent to
        us, or in the history a peer gave us)."""
        return self._data.forged + self._history.forged + self._gossip.forged

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
        timestamp_ms = int(time.time() * 1000)
        if self._overlay.sparse:
            message = self._data.new_chat(text, timestamp_ms)
            _, relay = self._gossip.publish(chat_fields(message), now)
            self._relay(relay)
            sent = SentMessage(message, tuple(sorted(self._gossip.links)))
        else:
            sent, actions = self._data.send_chat(text, now, timestamp_ms)
            self._carry(actions)
        self._history.keep(sent.message, self._identity.public_key_b64, now)
        return sent

    async def send_file(self, path: Path | str, to: Iterable[str] | None = None) -> FileTransfer:
        """Offer the file at ``path`` to the peers ``to`` (everyone here by default),
        and stream it to those who accept, from disk, verified by its SHA-256 on
        arrival. Returns at once: watch ``transfer.progress``, ``await
        transfer.wait()``, or the File* events.

        Raises ValueError (not a readable file, nobody here, unknown recipients). In a
        partial mesh, a file goes straight to a linked recipient and is relayed through
        the room to the others.
        """
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
        timestamp_ms = int(time.time() * 1000)
        recipients = None if to is None else tuple(sorted(set(to)))
        if self._overlay.sparse and not (recipients and set(recipients) <= self._gossip.links):
            return await self._relay_payload(channel, data, recipients, timestamp_ms)
        sent, actions = self._data.send_payload(channel, data, now, timestamp_ms, recipients)
        self._carry(actions)
        return sent

    async def _relay_payload(
        self, channel: str, data: object, to: tuple[str, ...] | None, timestamp_ms: int
    ) -> SentPayload:
        """A payload to the room, or to members not all linked to us, through the
        partial mesh: a JSON value in one envelope if it fits, else in parts."""
        check_channel_name(channel)
        if to is not None:
            if not to:
                raise ValueError("no recipients given")
            if absent := [peer for peer in to if peer not in self.peers]:
                raise ValueError(f"not in the room: {', '.join(absent)}")
        kind, body = encode_body(data)
        if kind == "json":
            check_json_size(channel, len(body))
        message_id = new_message_id()
        header = new_header(self.id, channel, 0, timestamp_ms, kind, body, to or (), message_id)
        if kind == "json":
            value_body = r.value_body(channel, message_id, timestamp_ms, data)
            try:
                _, relay = self._gossip.publish(value_body, time.monotonic(), to or ())
            except ValueError:
                pass  # too big for one envelope: in parts, below
            else:
                self._relay(relay)
                self._carry(self._receipts.sent(header, time.monotonic()))
                return SentPayload(header, tuple(sorted(self._gossip.links)))
        async with self._relaying:
            pace = TokenBucket(PART_RATE, PART_RATE, time.monotonic())
            for index in range(rp.part_count(len(body))):
                await self._room_to_relay(pace)
                part = body[index * rp.PART_BYTES : (index + 1) * rp.PART_BYTES]
                fields = rp.part_body(channel, message_id, timestamp_ms, kind, len(body), index)
                now = time.monotonic()
                self._relay(self._gossip.publish(fields, now, to or (), attachment=part)[1])
        self._carry(self._receipts.sent(header, time.monotonic()))
        return SentPayload(header, tuple(sorted(self._gossip.links)))

    async def _room_to_relay(self, pace: TokenBucket) -> None:
        """Wait for our turn to relay a part: within the rate, and until no link's
        channel is backed up (the room forwards at the pace of our slowest link)."""
        if (delay := pace.reserve(time.monotonic())) > 0:
            await asyncio.sleep(delay)
        while not self._closed and any(
            connection.channel is not None and connection.channel.bufferedAmount > RELAY_HIGH_WATER
            for connection in self._connections.values()
        ):
            self._link_drained.clear()
            with contextlib.suppress(TimeoutError):  # a link that closed drains nothing
                await asyncio.wait_for(self._link_drained.wait(), timeout=0.1)
        if self._closed:
            raise ValueError("the room was left")

    async def events(self) -> AsyncIterator[RoomEvent]:
        """Peer joined, message received, peer left...; ends when the room is left."""
        while (event := await self._events.get()) is not None:
            yield event

    async def leave(self) -> None:
        """Say bye, close every peer connection and the transport."""
        if self._closed:
            return
        self._closed = True
        if self._overlay.sparse:  # the whole room hears it, signalling or not
            self._relay(self._gossip.publish(r.BYE_BODY, time.monotonic())[1])
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
        self._parts.close()
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
                case PeerJoined():
                    self._link_opened(action)
                case PeerLeft():
                    self._link_closed(action)
                case p.Announced(peer_id=peer_id, nick=nick, public_key=key, wire=wire):
                    now, origin = time.monotonic(), action.origin
                    self._steer(self._overlay.hello_heard(peer_id, nick, key, wire, now, origin))
                case p.Departed(peer_id=peer_id):
                    now = time.monotonic()
                    self._steer(self._overlay.left(peer_id, p.SAID_BYE, now, said_bye=True))
                case p.Subscribe():
                    raise AssertionError("subscriptions happen only in join()")

    def _link_opened(self, joined: PeerJoined) -> None:
        """The signalling core opened a data channel to a peer: in a full mesh, a peer
        joined; in a partial one, a link to a member."""
        peer_id, now = joined.peer_id, time.monotonic()
        route = self._route_to(peer_id)
        key = self._protocol.public_key_of(peer_id)
        self._steer(self._overlay.link_up(peer_id, joined.nick, key, now))
        self._relay(self._gossip.link_up(peer_id, now))
        if not self._overlay.sparse:
            self._overlay.told(peer_id)
            self._events.put_nowait(dataclasses.replace(joined, route=route))
            self._files.peer_joined(peer_id)
        if self._history.should_ask(peer_id, now):
            self._spawn(self._send_history(REQUEST, peer_id))

    def _link_closed(self, left: PeerLeft) -> None:
        peer_id, now = left.peer_id, time.monotonic()
        self._gossip.link_down(peer_id)
        if not self._overlay.sparse:
            self._events.put_nowait(left)
            self._overlay.link_down(peer_id, now, silent=False)
        elif left.said_bye:
            self._overlay.link_down(peer_id, now, silent=False)
            self._steer(self._overlay.left(peer_id, left.reason, now, said_bye=True))
        else:
            self._steer(self._overlay.link_down(peer_id, now, silent=left.silent))
        self._carry(self._data.closed(peer_id, now, said_bye=left.said_bye))
        if not self._overlay.sparse:  # else the overlay says when a member leaves
            self._files.peer_left(peer_id, said_bye=left.said_bye)

    def _steer(self, actions: list[o.OverlayAction]) -> None:
        """Carry out what the overlay decided."""
        for action in actions:
            now = time.monotonic()
            match action:
                case o.Link(peer_id=peer_id, nick=nick):
                    self._apply(self._protocol.connect(peer_id, nick, now))
                case o.Prune(peer_id=peer_id):
                    # The peer closes the link on reading this; we close it ourselves
                    # a little later if it did not, never before the frame is out.
                    log.info("pruning the link to %s", peer_id)
                    self._send_to(peer_id, PRUNE_FRAME)
                    self._gossip.link_down(peer_id)
                    pc_id = self._protocol.pc_of(peer_id)
                    asyncio.get_running_loop().call_later(
                        PRUNE_GRACE, self._close_pruned, peer_id, pc_id
                    )
                case o.SendRoster(peer_id=peer_id):
                    self._send_roster(peer_id, now)
                case o.SayHere():
                    self._say_here(now)
                case o.ReportGone(peer_id=peer_id):
                    self._relay(self._gossip.publish(r.gone_body(peer_id), now)[1])
                case o.BecameSparse():
                    log.info("the room outgrew a full mesh: now a partial one")
                    self._protocol.sparse = True
                    self._data.acceptable_pause = self._overlay.config.link_pause
                    self._apply(self._protocol.abandon_attempts())
                case PeerJoined(peer_id=peer_id):
                    self._events.put_nowait(action)
                    self._files.peer_joined(peer_id)
                case PeerLeft(peer_id=peer_id, said_bye=said_bye):
                    self._events.put_nowait(action)
                    self._files.peer_left(peer_id, said_bye=said_bye)
                    self._deliver_assembled(self._parts.forget(peer_id))
                    self._carry(self._receipts.left(peer_id))

    def _close_pruned(self, peer_id: str, pc_id: int | None) -> None:
        if not self._closed and pc_id is not None and self._protocol.pc_of(peer_id) == pc_id:
            self._apply(self._protocol.unlink(peer_id))

    def _unlink(self, peer_id: str) -> None:
        """Close a link that is not a leave (pruned, by us or by the peer)."""
        self._gossip.link_down(peer_id)
        self._overlay.pruned(peer_id, time.monotonic())
        self._apply(self._protocol.unlink(peer_id))

    def _send_roster(self, peer_id: str, now: float) -> None:
        entries = self._overlay.roster(now)
        for start in range(0, len(entries), o.ROSTER_PER_FRAME):
            chunk = entries[start : start + o.ROSTER_PER_FRAME]
            frame = json.dumps({"type": "roster", "members": chunk}, separators=(",", ":"))
            self._send_to(peer_id, frame)

    def _relay(self, actions: list[g.GossipAction]) -> None:
        """Carry out what the gossip core decided."""
        for action in actions:
            match action:
                case d.SendFrame(peer_id=peer_id, frame=frame):
                    self._send_to(peer_id, frame)
                case g.Delivered(envelope=envelope):
                    self._delivered(envelope)
                case d.PeerMisbehaved():
                    self._carry([action])
                case g.Forged(peer_id=peer_id):
                    self._carry([d.DropPeer(peer_id, "it relayed a forged message")])

    def _delivered(self, envelope: g.Envelope) -> None:
        """An envelope for us, in its author's order."""
        now = time.monotonic()
        author = envelope.author
        self._overlay.alive(author, now)
        try:
            said = r.read_body(envelope, self.name)
        except ProtocolError as error:
            log.info("dropped a message relayed from %s: %s", author, error)
            return
        nick = self._overlay.nick_of(author) or self._protocol.nick_of(author) or "anon"
        match said:
            case r.RelayedChat(message=message):
                shown = dataclasses.replace(message, nick=nick)
                self._events.put_nowait(MessageReceived(shown))
                self._history.keep(shown, envelope.key, now)
                if (chat := self._channels.get(CHAT_CHANNEL)) is not None:
                    chat.deliver(_received_chat(shown))
            case r.RelayedValue():
                # Relayed: numbered by gossip, not by a link (seq 0).
                header = PayloadHeader(
                    said.message_id,
                    author,
                    said.channel,
                    0,
                    said.timestamp_ms,
                    "json",
                    said.size,
                    "",
                )
                self._deliver_payload(d.PayloadReceived(header, said.value, None))
                if envelope.to:
                    self._send_receipt(author, said.message_id, now)
            case rp.RelayedPart():
                if said.index > 0 and self._parts.is_new(author, said):
                    # Its first parts came before we heard from the author at all, and
                    # gossip took them for older than us: they are not, ask for them
                    # (a few numbers earlier too: the author may have said more between).
                    first = envelope.n - said.index - RECOVER_SLACK
                    self._gossip.recover(author, first, envelope.n, now)
                addressed = bool(envelope.to)
                try:
                    due = self._parts.add(
                        author, said, envelope.n, now, addressed=addressed, via=envelope.via
                    )
                except ValueError as error:
                    log.info("dropped a payload relayed from %s: %s", author, error)
                else:
                    self._deliver_assembled(due)
            case r.Receipt(message_id=message_id):
                self._receipts.got(message_id, author)
            case r.GoneReport(peer_id=peer_id) if peer_id == self.id:
                self._say_here(now)
            case r.GoneReport(peer_id=peer_id):
                self._steer(self._overlay.reported_gone(peer_id, author, now))
            case r.StillHere(hello=hello):
                vouched = self._vouch(hello)
                if vouched is not None and vouched.peer_id == author:
                    key, nick = vouched.public_key, vouched.nick
                    self._steer(self._overlay.vouched(author, nick, key, hello, now, hearsay=False))
            case r.RelayedBye():
                self._steer(self._overlay.left(author, p.SAID_BYE, now, said_bye=True))

    def _deliver_assembled(self, payloads: list[rp.Assembled]) -> None:
        """Relayed payloads put back together: each as if it had come over a link."""
        for assembled in payloads:
            part = assembled.part
            header = PayloadHeader(
                part.message_id,
                assembled.author,
                part.channel,
                0,
                part.timestamp_ms,
                part.kind,
                part.size,
                assembled.sha256,
            )
            value: object = None
            body: IO[bytes] | None = assembled.body
            if part.kind == "json":
                try:
                    value = decode_json_body(assembled.body.read())
                except ProtocolError as error:
                    log.info("dropped a payload relayed from %s: %s", assembled.author, error)
                    continue
                finally:
                    assembled.body.close()
                body = None
            self._deliver_payload(d.PayloadReceived(header, value, body))
            if assembled.addressed:
                self._send_receipt(assembled.author, part.message_id, time.monotonic())

    def _send_receipt(self, author: str, message_id: str, now: float) -> None:
        """Tell the author of a payload relayed to us (among chosen members) we have it."""
        self._relay(self._gossip.publish(rr.got_body(message_id), now, (author,))[1])

    def _say_here(self, now: float) -> None:
        """Tell the room we are here: on arriving in a partial mesh, and when a link
        took us for gone (we stalled, or it lost the link); once for all such reports
        in a few seconds."""
        hello = self._protocol.last_hello
        if hello is None or now - self._said_here_at < REFUTE_INTERVAL:
            return
        self._said_here_at = now
        self._relay(self._gossip.publish(r.here_body(hello), now)[1])

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

    def _carry(self, actions: Sequence[d.DataAction]) -> None:
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
                    shown = (
                        message if nick == message.nick else dataclasses.replace(message, nick=nick)
                    )
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
                case d.WeStalled(seconds=seconds) if seconds > STALLED and self._overlay.sparse:
                    # Long enough for links to take us for dead: tell the room we are
                    # here before their reports remove us.
                    self._protocol.announce_soon()
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

    def _nick_of(self, peer_id: str) -> str | None:
        """The nick a member announced for itself, if the room knows it."""
        return self._protocol.nick_of(peer_id) or self._overlay.nick_of(peer_id)

    def _knows(self, peer_id: str) -> bool:
        """Whether ``peer_id`` is a member we know (linked, or vouched for)."""
        return self._overlay.nick_of(peer_id) is not None

    def _reads_channel(self, channel: str) -> bool:
        """Whether anything here reads ``channel``: payloads on others are not kept."""
        return channel in self._channels or channel in _OWN_CHANNELS

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
        sender = header.sender
        nick = self._protocol.nick_of(sender) or self._overlay.nick_of(sender) or "anon"
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
                believed = self._history.believe(
                    peer_id, said, now, now_ms=int(time.time() * 1000), nick_of=self._nick_of
                )
                for message in believed:
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
            self._link_drained.set()
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
        if isinstance(frame, str) and frame.startswith(OVERLAY_FRAMES):
            self._on_overlay_frame(peer_id, frame, now)
        elif isinstance(frame, bytes) and g.is_gossip_frame(frame):
            self._relay(self._gossip.receive_binary(peer_id, frame, now))
        else:
            self._carry(self._data.receive(peer_id, frame, now))

    def _on_overlay_frame(self, peer_id: str, frame: str, now: float) -> None:
        """A frame of the partial mesh: relayed messages, gossip, a roster, a prune."""
        try:
            if len(frame) > MAX_FRAME_BYTES:
                raise ProtocolError(f"overlay frame of {len(frame)} bytes")
            wire = loads_untrusted(frame)
            if not isinstance(wire, dict):
                raise ProtocolError("overlay frame is not a JSON object")
        except (ValueError, ProtocolError) as error:
            self._carry([d.PeerMisbehaved(peer_id, str(error))])
            return
        match wire.get("type"):
            case "roster":
                self._on_roster(peer_id, wire.get("members"), now)
            case "prune":
                log.info("%s pruned its link to us", peer_id)
                self._unlink(peer_id)
            case _:
                self._relay(self._gossip.receive(peer_id, wire, frame, now))

    def _on_roster(self, peer_id: str, entries: object, now: float) -> None:
        if not isinstance(entries, list) or len(entries) > o.ROSTER_PER_FRAME:
            self._carry([d.PeerMisbehaved(peer_id, "a roster that is not a short list")])
            return
        self._steer(self._overlay.roster_heard(peer_id))
        if not self._overlay.sparse:
            return  # one link's word does not make the room partial, nor its members
        for entry in entries:
            if not (isinstance(entry, list) and len(entry) == 2):
                continue
            wire, age = entry
            vouched = self._vouch(wire)
            if vouched is None or not isinstance(age, int | float):
                continue  # not a member's own hello: hearsay we cannot check
            self._steer(
                self._overlay.vouched(
                    vouched.peer_id,
                    vouched.nick,
                    vouched.public_key,
                    wire,
                    now,
                    age=float(age),
                    via=peer_id,
                )
            )

    def _vouch(self, wire: object) -> p.Announced | None:
        """A member's signed hello, checked once: every link's roster repeats it."""
        token = wire.get("sig") or wire.get("sealed") if isinstance(wire, dict) else None
        if not isinstance(token, str):
            return None
        if (known := self._vouched.get(token)) is not None:
            self._vouched.move_to_end(token)
            return known
        vouched = self._protocol.vouch(wire)
        if vouched is not None:
            self._vouched[token] = vouched
            if len(self._vouched) > o.MAX_MEMBERS:
                self._vouched.popitem(last=False)
        return vouched

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
        next_overlay_tick = 0.0
        while True:
            # Woken on time for heartbeats and suspicion deadlines, which are what
            # decide how soon a crashed peer is noticed.
            wait = self._data.next_wakeup() - time.monotonic()
            await asyncio.sleep(min(max(wait, 0.0), d.TICK_INTERVAL))
            now = time.monotonic()
            self._apply(self._protocol.tick(now))
            self._carry(self._data.tick(now))
            self._relay(self._gossip.tick(now))
            dropped, due = self._parts.expire(now)
            for payload in dropped:
                log.info("dropped relayed payload %s: its parts stopped coming", payload)
            self._deliver_assembled(due)
            self._carry(self._receipts.expire(now))
            if now >= next_overlay_tick:
                next_overlay_tick = now + 1.0
                self._overlay.own_hello = self._protocol.last_hello
                self._steer(self._overlay.tick(now, busy=self._data.busy_peers()))
                if self._overlay.sparse:
                    self._protocol.hello_floor = self._overlay.hello_floor()


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
