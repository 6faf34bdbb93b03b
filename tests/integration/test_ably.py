"""Ably-specific behaviour: the real ``ably`` SDK against the local Ably-protocol endpoint
(connection, attach, publish/ACK, delivery, detach, heartbeats, drop and resume, limits),
and meshchat's transport and rooms on top of it."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator
from typing import Any

import pytest
from ably import AblyRealtime
from ably.types.connectionstate import ConnectionState
from ably.util.exceptions import AblyException

from meshchat.mesh import MessageReceived, PeerJoined, Room
from meshchat.mesh.identity import Identity
from meshchat.mesh.transports.ably import AblyConfig, AblyTransport
from meshchat.mesh.transports.base import TransportError
from meshchat.wire.topics import ably_channel
from tests.support.ably_endpoint import AblyEndpoint, ApiKey

from .conftest import TEST_KEY
from .processes import MESHCHAT
from .rooms import LOOPBACK, full_mesh, next_event
from .transports import connected as connected_transport
from .transports import next_message

pytestmark = pytest.mark.integration
FAST_RETRY = {"disconnected_retry_timeout": 200}  # ms; Ably's default waits 15 s


@pytest.fixture
async def endpoint() -> AsyncIterator[AblyEndpoint]:
    started = AblyEndpoint([TEST_KEY, ApiKey("other.key", "s", {"elsewhere:*": ["*"]})])
    await started.start()
    yield started
    await started.stop()


def config(endpoint: AblyEndpoint, **overrides: Any) -> AblyConfig:
    fields: dict[str, Any] = {
        "key": TEST_KEY.key,
        "endpoint": endpoint.endpoint,
        "tls": False,
        "extra_options": FAST_RETRY,
    }
    fields.update(overrides)
    return AblyConfig(**fields)


# --- the SDK against the endpoint: Ably's wire protocol -------------------------------


async def connected(client: AblyRealtime) -> None:
    async with asyncio.timeout(10):
        while client.connection.state is not ConnectionState.CONNECTED:
            await client.connection.once_async()


@pytest.mark.parametrize("binary", [True, False], ids=["msgpack", "json"])
async def test_sdk_attach_publish_deliver_detach_and_heartbeat(
    endpoint: AblyEndpoint, binary: bool
) -> None:
    clients = [
        AblyRealtime(
            key=TEST_KEY.key, endpoint=endpoint.endpoint, tls=False, use_binary_protocol=binary
        )
        for _ in range(2)
    ]
    try:
        for client in clients:
            await connected(client)
        received: list[Any] = []
        channels = [c.channels.get("meshchat:t:global") for c in clients]
        await channels[1].subscribe(lambda m: received.append((m.name, m.data, m.connection_id)))
        result = await channels[0].publish("signal", {"sdp": "v=0"})  # waits for the ACK
        assert result is not None
        async with asyncio.timeout(5):
            while not received:
                await asyncio.sleep(0.01)
        sender_id = clients[0].connection.connection_manager.connection_id
        assert received == [("signal", {"sdp": "v=0"}, sender_id)]
        assert await clients[0].connection.ping() >= 0  # HEARTBEAT with id, echoed
        await channels[1].detach()
        await channels[0].publish("signal", {"after": "detach"})
        await asyncio.sleep(0.3)
        assert len(received) == 1, "a detached channel still received"
        assert endpoint.stats.heartbeats_echoed >= 1
    finally:
        for client in clients:
            await client.close()


async def test_a_key_without_the_capability_cannot_attach(endpoint: AblyEndpoint) -> None:
    client = AblyRealtime(key="other.key:s", endpoint=endpoint.endpoint, tls=False)
    try:
        with pytest.raises(AblyException) as refused:
            await client.channels.get("meshchat:t:global").attach()
        assert refused.value.code == 40160
    finally:
        await client.close()


@pytest.mark.third_party_tasks  # the bare SDK keeps each refusal in a task of its own too
async def test_the_endpoint_enforces_the_publish_rate_as_ably_does(endpoint: AblyEndpoint) -> None:
    """Proof that the pacing test below means something: an unpaced burst is refused."""
    client = AblyRealtime(key=TEST_KEY.key, endpoint=endpoint.endpoint, tls=False)
    try:
        channel = client.channels.get("meshchat:t:global")
        outcomes = await asyncio.gather(
            *(channel.publish("signal", {"n": i}) for i in range(120)), return_exceptions=True
        )
        refused = [o for o in outcomes if isinstance(o, AblyException)]
        assert refused and all(o.code == 42910 for o in refused)
    finally:
        await client.close()


# --- meshchat's transport -------------------------------------------------------------


async def test_a_burst_of_publishes_is_paced_under_the_rate_limit_and_none_lost(
    endpoint: AblyEndpoint,
) -> None:
    async with (
        connected_transport(AblyTransport(config(endpoint))) as sender,
        connected_transport(AblyTransport(config(endpoint))) as receiver,
    ):
        topic = "meshchat/burst/global"
        await receiver.subscribe([topic])
        await asyncio.gather(*(sender.publish(topic, {"n": i}) for i in range(120)))
        got = [(await next_message(receiver)).data["n"] for _ in range(120)]  # type: ignore[index]
    assert got == list(range(120)), "every publish arrives, in order"
    assert endpoint.stats.nacked == 0


async def test_an_oversize_message_is_refused_with_a_clear_error(endpoint: AblyEndpoint) -> None:
    async with connected_transport(AblyTransport(config(endpoint))) as transport:
        with pytest.raises(TransportError, match="exceeds Ably's 65536-byte limit"):
            await transport.publish("meshchat/x/global", {"sdp": "v=0" + "a" * 70_000})
        await transport.publish("meshchat/x/global", {"sdp": "v=0"})  # and it goes on


async def test_channel_names_are_room_scoped_in_the_meshchat_namespace() -> None:
    assert ably_channel("meshchat/lobby/client-ab12") == "meshchat:lobby:client-ab12"


async def test_subscriptions_survive_a_dropped_connection_and_nothing_is_lost(
    endpoint: AblyEndpoint,
) -> None:
    async with (
        connected_transport(AblyTransport(config(endpoint))) as a,
        connected_transport(AblyTransport(config(endpoint))) as b,
    ):
        topic = "meshchat/drop/client-b"
        await b.subscribe([topic])
        await a.publish(topic, {"n": 1})
        assert (await next_message(b)).data == {"n": 1}
        endpoint.drop_connections()
        await a.publish(topic, {"n": 2})  # queued by the SDK or by the endpoint
        assert (await next_message(b)).data == {"n": 2}
        assert endpoint.stats.resumed >= 1, "the SDK resumed its connection"


async def test_a_wrong_key_is_one_clear_error(endpoint: AblyEndpoint) -> None:
    with pytest.raises(TransportError, match=r"Ably refused the connection: Invalid credentials"):
        await AblyTransport(config(endpoint, key=f"{TEST_KEY.name}:wrong")).connect(Identity())


# --- rooms over Ably ------------------------------------------------------------------


async def test_peers_keep_chatting_while_ably_is_away_and_newcomers_join_after(
    endpoint: AblyEndpoint,
) -> None:
    ana = Room(AblyTransport(config(endpoint)), "outage", nick="ana", ice=LOOPBACK)
    bo = Room(AblyTransport(config(endpoint)), "outage", nick="bo", ice=LOOPBACK)
    cy = Room(AblyTransport(config(endpoint)), "outage", nick="cy", ice=LOOPBACK)
    try:
        await ana.join()
        await bo.join()
        await next_event(ana, PeerJoined)
        await next_event(bo, PeerJoined)

        port = await endpoint.outage()
        sent = await ana.send("while Ably is away")
        assert sent.delivered_to == (bo.id,)
        received = await next_event(bo, MessageReceived)
        assert isinstance(received, MessageReceived)
        assert received.message.text == "while Ably is away"

        await endpoint.start(port)
        await cy.join()
        await full_mesh(ana, bo, cy)
        assert endpoint.stats.resumed >= 2, "ana and bo resumed their Ably connections"
    finally:
        for room in (ana, bo, cy):
            await room.leave()


# --- configuration ---------------------------------------------------------------------


def join_with(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*MESHCHAT, "join", "lobby", *args], env=env, capture_output=True, text=True, timeout=60
    )


def test_the_transport_is_chosen_by_environment_and_a_missing_key_is_explained() -> None:
    env = {"PATH": "/usr/bin:/bin", "MESHCHAT_TRANSPORT": "ably"}
    result = join_with(env, "--ably-endpoint", "ws://127.0.0.1:9")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "Ably needs exactly one of: an API key (ABLY_API_KEY)" in result.stderr


async def test_a_rejected_key_on_the_command_line_is_one_clear_line(endpoint: AblyEndpoint) -> None:
    env = {"PATH": "/usr/bin:/bin", "ABLY_API_KEY": f"{TEST_KEY.name}:wrong"}
    result = await asyncio.to_thread(
        join_with, env, "--transport", "ably", "--ably-endpoint", f"ws://{endpoint.endpoint}"
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        "Error: Ably refused the connection: Invalid credentials (code 40101)"
    )
