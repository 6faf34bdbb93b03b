"""``meshchat join``: a chat room in the terminal, or as JSON lines for scripts."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import threading

import click
from websockets.asyncio.server import Server

from meshchat.broker import serve
from meshchat.mesh import IceConfig, MessageTooLarge, Room, TransportError
from meshchat.mesh.websocket_transport import broker_is_listening

from .output import Printer
from .transports import make_transport

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
DEFAULT_BROKER_URL = f"ws://{DEFAULT_HOST}:{DEFAULT_PORT}"


async def run_join(
    room_name: str,
    nick: str,
    json_mode: bool,
    ice: IceConfig,
    *,
    transport_kind: str = "broker",
    broker_url: str | None = None,
    ably_endpoint: str | None = None,
    secret: str | None = None,
) -> None:
    printer = Printer(json_mode)
    url = broker_url or DEFAULT_BROKER_URL
    embedded = None
    if transport_kind == "broker" and broker_url is None and not await broker_is_listening(url):
        embedded = await _start_embedded_broker()
    try:
        transport, where = make_transport(transport_kind, url, ably_endpoint)
        room = Room(transport, room_name, nick=nick, ice=ice, secret=secret)
        await room.join()
    except (TransportError, ValueError) as error:
        raise click.ClickException(str(error)) from None
    printer.ready(room.name, room.id, room.nick, where, embedded is not None)
    try:
        await _chat(room, printer)
    finally:
        await room.leave()
        if embedded is not None:
            embedded.close()
            await embedded.wait_closed()


async def _start_embedded_broker() -> Server | None:
    try:
        _, server = await serve(DEFAULT_HOST, DEFAULT_PORT)
    except OSError:
        return None  # another process just took the port: use its broker
    return server


async def _chat(room: Room, printer: Printer) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    lines = _stdin_lines(loop)

    async def show_events() -> None:
        async for event in room.events():
            printer.event(event)

    async def send_lines() -> None:
        while (line := await lines.get()) is not None:
            text = line.rstrip("\r\n")
            if text == "/quit":
                break
            if text == "/peers":
                printer.peers(room.peers)
            elif text.strip():
                try:
                    printer.sent(await room.send(text))
                except MessageTooLarge as error:
                    printer.error(str(error))
        stop.set()

    tasks = [asyncio.create_task(show_events()), asyncio.create_task(send_lines())]
    await stop.wait()
    for task in tasks:
        task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.gather(*tasks)


def _stdin_lines(loop: asyncio.AbstractEventLoop) -> asyncio.Queue[str | None]:
    """Lines from stdin, read on a thread (the one portable non-blocking way for TTYs
    and pipes alike); ``None`` marks end of input."""
    queue: asyncio.Queue[str | None] = asyncio.Queue()

    def read() -> None:
        for line in sys.stdin:
            loop.call_soon_threadsafe(queue.put_nowait, line)
        loop.call_soon_threadsafe(queue.put_nowait, None)

    threading.Thread(target=read, name="meshchat-stdin", daemon=True).start()
    return queue
