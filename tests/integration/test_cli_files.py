"""``/send`` in ``meshchat join``, with real processes: JSON events on both sides, a
200 MiB file intact, a chosen recipient, and a sender killed mid-transfer."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .processes import Broker, Peer

pytestmark = pytest.mark.integration
MiB = 1024 * 1024


def write_random(path: Path, size: int) -> str:
    digest = hashlib.sha256()
    with path.open("wb") as file:
        for _ in range(size // MiB):
            block = os.urandom(MiB)
            digest.update(block)
            file.write(block)
        rest = os.urandom(size % MiB)
        digest.update(rest)
        file.write(rest)
    return digest.hexdigest()


async def peers(broker: Broker, tmp_path: Path, *nicks: str) -> list[Peer]:
    started = [
        await Peer.start(broker, "files", nick, "--downloads", str(tmp_path / nick))
        for nick in nicks
    ]
    ids = {p.id for p in started}
    await asyncio.gather(*(p.wait_for_peers(ids - {p.id}) for p in started))
    return started


def is_error(complaint: str, event: dict[str, Any]) -> bool:
    return event["event"] == "error" and complaint in event["message"]


def event(kind: str, **fields: object) -> Callable[[dict[str, Any]], bool]:
    """A predicate: an event of ``kind`` with these field values."""
    return lambda e: e["event"] == kind and all(e.get(k) == v for k, v in fields.items())


async def test_send_a_200_mib_file_and_see_it_on_both_sides(
    meshchat_broker: Broker, tmp_path: Path
) -> None:
    ana, bo = await peers(meshchat_broker, tmp_path, "ana", "bo")
    try:
        source = tmp_path / "big file.bin"
        digest = write_random(source, 200 * MiB)
        await ana.command_line(f'/send "{source}"')
        sending = await ana.wait_for(event("file-sending", name="big file.bin"))
        assert sending["to"] == [bo.id] and sending["sha256"] == digest
        offered = await bo.wait_for(event("file-offered", id=sending["id"]))
        assert offered["from"] == ana.id and offered["size"] == 200 * MiB
        received = await bo.wait_for(event("file-received", id=sending["id"]), within=240)
        assert received["bytes"] == 200 * MiB and received["sha256"] == digest
        assert received["path"] == str(tmp_path / "bo" / "big file.bin")
        await ana.wait_for(event("file-delivered", id=sending["id"], peer=bo.id))
        progress = [e for e in bo.events if e["event"] == "file-progress"]
        assert len(progress) >= 3 and progress[-1]["bytes"] == 200 * MiB
        assert any(e["event"] == "file-progress" and e["sending"] for e in ana.events)
    finally:
        for peer in (ana, bo):
            await peer.stop()


async def test_send_to_one_nick_and_errors_in_plain_words(
    meshchat_broker: Broker, tmp_path: Path
) -> None:
    ana, bo, cy = await peers(meshchat_broker, tmp_path, "ana", "bo", "cy")
    small = await Peer.start(
        meshchat_broker,
        "files",
        "dee",
        "--downloads",
        str(tmp_path / "dee"),
        "--max-file-size",
        "1K",
    )
    await ana.wait_for_peers({small.id})
    try:
        source = tmp_path / "note.txt"
        source.write_text("for cy only")
        await ana.command_line(f"/send {source} cy")
        sending = await ana.wait_for(event("file-sending"))
        assert sending["to"] == [cy.id]
        await cy.wait_for(event("file-received", id=sending["id"]))
        assert (tmp_path / "cy" / "note.txt").read_text() == "for cy only"
        for line, complaint in [
            ("/send", "usage: /send PATH [NICK]"),
            (f"/send {tmp_path / 'missing'}", "is not a file"),
            (f"/send {source} zed", "no peer here is called zed"),
        ]:
            await ana.command_line(line)
            await ana.wait_for(functools.partial(is_error, complaint))
        assert not (tmp_path / "bo").exists()
        big = tmp_path / "big.bin"
        big.write_bytes(bytes(2048))
        await ana.command_line(f"/send {big} dee")
        failed = await ana.wait_for(event("file-failed", peer=small.id))
        assert (
            failed["reason"]
            == "refused: the file is 2048 bytes; this peer takes files up to 1024 bytes"
        )
        assert not (tmp_path / "dee").exists()
    finally:
        for peer in (ana, bo, cy, small):
            await peer.stop()


async def test_a_sender_killed_mid_transfer_fails_it_and_leaves_no_part_file(
    meshchat_broker: Broker, tmp_path: Path
) -> None:
    ana, bo = await peers(meshchat_broker, tmp_path, "ana", "bo")
    try:
        source = tmp_path / "doomed.bin"
        write_random(source, 200 * MiB)
        await ana.command_line(f"/send {source}")
        await bo.wait_for(event("file-progress"))
        assert [p.name for p in (tmp_path / "bo").iterdir()] == ["doomed.bin.part"]
        ana.kill()
        failed = await bo.wait_for(event("file-failed"), within=60)
        assert failed["reason"] == "the sender is gone" and failed["sending"] is False
        assert list((tmp_path / "bo").iterdir()) == []
    finally:
        for peer in (ana, bo):
            await peer.stop()
