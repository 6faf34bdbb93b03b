"""Delayed SCTP acknowledgements (mesh/webrtc/sctp_sack.py) with real aiortc associations on
loopback: half the SACK packets, every message still delivered, and a lone packet still
acknowledged within the delay."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiortc import RTCDataChannel, RTCPeerConnection
from aiortc.rtcsctptransport import RTCSctpTransport, SackChunk

from meshchat.mesh import IceConfig
from meshchat.mesh.webrtc import sctp_sack
from meshchat.mesh.webrtc.ice import restrict_host_addresses

pytestmark = pytest.mark.integration
CALLEE_CHANNELS: dict[int, RTCDataChannel] = {}  # the caller's channel -> the callee's end


@pytest.fixture
async def channel_pair() -> AsyncIterator[tuple[RTCDataChannel, asyncio.Queue[Any], list[Any]]]:
    """A data channel from a caller to a callee; what the callee receives; and every
    SACK chunk the callee sends."""
    sctp_sack.install()
    restrict_host_addresses(("127.0.0.1",))
    config = IceConfig().rtc_configuration()
    caller, callee = RTCPeerConnection(config), RTCPeerConnection(config)
    received: asyncio.Queue[Any] = asyncio.Queue()
    sacks: list[Any] = []
    opened: asyncio.Future[RTCDataChannel] = asyncio.get_running_loop().create_future()

    @callee.on("datachannel")
    def on_channel(channel: RTCDataChannel) -> None:
        channel.on("message", received.put_nowait)
        opened.set_result(channel)

    channel = caller.createDataChannel("chat")
    await caller.setLocalDescription(await caller.createOffer())
    await callee.setRemoteDescription(caller.localDescription)
    await callee.setLocalDescription(await callee.createAnswer())
    await caller.setRemoteDescription(callee.localDescription)
    callee_channel = await asyncio.wait_for(opened, 20)
    CALLEE_CHANNELS[id(channel)] = callee_channel
    callee_sctp = callee.sctp
    assert callee_sctp is not None
    send_chunk = callee_sctp._send_chunk

    async def counting(chunk: Any) -> None:
        if isinstance(chunk, SackChunk):
            sacks.append(chunk)
        await send_chunk(chunk)

    callee_sctp._send_chunk = counting  # type: ignore[method-assign]
    yield channel, received, sacks
    await caller.close()
    await callee.close()


def packets_sent_by(channel: RTCDataChannel) -> list[bytes]:
    """Every packet the channel's end sends from now on (data and SACKs alike)."""
    packets: list[bytes] = []
    dtls = channel.transport.transport
    send_data = dtls._send_data

    async def counting(data: bytes) -> None:
        packets.append(data)
        await send_data(data)

    dtls._send_data = counting  # type: ignore[method-assign]
    return packets


async def converse(
    channel: RTCDataChannel,
    received: asyncio.Queue[Any],
    rounds: int,
    *,
    reply_after: float,
    pause: float,
) -> None:
    """Pings from the caller, each answered by the callee ``reply_after`` seconds after
    it arrived; the next ping ``pause`` seconds after the answer."""
    echo = CALLEE_CHANNELS[id(channel)]
    replies: asyncio.Queue[Any] = asyncio.Queue()
    channel.on("message", replies.put_nowait)
    for n in range(rounds):
        channel.send(f"ping {n}")
        line = await asyncio.wait_for(received.get(), 10)
        if reply_after:
            await asyncio.sleep(reply_after)
        echo.send(f"pong {line}")
        await asyncio.wait_for(replies.get(), 10)
        await asyncio.sleep(pause)


async def test_a_sack_goes_for_every_second_packet_and_nothing_is_lost(
    channel_pair: tuple[RTCDataChannel, asyncio.Queue[Any], list[Any]],
) -> None:
    channel, received, sacks = channel_pair
    for n in range(100):
        channel.send(f"message {n}")
        await asyncio.sleep(0.005)  # one packet each: no bundling by aiortc
    got = [await asyncio.wait_for(received.get(), 10) for _ in range(100)]
    assert got == [f"message {n}" for n in range(100)]
    await asyncio.sleep(sctp_sack.SACK_DELAY * 3)
    assert 40 <= len(sacks) <= 60, f"{len(sacks)} SACKs for 100 data packets"


async def test_a_lone_packet_is_acknowledged_within_the_delay(
    channel_pair: tuple[RTCDataChannel, asyncio.Queue[Any], list[Any]],
) -> None:
    channel, received, sacks = channel_pair
    await asyncio.sleep(0.5)
    before = len(sacks)
    channel.send("alone")
    assert await asyncio.wait_for(received.get(), 10) == "alone"
    assert len(sacks) == before, "not at once"
    await asyncio.sleep(sctp_sack.SACK_DELAY * 3)
    assert len(sacks) == before + 1
    transport: RTCSctpTransport = channel.transport
    assert transport._flight_size == 0, "the sender knows it arrived"


async def test_a_waiting_sack_rides_with_the_next_data_packet(
    channel_pair: tuple[RTCDataChannel, asyncio.Queue[Any], list[Any]],
) -> None:
    channel, received, sacks = channel_pair
    echo = CALLEE_CHANNELS[id(channel)]
    packets = packets_sent_by(echo)
    # A conversation: each side sends every few milliseconds.
    await converse(channel, received, 50, reply_after=0.0, pause=0.005)
    await asyncio.sleep(sctp_sack.SACK_DELAY * 3)
    # 50 data packets went back; the SACKs for the 50 pings rode on them, nearly all.
    assert len(sacks) >= 25
    assert len(packets) <= 60, f"{len(packets)} packets for 50 replies and their SACKs"


async def test_in_a_slow_conversation_sacks_ride_with_the_replies(
    channel_pair: tuple[RTCDataChannel, asyncio.Queue[Any], list[Any]],
) -> None:
    # A line each way every few hundred ms (a busy room): the SACK for each line waits
    # for the reply 100 ms later and rides in its packet, instead of a packet of its own.
    channel, received, sacks = channel_pair
    echo = CALLEE_CHANNELS[id(channel)]
    packets = packets_sent_by(echo)
    await converse(channel, received, 10, reply_after=0.1, pause=0.2)
    # 10 replies; their SACKs ride with them, and the caller's SACKs for the replies
    # ride with the next ping (the last goes alone after the delay).
    assert len(packets) <= 13, f"{len(packets)} packets for 10 replies and their SACKs"
    assert len(sacks) >= 10, "every ping was acknowledged"


async def test_a_link_that_closes_mid_send_leaves_no_task_dying_unwatched(
    channel_pair: tuple[RTCDataChannel, asyncio.Queue[Any], list[Any]],
) -> None:
    """The DTLS layer under an association goes away while data waits to be sent (a
    peer leaving mid-transfer): aiortc's own send task then met ConnectionError in our
    bundling, and asyncio printed "Task exception was never retrieved" (the suite's
    guard, tests/conftest.py, fails this test if it still does)."""
    channel, received, _ = channel_pair
    await converse(channel, received, 1, reply_after=0.0, pause=0.0)
    dtls = channel.transport.transport
    dtls._state = type(dtls._state).CLOSED  # as when the peer's DTLS close arrives
    for _ in range(20):
        channel.send(b"x" * 1000)  # aiortc sends these from tasks of its own
    await asyncio.sleep(0.5)
