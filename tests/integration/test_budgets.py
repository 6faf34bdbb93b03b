"""A few members acting together against one victim's budgets, with real processes:
the victim is a real ``meshchat join --json``; the attackers are real in-process Rooms
on the real broker that also write payload frames of their own making."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from meshchat.mesh import Room
from meshchat.mesh.features.file_protocol import FILES_CHANNEL, Offer, encode_control
from meshchat.mesh.link.payloads import (
    MAX_PAYLOAD_BYTES,
    encode_header,
    new_header,
    start_frame,
)
from meshchat.mesh.link.payloads import signed_content as payload_signed_content

from .conftest import PeerFactory
from .hostile import IDENTITIES, joined_room, wait_until_peers
from .links import send_raw
from .processes import EVENT_TIMEOUT, Broker

pytestmark = pytest.mark.integration


def declared_start(
    author: Room,
    to: str,
    seq: int,
    channel: str = "meshchat/files",
    kind: str = "bytes",
    size: int = MAX_PAYLOAD_BYTES,
) -> bytes:
    """The start frame of a payload declaring ``size`` bytes, carrying one byte of it:
    signed by its author, as honest as a frame can be that never finishes."""
    body = b"[" + bytes(size - 1)
    message_id = os.urandom(16).hex()
    ts = 1_780_000_000_000
    header = new_header(author.id, channel, seq, ts, kind, body, (to,), message_id)
    signature = IDENTITIES[author.id].sign(payload_signed_content(header, author.name))
    header = dataclasses.replace(header, signature=signature, nick="x")
    frame, _ = start_frame(encode_header(header), memoryview(b"x"))
    return frame


async def test_four_members_declaring_huge_payloads_cannot_block_an_honest_file(
    meshchat_broker: Broker, spawn_peer: PeerFactory, rooms: list[Room], tmp_path: Path
) -> None:
    """Before, their declarations reserved the victim's whole 512 MiB: an honest 100 KB
    file was never even offered ("no answer to the offer" at its sender)."""
    downloads = tmp_path / "downloads"
    victim = await spawn_peer(meshchat_broker, "budgets", "bob", "--downloads", str(downloads))
    crowd = [await joined_room(meshchat_broker, "budgets", f"eve{n}") for n in range(4)]
    ana = await joined_room(meshchat_broker, "budgets", "ana")
    rooms += [*crowd, ana]
    for room in (*crowd, ana):
        await wait_until_peers(room, victim.id)
    for attacker in crowd:
        for seq in (1000, 1001):
            send_raw(attacker, victim.id, declared_start(attacker, victim.id, seq))
    document = tmp_path / "report.pdf"
    document.write_bytes(os.urandom(100_000))
    transfer = await ana.send_file(document, [victim.id])
    received = await victim.wait_for(lambda e: e["event"] == "file-received", EVENT_TIMEOUT)
    assert received["bytes"] == 100_000
    assert (await transfer.wait()) == {victim.id: "delivered"}


async def test_a_member_announcing_a_huge_json_value_is_dropped_before_its_bytes_come(
    meshchat_broker: Broker, spawn_peer: PeerFactory, rooms: list[Room]
) -> None:
    """Before, three 64 MiB JSON values on a channel nobody opened cost the victim 25 s
    of CPU and 1.7 GB, and its peers took it for gone; the sender was never blamed."""
    victim = await spawn_peer(meshchat_broker, "json", "bob")
    eve = await joined_room(meshchat_broker, "json", "eve")
    ana = await joined_room(meshchat_broker, "json", "ana")
    rooms += [eve, ana]
    for room in (eve, ana):
        await wait_until_peers(room, victim.id)
    start = declared_start(eve, victim.id, 1000, "never-opened", "json", 8 * 1024 * 1024)
    send_raw(eve, victim.id, start)
    left = await victim.wait_for(lambda e: e["event"] == "left" and e["peer"] == eve.id)
    assert "JSON value of 8388608 bytes" in victim.logged()
    await ana.send("still here")
    said = await victim.wait_for(lambda e: e["event"] == "message")
    assert said["text"] == "still here" and left


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 400 MiB filesystem of the test's own (tmpfs), as the attack used."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs needs root")
    folder = tmp_path / "small-disk"
    folder.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=400m", "tmpfs", str(folder)], check=True)
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


async def test_file_offers_accepted_together_leave_the_disk_margin(
    meshchat_broker: Broker, spawn_peer: PeerFactory, rooms: list[Room], small_disk: Path
) -> None:
    """Four 120 MiB offers to a 400 MiB filesystem were all accepted: free space reached
    zero and a transfer failed with 'No space left on device'."""
    victim = await spawn_peer(meshchat_broker, "disk", "bob", "--downloads", str(small_disk))
    senders = [await joined_room(meshchat_broker, "disk", f"s{n}") for n in range(4)]
    rooms += senders
    for sender in senders:
        await wait_until_peers(sender, victim.id)
        offer = Offer(os.urandom(16).hex(), "big.bin", 120 * 1024 * 1024, "0" * 64)
        await sender._driver.sender.send(FILES_CHANNEL, encode_control(offer), [victim.id])
    offered = [await victim.wait_for(offered_by(sender.id)) for sender in senders]
    assert len(offered) == 4

    def refusals() -> list[str]:
        return [e["reason"] for e in victim.events if e["event"] == "file-failed"]

    async with asyncio.timeout(EVENT_TIMEOUT):
        while len(refusals()) < 2:
            await asyncio.sleep(0.1)
    await asyncio.sleep(1.0)  # and no more
    assert refusals() == ["refused: not enough disk space"] * 2, "two fit, with 64 MiB spare"


def offered_by(sender: str) -> Callable[[dict[str, Any]], bool]:
    return lambda e: e["event"] == "file-offered" and e["from"] == sender
