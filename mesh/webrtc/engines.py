"""Which WebRTC engine a room's links run on, by name (the names: wire/engines.py).

``aiortc`` (pure Python, the default, every Python meshchat supports) or
``libdatachannel`` (native, Python 3.12+, ``pip install 'meshchat[fast]'``): the same
protocol on the wire, so peers on either engine and browsers share one room. Engines are
imported only when a room makes one: choosing must not load WebRTC.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from meshchat.mesh.errors import MeshError
from meshchat.wire.engines import (
    DEFAULT_ENGINE,
    ENGINE_VARIABLE,
    ENGINES,
    EngineName,
    check_engine,
)

if TYPE_CHECKING:
    from meshchat.mesh.engine import Engine, LinkEvents
    from meshchat.mesh.webrtc.ice import IceConfig

FAST_EXTRA_HINT = "pip install 'meshchat[fast]' (Python 3.12 or newer)"


class EngineUnavailable(MeshError, RuntimeError):
    """The chosen engine is not installed here (the message says what to install)."""


def default_engine() -> EngineName:
    """``$MESHCHAT_ENGINE`` if set (checked), else aiortc."""
    return check_engine(os.environ.get(ENGINE_VARIABLE) or DEFAULT_ENGINE)


def make_engine(name: EngineName, ice: IceConfig, events: LinkEvents) -> Engine:
    """A new engine of that name; EngineUnavailable if it cannot be loaded here."""
    if name == "libdatachannel":
        try:
            from meshchat.mesh.webrtc.libdatachannel_engine import LibdatachannelEngine
        except ImportError as error:
            raise EngineUnavailable(
                f"the libdatachannel engine is not installed ({error.name or error}): "
                f"{FAST_EXTRA_HINT}"
            ) from None
        return LibdatachannelEngine(ice, events)
    from meshchat.mesh.webrtc.aiortc_engine import AiortcEngine

    return AiortcEngine(ice, events)


__all__ = [
    "DEFAULT_ENGINE",
    "ENGINES",
    "ENGINE_VARIABLE",
    "EngineName",
    "EngineUnavailable",
    "check_engine",
    "default_engine",
    "make_engine",
]
