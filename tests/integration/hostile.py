"""A hostile peer for tests: a real in-process ``Room`` that also writes raw frames.

Everything it sends goes over its real data channel or the real broker; only
the content is the attacker's choice.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from meshchat.mesh import Room
from meshchat.mesh.identity import Identity
from meshchat.mesh.link.chat_frames import ChatMessage, signed_content

from .links import send_raw
from .processes import EVENT_TIMEOUT, MESHCHAT, Broker, stop_process
from .rooms import LOOPBACK

# The identity of each room the tests join, to sign frames of their own making.
IDENTITIES: dict[str, Identity] = {}


def chat_frame(author: Room, text: str, **override: Any) -> str:
    """A chat frame from ``author``, signed with its key over what it says (so only the
    fields the test overrides on purpose make it invalid)."""
    fields: dict[str, Any] = {"type": "chat", "id": os.urandom(8).hex(), "seq": 1}
    fields["from"] = author.id
    fields.update(nick="x", ts=1_700_000_000_000, text=text)
    fields.update(override)
    said = ChatMessage(fields["id"], author.id, "", fields["ts"], fields["text"], fields["seq"])
    fields["sig"] = IDENTITIES[author.id].sign(signed_content(said, author.name))
    return json.dumps(fields)


async def joined_room(broker: Broker, room: str, nick: str) -> Room:
    identity = Identity()
    joined = Room(broker.transport(), room, nick=nick, ice=LOOPBACK, identity=identity)
    IDENTITIES[joined.id] = identity
    await joined.join()
    return joined


async def wait_until_peers(room: Room, *peer_ids: str) -> None:
    async with asyncio.timeout(EVENT_TIMEOUT):
        while not set(peer_ids) <= set(room.peers):
            await asyncio.sleep(0.05)


@dataclass
class TextPeer:
    """``meshchat join`` in its text mode, as a person would run it, stdout captured raw."""

    process: asyncio.subprocess.Process
    output: bytearray = field(default_factory=bytearray)
    stderr_path: Path | None = None
    id: str = ""
    _reader: asyncio.Task[None] | None = None

    @classmethod
    async def start(cls, broker: Broker, room: str, nick: str, *extra: str) -> TextPeer:
        with tempfile.NamedTemporaryFile(prefix=f"meshchat-{nick}-", delete=False) as log:
            process = await asyncio.create_subprocess_exec(
                *MESHCHAT,
                "join",
                room,
                "--nick",
                nick,
                "--host-address",
                "127.0.0.1",
                *broker.join_args,
                *extra,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=log,
            )
        peer = cls(process, stderr_path=Path(log.name))
        peer._reader = asyncio.create_task(peer._read())
        if "--json" in extra:
            peer.id = json.loads(await peer.wait_for(b'"event": "ready"'))["id"]
        else:
            banner = await peer.wait_for(b"* joined ")
            match = re.search(rb"\(([0-9a-f]{32})\)", banner) or re.search(
                rb"your id is ([0-9a-f]{32})", await peer.wait_for(b"your id is ")
            )
            assert match is not None, banner
            peer.id = match.group(1).decode()
        return peer

    async def _read(self) -> None:
        assert self.process.stdout is not None
        while chunk := await self.process.stdout.read(65536):
            self.output += chunk

    def lines(self) -> list[bytes]:
        return bytes(self.output).split(b"\n")

    async def wait_for(self, needle: bytes, within: float = EVENT_TIMEOUT) -> bytes:
        """The first output line containing ``needle``."""
        async with asyncio.timeout(within):
            while True:
                for line in self.lines():
                    if needle in line:
                        return line
                if self.process.returncode is not None:
                    raise AssertionError(f"peer exited: {self.stderr()}")
                await asyncio.sleep(0.05)

    def stderr(self) -> str:
        if self.stderr_path is None or not self.stderr_path.exists():
            return ""
        return self.stderr_path.read_text(errors="replace")

    async def stop(self) -> None:
        await stop_process(self.process, self._reader, self.stderr_path)


async def _same_id_from_two_peers(url: str, room: str) -> None:
    """Run as a process (beside a browser, in its namespace): "eve" and "yara" join,
    and once a third peer (the page) is connected, eve sends it a message with yara's
    nick and then yara sends one with the same id. Prints ``sent`` when done."""
    eve = await joined_room(Broker("meshchat", [], url=url), room, "eve")
    yara = await joined_room(Broker("meshchat", [], url=url), room, "yara")
    async with asyncio.timeout(EVENT_TIMEOUT):
        while not (set(eve.peers) - {yara.id}) or not (set(yara.peers) - {eve.id}):
            await asyncio.sleep(0.05)
    (page,) = set(eve.peers) - {yara.id}
    send_raw(eve, page, chat_frame(eve, "eve's text", id="shared-id", nick="yara"))
    await asyncio.sleep(0.5)
    send_raw(yara, page, chat_frame(yara, "yara's text", id="shared-id"))
    print("sent", flush=True)
    await asyncio.sleep(EVENT_TIMEOUT)


if __name__ == "__main__":
    asyncio.run(_same_id_from_two_peers(*sys.argv[1:3]))
