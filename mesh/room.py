"""The public API: one client's membership of a chat room.

``Room`` is the API over ``RoomCore`` (room_core.py), which makes every decision, and
``RoomDriver`` (room_driver.py), which feeds the core what the signalling service, the
peer connections (an ``Engine``, engine.py: aiortc's by default) and the clock say, and
carries out the actions the core returns: one timer, one executor.

    async with Room(WebSocketTransport(url), "lobby", nick="ana") as room:
        await room.send("hi")
        async for event in room.events():
            ...
"""

from __future__ import annotations

import asyncio
import io
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from pathlib import Path
from typing import IO, Literal, Self, TypeVar, overload

from meshchat.mesh.channel import Channel, ChatChannel, check_application_channel
from meshchat.mesh.errors import AlreadyJoined, NotJoined, RoomClosed
from meshchat.mesh.events import (
    PeerId,
    PeerJoined,
    PeerLeft,
    PeerLink,
    RoomEvent,
    SentMessage,
    SentPayload,
)
from meshchat.mesh.fanout import Fanout
from meshchat.mesh.features.file_protocol import DEFAULT_MAX_FILE_SIZE
from meshchat.mesh.features.file_transfer import FileTransfer
from meshchat.mesh.identity import Identity
from meshchat.mesh.link.payloads import CHAT_CHANNEL
from meshchat.mesh.partial import membership as o
from meshchat.mesh.room_core import RoomCore, recipients
from meshchat.mesh.room_driver import RoomDriver
from meshchat.mesh.signalling import protocol as p
from meshchat.mesh.signalling.messages import clean_nick, validate_room
from meshchat.mesh.signalling.sealing import RoomSeal
from meshchat.mesh.transports.base import (
    Transport,
)
from meshchat.mesh.webrtc.engines import check_engine, default_engine
from meshchat.mesh.webrtc.ice import IceConfig
from meshchat.wire.keys import b64decode
from meshchat.wire.safety_numbers import safety_number

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
        engine: str | None = None,
    ) -> None:
        """``secret``: only holders of the same secret can join, and the signalling
        service sees nothing but sealed messages (see docs/security.md).
        ``downloads``: the folder files sent to us are saved in (refused without one),
        up to ``max_file_size`` bytes each. ``history``: keep the room's recent chat
        for newcomers, and ask for it on joining (features/history.py); False: neither.
        ``overlay``: when the room stops being a full mesh, and how many links each
        peer then keeps (partial/membership.py). ``ice``: by default, the host's
        addresses, and the broker's STUN/TURN servers; over a transport within this
        process (MemoryTransport), loopback only, process-wide (webrtc/ice.py).
        ``engine``: the WebRTC implementation of our links, ``"aiortc"`` or
        ``"libdatachannel"`` (``meshchat[fast]``, Python 3.12+); by default
        ``$MESHCHAT_ENGINE``, else aiortc. Either talks to the other and to browsers.
        ValueError for another name; EngineUnavailable when it is not installed."""
        self.name = validate_room(room)
        self.engine = check_engine(engine) if engine is not None else default_engine()
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
        self._events: Fanout[RoomEvent] = Fanout()
        self._channels: dict[str, Channel | ChatChannel] = {}
        self._driver = RoomDriver(
            self._core,
            transport,
            ice,
            self._events,
            self._channels,
            downloads=downloads,
            max_file_size=max_file_size,
            engine=self.engine,
        )
        self._state: Literal["new", "joining", "joined", "closed"] = "new"
        self._join_tried = False  # a failed join() may have left a connection to close

    # --- public API ---

    async def __aenter__(self) -> Self:
        await self.join()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.leave()

    @property
    def peers(self) -> dict[PeerId, str]:
        """The other peers in the room: id -> nickname. In a full mesh, those with an
        open data channel; in a partial one, every member, linked to us or not."""
        return self._core.peers()

    @property
    def partial(self) -> bool:
        """Whether the room has outgrown a full mesh (partial/membership.py)."""
        return self._core.partial

    def links(self) -> dict[PeerId, PeerLink]:
        """Each peer: id -> its nick, ICE route and round trip, as of now (cheap enough
        to poll a few times a second for a display). A member reached through others
        has the route ``"overlay"``."""
        linked = self._core.linked()
        return {
            peer_id: (
                PeerLink(nick, self._driver.route_to(peer_id), self._core.round_trip(peer_id))
                if peer_id in linked
                else PeerLink(nick, o.OVERLAY_ROUTE, None)
            )
            for peer_id, nick in self.peers.items()
        }

    def public_key_of(self, peer_id: PeerId) -> str | None:
        """The Ed25519 key (base64url) ``peer_id`` proved it signs with, if the room
        knows the peer: what a contact list keeps (its id is the key's hash)."""
        return self._core.public_key_of(peer_id)

    def safety_number(self, peer_id: PeerId) -> str:
        """The 60 digits we and ``peer_id`` share, the same on both sides (docs/
        protocol.md, section 5): if they match what the other person reads out, no one
        sits between the two of you. LookupError for a peer the room holds no key for."""
        key = self.public_key_of(peer_id)
        if key is None:
            raise LookupError(f"no key is known for {peer_id}")
        return safety_number(self._identity.public_key, b64decode(key))

    @property
    def forged_messages(self) -> int:
        """Messages dropped because their author's signature did not verify (sent to
        us, or in the history a peer gave us)."""
        return self._core.forged

    async def join(self) -> None:
        """Connect to the signalling service and announce ourselves. A room joins once:
        raises ``AlreadyJoined`` the second time, and
        ``RoomClosed`` once left (make a new ``Room``)."""
        if self._state == "closed":
            raise RoomClosed("this room was left; a Room joins once: make a new one")
        if self._state != "new":
            raise AlreadyJoined(f"already joined {self.name!r}")
        self._state, self._join_tried = "joining", True
        try:
            await self._driver.start(self._identity)
        except BaseException:
            if self._state == "joining":
                self._state = "new"  # nothing announced: it may be tried again
            raise
        if self._state == "joining":  # not left meanwhile
            self._state = "joined"

    async def send(self, text: str, *, to: Iterable[PeerId] | None = None) -> SentMessage:
        """Send ``text`` to the room: over every open data channel (kept for peers
        whose connection was lost moments ago, and sent when they are back; see
        link/delivery.py), or through the partial mesh.

        With ``to`` (peer ids), a private line: sealed end to end to those members'
        keys, so that no one else, relays in a partial mesh included, can read it; it
        arrives with ``message.private`` set and is never kept in history.

        Raises ``MessageTooLarge`` if the text is over the limit, ValueError for
        recipients not in the room or without a key for private messages (an older
        client), ``NotJoined`` before ``join()`` and ``RoomClosed`` after ``leave()``.
        """
        self._check_joined()
        if to is None:
            sent, actions = self._core.send_chat(text, time.monotonic())
        else:
            chosen = recipients(to)
            assert chosen is not None
            sent, actions = self._core.send_private(text, chosen, time.monotonic())
        self._driver.run(actions)
        return sent

    async def send_file(self, path: Path | str, to: Iterable[PeerId] | None = None) -> FileTransfer:
        """Offer the file at ``path`` to the peers ``to`` (everyone here by default),
        and stream it to those who accept, from disk, verified by its SHA-256 on
        arrival. Returns at once: watch ``transfer.progress``, ``await
        transfer.wait()``, or the File* events.

        Raises ValueError (not a readable file, nobody here, unknown recipients). In a
        partial mesh, a file goes straight to a linked recipient and is relayed through
        the room to the others.
        """
        self._check_joined()
        return await self._driver.files.send_file(Path(path), to)

    # Overlapping on purpose, as typeshed does for open(): the literal "chat" is text.
    @overload
    def channel(self, name: Literal["chat"]) -> ChatChannel: ...  # type: ignore[overload-overlap]
    @overload
    def channel(self, name: str) -> Channel: ...
    def channel(self, name: str) -> Channel | ChatChannel:
        """The channel ``name`` (1-64 printable characters): send on it, iterate what
        arrives on it. ``"chat"`` is the chat itself (a ``ChatChannel`` of
        text); names starting ``meshchat/`` are the framework's own.
        Messages on a channel nobody has asked for are acknowledged and dropped: ask
        before joining to miss none."""
        if (channel := self._channels.get(check_application_channel(name))) is None:
            channel = self._channels[name] = (
                ChatChannel(name, self.send)
                if name == CHAT_CHANNEL
                else Channel(name, self._send_payload, self._events.on)
            )
            self._core.read(name)
        return channel

    def events(self) -> AsyncIterator[RoomEvent]:
        """Peer joined, message received, peer left...: every event from this call on
        (with what came while no iterator was listening); ends when the room is left.
        Each iterator gets every event: one that falls 10,000 events behind gets
        ``EventsMissed`` in place of those it lost, and the others
        lose nothing."""
        return self._events.iterate()

    def on(
        self, kind: type[E], handler: Callable[[E], Awaitable[None] | None]
    ) -> Callable[[], None]:
        """Call ``handler(event)`` for each event of type ``kind`` (a tuple of types
        too) from now on, as it happens; a coroutine function runs as a task. Returns
        what stops it. A handler that raises is logged and keeps being called."""
        return self._events.on(kind, handler)

    async def wait_for_peers(self, count: int = 1) -> dict[PeerId, str]:
        """Wait until at least ``count`` other peers are in the room, and return
        ``room.peers``; bound it with ``asyncio.timeout``. Raises
        ``RoomClosed`` if the room is left meanwhile."""
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
        await self._driver.stop()

    def _check_joined(self) -> None:
        if self._state == "closed":
            raise RoomClosed(f"the room {self.name!r} was left")
        if self._state != "joined":
            raise NotJoined(f"join the room {self.name!r} first: await room.join()")

    async def _send_payload(
        self, channel: str, value: object, to: Iterable[str] | None
    ) -> SentPayload:
        self._check_joined()
        return await self._driver.sender.send(channel, value, to, tracked=True)
