"""Actions about one link that more than one per-link core returns.

The data plane (link/dataplane.py) and gossip (partial/gossip.py) both send frames on a link and
both report a peer whose frames break the rules; the room core (room_core.py) routes
either the same way. They live here so that neither core imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SendFrame:
    """Send ``frame`` on the open data channel to ``peer_id`` (text or binary)."""

    peer_id: str
    frame: str | bytes


@dataclass(frozen=True, slots=True)
class PeerMisbehaved:
    """The peer sent an invalid frame (``reason``); the signalling core counts these and
    drops a peer that keeps at it."""

    peer_id: str
    reason: str
