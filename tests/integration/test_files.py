"""Files between real aiortc peers over the real broker: every awkward size arrives
intact, to one peer or several; names from strangers are made harmless; limits, bad
digests, broken connections and a departing sender are handled as a user expects."""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import pytest

from meshchat.mesh import (
    FileDelivered,
    FileFailed,
    FileOffered,
    FileProgress,
    FileReceived,
    MessageReceived,
    Room,
    RoomEvent,
)
from meshchat.mesh.features.file_protocol import (
    CHUNK_BYTES,
    FILE_DATA_CHANNEL,
    FILES_CHANNEL,
    Offer,
    encode_chunk,
    encode_control,
)

from .links import break_link
from .processes import EVENT_TIMEOUT, Broker
from .rooms import LOOPBACK, full_mesh

pytestmark = pytest.mark.integration
MiB = 1024 * 1024
E = TypeVar("E")


class Peer:
    """A Room with a downloads folder, and every event it saw."""

    def __init__(self, room: Room, downloads: Path) -> None:
        self.room = room
        self.downloads = downloads
        self.events: list[RoomEvent] = []
        self._task = asyncio.create_task(self._collect())

    async def _collect(self) -> None:
        async for event in self.room.events():
            self.events.append(event)

    def of(self, kind: type[E]) -> list[E]:
        return [e for e in self.events if isinstance(e, kind)]

    async def wait_for(self, kind: type[E], count: int = 1) -> list[E]:
        async with asyncio.timeout(EVENT_TIMEOUT * 4):
            while len(self.of(kind)) < count:
                await asyncio.sleep(0.05)
        return self.of(kind)

    def saved(self) -> list[str]:
        return sorted(os.listdir(self.downloads)) if self.downloads.exists() else []


MakePeers = Callable[..., Awaitable[list[Peer]]]


@pytest.fixture
async def room_of(meshchat_broker: Broker, tmp_path: Path) -> AsyncIterator[MakePeers]:
    """Make peers in one room; all leave at the end."""
    peers: list[Peer] = []

    async def make(*nicks: str, **options: object) -> list[Peer]:
        made = []
        for nick in nicks:
            downloads = tmp_path / f"{nick}-downloads"
            room = Room(
                meshchat_broker.transport(),
                "files",
                nick=nick,
                ice=LOOPBACK,
                downloads=downloads,
                **options,  # type: ignore[arg-type]
            )
            await room.join()
            made.append(Peer(room, downloads))
        peers.extend(made)
        await full_mesh(*(p.room for p in peers))
        return made

    yield make
    for peer in peers:
        await peer.room.leave()


def random_file(folder: Path, name: str, size: int) -> Path:
    path = folder / name
    with path.open("wb") as file:
        remaining = size
        while remaining:
            block = os.urandom(min(remaining, MiB))
            file.write(block)
            remaining -= len(block)
    return path


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while block := file.read(MiB):
            digest.update(block)
    return digest.hexdigest()


async def test_files_of_every_awkward_size_arrive_intact(
    room_of: MakePeers, tmp_path: Path
) -> None:
    ana, bo = await room_of("ana", "bo")
    sizes = [0, 1, CHUNK_BYTES - 1, CHUNK_BYTES, CHUNK_BYTES + 1, 5 * MiB]
    for n, size in enumerate(sizes):
        source = random_file(tmp_path, f"file-{n}.bin", size)
        transfer = await ana.room.send_file(source)
        assert await asyncio.wait_for(transfer.wait(), EVENT_TIMEOUT) == {bo.room.id: "delivered"}
        (received,) = [e for e in bo.of(FileReceived) if e.transfer_id == transfer.id]
        assert received.path == bo.downloads / f"file-{n}.bin"
        assert received.size == size and received.sha256 == sha256_of(source)
        assert sha256_of(received.path) == transfer.sha256
    assert bo.saved() == sorted(f"file-{n}.bin" for n in range(len(sizes)))
    assert len(ana.of(FileDelivered)) == len(sizes)


async def test_a_file_goes_to_everyone_or_to_one_chosen_peer(
    room_of: MakePeers, tmp_path: Path
) -> None:
    ana, bo, cy, di = await room_of("ana", "bo", "cy", "di")
    source = random_file(tmp_path, "shared.bin", 5 * MiB)
    transfer = await ana.room.send_file(source)
    outcomes = await asyncio.wait_for(transfer.wait(), EVENT_TIMEOUT * 2)
    assert outcomes == {p.room.id: "delivered" for p in (bo, cy, di)}
    for peer in (bo, cy, di):
        assert sha256_of(peer.downloads / "shared.bin") == transfer.sha256
    private = random_file(tmp_path, "private.bin", 3 * MiB)
    only_cy = await ana.room.send_file(private, to=[cy.room.id])
    assert await asyncio.wait_for(only_cy.wait(), EVENT_TIMEOUT) == {cy.room.id: "delivered"}
    assert "private.bin" in cy.saved() and "private.bin" not in bo.saved() + di.saved()
    with pytest.raises(ValueError, match="not in the room"):
        await ana.room.send_file(private, to=["f" * 32])


async def offer_raw(sender: Room, to: str, name: str, body: bytes, sha256: str) -> str:
    """What a hostile client can send: any name, any digest, chunks of its choosing."""
    transfer_id = os.urandom(16).hex()
    offer = Offer(transfer_id, name, len(body), sha256)
    await sender._driver.sender.send(FILES_CHANNEL, encode_control(offer), [to])
    await asyncio.sleep(0.5)  # the offer is accepted
    await sender._driver.sender.send(FILE_DATA_CHANNEL, encode_chunk(transfer_id, 0, body), [to])
    return transfer_id


async def test_names_from_strangers_are_made_harmless_and_nothing_is_overwritten(
    room_of: MakePeers,
    tmp_path: Path,
) -> None:
    ana, bo = await room_of("ana", "bo")
    bo.downloads.mkdir()
    (bo.downloads / "evil.sh").write_text("mine")
    hostile = ["../../evil.sh", "/etc/evil.sh", "..\\evil.sh", "CON", "\x1b[2J\x1b]0;owned\x07x"]
    for name in hostile:
        body = name.encode()
        await offer_raw(ana.room, bo.room.id, name, body, hashlib.sha256(body).hexdigest())
    await bo.wait_for(FileReceived, len(hostile))
    assert bo.saved() == sorted(
        ["evil.sh", "evil (1).sh", "evil (2).sh", "evil (3).sh", "_CON", "[2J]0;ownedx"]
    )
    assert (bo.downloads / "evil.sh").read_text() == "mine"
    assert not (tmp_path / "evil.sh").exists()
    names = [e.name for e in bo.of(FileOffered)]
    assert all("\x1b" not in name and "/" not in name for name in names)


async def test_a_file_over_the_limit_is_refused_and_the_sender_told_why(
    room_of: MakePeers,
    tmp_path: Path,
) -> None:
    (ana,) = await room_of("ana")
    (bo,) = await room_of("bo", max_file_size=1000)
    transfer = await ana.room.send_file(random_file(tmp_path, "big.bin", 2000))
    outcome = await asyncio.wait_for(transfer.wait(), EVENT_TIMEOUT)
    assert outcome == {
        bo.room.id: "refused: the file is 2000 bytes; this peer takes files up to 1000 bytes"
    }
    (failed,) = await bo.wait_for(FileFailed)
    assert failed.reason == outcome[bo.room.id]
    assert bo.of(FileOffered) and bo.saved() == []


async def test_a_flood_of_offers_is_not_shown_or_answered(room_of: MakePeers) -> None:
    ana, bo = await room_of("ana", "bo")
    for n in range(60):
        offer = Offer(os.urandom(16).hex(), f"spam {n}.txt", 1, "0" * 64)
        await ana.room._driver.sender.send(FILES_CHANNEL, encode_control(offer), [bo.room.id])
    await asyncio.sleep(2.0)
    offered = len(bo.of(FileOffered))
    assert 10 <= offered <= 13, f"{offered} offers shown"
    assert bo.room.id in ana.room.peers, "nobody was dropped: offers are not misbehaviour"


async def test_bytes_that_do_not_match_the_signed_digest_leave_nothing(room_of: MakePeers) -> None:
    ana, bo = await room_of("ana", "bo")
    await offer_raw(ana.room, bo.room.id, "tampered.bin", b"not what was signed", "0" * 64)
    (failed,) = await bo.wait_for(FileFailed)
    assert "SHA-256" in failed.reason
    assert bo.saved() == []


async def test_a_broken_connection_mid_transfer_resumes_where_it_was(
    room_of: MakePeers,
    tmp_path: Path,
) -> None:
    ana, bo = await room_of("ana", "bo")
    transfer = await ana.room.send_file(random_file(tmp_path, "long.bin", 40 * MiB))
    async with asyncio.timeout(EVENT_TIMEOUT):
        while not any(e.done >= 8 * MiB for e in bo.of(FileProgress)):
            await asyncio.sleep(0.02)
    await break_link(bo.room)
    outcome = await asyncio.wait_for(transfer.wait(), EVENT_TIMEOUT * 4)
    assert outcome == {bo.room.id: "delivered"}
    assert sha256_of(bo.downloads / "long.bin") == transfer.sha256
    done = [e.done for e in bo.of(FileProgress)]
    assert done == sorted(done), "resumed, not started again"
    assert len(bo.of(FileOffered)) == 1


async def test_a_sender_that_leaves_mid_transfer_fails_it_on_both_sides(
    room_of: MakePeers,
    tmp_path: Path,
) -> None:
    ana, bo = await room_of("ana", "bo")
    transfer = await ana.room.send_file(random_file(tmp_path, "abandoned.bin", 60 * MiB))
    await bo.wait_for(FileProgress)
    await ana.room.leave()
    assert transfer.outcomes == {bo.room.id: "we left"}
    (failed,) = await bo.wait_for(FileFailed)
    assert failed.reason == "the sender left"
    assert bo.saved() == [], "the .part file is removed"


async def test_chat_goes_through_during_a_big_transfer(room_of: MakePeers, tmp_path: Path) -> None:
    ana, bo = await room_of("ana", "bo")
    transfer = await ana.room.send_file(random_file(tmp_path, "huge.bin", 100 * MiB))
    await bo.wait_for(FileProgress)
    delays = []
    for n in range(5):
        sent_at = time.monotonic()
        await ana.room.send(f"line {n}")
        async with asyncio.timeout(EVENT_TIMEOUT):
            while len(bo.of(MessageReceived)) <= n:
                await asyncio.sleep(0.01)
        delays.append(time.monotonic() - sent_at)
        await asyncio.sleep(0.3)
    assert not transfer.done, "the transfer was still going"
    assert max(delays) < 1.0, delays
