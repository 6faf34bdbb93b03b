"""The ``Room`` API, the room core and the parts it is built from.

    room.py, room_core.py   the driver (I/O) and every decision (sans-I/O)
    signalling/             hello / offer / answer / candidates over pub/sub
    link/                   what is said on one data channel
    partial/                rooms bigger than a full mesh: membership and gossip
    features/               history and files, built on channels
    transports/             pub/sub services: the bundled broker, Ably, in-process
    webrtc/                 the engines behind engine.py's seam: aiortc, libdatachannel

Names are loaded on first use (PEP 562): ``from meshchat.mesh import IceConfig`` or the
events must not pull in aiortc, which takes most of a second to import here. Modules
that lived directly in ``meshchat.mesh`` before the subpackages (``meshchat.mesh.ice``,
``meshchat.mesh.protocol``...) still import, as the module that replaced them.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from meshchat.mesh.channel import Channel, ChatChannel
    from meshchat.mesh.errors import AlreadyJoined, MeshError, NotJoined, RoomClosed, RoomStateError
    from meshchat.mesh.events import (
        EventsMissed,
        FileDelivered,
        FileFailed,
        FileOffered,
        FileProgress,
        FileReceived,
        JsonValue,
        MessageReceived,
        MessageUndelivered,
        PayloadDelivered,
        PayloadUndelivered,
        PeerId,
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
    from meshchat.mesh.features.file_transfer import FileTransfer
    from meshchat.mesh.link.chat_frames import MAX_TEXT_BYTES, ChatMessage, MessageTooLarge
    from meshchat.mesh.link.payloads import MAX_PAYLOAD_BYTES, PayloadHeader, PayloadTooLarge
    from meshchat.mesh.partial.membership import OverlayConfig
    from meshchat.mesh.room import Room
    from meshchat.mesh.signalling.protocol import Timing
    from meshchat.mesh.transports.base import Transport, TransportError, TransportMessage
    from meshchat.mesh.transports.memory import MemoryHub, MemoryTransport
    from meshchat.mesh.transports.websocket import WebSocketTransport
    from meshchat.mesh.webrtc.engines import ENGINES, EngineUnavailable
    from meshchat.mesh.webrtc.ice import IceConfig, IceServer

_MODULE_OF = {
    "AlreadyJoined": "errors",
    "Channel": "channel",
    "ChatChannel": "channel",
    "ENGINES": "webrtc.engines",
    "EngineUnavailable": "webrtc.engines",
    "EventsMissed": "events",
    "ChatMessage": "link.chat_frames",
    "FileDelivered": "events",
    "FileFailed": "events",
    "FileOffered": "events",
    "FileProgress": "events",
    "FileReceived": "events",
    "FileTransfer": "features.file_transfer",
    "IceConfig": "webrtc.ice",
    "IceServer": "webrtc.ice",
    "MAX_PAYLOAD_BYTES": "link.payloads",
    "MAX_TEXT_BYTES": "link.chat_frames",
    "JsonValue": "events",
    "MemoryHub": "transports.memory",
    "MemoryTransport": "transports.memory",
    "MeshError": "errors",
    "MessageReceived": "events",
    "MessageTooLarge": "link.chat_frames",
    "MessageUndelivered": "events",
    "NotJoined": "errors",
    "OverlayConfig": "partial.membership",
    "PayloadHeader": "link.payloads",
    "PayloadTooLarge": "link.payloads",
    "PayloadDelivered": "events",
    "PayloadUndelivered": "events",
    "PeerId": "events",
    "PeerJoined": "events",
    "PeerLeft": "events",
    "PeerLink": "events",
    "Received": "events",
    "Room": "room",
    "RoomClosed": "errors",
    "RoomEvent": "events",
    "RoomStateError": "errors",
    "SentMessage": "events",
    "SentPayload": "events",
    "SignallingLost": "events",
    "SignallingRestored": "events",
    "Timing": "signalling.protocol",
    "TransferProgress": "events",
    "Transport": "transports.base",
    "TransportError": "transports.base",
    "TransportMessage": "transports.base",
    "WebSocketTransport": "transports.websocket",
}


def __getattr__(name: str) -> object:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # found directly from now on
    return value


__all__ = [
    "ENGINES",
    "MAX_PAYLOAD_BYTES",
    "MAX_TEXT_BYTES",
    "AlreadyJoined",
    "Channel",
    "ChatChannel",
    "ChatMessage",
    "EngineUnavailable",
    "EventsMissed",
    "FileDelivered",
    "FileFailed",
    "FileOffered",
    "FileProgress",
    "FileReceived",
    "FileTransfer",
    "IceConfig",
    "IceServer",
    "JsonValue",
    "MemoryHub",
    "MemoryTransport",
    "MeshError",
    "MessageReceived",
    "MessageTooLarge",
    "MessageUndelivered",
    "NotJoined",
    "OverlayConfig",
    "PayloadDelivered",
    "PayloadHeader",
    "PayloadTooLarge",
    "PayloadUndelivered",
    "PeerId",
    "PeerJoined",
    "PeerLeft",
    "PeerLink",
    "Received",
    "Room",
    "RoomClosed",
    "RoomEvent",
    "RoomStateError",
    "SentMessage",
    "SentPayload",
    "SignallingLost",
    "SignallingRestored",
    "Timing",
    "TransferProgress",
    "Transport",
    "TransportError",
    "TransportMessage",
    "WebSocketTransport",
]


# Where each module that once lived directly in this package is now.
_MOVED = {
    "ably_transport": "transports.ably",
    "admission": "signalling.admission",
    "aiortc_engine": "webrtc.aiortc_engine",
    "candidates": "signalling.candidates",
    "chat": "link.chat_frames",
    "codec": "signalling.codec",
    "dataplane": "link.dataplane",
    "delivery": "link.delivery",
    "file_transfer": "features.file_transfer",
    "filenames": "features.filenames",
    "files": "features.file_protocol",
    "gossip": "partial.gossip",
    "history": "features.history",
    "ice": "webrtc.ice",
    "liveness": "link.liveness",
    "memory_transport": "transports.memory",
    "messages": "signalling.messages",
    "overlay": "partial.membership",
    "payloads": "link.payloads",
    "protocol": "signalling.protocol",
    "relayed": "partial.relayed",
    "relayed_parts": "partial.relayed_parts",
    "relayed_receipts": "partial.relayed_receipts",
    "round_trip": "link.round_trip",
    "sctp_sack": "webrtc.sctp_sack",
    "sealing": "signalling.sealing",
    "transfers": "link.in_flight",
    "transport": "transports.base",
    "websocket_transport": "transports.websocket",
}


class _OldPaths(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports ``meshchat.mesh.<old>`` as the very module now at its new path, so code
    written against the flat layout keeps working (one module object, not a copy)."""

    def find_spec(
        self, fullname: str, path: object = None, target: object = None
    ) -> importlib.machinery.ModuleSpec | None:
        package, _, old = fullname.rpartition(".")
        if package != __name__ or old not in _MOVED:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        old = spec.name.rpartition(".")[2]
        return importlib.import_module(f"{__name__}.{_MOVED[old]}")

    def exec_module(self, module: ModuleType) -> None:
        pass  # the module at the new path has run already


if not any(isinstance(finder, _OldPaths) for finder in sys.meta_path):
    sys.meta_path.append(_OldPaths())
