"""The protocol core, the transports and the ``Room`` API."""

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
from .payloads import MAX_PAYLOAD_BYTES, PayloadHeader, PayloadTooLarge
from .room import Room
from .transport import Transport, TransportError, TransportMessage
from .websocket_transport import WebSocketTransport

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
    "PayloadHeader",
    "PayloadTooLarge",
    "PayloadUndelivered",
    "PeerJoined",
    "PeerLeft",
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
