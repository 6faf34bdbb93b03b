"""Pub/sub topic names: one room channel, and one private channel per client.

    meshchat/<room>/global            every member's hellos and byes
    meshchat/<room>/client-<id>       what is addressed to one client (only it may subscribe)

``<room>`` is the room's name, or its tag when the room is sealed.
"""

from __future__ import annotations

import re

_CLIENT_TOPIC = re.compile(r"^meshchat/[^/]+/client-([^/]+)$")


def global_topic(room: str) -> str:
    return f"meshchat/{room}/global"


def client_topic(room: str, client_id: str) -> str:
    return f"meshchat/{room}/client-{client_id}"


def ably_channel(topic: str) -> str:
    """An Ably channel name in the ``meshchat`` namespace (``meshchat/lobby/global`` ->
    ``meshchat:lobby:global``), so a key's capability can be limited to ``meshchat:*``."""
    return topic.replace("/", ":")


def client_id_of(topic: str) -> str | None:
    """The id whose private topic ``topic`` is, or None for any other topic."""
    match = _CLIENT_TOPIC.match(topic)
    return match.group(1) if match else None
