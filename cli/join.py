"""``meshchat join``: a chat room in the terminal, or as JSON lines for scripts."""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import os
import shlex
import signal
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import click

from meshchat.mesh import IceConfig, MessageTooLarge, Room, TransportError
from meshchat.mesh.files import DEFAULT_MAX_FILE_SIZE as DEFAULT_MAX_FILE_BYTES
from meshchat.mesh.websocket_transport import broker_is_listening
from meshchat.wire.redaction import redact

from .defaults import DEFAULT_BROKER_URL, DEFAULT_HOST, DEFAULT_PORT
from .output import Printer
from .succession import EmbeddedBroker
from .transports import make_transport

log = logging.getLogger(__name__)


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
    broker_token: str | None = None,
    downloads: Path | None = None,
    max_file_size: int = DEFAULT_MAX_FILE_BYTES,
) -> None:
    if isinstance(sys.stdout, io.TextIOWrapper):
        # Whatever slips through, a character the terminal's encoding lacks is never
        # a reason to stop showing the chat.
        sys.stdout.reconfigure(errors="backslashreplace")
    printer = Printer(json_mode)
    url = broker_url or DEFAULT_BROKER_URL
    # With no broker given, the default one on loopback is run by one of the processes
    # that use it: the first, and after it leaves, a successor (succession.py).
    embedded = None
    if transport_kind == "broker" and broker_url is None:
        embedded = EmbeddedBroker(DEFAULT_HOST, DEFAULT_PORT, lambda: printer.hosting_broker(url))
        if not await broker_is_listening(url):
            await embedded.try_to_host()
    try:
        transport, where = make_transport(transport_kind, url, ably_endpoint, broker_token)
        room = Room(
            transport,
            room_name,
            nick=nick,
            ice=ice,
            secret=secret,
            downloads=downloads,
            max_file_size=max_file_size,
        )
        await room.join()
    except (TransportError, ValueError) as error:
        raise click.ClickException(redact(str(error))) from None
    hosting = embedded is not None and embedded.hosting
    printer.ready(room.name, room.id, room.nick, where, hosting, room.sealed)
    try:
        await _chat(room, printer, embedded)
    finally:
        await room.leave()
        if embedded is not None:
            await embedded.close()


async def _chat(room: Room, printer: Printer, embedded: EmbeddedBroker | None) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    lines = _stdin_lines(loop)

    async def show_events() -> None:
        async for event in room.events():
            printer.event(event)  # never raises: one bad event cannot end the display
            if embedded is not None:
                embedded.observe(event)

    async def send_lines() -> None:
        while (line := await lines.get()) is not None:
            if isinstance(line, UndecodableLine):
                printer.error(
                    f"input line {line.number} is not valid UTF-8 ({line.reason}); not sent"
                )
                continue
            text = line.rstrip("\r\n")
            if text == "/quit":
                break
            if text == "/peers":
                printer.peers(room.peers)
            elif text.startswith("/send ") or text == "/send":
                await _send_file(room, printer, text.removeprefix("/send"))
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


SEND_USAGE = "usage: /send PATH [NICK] (quote a path with spaces)"


async def _send_file(room: Room, printer: Printer, arguments: str) -> None:
    """``/send PATH [NICK]``: offer a file to everyone, or to the one peer NICK (or
    nick#tag when several share the nick)."""
    try:
        words = shlex.split(arguments)
    except ValueError as error:
        printer.error(f"{error}; {SEND_USAGE}")
        return
    if not 1 <= len(words) <= 2:
        printer.error(SEND_USAGE)
        return
    to = None
    if len(words) == 2:
        try:
            to = [printer.nicks.resolve(words[1], room.peers)]
        except LookupError as error:
            printer.error(str(error))
            return
    try:
        transfer = await room.send_file(words[0], to)
    except ValueError as error:
        printer.error(str(error))
        return
    printer.sending(transfer)


@dataclass(frozen=True, slots=True)
class UndecodableLine:
    """A line of input that is not UTF-8: reported, never sent, and the next line is."""

    number: int
    reason: str


InputLine = str | UndecodableLine


def _stdin_lines(loop: asyncio.AbstractEventLoop) -> asyncio.Queue[InputLine | None]:
    """Lines from stdin, read on a thread (the one portable non-blocking way for TTYs
    and pipes alike); ``None`` marks end of input, whatever ended it."""
    queue: asyncio.Queue[InputLine | None] = asyncio.Queue()

    def put(item: InputLine | None) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, item)

    def read() -> None:
        try:
            # Bytes, decoded line by line: a bad byte spoils one line, not the stream.
            for number, raw in enumerate(_raw_lines(sys.stdin.fileno()), start=1):
                try:
                    put(raw.decode("utf-8"))
                except UnicodeDecodeError as error:
                    put(UndecodableLine(number, f"byte {raw[error.start]:#04x}"))
        except (OSError, ValueError) as error:
            log.warning("cannot read input any more: %s", error)
        finally:
            put(None)

    threading.Thread(target=read, name="meshchat-stdin", daemon=True).start()
    return queue


def _raw_lines(fd: int) -> Iterator[bytes]:
    """Lines read straight from the file descriptor. Not through ``sys.stdin``: a
    thread blocked inside its buffered reader holds a lock that makes the interpreter
    abort when the user quits while the thread still waits for input."""
    pending = b""
    while chunk := os.read(fd, 65536):
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            yield line + b"\n"
    if pending:
        yield pending
