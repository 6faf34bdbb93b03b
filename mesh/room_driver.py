"""What runs under ``Room``: the one executor of :class:`~meshchat.mesh.room_core.
RoomCore`'s actions, the one timer, and what the peer connections (an
:class:`~meshchat.mesh.engine.Engine`: aiortc's or libdatachannel's) and the signalling
service report, fed to the core. ``Room`` (room.py) is the application's API over it;
nothing here decides.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Sequence
from pathlib import Path

from meshchat.mesh.background import BackgroundTasks
from meshchat.mesh.channel import Channel, ChatChannel
from meshchat.mesh.events import PeerJoined, RoomEvent
from meshchat.mesh.fanout import Fanout
from meshchat.mesh.features.file_transfer import FileTransfers
from meshchat.mesh.identity import Identity
from meshchat.mesh.link import dataplane as d
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
from meshchat.mesh.signalling_io import SignallingIO
from meshchat.mesh.transports.base import (
    ConnectionLost,
    ConnectionRestored,
    Transport,
    TransportEvent,
    TransportMessage,
)
from meshchat.mesh.webrtc.engines import EngineName, make_engine
from meshchat.mesh.webrtc.ice import IceConfig

log = logging.getLogger(__name__)


class RoomDriver:
    """Carries out what ``core`` decides for one room."""

    def __init__(
        self,
        core: RoomCore,
        transport: Transport,
        ice: IceConfig,
        events: Fanout[RoomEvent],
        channels: dict[str, Channel | ChatChannel],
        *,
        downloads: Path | None,
        max_file_size: int,
        engine: EngineName,
    ) -> None:
        """``events``: where the room's events go; ``channels``: the room's channels
        by name (the application's, read here to deliver)."""
        self.core = core
        self.events = events
        self.channels = channels
        self.engine = make_engine(engine, ice, _LinkReports(self))
        self.signalling = SignallingIO(transport, self._signalled)
        self.sender = PayloadSender(core, self.engine, self.run)
        self.files = FileTransfers(
            send=self.sender.send,
            peers=core.peers,
            emit=events.publish,
            downloads=downloads,
            max_file_size=max_file_size,
            reconnect_grace=RECONNECT_GRACE,
        )
        self._sending = BackgroundTasks()  # the core's sends
        self._timer: asyncio.TimerHandle | None = None
        self._stopped = False

    async def start(self, identity: Identity) -> None:
        """Connect to the signalling service and announce ourselves."""
        self.engine.prepare()
        ice = self.engine.ice
        offered = await self.signalling.connect(identity)
        if not ice.servers and offered:
            # Nothing configured here: use what the broker offers (STUN, TURN).
            self.engine.ice = dataclasses.replace(ice, servers=offered)
        # Subscribe first, then start reading, then say hello: a reply cannot be missed.
        await self.signalling.subscribe(self.core.start())
        self.signalling.start()
        self.run(self.core.subscribed(time.monotonic()))
        self.wake_at(self.core.next_wakeup())

    async def stop(self) -> None:
        """Say bye, close every peer connection and the transport, end every listener."""
        self._stopped = True
        self.run(self.core.leave(time.monotonic()))
        if self._timer is not None:
            self._timer.cancel()
        await self.signalling.stop(drain_within=2.0)  # the bye goes out first
        await asyncio.gather(
            self.engine.close_all(), *self._sending.running(), return_exceptions=True
        )
        await self.files.close()
        self.core.parts.close()
        self.events.close()
        await self.events.drain_handlers()
        self.sender.close()
        for channel in self.channels.values():
            channel.close()

    # --- the core's own sends ---

    async def _send_quietly(self, action: SendPayload) -> None:
        try:
            await self.sender.send(action.channel, action.value, action.to)
        except ValueError as error:  # the peer left meanwhile
            log.info("nothing sent on %s to %s: %s", action.channel, action.to, error)

    # --- the executor: what the core decided ---

    def run(self, actions: Sequence[RoomAction]) -> None:
        for action in actions:
            match action:
                case Send(pc_id=pc_id, frame=frame):
                    self.engine.send(pc_id, frame)
                case d.Pump(peer_id=peer_id):
                    self.pump(peer_id)
                case Emit(event=event):
                    self.sender.outcomes.observe(event)  # before any listener looks
                    self.events.publish(event)
                case ToChannel(received=received):
                    if (channel := self.channels.get(received.channel)) is not None:
                        channel.deliver(received)
                case p.Publish():
                    self.signalling.publish(action)
                case p.CreatePeerConnection(pc_id=pc_id, peer_id=peer_id, caller=caller):
                    self.engine.create_link(pc_id, peer_id, caller)
                case p.SetRemoteDescription(pc_id=pc_id, sdp_type=sdp_type, sdp=sdp):
                    self.engine.set_remote(pc_id, sdp_type, sdp)
                case p.AddRemoteCandidate(pc_id=pc_id, candidate=candidate):
                    self.engine.add_candidate(pc_id, candidate)
                case p.ClosePeerConnection(pc_id=pc_id):
                    self.engine.close(pc_id)
                case LinkedPeerJoined(peer_id=peer_id, nick=nick):
                    self.events.publish(PeerJoined(peer_id, nick, self.route_to(peer_id)))
                case ToFiles(received=received):
                    self.files.deliver(received)
                case FilesPeerJoined(peer_id=peer_id):
                    self.files.peer_joined(peer_id)
                case FilesPeerLeft(peer_id=peer_id, said_bye=said_bye):
                    self.files.peer_left(peer_id, said_bye=said_bye)
                case FilesUndelivered(message_id=message_id, peer_id=peer_id, reason=reason):
                    self.files.undelivered(message_id, peer_id, reason)
                case SendPayload():
                    self._sending.start(self._send_quietly(action))
                case WakeAt(when=when):
                    self.wake_at(when)
        # Every change to the payload backlog comes through here (frames handed out,
        # payloads for peers that left or never took them dropped): release senders.
        self.sender.backlog_changed()

    def pump(self, peer_id: str) -> None:
        """Hand the channel to ``peer_id`` as many payload frames as it takes now."""
        pc_id = self.core.pc_of(peer_id)
        buffered = self.engine.buffered(pc_id) if pc_id is not None else None
        if buffered is not None:
            self.run(self.core.pump(peer_id, buffered, time.monotonic()))

    def route_to(self, peer_id: str) -> str:
        pc_id = self.core.pc_of(peer_id)
        return self.engine.route(pc_id) if pc_id is not None else "unknown"

    # --- the one timer ---

    def wake_at(self, when: float) -> None:
        if self._stopped or (self._timer is not None and self._timer.when() <= when):
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer = asyncio.get_running_loop().call_at(when, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        try:
            self.run(self.core.tick(time.monotonic(), time.time()))
        finally:
            # Woken on time for heartbeats and suspicion deadlines, which are what
            # decide how soon a crashed peer is noticed.
            self.wake_at(self.core.next_wakeup())

    def channel_drained(self, pc_id: int) -> None:
        self.sender.link_drained()
        if (peer_id := self.core.peer_for(pc_id)) is not None:
            self.pump(peer_id)

    # --- the signalling service ---

    def _signalled(self, event: TransportEvent | None) -> None:
        now = time.monotonic()
        match event:
            case TransportMessage(topic=topic, data=data, origin=origin):
                self.run(self.core.on_signal(topic, data, now, origin))
            case ConnectionLost(reason=reason):
                self.run(self.core.signalling_lost(reason))
            case ConnectionRestored(resumed=resumed):
                self.run(self.core.signalling_restored(resumed, now))
            case None:
                self.run(self.core.signalling_closed())


class _LinkReports:
    """What the engine reports (engine.LinkEvents), fed to the room's core."""

    def __init__(self, driver: RoomDriver) -> None:
        self._driver = driver
        self._core = driver.core

    def local_description(self, pc_id: int, sdp_type: str, sdp: str) -> None:
        now = time.monotonic()
        self._driver.run(self._core.local_description(pc_id, sdp_type, sdp, now))

    def link_state(self, pc_id: int, state: str) -> None:
        self._driver.run(self._core.connection_state(pc_id, state, time.monotonic()))

    def link_error(self, pc_id: int, reason: str) -> None:
        self._driver.run(self._core.connection_error(pc_id, reason, time.monotonic()))

    def channel_open(self, pc_id: int) -> None:
        self._driver.run(self._core.channel_open(pc_id, time.monotonic()))

    def channel_frame(self, pc_id: int, frame: str | bytes) -> None:
        self._driver.run(self._core.on_frame(pc_id, frame, time.monotonic()))

    def channel_drained(self, pc_id: int) -> None:
        self._driver.channel_drained(pc_id)

    def channel_closed(self, pc_id: int) -> None:
        self._driver.run(self._core.channel_closed(pc_id, time.monotonic()))
