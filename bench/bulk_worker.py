"""One side of a bulk transfer for ``bench/bulk.py``, driven over stdin/stdout (JSON).

    python -m bench.bulk_worker raw-send|raw-receive                 SDP relayed by the parent
    python -m bench.bulk_worker channel-send|channel-receive URL ROOM

Senders make the payload first (random bytes, every page of it touched), then report
``rss`` (the baseline) and ``start``; receivers report ``done`` when the last byte is in
(for a channel: verified against the author's signed digest). Both sample their RSS
every 20 ms until the parent says the transfer is over, then report the ``peak``.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
import time
from typing import Any

from aiortc import RTCDataChannel, RTCPeerConnection, RTCSessionDescription

from meshchat.mesh import IceConfig, PeerJoined, Room, WebSocketTransport
from meshchat.mesh.webrtc.ice import restrict_host_addresses

from .harness import cpu_by_thread, cpu_by_thread_since

# bench/files.py sets another size for its yardstick.
SIZE = int(os.environ.get("MESHCHAT_BENCH_BYTES", 64 * 1024 * 1024))
CHUNK = 16 * 1024  # what the channel's chunk frames carry, near enough
HIGH_WATER, LOW_WATER = 1024 * 1024, 256 * 1024  # as mesh/link/in_flight.py
PAGE = os.sysconf("SC_PAGE_SIZE")


def report(**fields: Any) -> None:
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


def rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE


class PeakRss:
    """The highest RSS seen, sampled in the background."""

    def __init__(self) -> None:
        self.peak = rss()
        self._task = asyncio.create_task(self._sample())

    async def _sample(self) -> None:
        while True:
            self.peak = max(self.peak, rss())
            await asyncio.sleep(0.02)

    def stop(self) -> int:
        self._task.cancel()
        return max(self.peak, rss())


async def read_line(reader: asyncio.StreamReader) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await reader.readline())
    return message


async def stdin_reader() -> asyncio.StreamReader:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2**20)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    return reader


async def raw(sending: bool) -> None:
    """A bare aiortc data channel: the yardstick."""
    restrict_host_addresses(("127.0.0.1",))
    reader = await stdin_reader()
    pc = RTCPeerConnection(IceConfig().rtc_configuration())
    opened: asyncio.Future[RTCDataChannel] = asyncio.get_running_loop().create_future()
    if sending:
        channel = pc.createDataChannel("bulk")
        channel.on("open", lambda: opened.set_result(channel))
        await pc.setLocalDescription(await pc.createOffer())
        report(event="sdp", sdp=pc.localDescription.sdp)
        answer = await read_line(reader)
        await pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))
    else:
        pc.on("datachannel", lambda channel: opened.set_result(channel))
        offer = await read_line(reader)
        await pc.setRemoteDescription(RTCSessionDescription(offer["sdp"], "offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        report(event="sdp", sdp=pc.localDescription.sdp)
    channel = await opened
    peak = await (raw_send(channel) if sending else raw_receive(channel))
    await read_line(reader)  # the parent says when the transfer is over
    report(event="peak", rss=peak.stop())
    await pc.close()


async def raw_send(channel: RTCDataChannel) -> PeakRss:
    payload = random.randbytes(SIZE)
    view = memoryview(payload)
    low = asyncio.Event()
    channel.bufferedAmountLowThreshold = LOW_WATER
    channel.on("bufferedamountlow", low.set)
    report(event="rss", rss=rss())
    peak = PeakRss()
    report(event="start", at=time.monotonic())
    for offset in range(0, SIZE, CHUNK):
        if channel.bufferedAmount >= HIGH_WATER:
            low.clear()
            await low.wait()
        channel.send(bytes(view[offset : offset + CHUNK]))
    return peak


async def raw_receive(channel: RTCDataChannel) -> PeakRss:
    report(event="rss", rss=rss())
    peak = PeakRss()
    received = 0
    done = asyncio.Event()

    @channel.on("message")
    def on_message(data: bytes) -> None:
        nonlocal received
        received += len(data)
        if received >= SIZE:
            done.set()

    await done.wait()
    report(event="done", at=time.monotonic())
    return peak


async def channel_side(sending: bool, url: str, room_name: str) -> None:
    """Two rooms over the bundled broker; the payload on a channel."""
    reader = await stdin_reader()
    room = Room(
        WebSocketTransport(url),
        room_name,
        nick="bulk",
        ice=IceConfig(host_addresses=("127.0.0.1",)),
    )
    bulk = room.channel("bulk")
    await room.join()
    async for event in room.events():
        if isinstance(event, PeerJoined):
            break
    report(event="connected")
    if sending:
        payload = random.randbytes(SIZE)
        threads_before = cpu_by_thread()
        report(event="rss", rss=rss())
        peak = PeakRss()
        report(event="start", at=time.monotonic())
        await bulk.send(payload)
    else:
        threads_before = cpu_by_thread()
        report(event="rss", rss=rss())
        peak = PeakRss()
        async for received in bulk:
            assert received.size == SIZE
            report(event="done", at=time.monotonic())
            break
    await read_line(reader)  # the parent says when the transfer is over
    report(event="peak", rss=peak.stop(), threads=cpu_by_thread_since(threads_before))
    await room.leave()


def main() -> None:
    mode = sys.argv[1]
    if mode.startswith("raw-"):
        asyncio.run(raw(mode == "raw-send"))
    else:
        asyncio.run(channel_side(mode == "channel-send", sys.argv[2], sys.argv[3]))


if __name__ == "__main__":
    main()
