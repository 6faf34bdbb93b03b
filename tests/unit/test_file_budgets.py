"""What files sent to us may take: disk space counted across every accepted transfer,
and a transfer that trickles in to hold it fails (the manager of ``features/file_transfer.py``,
driven directly; its chunks and control messages come as the data plane would hand
them over)."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import time
from collections import namedtuple
from pathlib import Path
from typing import Any

import pytest

from meshchat.mesh.events import FileFailed, Received, RoomEvent
from meshchat.mesh.features import file_transfer as ft
from meshchat.mesh.features.file_protocol import (
    CHUNK_BYTES,
    FILE_DATA_CHANNEL,
    FILES_CHANNEL,
    Offer,
    encode_chunk,
    encode_control,
)

MiB = 1024 * 1024
Usage = namedtuple("Usage", "total used free")


def manager(
    tmp_path: Path, sent: list[tuple[str, Any]], events: list[RoomEvent]
) -> ft.FileTransfers:
    async def send(channel: str, data: object, to: Any) -> Any:
        sent.append((channel, data))

    return ft.FileTransfers(
        send=send,
        peers=lambda: {},
        emit=events.append,
        downloads=tmp_path,
        max_file_size=4 * 1024 * MiB,
        reconnect_grace=30.0,
    )


def offer_from(files: ft.FileTransfers, sender: str, transfer: str, size: int) -> None:
    offer = Offer(transfer * 32, f"{sender}.bin", size, "0" * 64)
    control = encode_control(offer)
    files.deliver(
        Received(FILES_CHANNEL, sender, "x", 0, transfer, kind="json", size=1, data=control)
    )


def answers(sent: list[tuple[str, Any]]) -> list[str]:
    return [data["type"] for channel, data in sent if channel == FILES_CHANNEL]


async def test_offers_accepted_together_leave_the_disk_margin_free(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Four 120 MiB offers to a disk with 400 MiB free: each alone fits, together they
    would fill it (before, all four were accepted and a transfer died of ENOSPC)."""
    monkeypatch.setattr(shutil, "disk_usage", lambda path: Usage(400 * MiB, 0, 400 * MiB))
    sent: list[tuple[str, Any]] = []
    events: list[RoomEvent] = []
    files = manager(tmp_path, sent, events)
    for n, sender in enumerate(["a" * 32, "b" * 32, "c" * 32, "d" * 32]):
        offer_from(files, sender, "0123456789abcdef"[n], 120 * MiB)
    await asyncio.sleep(0)  # the answers go out
    assert answers(sent) == ["accept", "accept", "refuse", "refuse"]
    refusals = [e.reason for e in events if isinstance(e, FileFailed)]
    assert refusals == ["refused: not enough disk space"] * 2
    await files.close()


async def test_a_file_trickled_in_fails_after_a_window_and_a_brisk_one_does_not(
    tmp_path: Path,
) -> None:
    sent: list[tuple[str, Any]] = []
    events: list[RoomEvent] = []
    files = manager(tmp_path, sent, events)
    slow, brisk = "a" * 32, "b" * 32
    offer_from(files, slow, "1", 64 * MiB)
    offer_from(files, brisk, "2", 64 * MiB)
    start = files._incoming[slow, "1" * 32].window_from
    chunk = bytes(CHUNK_BYTES)
    for second in range(1, 62):
        now = start + second
        if second % 20 == 0:  # a chunk every 20 s: never silent, far too slow
            offset = (second // 20 - 1) * len(chunk)
            body = encode_chunk("1" * 32, offset, chunk)
            files.deliver(
                Received(
                    FILE_DATA_CHANNEL, slow, "x", 0, "c", kind="bytes", size=len(body), data=body
                )
            )
        body = encode_chunk("2" * 32, (second - 1) * len(chunk), chunk)  # 256 KiB a second
        files.deliver(
            Received(FILE_DATA_CHANNEL, brisk, "x", 0, "c", kind="bytes", size=len(body), data=body)
        )
        files.check_progress(now)
    (failed,) = [e for e in events if isinstance(e, FileFailed)]
    assert failed.peer_id == slow and failed.reason == f"{3 * len(chunk)} bytes arrived in 60 s"
    assert (brisk, "2" * 32) in files._incoming and (slow, "1" * 32) not in files._incoming
    await files.close()


def test_part_files_a_stopped_receiver_left_are_removed_and_live_ones_kept(
    tmp_path: Path,
) -> None:
    stale = tmp_path / "photo.jpg.part"
    stale.write_bytes(b"half")
    live = tmp_path / "video.mp4.part"
    live.write_bytes(b"being written")
    fresh = tmp_path / "new.bin.part"
    fresh.write_bytes(b"")
    kept = tmp_path / "notes.txt"
    kept.write_bytes(b"a finished file")
    old = time.time() - 60
    for path in (stale, live, kept):
        os.utime(path, (old, old))
    holder = subprocess.Popen(  # another receiver, writing video.mp4.part right now
        [sys.executable, "-c", HOLD_AND_WAIT, str(live)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"held\n"
        assert ft.remove_stale_parts(tmp_path) == [stale]
    finally:
        holder.kill()
        holder.wait()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "new.bin.part",
        "notes.txt",
        "video.mp4.part",
    ]
    assert ft.remove_stale_parts(tmp_path) == [live], "its receiver is gone now"


HOLD_AND_WAIT = """
import fcntl, os, sys
descriptor = os.open(sys.argv[1], os.O_RDWR)
fcntl.flock(descriptor, fcntl.LOCK_EX)
print("held", flush=True)
sys.stdin.read()
"""
