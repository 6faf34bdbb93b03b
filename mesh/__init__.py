"""The protocol core, the transports and the ``Room`` API."""

from .chat import MAX_TEXT_BYTES, ChatMessage, MessageTooLarge
from .events import (
    MessageReceived,
    MessageUndelivered,
    PeerJoined,
    PeerLeft,
    RoomEvent,
    SentMessage,
    SignallingLost,
    SignallingRestored,
)
from .ice import IceConfig, IceServer
from .room import Room
from .transport import Transport, TransportError, TransportMessage
from .websocket_transport import WebSocketTransport

__all__ = [
    "MAX_TEXT_BYTES",
    "ChatMessage",
    "IceConfig",
    "IceServer",
    "MessageReceived",
    "MessageTooLarge",
    "MessageUndelivered",
    "PeerJoined",
    "PeerLeft",
    "Room",
    "RoomEvent",
    "SentMessage",
    "SignallingLost",
    "SignallingRestored",
    "Transport",
    "TransportError",
    "TransportMessage",
    "WebSocketTransport",
]
