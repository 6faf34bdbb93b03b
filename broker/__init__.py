"""The bundled pub/sub broker: a websockets server speaking a superset of the y-webrtc
signalling protocol. It knows nothing of WebRTC.

``Broker`` and ``serve`` load the server (websockets) when first used, so that the
command line can read ``Limits`` for its help text without starting anything.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .limits import Limits

if TYPE_CHECKING:
    from .server import Broker, serve

__all__ = ["Broker", "Limits", "serve"]


def __getattr__(name: str) -> Any:
    if name in ("Broker", "serve"):
        from . import server

        return getattr(server, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
