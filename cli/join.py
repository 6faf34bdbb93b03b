"""``meshchat join`` in line mode (``--plain``, or stdin/stdout not a terminal) and
``--json``: typed lines (or JSON objects: json_input.py) in, events out as lines of
text or JSON objects."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import signal
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass

from .commands import parse
from .join_options import JoinOptions
from .json_input import parse_json_line
from .output import Printer
from .session import ChatSession


async def run_join(options: JoinOptions, json_mode: bool) -> None:
    """Line mode: typed lines from stdin, events as lines (or JSON objects) on stdout."""
    if isinstance(sys.stdout, io.TextIOWrapper):
        # Whatever slips through, a character the terminal's encoding lacks is never
        # a reason to stop showing the chat.
        sys.stdout.reconfigure(errors="backslashreplace")
    printer = Printer(json_mode)
    session = await ChatSession.open(options, printer)
    try:
        await _chat(session)
    finally:
        await session.close()


async def _chat(session: ChatSession) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    lines = _stdin_lines(loop, session.printer)
    read = parse_json_line if session.printer.json_mode else parse

    async def send_lines() -> None:
        while (line := await lines.get()) is not None:
            if isinstance(line, UndecodableLine):
                session.printer.error(
                    f"input line {line.number} is not valid UTF-8 ({line.reason}); not sent"
                )
            elif not await session.execute(read(line)):
                break
        stop.set()

    tasks = [
        asyncio.create_task(session.show_events()),
        asyncio.create_task(session.show_channels()),
        asyncio.create_task(send_lines()),
    ]
    await stop.wait()
    for task in tasks:
        task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.gather(*tasks)


@dataclass(frozen=True, slots=True)
class UndecodableLine:
    """A line of input that is not UTF-8: reported, never sent, and the next line is."""

    number: int
    reason: str


InputLine = str | UndecodableLine


def _stdin_lines(
    loop: asyncio.AbstractEventLoop, printer: Printer
) -> asyncio.Queue[InputLine | None]:
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
            loop.call_soon_threadsafe(printer.error, f"cannot read input any more: {error}")
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
