"""The errors ``meshchat.mesh`` raises to applications, one family: every one is a
``MeshError`` (and, where it always was, a ValueError too)."""

from __future__ import annotations


class MeshError(Exception):
    """Anything meshchat.mesh raises on purpose."""


class RoomStateError(MeshError, RuntimeError):
    """The room is not in a state to do that. A ``Room`` is used once: made, joined,
    left; to join again, make a new one."""


class NotJoined(RoomStateError):
    """The room has not been joined yet: ``await room.join()`` (or ``async with``)."""


class AlreadyJoined(RoomStateError):
    """``join()`` was called on a room that has joined already."""


class RoomClosed(RoomStateError):
    """The room was left: nothing more can be sent, and it cannot be joined again."""
