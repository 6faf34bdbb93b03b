"""Channels through the Python API, two rooms in one process over the in-memory
transport (real aiortc connections): what applications rely on beyond the bytes."""

from __future__ import annotations

import asyncio

import pytest

from meshchat.mesh import (
    MemoryHub,
    MemoryTransport,
    PayloadTooLarge,
    PayloadUndelivered,
    Room,
    SentPayload,
    TransferProgress,
)
from meshchat.mesh.payload_sender import SEND_BACKLOG

from .processes import EVENT_TIMEOUT
from .rooms import LOOPBACK, full_mesh, next_event

pytestmark = pytest.mark.integration
MIB = 1024 * 1024


async def test_channels_carry_values_bytes_and_chat_with_progress() -> None:
    hub = MemoryHub()
    async with (
        Room(MemoryTransport(hub), "api", nick="ana", ice=LOOPBACK) as ana,
        Room(MemoryTransport(hub), "api", nick="bo", ice=LOOPBACK) as bo,
    ):
        moves, chat = bo.channel("moves"), bo.channel("chat")
        await full_mesh(ana, bo)
        await ana.channel("moves").send({"x": 1})
        await ana.channel("moves").send(bytes(3 * MIB), to=[bo.id])
        await ana.channel("chat").send("and a line")
        async with asyncio.timeout(EVENT_TIMEOUT):
            got = [await anext(aiter(moves)) for _ in range(2)]
            line = await anext(aiter(chat))
        assert got[0].data == {"x": 1} and got[0].sender == ana.id and got[0].nick == "ana"
        assert got[1].size == 3 * MIB and got[1].kind == "bytes"
        assert got[1].data == bytes(3 * MIB)
        assert (line.data, line.kind) == ("and a line", "text")
        progress = await next_event(ana, TransferProgress)
        assert isinstance(progress, TransferProgress) and progress.sending
        with pytest.raises(PayloadTooLarge):
            await ana.channel("moves").send(bytes(64 * MIB + 1))
        with pytest.raises(ValueError, match="not in the room"):
            await ana.channel("moves").send(1, to=["nobody"])
        with pytest.raises(ValueError, match="text"):
            await ana.channel("chat").send(b"bytes")  # type: ignore[arg-type]  # at run time too


async def test_a_sender_held_back_by_its_backlog_is_released_when_the_receiver_leaves() -> None:
    hub = MemoryHub()
    ana = Room(MemoryTransport(hub), "api", nick="ana", ice=LOOPBACK)
    bo = Room(MemoryTransport(hub), "api", nick="bo", ice=LOOPBACK)
    await ana.join()
    await bo.join()
    try:
        await full_mesh(ana, bo)
        files = ana.channel("files")
        first = await files.send(bytes(SEND_BACKLOG + 8 * MIB))  # well over the backlog
        waiting = asyncio.create_task(files.send(b"after the big one"))
        await asyncio.sleep(0.2)
        assert not waiting.done(), "held back while the first is still to go"
        await bo.leave()
        async with asyncio.timeout(EVENT_TIMEOUT):
            sent = await waiting
        assert isinstance(sent, SentPayload) and sent.sending_to == ()
        undelivered = await next_event(ana, PayloadUndelivered)
        assert isinstance(undelivered, PayloadUndelivered)
        assert isinstance(first, SentPayload) and undelivered.header.id == first.id
    finally:
        await ana.leave()
        await bo.leave()
