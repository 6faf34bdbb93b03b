"""The WebRTC engines' names: what ``--engine``, ``$MESHCHAT_ENGINE`` and ``Room(engine=)``
accept. Here, not in mesh/, so the command line can offer them without loading mesh."""

from __future__ import annotations

from typing import Literal

EngineName = Literal["aiortc", "libdatachannel"]
ENGINES: tuple[EngineName, ...] = ("aiortc", "libdatachannel")
DEFAULT_ENGINE: EngineName = "aiortc"
# Read when a Room is given no engine: lets a deployment (or a test run) switch every
# room of a program without touching its code.
ENGINE_VARIABLE = "MESHCHAT_ENGINE"


def check_engine(name: str) -> EngineName:
    """``name`` as an engine's name; ValueError names the choices."""
    for engine in ENGINES:
        if name == engine:
            return engine
    raise ValueError(f"unknown WebRTC engine {name!r}: expected one of {', '.join(ENGINES)}")
