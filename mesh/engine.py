"""The seam between a room and a WebRTC implementation.

A room needs little of WebRTC: peer connections ("links") numbered by the signalling
core, each with one ordered, reliable data channel. :class:`Engine` is what the driver
calls; :class:`LinkEvents` is what an engine reports back. ``webrtc/aiortc_engine.py`` and
``webrtc/libdatachannel_engine.py`` implement it; ``webrtc/engines.py`` picks one by name.
"""

from __future__ import annotations

from typing import Protocol

from meshchat.mesh.signalling.messages import IceCandidate
from meshchat.mesh.webrtc.ice import IceConfig


class LinkEvents(Protocol):
    """What an engine reports about its links, each as soon as it happens."""

    def local_description(self, pc_id: int, sdp_type: str, sdp: str) -> None:
        """Our offer or answer, with every local candidate in it."""

    def link_state(self, pc_id: int, state: str) -> None:
        """The connection state changed ("connecting", "connected", "failed"...)."""

    def link_error(self, pc_id: int, reason: str) -> None:
        """The peer's description or candidate was refused."""

    def channel_open(self, pc_id: int) -> None: ...

    def channel_frame(self, pc_id: int, frame: str | bytes) -> None: ...

    def channel_drained(self, pc_id: int) -> None:
        """The channel's send buffer fell to its low-water mark."""

    def channel_closed(self, pc_id: int) -> None: ...


class Engine(Protocol):
    """Peer connections, created and driven by the room's driver."""

    # The STUN/TURN servers and host addresses links made from now on use (the driver
    # fills in the broker's servers when none were configured).
    ice: IceConfig

    def prepare(self) -> None:
        """Called once, in the event loop, before the first link."""

    def create_link(self, pc_id: int, peer_id: str, caller: bool) -> None:
        """A new peer connection to ``peer_id``; the caller opens the data channel and
        makes the offer (reported as a local description)."""

    def set_remote(self, pc_id: int, sdp_type: str, sdp: str) -> None:
        """The peer's offer (answered: reported as a local description) or answer."""

    def add_candidate(self, pc_id: int, candidate: IceCandidate | None) -> None:
        """One of the peer's ICE candidates; None: it has no more."""

    def send(self, pc_id: int, frame: str | bytes) -> None:
        """A frame on the link's data channel, if it is open (else nothing)."""

    def buffered(self, pc_id: int) -> int | None:
        """Bytes the link's channel holds unsent; None unless the channel is open."""

    def most_buffered(self) -> int:
        """The most bytes any open channel holds unsent."""

    def route(self, pc_id: int) -> str:
        """The candidate types of the pair ICE chose, "host/host"..., or "unknown"."""

    def close(self, pc_id: int) -> None:
        """Detach the link at once (nothing more is sent or reported) and close it."""

    async def close_all(self) -> None:
        """Close every link, and wait for the closes begun before."""
