"""The first connection to the broker (WebSocketTransport.connect): nothing listening is
said at once, unless the application expects a broker that starts later
(``wait_for_broker``), and then it is tried again within ``patience``."""

from __future__ import annotations

import asyncio
import time

import pytest

from meshchat.mesh import Room, TransportError, WebSocketTransport

from .processes import free_port, start_meshchat_broker

pytestmark = pytest.mark.integration


async def test_nothing_listening_fails_at_once_by_default() -> None:
    url = f"ws://127.0.0.1:{free_port()}"
    started = time.monotonic()
    with pytest.raises(TransportError, match="cannot reach broker"):
        await Room(WebSocketTransport(url), "early").join()
    assert time.monotonic() - started < 2.0


async def test_a_room_waiting_for_its_broker_joins_once_it_starts() -> None:
    port = free_port()
    retries: list[str] = []
    transport = WebSocketTransport(
        f"ws://127.0.0.1:{port}", wait_for_broker=True, on_retry=retries.append
    )
    room = Room(transport, "early", nick="bot")
    joining = asyncio.create_task(room.join())
    await asyncio.sleep(1.5)
    assert not joining.done() and retries and "trying again for up to 60 s" in retries[0]
    broker = await start_meshchat_broker(port=port)
    try:
        async with asyncio.timeout(10):
            await joining
        async with Room(broker.transport(), "early", nick="late") as other:
            async with asyncio.timeout(30):
                await room.wait_for_peers(1)
            assert room.peers == {other.id: "late"}
    finally:
        await room.leave()
        await broker.stop()


async def test_waiting_for_a_broker_is_bounded_by_patience() -> None:
    url = f"ws://127.0.0.1:{free_port()}"
    retries: list[str] = []
    transport = WebSocketTransport(url, wait_for_broker=True, patience=1.5, on_retry=retries.append)
    started = time.monotonic()
    with pytest.raises(TransportError, match="cannot reach broker"):
        await Room(transport, "early").join()
    # Tried again, and given up before a wait would pass the bound.
    assert retries and time.monotonic() - started <= 1.5 + 1.0
