"""White-box reach into a room's engine, for tests that break or abuse one link, on
either engine (both keep ``_connections``: pc id -> a record with ``pc``, ``peer_id``,
``channel`` and ``channel_open``)."""

from __future__ import annotations

from typing import Any, cast

from meshchat.mesh import Room


def connections(room: Room) -> dict[int, Any]:
    """The room's peer connections by pc id, as its engine keeps them."""
    return cast("dict[int, Any]", cast(Any, room._driver.engine)._connections)


def linked_peers(room: Room) -> list[str]:
    """The peers whose data channel to ``room`` is open."""
    return [c.peer_id for c in connections(room).values() if c.channel_open]


def send_raw(room: Room, peer_id: str, frame: str | bytes) -> None:
    """Put ``frame`` on ``room``'s open data channel to ``peer_id``, unchecked."""
    for pc_id, connection in connections(room).items():
        if connection.peer_id == peer_id and connection.channel_open:
            room._driver.engine.send(pc_id, frame)
            return
    raise AssertionError(f"no open channel to {peer_id}")


async def break_link(room: Room) -> None:
    """Close ``room``'s one peer connection under it, as a failing network would."""
    (connection,) = connections(room).values()
    if isinstance(connection.pc, int):  # libdatachannel's id for it
        from meshchat.mesh.webrtc.libdatachannel_engine import _rtc

        _rtc.rtcClosePeerConnection(connection.pc)
    else:
        await connection.pc.close()
