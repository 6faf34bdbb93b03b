"""The bundled pub/sub broker: a websockets server speaking a superset of the y-webrtc
signalling protocol. It knows nothing of WebRTC."""

from .limits import Limits
from .server import Broker, serve

__all__ = ["Broker", "Limits", "serve"]
