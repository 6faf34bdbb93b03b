"""A hostile member for the page's tests, run as a process (the browser tests live in a
network namespace): it joins a room, says in its hellos that the room is a crowd, and
once linked to a peer sends it rosters full of hellos of identities it made for nothing.

    python -m tests.integration.roster_liar BROKER_URL ROOM FAKES

Prints ``linked`` once it has a link, ``sent`` once the rosters went; ends on stdin EOF.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

from meshchat.mesh import Room, WebSocketTransport
from meshchat.mesh.identity import Identity
from meshchat.mesh.partial.membership import ROSTER_PER_FRAME
from meshchat.mesh.signalling import protocol as p

from .links import linked_peers, send_raw
from .rooms import LOOPBACK

NICKS = ("alice", "bob", "carol", "admin")


def fake_hellos(room: str, count: int) -> list[dict[str, Any]]:
    """Signed hellos of fresh identities, with real people's nicks."""
    hellos = []
    for n in range(count):
        fake = p.MeshProtocol(room, Identity(), NICKS[n % len(NICKS)])
        fake.start()
        fake.subscribed(time.monotonic())
        assert fake.last_hello is not None
        hellos.append(fake.last_hello)
    return hellos


async def main(url: str, name: str, fakes: int) -> None:
    room = Room(WebSocketTransport(url), name, nick="eve", ice=LOOPBACK)
    room._core.protocol.go_partial()  # its hellos say "crowd": the lie that opens the page
    await room.join()
    while not (linked := linked_peers(room)):
        await asyncio.sleep(0.1)
    print("linked", flush=True)
    hellos = fake_hellos(name, fakes)
    for peer_id in linked:
        for start in range(0, len(hellos), ROSTER_PER_FRAME):
            members = [[hello, 0] for hello in hellos[start : start + ROSTER_PER_FRAME]]
            frame = json.dumps({"type": "roster", "members": members}, separators=(",", ":"))
            send_raw(room, peer_id, frame)
    print("sent", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await room.leave()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
