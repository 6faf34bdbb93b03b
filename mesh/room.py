"""The public API: one client's membership of a chat room.

``Room`` is the thin I/O layer around :class:`~meshchat.mesh.room_core.RoomCore`,
which makes every decision: it feeds the core what the signalling service, the peer
connections (an :class:`~meshchat.mesh.engine.Engine`, aiortc's by default) and the
clock say, and carries out the actions the core returns. One timer, one executor.

    async with Room(WebSocketTransport(url), "lobby", nick="ana") as room:
        await room.send("hi")
        async for event in room.events():
            ...
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import logging
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import IO, Literal, Self, TypeVar

from meshchat.mesh.channel import Channel
from meshchat.mesh.errors import AlreadyJoined, NotJoined, RoomClosed
from meshchat.mesh.events import (
    PeerJoined,
    PeerLeft,
    PeerLink,
    RoomEvent,
    SentMessage,
    SentPayload,
)
from meshchat.mesh.fanout import Fanout
from meshchat.mesh.features.file_protocol import DEFAULT_MAX_FILE_SIZE, RESERVED_PREFIX
from meshchat.mesh.features.file_transfer import FileTransfer, FileTransfers
from meshchat.mesh.identity import Identity
from meshchat.mesh.link import dataplane as d
from meshchat.mesh.link.payloads import check_channel_name
from meshchat.mesh.partial import membership as o
from meshchat.mesh.payload_sender import PayloadSender
from meshchat.mesh.room_actions import (
    Emit,
    FilesPeerJoined,
    FilesPeerLeft,
    FilesUndelivered,
    LinkedPeerJoined,
    RoomAction,
    Send,
    SendPayload,
    ToChannel,
    ToFiles,
    WakeAt,
)
from meshchat.mesh.room_core import RECONNECT_GRACE, RoomCore
from meshchat.mesh.signalling import protocol as p
from meshchat.mesh.signalling.messages import clean_nick, validate_room
from meshchat.mesh.signalling.sealing import RoomSeal
from meshchat.mesh.signalling_io import SignallingIO
from meshchat.mesh.transports.base import (
    ConnectionLost,
    ConnectionRestored,
    Transport,
    TransportEvent,
    TransportMessage,
)
from meshchat.mesh.webrtc import sctp_sack
from meshchat.mesh.webrtc.aiortc_engine import AiortcEngine
from meshchat.mesh.webrtc.ice import IceConfig, restrict_host_addresses

log = logging.getLogger(__name__)

# A payload over this is received into a temporary file, not memory.
SPOOL_ABOVE = 1024 * 1024
LOOPBACK = ("127.0.0.1",)

E = TypeVar("E")


def _new_sink(size: int) -> IO[bytes]:
    if size <= SPOOL_ABOVE:
        return io.BytesIO()
    return tempfile.SpooledTemporaryFile(max_size=SPOOL_ABOVE)


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
        for newcomers, and ask for it on joining (features/history.py); False: neither.
        ``overlay``: when the room stops being a full mesh, and how many links each
        peer then keeps (partial/membership.py). ``ice``: by default, the host's
        addresses, and the broker's STUN/TURN servers; over a transport within this
        process (MemoryTransport), loopback only, process-wide (webrtc/ice.py)."""
        self.name = validate_room(room)
        identity = identity or Identity()
        self.id = identity.client_id
        self.nick = clean_nick(nick)
        self._identity = identity
        if secret is not None and not secret.strip():
            # Never fall back to an open room when the user asked for a sealed one.
            raise ValueError("the room secret is empty; give a secret, or none for an open room")
        seal = RoomSeal(self.name, secret) if secret is not None else None
        self.sealed = seal is not None
        self._core = RoomCore(
            self.name,
            identity,
            self.nick,
            seal=seal,
            timing=timing,
            history=history,
            overlay=overlay,
            new_sink=_new_sink,
            wall_offset=time.time() - time.monotonic(),
        )
        if ice is None:
            ice = IceConfig(host_addresses=LOOPBACK) if transport.in_process else IceConfig()
        self._engine = AiortcEngine(ice, _LinkReports(self))
        self._signalling = SignallingIO(transport, self._signalled)
        self._sender = PayloadSender(self._core, self._engine, self._run)
        self._events: Fanout[RoomEvent] = Fanout()
        self._channels: dict[str, Channel] = {}
        self._files = FileTransfers(
            send=self._sender.send,
            peers=lambda: self.peers,
            emit=self._events.publish,
            downloads=downloads,
            max_file_size=max_file_size,
            reconnect_grace=RECONNECT_GRACE,
        )
        self._sending: set[asyncio.Task[None]] = set()  # keeps the core's sends referenced
        self._timer: asyncio.TimerHandle | None = None
        self._state: Literal["new", "joining", "joined", "closed"] = "new"
        self._join_tried = False  # a failed join() may have left a connection to close

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
        return self._core.peers()

    @property
    def partial(self) -> bool:
        """Whether the room has outgrown a full mesh (partial/membership.py)."""
        return self._core.partial

    def links(self) -> dict[str, PeerLink]:
        """Each peer: id -> its nick, ICE route and round trip, as of now (cheap enough
        to poll a few times a second for a display). A member reached through others
        has the route ``"overlay"``."""
        linked = self._core.linked()
        return {
            peer_id: (
                PeerLink(nick, self._route_to(peer_id), self._core.round_trip(peer_id))
                if peer_id in linked
                else PeerLink(nick, o.OVERLAY_ROUTE, None)
            )
            for peer_id, nick in self.peers.items()
        }

    @property
    def forged_messages(self) -> int:
        """Messages dropped because their author's signature did not verify (sent to
        us, or in the history a peer gave us)."""
        return self._core.forged

    async def join(self) -> None:
        """Connect to the signalling service and announce ourselves. A room joins once:
        raises :class:`~meshchat.mesh.AlreadyJoined` the second time, and
        :class:`~meshchat.mesh.RoomClosed` once left (make a new ``Room``)."""
        if self._state == "closed":
            raise RoomClosed("this room was left; a Room joins once: make a new one")
        if self._state != "new":
            raise AlreadyJoined(f"already joined {self.name!r}")
        self._state, self._join_tried = "joining", True
        try:
            await self._join()
        except BaseException:
            if self._state == "joining":
                self._state = "new"  # nothing announced: it may be tried again
            raise
        if self._state == "joining":  # not left meanwhile
            self._state = "joined"

    async def _join(self) -> None:
        sctp_sack.install()
        ice = self._engine.ice
        if ice.host_addresses is not None:
            restrict_host_addresses(ice.host_addresses)
        offered = await self._signalling.connect(self._identity)
        if not ice.servers and offered:
            # Nothing configured here: use what the broker offers (STUN, TURN).
            self._engine.ice = dataclasses.replace(ice, servers=offered)
        # Subscribe first, then start reading, then say hello: a reply cannot be missed.
        await self._signalling.subscribe(self._core.start())
        self._signalling.start()
        self._run(self._core.subscribed(time.monotonic()))
        self._wake_at(self._core.next_wakeup())

    async def send(self, text: str) -> SentMessage:
        """Send ``text`` to the room: over every open data channel (kept for peers
        whose connection was lost moments ago, and sent when they are back; see
        link/delivery.py), or through the partial mesh.

        Raises :class:`~meshchat.mesh.MessageTooLarge` if the text is over the limit,
        :class:`~meshchat.mesh.NotJoined` before ``join()`` and
        :class:`~meshchat.mesh.RoomClosed` after ``leave()``.
        """
        self._check_joined()
        sent, actions = self._core.send_chat(text, time.monotonic())
        self._run(actions)
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
        self._check_joined()
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
            self._core.read(name)
        return channel

    def events(self) -> AsyncIterator[RoomEvent]:
        """Peer joined, message received, peer left...: every event from this call on
        (with what came while no iterator was listening); ends when the room is left.
        Each iterator gets every event: one that falls 10,000 events behind gets
        :class:`~meshchat.mesh.EventsMissed` in place of those it lost, and the others
        lose nothing."""
        return self._events.iterate()

    def on(
        self, kind: type[E], handler: Callable[[E], Awaitable[None] | None]
    ) -> Callable[[], None]:
        """Call ``handler(event)`` for each event of type ``kind`` (a tuple of types
        too) from now on, as it happens; a coroutine function runs as a task. Returns
        what stops it. A handler that raises is logged and keeps being called."""
        return self._events.on(kind, handler)

    async def wait_for_peers(self, count: int = 1) -> dict[str, str]:
        """Wait until at least ``count`` other peers are in the room, and return
        ``room.peers``; bound it with ``asyncio.timeout``. Raises
        :class:`~meshchat.mesh.RoomClosed` if the room is left meanwhile."""
        self._check_joined()
        changed = asyncio.Event()
        stop = self._events.on((PeerJoined, PeerLeft), lambda _: changed.set())
        try:
            while len(self.peers) < count:
                ended = asyncio.ensure_future(self._events.ended.wait())
                waiting = asyncio.ensure_future(changed.wait())
                try:
                    await asyncio.wait((ended, waiting), return_when=asyncio.FIRST_COMPLETED)
                finally:
                    ended.cancel()
                    waiting.cancel()
                changed.clear()
                self._check_joined()
        finally:
            stop()
        return self.peers

    async def leave(self) -> None:
        """Say bye, close every peer connection and the transport. Leaving twice, or a
        room never joined, is harmless."""
        if self._state == "closed":
            return
        never_joined = self._state == "new" and not self._join_tried
        self._state = "closed"
        if never_joined:
            self._events.close()
            for channel in self._channels.values():
                channel.close()
            return
        self._run(self._core.leave(time.monotonic()))
        if self._timer is not None:
            self._timer.cancel()
        await self._signalling.stop(drain_within=2.0)  # the bye goes out first
        await asyncio.gather(self._engine.close_all(), *self._sending, return_exceptions=True)
        await self._files.close()
        self._core.parts.close()
        self._events.close()
        await self._events.drain_handlers()
        self._sender.close()
        for channel in self._channels.values():
            channel.close()

    def _check_joined(self) -> None:
        if self._state == "closed":
            raise RoomClosed(f"the room {self.name!r} was left")
        if self._state != "joined":
            raise NotJoined(f"join the room {self.name!r} first: await room.join()")

    async def _send_payload(
        self, channel: str, value: object, to: Iterable[str] | None
    ) -> SentPayload:
        self._check_joined()
        return await self._sender.send(channel, value, to)

    # --- the core's own sends ---

    async def _send_quietly(self, action: SendPayload) -> None:
        try:
            await self._sender.send(action.channel, action.value, action.to)
        except ValueError as error:  # the peer left meanwhile
            log.info("nothing sent on %s to %s: %s", action.channel, action.to, error)

    # --- the executor: what the core decided ---

    def _run(self, actions: Sequence[RoomAction]) -> None:
        for action in actions:
            match action:
                case Send(pc_id=pc_id, frame=frame):
                    self._engine.send(pc_id, frame)
                case d.Pump(peer_id=peer_id):
                    self._pump(peer_id)
                case Emit(event=event):
                    self._events.publish(event)
                case ToChannel(received=received):
                    if (channel := self._channels.get(received.channel)) is not None:
                        channel.deliver(received)
                case p.Publish():
                    self._signalling.publish(action)
                case p.CreatePeerConnection(pc_id=pc_id, peer_id=peer_id, caller=caller):
                    self._engine.create_link(pc_id, peer_id, caller)
                case p.SetRemoteDescription(pc_id=pc_id, sdp_type=sdp_type, sdp=sdp):
                    self._engine.set_remote(pc_id, sdp_type, sdp)
                case p.AddRemoteCandidate(pc_id=pc_id, candidate=candidate):
                    self._engine.add_candidate(pc_id, candidate)
                case p.ClosePeerConnection(pc_id=pc_id):
                    self._engine.close(pc_id)
                case LinkedPeerJoined(peer_id=peer_id, nick=nick):
                    self._events.publish(PeerJoined(peer_id, nick, self._route_to(peer_id)))
                case ToFiles(received=received):
                    self._files.deliver(received)
                case FilesPeerJoined(peer_id=peer_id):
                    self._files.peer_joined(peer_id)
                case FilesPeerLeft(peer_id=peer_id, said_bye=said_bye):
                    self._files.peer_left(peer_id, said_bye=said_bye)
                case FilesUndelivered(message_id=message_id, peer_id=peer_id, reason=reason):
                    self._files.undelivered(message_id, peer_id, reason)
                case SendPayload():
                    self._spawn(self._send_quietly(action))
                case WakeAt(when=when):
                    self._wake_at(when)
        # Every change to the payload backlog comes through here (frames handed out,
        # payloads for peers that left or never took them dropped): release senders.
        self._sender.backlog_changed()

    def _pump(self, peer_id: str) -> None:
        """Hand the channel to ``peer_id`` as many payload frames as it takes now."""
        pc_id = self._core.pc_of(peer_id)
        buffered = self._engine.buffered(pc_id) if pc_id is not None else None
        if buffered is not None:
            self._run(self._core.pump(peer_id, buffered, time.monotonic()))

    def _route_to(self, peer_id: str) -> str:
        pc_id = self._core.pc_of(peer_id)
        return self._engine.route(pc_id) if pc_id is not None else "unknown"

    def _spawn(self, coroutine: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    # --- the one timer ---

    def _wake_at(self, when: float) -> None:
        if self._state == "closed" or (self._timer is not None and self._timer.when() <= when):
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer = asyncio.get_running_loop().call_at(when, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        try:
            self._run(self._core.tick(time.monotonic(), time.time()))
        finally:
            # Woken on time for heartbeats and suspicion deadlines, which are what
            # decide how soon a crashed peer is noticed.
            self._wake_at(self._core.next_wakeup())

    def _channel_drained(self, pc_id: int) -> None:
        self._sender.link_drained()
        if (peer_id := self._core.peer_for(pc_id)) is not None:
            self._pump(peer_id)

    # --- the signalling service ---

    def _signalled(self, event: TransportEvent | None) -> None:
        now = time.monotonic()
        match event:
            case TransportMessage(topic=topic, data=data, origin=origin):
                self._run(self._core.on_signal(topic, data, now, origin))
            case ConnectionLost(reason=reason):
                self._run(self._core.signalling_lost(reason))
            case ConnectionRestored(resumed=resumed):
                self._run(self._core.signalling_restored(resumed, now))
            case None:
                self._run(self._core.signalling_closed())


class _LinkReports:
    """What the engine reports (engine.LinkEvents), fed to the room's core: kept off
    ``Room``, whose public names are the application's."""

    def __init__(self, room: Room) -> None:
        self._room = room
        self._core = room._core

    def local_description(self, pc_id: int, sdp_type: str, sdp: str) -> None:
        now = time.monotonic()
        self._room._run(self._core.local_description(pc_id, sdp_type, sdp, now))

    def link_state(self, pc_id: int, state: str) -> None:
        self._room._run(self._core.connection_state(pc_id, state, time.monotonic()))

    def link_error(self, pc_id: int, reason: str) -> None:
        self._room._run(self._core.connection_error(pc_id, reason, time.monotonic()))

    def channel_open(self, pc_id: int) -> None:
        self._room._run(self._core.channel_open(pc_id, time.monotonic()))

    def channel_frame(self, pc_id: int, frame: str | bytes) -> None:
        self._room._run(self._core.on_frame(pc_id, frame, time.monotonic()))

    def channel_drained(self, pc_id: int) -> None:
        self._room._channel_drained(pc_id)

    def channel_closed(self, pc_id: int) -> None:
        self._room._run(self._core.channel_closed(pc_id, time.monotonic()))
