"""What ``meshchat join`` was asked to do, checked; light to import (no WebRTC), so the
terminal app can be on the screen before the room's machinery has loaded."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from meshchat.mesh.features.file_protocol import DEFAULT_MAX_FILE_SIZE
from meshchat.mesh.identity import Identity
from meshchat.mesh.webrtc.ice import IceConfig
from meshchat.wire.engines import DEFAULT_ENGINE, EngineName


@dataclass(frozen=True, slots=True)
class MqttSettings:
    """Where an MQTT broker is and how to log in (mesh/transports/mqtt.py)."""

    url: str
    username: str | None = None
    password: str | None = None
    prefix: str = "meshchat/"


def mqtt_settings(
    url: str | None, username: str | None, password_file: Path | None, prefix: str
) -> MqttSettings | None:
    """The settings the options give; ValueError, saying why, for a password file that
    cannot be read. The password comes from a file (or MESHCHAT_MQTT_PASSWORD), never
    from the command line, where ``ps`` shows it."""
    if url is None:
        return None
    password = os.environ.get("MESHCHAT_MQTT_PASSWORD") or None
    if password_file is not None:
        try:
            lines = password_file.read_text().splitlines()
        except OSError as error:
            raise ValueError(f"cannot read the MQTT password file: {error.strerror}") from None
        except UnicodeDecodeError:
            raise ValueError("the MQTT password file is not text") from None
        password = lines[0] if lines else ""
    return MqttSettings(url, username, password, prefix)


@dataclass(frozen=True, slots=True)
class JoinOptions:
    room_name: str
    nick: str
    ice: IceConfig
    engine: EngineName = DEFAULT_ENGINE
    transport_kind: str = "broker"
    broker_url: str | None = None  # None: the default one on loopback, embedded
    ably_endpoint: str | None = None
    mqtt: MqttSettings | None = None  # with transport_kind "mqtt"
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
