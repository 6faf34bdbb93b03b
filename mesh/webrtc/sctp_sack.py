"""Delayed SCTP acknowledgements for aiortc, as RFC 4960 section 6.2 describes them.

aiortc answers every packet that carries data with a SACK packet of its own. In a busy
room that doubles the packets every peer sends and receives (each one DTLS-encrypted and
handled in Python): at 24 peers, SACKs were a sixth of each process's time. The RFC asks
for a SACK for at least every second data packet, and within 200 ms of any; this does
that, and a SACK that is waiting rides in the same packet as the next data we send on
that association (bundling, RFC 4960 section 6.10: control chunks first). Out-of-order
and duplicate data is still acknowledged at once, so that the sender's fast retransmit
works as before.

:func:`install` wraps aiortc's own SACK and chunk senders once per process; aiortc still
builds every chunk and packet itself.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from aiortc.rtcsctptransport import DataChunk, RTCSctpTransport

# Seconds a lone data packet waits for a second one, or for data of ours to ride on,
# before its SACK goes alone: the RFC's 200 ms. Far below SCTP's retransmission timeout
# (at least 1 s), so no sender resends for want of it.
SACK_DELAY = 0.2
_PACKETS = "_meshchat_unacknowledged_packets"
_TIMER = "_meshchat_sack_timer"
_CAPTURED = "_meshchat_captured_chunks"  # set while a SACK is built to ride with data

_installed = False
_flushing: set[asyncio.Future[None]] = set()  # keeps delayed SACK tasks referenced


def install() -> None:
    """Make every aiortc SCTP association in this process delay its SACKs."""
    global _installed
    if _installed:
        return
    _installed = True
    send_now: Callable[[Any], Awaitable[None]] = RTCSctpTransport._send_sack

    async def send_sack(transport: Any) -> None:
        packets = getattr(transport, _PACKETS, 0) + 1
        urgent = transport._sack_misordered or transport._sack_duplicates
        if packets >= 2 or urgent:
            await _flush(transport, send_now)
            return
        setattr(transport, _PACKETS, packets)
        if getattr(transport, _TIMER, None) is None:
            loop = asyncio.get_running_loop()
            timer = loop.call_later(SACK_DELAY, _later, transport, send_now)
            setattr(transport, _TIMER, timer)

    send_chunk: Callable[[Any, Any], Awaitable[None]] = RTCSctpTransport._send_chunk

    async def send_chunk_bundling(transport: Any, chunk: Any) -> None:
        captured = getattr(transport, _CAPTURED, None)
        if captured is not None:  # the SACK being built to ride with data
            captured.append(chunk)
            return
        if isinstance(chunk, DataChunk) and getattr(transport, _TIMER, None) is not None:
            setattr(transport, _CAPTURED, [])
            try:
                await _flush(transport, send_now)
            finally:
                sacks = getattr(transport, _CAPTURED)
                setattr(transport, _CAPTURED, None)
            chunk = _Bundle([*sacks, chunk])
        # aiortc sends from tasks of its own that nobody awaits: a link that closed
        # under them is normal (the packet is lost with the link), not an error to
        # leave dying in a task.
        with contextlib.suppress(ConnectionError):
            await send_chunk(transport, chunk)

    RTCSctpTransport._send_sack = send_sack  # type: ignore[method-assign,assignment]
    RTCSctpTransport._send_chunk = send_chunk_bundling  # type: ignore[method-assign,assignment]


class _Bundle:
    """Chunks that go in one packet: aiortc's packet writer takes the bytes of one
    chunk, and every chunk's bytes are already padded to four."""

    def __init__(self, chunks: list[Any]) -> None:
        self.chunks = chunks

    def __bytes__(self) -> bytes:
        return b"".join(bytes(chunk) for chunk in self.chunks)

    def __str__(self) -> str:
        return " + ".join(str(chunk) for chunk in self.chunks)


async def _flush(transport: Any, send_now: Callable[[Any], Awaitable[None]]) -> None:
    setattr(transport, _PACKETS, 0)
    timer = getattr(transport, _TIMER, None)
    if timer is not None:
        timer.cancel()
        setattr(transport, _TIMER, None)
    established = transport._association_state == RTCSctpTransport.State.ESTABLISHED
    if transport._sack_needed and established:
        with contextlib.suppress(ConnectionError):  # the association closed meanwhile
            await send_now(transport)


def _later(transport: Any, send_now: Callable[[Any], Awaitable[None]]) -> None:
    setattr(transport, _TIMER, None)
    task = asyncio.ensure_future(_flush(transport, send_now))
    _flushing.add(task)
    task.add_done_callback(_done)


def _done(task: asyncio.Future[None]) -> None:
    _flushing.discard(task)
    if not task.cancelled():
        task.exception()  # retrieved: a closed association is nothing to report
