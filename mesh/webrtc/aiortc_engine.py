"""The room's links over aiortc (the :class:`~meshchat.mesh.engine.Engine` seam).

Each peer connection has one worker that runs its operations in order (aiortc's
descriptions and candidates must not interleave) and one data channel, labelled
``CHANNEL_LABEL``; a channel of any other label is refused.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiortc import RTCDataChannel, RTCPeerConnection, RTCSessionDescription, rtcsctptransport
from aiortc.sdp import candidate_from_sdp

from meshchat.mesh.background import BackgroundTasks
from meshchat.mesh.engine import LinkEvents
from meshchat.mesh.link.chat_frames import CHANNEL_LABEL, MAX_FRAME_BYTES
from meshchat.mesh.link.in_flight import LOW_WATER
from meshchat.mesh.signalling.messages import IceCandidate, ProtocolError
from meshchat.mesh.webrtc import sctp_sack
from meshchat.mesh.webrtc.ice import IceConfig, restrict_host_addresses

log = logging.getLogger(__name__)


@dataclass
class _Connection:
    """An aiortc peer connection and the queue that serialises operations on it."""

    pc: RTCPeerConnection
    peer_id: str
    channel: RTCDataChannel | None = None
    channel_open: bool = False  # the room was told this channel opened
    operations: asyncio.Queue[Callable[[], Awaitable[None]] | None] = field(
        default_factory=asyncio.Queue
    )
    worker: asyncio.Task[None] | None = None


class AiortcEngine:
    """Links over aiortc, configured by ``ice``, reporting to ``events``."""

    def __init__(self, ice: IceConfig, events: LinkEvents) -> None:
        self.ice = ice
        self._events = events
        self._connections: dict[int, _Connection] = {}
        self._closing = BackgroundTasks()

    def prepare(self) -> None:
        sctp_sack.install()
        # Announce the data plane's frame limit (aiortc's own is 256 KiB), as the
        # libdatachannel engine does: an honest peer then refuses a larger message at
        # its end instead of sending what our data plane would refuse. Process-wide.
        rtcsctptransport.LOCAL_MAX_MESSAGE_SIZE = MAX_FRAME_BYTES
        if self.ice.host_addresses is not None:
            restrict_host_addresses(self.ice.host_addresses)  # aioice's: process-wide

    def create_link(self, pc_id: int, peer_id: str, caller: bool) -> None:
        pc = RTCPeerConnection(self.ice.rtc_configuration())
        connection = _Connection(pc, peer_id)
        self._connections[pc_id] = connection
        connection.worker = asyncio.create_task(self._run_operations(pc_id, connection))

        @pc.on("connectionstatechange")
        def on_state() -> None:
            if self._connections.get(pc_id) is connection:
                self._events.link_state(pc_id, pc.connectionState)

        if caller:
            self._attach_channel(pc_id, connection, pc.createDataChannel(CHANNEL_LABEL))
            self._enqueue(pc_id, lambda: self._make_offer(pc_id, pc))
        else:

            @pc.on("datachannel")
            def on_datachannel(channel: RTCDataChannel) -> None:
                if channel.label != CHANNEL_LABEL:
                    log.warning("peer %s opened channel %r", peer_id, channel.label)
                    return
                self._attach_channel(pc_id, connection, channel)

    def set_remote(self, pc_id: int, sdp_type: str, sdp: str) -> None:
        self._enqueue(pc_id, lambda: self._set_remote(pc_id, sdp_type, sdp))

    def add_candidate(self, pc_id: int, candidate: IceCandidate | None) -> None:
        self._enqueue(pc_id, lambda: self._add_candidate(pc_id, candidate))

    def send(self, pc_id: int, frame: str | bytes) -> None:
        connection = self._connections.get(pc_id)
        channel = connection.channel if connection else None
        if channel is not None and channel.readyState == "open":
            channel.send(frame)

    def buffered(self, pc_id: int) -> int | None:
        connection = self._connections.get(pc_id)
        channel = connection.channel if connection else None
        if channel is None or channel.readyState != "open":
            return None
        return int(channel.bufferedAmount)

    def most_buffered(self) -> int:
        return max(
            (
                int(connection.channel.bufferedAmount)
                for connection in self._connections.values()
                if connection.channel is not None
            ),
            default=0,
        )

    def route(self, pc_id: int) -> str:
        connection = self._connections.get(pc_id)
        return _selected_route(connection.pc) if connection else "unknown"

    def close(self, pc_id: int) -> None:
        if (connection := self._connections.pop(pc_id, None)) is not None:
            self._closing.start(self._shut_down(connection))

    async def close_all(self) -> None:
        connections = list(self._connections.values())
        self._connections.clear()
        await asyncio.gather(
            *(self._shut_down(connection) for connection in connections),
            *self._closing.running(),
            return_exceptions=True,
        )

    # --- one connection ---

    def _attach_channel(self, pc_id: int, connection: _Connection, channel: RTCDataChannel) -> None:
        connection.channel = channel
        channel.bufferedAmountLowThreshold = LOW_WATER

        def current() -> bool:
            return self._connections.get(pc_id) is connection

        @channel.on("bufferedamountlow")
        def on_low() -> None:
            if current():
                self._events.channel_drained(pc_id)

        def on_open() -> None:
            if current():
                connection.channel_open = True
                self._events.channel_open(pc_id)

        @channel.on("message")
        def on_message(frame: str | bytes) -> None:
            if current():
                self._events.channel_frame(pc_id, frame)

        @channel.on("close")
        def on_close() -> None:
            if current():
                self._events.channel_closed(pc_id)

        if channel.readyState == "open":  # aiortc hands the callee an already open channel
            on_open()
        else:
            channel.on("open", on_open)

    def _enqueue(self, pc_id: int, operation: Callable[[], Awaitable[None]]) -> None:
        connection = self._connections.get(pc_id)
        if connection is not None:
            connection.operations.put_nowait(operation)

    async def _run_operations(self, pc_id: int, connection: _Connection) -> None:
        while (operation := await connection.operations.get()) is not None:
            try:
                await operation()
            except Exception as error:  # a bad SDP or candidate from the peer
                if self._connections.get(pc_id) is connection:
                    self._events.link_error(pc_id, f"{type(error).__name__}: {error}")

    async def _make_offer(self, pc_id: int, pc: RTCPeerConnection) -> None:
        await pc.setLocalDescription(await pc.createOffer())
        # aiortc has gathered every local candidate by now: they are all in the SDP.
        self._events.local_description(pc_id, "offer", pc.localDescription.sdp)

    async def _set_remote(self, pc_id: int, sdp_type: str, sdp: str) -> None:
        pc = self._connections[pc_id].pc
        await pc.setRemoteDescription(RTCSessionDescription(sdp, sdp_type))
        if sdp_type == "offer":
            await pc.setLocalDescription(await pc.createAnswer())
            self._events.local_description(pc_id, "answer", pc.localDescription.sdp)

    async def _add_candidate(self, pc_id: int, candidate: IceCandidate | None) -> None:
        pc = self._connections[pc_id].pc
        await pc.addIceCandidate(_to_rtc_candidate(candidate))

    async def _shut_down(self, connection: _Connection) -> None:
        connection.operations.put_nowait(None)
        if connection.worker is not None:
            connection.worker.cancel()
        await connection.pc.close()


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
