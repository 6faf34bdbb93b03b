"""What ``meshchat join`` was asked to do, checked; light to import (no WebRTC), so the
terminal app can be on the screen before the room's machinery has loaded."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from meshchat.mesh.features.file_protocol import DEFAULT_MAX_FILE_SIZE
from meshchat.mesh.identity import Identity
from meshchat.mesh.webrtc.ice import IceConfig


@dataclass(frozen=True, slots=True)
class JoinOptions:
    room_name: str
    nick: str
    ice: IceConfig
    transport_kind: str = "broker"
    broker_url: str | None = None  # None: the default one on loopback, embedded
    ably_endpoint: str | None = None
    secret: str | None = None
    broker_token: str | None = None
    downloads: Path | None = None
    max_file_size: int = DEFAULT_MAX_FILE_SIZE
    history: bool = True  # ask for the room's recent chat, keep it for newcomers
    full_mesh_limit: int = 24  # peers; a bigger room is a partial mesh (mesh/partial/membership.py)
    channels: tuple[str, ...] = ()  # named channels to show what arrives on (line modes)
    identity: Identity | None = None  # a lasting one (--identity); None: fresh every run
    identity_name: str | None = None  # whose contacts to keep (cli/contacts.py)
    remember_contacts: bool = False  # record the key each new nick comes with
