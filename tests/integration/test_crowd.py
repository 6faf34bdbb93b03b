"""A crowd arriving at once: joins that meet a broker too busy to answer in time try
again instead of giving up, and a broker whose clients vanish in numbers keeps its log
readable. (The whole crowd, 64 ``meshchat join`` processes started together, is
``python -m bench.crowd_join``: too long for the suite.)"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import struct

import pytest

from meshchat.mesh import TransportError, WebSocketTransport
from meshchat.mesh.identity import Identity

from .processes import (
    EVENT_TIMEOUT,
    MESHCHAT,
    free_port,
    silent_listener,
    start_meshchat_broker,
    stop_process,
)
from .test_broker import masked_text_frame, raw_websocket

pytestmark = pytest.mark.integration


async def test_a_first_connection_that_times_out_is_tried_again_and_said_once() -> None:
    port = free_port()
    silent = await silent_listener(port)
    told: list[str] = []
    transport = WebSocketTransport(
        f"ws://127.0.0.1:{port}", open_timeout=0.5, patience=EVENT_TIMEOUT, on_retry=told.append
    )
    connecting = asyncio.create_task(transport.connect(Identity()))
    async with asyncio.timeout(EVENT_TIMEOUT):
        while not told:
            assert not connecting.done(), connecting.exception()
            await asyncio.sleep(0.05)
    assert told == [
        f"cannot reach broker at ws://127.0.0.1:{port}: timed out during opening handshake;"
        f" trying again for up to {EVENT_TIMEOUT:g} s"
    ]
    silent.close()
    await silent.wait_closed()
    broker = await start_meshchat_broker(port=port)  # it answers at last
    try:
        await asyncio.wait_for(connecting, EVENT_TIMEOUT)
        assert len(told) == 1, "said once, however many tries"
        await transport.close()
    finally:
        await broker.stop()


async def test_patience_runs_out_with_the_reason_and_nothing_listening_is_said_at_once() -> None:
    port = free_port()
    silent = await silent_listener(port)
    try:
        transport = WebSocketTransport(f"ws://127.0.0.1:{port}", open_timeout=0.3, patience=1.5)
        with pytest.raises(TransportError, match="timed out during opening handshake"):
            await asyncio.wait_for(transport.connect(Identity()), EVENT_TIMEOUT)
    finally:
        silent.close()
    nobody = WebSocketTransport(f"ws://127.0.0.1:{free_port()}", patience=EVENT_TIMEOUT)
    with pytest.raises(TransportError, match="cannot reach broker"):
        await asyncio.wait_for(nobody.connect(Identity()), 2.0)  # refused: no waiting


async def test_join_says_in_one_line_that_it_tries_again_then_joins() -> None:
    port = free_port()
    silent = await silent_listener(port)
    url = f"ws://127.0.0.1:{port}"
    process = await asyncio.create_subprocess_exec(
        *MESHCHAT,
        "join",
        "crowd",
        "--nick",
        "ana",
        "--plain",
        "--broker",
        url,
        "--host-address",
        "127.0.0.1",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert process.stdout is not None
    broker = None
    try:
        line = await asyncio.wait_for(process.stdout.readline(), 40)
        assert b"trying again" in line and url.encode() in line, line
        silent.close()
        broker = await start_meshchat_broker(port=port)
        line = await asyncio.wait_for(process.stdout.readline(), EVENT_TIMEOUT)
        assert b"* joined the open room 'crowd'" in line, line
    finally:
        silent.close()
        await stop_process(process, None, None)
        if broker is not None:
            await broker.stop()


def vanish(raw: socket.socket) -> None:
    """Close with a reset, as a killed process's socket does on a busy machine."""
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    raw.close()


async def test_subscribers_that_vanish_at_once_cost_the_broker_no_flood_of_log_lines() -> None:
    """A crowd leaving together: each says bye on the room's topic as the others' sockets
    close. The broker wrote to the closed ones, and asyncio logged every write."""
    broker = await start_meshchat_broker()
    assert broker.process is not None
    port = int(broker.url.rsplit(":", 1)[1])
    subscribe = masked_text_frame({"type": "subscribe", "topics": ["crowd"]})
    ping = masked_text_frame({"type": "ping"})
    publish = masked_text_frame({"type": "publish", "topic": "crowd", "data": "bye"})
    try:
        for _ in range(4):  # how the broker's wake-up orders them varies: a few rounds
            with contextlib.ExitStack() as stack:
                crowd = [stack.enter_context(raw_websocket(port)) for _ in range(40)]
                for raw in crowd:
                    raw.sendall(subscribe + ping)
                    assert raw.recv(4096)  # the pong: subscribed
                # All at once, as a busy broker sees it: it wakes to find half the crowd
                # saying bye, and the other half gone.
                broker.process.send_signal(signal.SIGSTOP)
                for raw in crowd[20:]:
                    raw.sendall(publish)
                for raw in crowd[:20]:
                    vanish(raw)
                broker.process.send_signal(signal.SIGCONT)
                await asyncio.sleep(0.5)
    finally:
        await broker.stop()
    assert broker.process.stderr is not None
    log = (await broker.process.stderr.read()).decode()
    assert "socket.send() raised exception" not in log, log[-3000:]
