"""``Room``'s public names are the application's: the driver's own callbacks (what
the engine reports, the executor, the timer) stay private."""

from __future__ import annotations

from meshchat.mesh import Room

APPLICATION_API = {
    "channel",
    "events",
    "forged_messages",
    "join",
    "leave",
    "links",
    "on",
    "partial",
    "peers",
    "public_key_of",
    "safety_number",
    "send",
    "send_file",
    "wait_for_peers",
}


def test_room_offers_the_application_api_and_nothing_else() -> None:
    public = {name for name in dir(Room) if not name.startswith("_")}
    assert public == APPLICATION_API
