"""One suite for every transport: what Room relies on, checked unchanged over the
in-memory transport, the bundled broker, the stock y-webrtc server, Ably's protocol
from the local endpoint, real Ably when ABLY_API_KEY is set, and a real mosquitto over
MQTT and over MQTT's websockets."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable

import pytest

from meshchat.mesh import MemoryHub, MemoryTransport, MessageReceived, Room, Transport
from meshchat.mesh.identity import Identity
from meshchat.mesh.webrtc.ice import IceServer

from .conftest import SIGNALLING_KINDS, start_signalling
from .mosquitto import start_mosquitto
from .processes import EVENT_TIMEOUT
from .rooms import LOOPBACK, full_mesh, next_event
from .transports import connected, next_message

pytestmark = pytest.mark.integration

NewTransport = Callable[[], Transport]


@pytest.fixture(params=["memory", *SIGNALLING_KINDS, "mqtt-tcp", "mqtt-ws"])
async def new_transport(request: pytest.FixtureRequest) -> AsyncIterator[NewTransport]:
    """Makes transports to one service of the kind under test."""
    if request.param == "memory":
        hub = MemoryHub()
        yield lambda: MemoryTransport(hub)
        return
    if request.param.startswith("mqtt"):  # a real mosquitto, over TCP or websockets
        mosquitto = await start_mosquitto(request.param)
        yield mosquitto.transport
        await mosquitto.stop()
        return
    service = await start_signalling(request.param)
    yield service.transport
    await service.stop()


def topic(name: str) -> str:
    """A fresh topic per test: real Ably is shared between runs."""
    return f"meshchat/conformance{uuid.uuid4().hex[:8]}/{name}"


async def test_connect_returns_the_ice_servers_offered(new_transport: NewTransport) -> None:
    transport = new_transport()
    offered = await transport.connect(Identity())
    try:
        assert isinstance(offered, tuple) and all(isinstance(s, IceServer) for s in offered)
    finally:
        await transport.close()


async def test_a_publish_reaches_the_topic_s_subscribers_in_order_and_no_one_else(
    new_transport: NewTransport,
) -> None:
    room_topic, other_topic = topic("global"), topic("elsewhere")
    async with (
        connected(new_transport()) as publisher,
        connected(new_transport()) as first,
        connected(new_transport()) as second,
        connected(new_transport()) as bystander,
    ):
        await first.subscribe([room_topic])
        await second.subscribe([room_topic])
        await bystander.subscribe([other_topic])
        sent = [{"n": n, "text": "héllo", "nested": {"list": [1, None, True]}} for n in range(5)]
        for data in sent:
            await publisher.publish(room_topic, data)
        for subscriber in (first, second):
            got = [await next_message(subscriber) for _ in sent]
            assert [m.data for m in got] == sent and {m.topic for m in got} == {room_topic}
        await publisher.publish(other_topic, {"for": "bystander"})
        assert (await next_message(bystander)).data == {"for": "bystander"}, "not the others'"


async def test_a_reply_to_what_we_publish_after_subscribing_is_not_missed(
    new_transport: NewTransport,
) -> None:
    """The contract Room relies on: subscribe, then say hello; a reply to the hello
    cannot arrive before the subscription took effect."""
    for attempt in range(5):
        hello_topic, reply_topic = topic(f"hello{attempt}"), topic(f"reply{attempt}")
        async with connected(new_transport()) as asker, connected(new_transport()) as answerer:
            await answerer.subscribe([hello_topic])
            await asker.subscribe([reply_topic])
            await asker.publish(hello_topic, {"hello": attempt})
            assert (await next_message(answerer)).data == {"hello": attempt}
            await answerer.publish(reply_topic, {"reply": attempt})
            assert (await next_message(asker)).data == {"reply": attempt}


async def test_closing_ends_what_messages_yields(new_transport: NewTransport) -> None:
    transport = new_transport()
    async with connected(transport):
        await transport.subscribe([topic("global")])
        ended = asyncio.create_task(drain(transport))
        await asyncio.sleep(0.1)
    async with asyncio.timeout(EVENT_TIMEOUT):
        await ended


async def drain(transport: Transport) -> None:
    async for _ in transport.messages():
        pass


async def test_two_rooms_meet_and_chat_over_it(new_transport: NewTransport) -> None:
    room = f"conformance{uuid.uuid4().hex[:8]}"
    async with (
        Room(new_transport(), room, nick="ana", ice=LOOPBACK) as ana,
        Room(new_transport(), room, nick="bo", ice=LOOPBACK) as bo,
    ):
        await full_mesh(ana, bo)
        await ana.send("over any transport")
        received = await next_event(bo, MessageReceived)
        assert isinstance(received, MessageReceived)
        assert received.message.text == "over any transport"
