"""The protocol core, the transports and the ``Room`` API.

Names are loaded on first use (PEP 562): ``from meshchat.mesh.ice import IceConfig``
or the events must not pull in aiortc, which takes most of a second to import here.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .channel import Channel
    from .chat import MAX_TEXT_BYTES, ChatMessage, MessageTooLarge
    from .events import (
        FileDelivered,
        FileFailed,
        FileOffered,
        FileProgress,
        FileReceived,
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
    from .file_transfer import FileTransfer
    from .ice import IceConfig, IceServer
    from .memory_transport import MemoryHub, MemoryTransport
    from .overlay import OverlayConfig
    from .payloads import MAX_PAYLOAD_BYTES, PayloadHeader, PayloadTooLarge
    from .room import Room
    from .transport import Transport, TransportError, TransportMessage
    from .websocket_transport import WebSocketTransport

_MODULE_OF = {
    "Channel": "channel",
    "ChatMessage": "chat",
    "FileDelivered": "events",
    "FileFailed": "events",
    "FileOffered": "events",
    "FileProgress": "events",
    "FileReceived": "events",
    "FileTransfer": "file_transfer",
    "IceConfig": "ice",
    "IceServer": "ice",
    "MAX_PAYLOAD_BYTES": "payloads",
    "MAX_TEXT_BYTES": "chat",
    "MemoryHub": "memory_transport",
    "MemoryTransport": "memory_transport",
    "MessageReceived": "events",
    "MessageTooLarge": "chat",
    "MessageUndelivered": "events",
    "OverlayConfig": "overlay",
    "PayloadHeader": "payloads",
    "PayloadTooLarge": "payloads",
    "PayloadUndelivered": "events",
    "PeerJoined": "events",
    "PeerLeft": "events",
    "PeerLink": "events",
    "Received": "events",
    "Room": "room",
    "RoomEvent": "events",
    "SentMessage": "events",
    "SentPayload": "events",
    "SignallingLost": "events",
    "SignallingRestored": "events",
    "TransferProgress": "events",
    "Transport": "transport",
    "TransportError": "transport",
    "TransportMessage": "transport",
    "WebSocketTransport": "websocket_transport",
}


def __getattr__(name: str) -> object:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # found directly from now on
    return value


__all__ = [
    "MAX_PAYLOAD_BYTES",
    "MAX_TEXT_BYTES",
    "Channel",
    "ChatMessage",
    "FileDelivered",
    "FileFailed",
    "FileOffered",
    "FileProgress",
    "FileReceived",
    "FileTransfer",
    "IceConfig",
    "IceServer",
    "MemoryHub",
    "MemoryTransport",
    "MessageReceived",
    "MessageTooLarge",
    "MessageUndelivered",
    "OverlayConfig",
    "PayloadHeader",
    "PayloadTooLarge",
    "PayloadUndelivered",
    "PeerJoined",
    "PeerLeft",
    "PeerLink",
    "Received",
    "Room",
    "RoomEvent",
    "SentMessage",
    "SentPayload",
    "SignallingLost",
    "SignallingRestored",
    "TransferProgress",
    "Transport",
    "TransportError",
    "TransportMessage",
    "WebSocketTransport",
]
