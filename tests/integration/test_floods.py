"""Regression tests for floods (docs/security.md): a Sybil hello flood on a room, a frame
flood on the broker from many connections, an offer spraying candidates, and the broker's
web and frame defences. Real broker process, real peers, traffic on loopback only."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import sys
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator

import pytest
from aiortc import RTCPeerConnection
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from meshchat.mesh import WebSocketTransport
from meshchat.mesh.identity import Identity
from meshchat.mesh.signalling.codec import SignalCodec
from meshchat.mesh.signalling.messages import Hello, Offer
from meshchat.wire.topics import global_topic

from .conftest import PeerFactory
from .processes import EVENT_TIMEOUT, REPO, Broker, start_meshchat_broker
from .test_broker import all_metrics, receive, send, subscribed_pair

pytestmark = pytest.mark.integration

SYBILS = 300
ATTACK_CONNECTIONS = 8
# Stands for the attacker's own address, as a reverse proxy reports it (the broker
# runs with --trust-proxy, as in compose.yaml); only a header, nothing is sent there.
ATTACKER_ADDRESS = "198.51.100.7"
PYTHON = (sys.executable,)


@contextlib.asynccontextmanager
async def flooding(coroutines: list[asyncio.Task[None]]) -> AsyncIterator[None]:
    try:
        yield
    finally:
        for task in coroutines:
            task.cancel()
        await asyncio.gather(*coroutines, return_exceptions=True)


async def hello_flood(url: str, room: str) -> None:
    """One attacker connection: signed hellos from many fresh identities, as fast as the
    broker takes them."""
    hellos = []
    for _ in range(SYBILS // ATTACK_CONNECTIONS):
        identity = Identity()
        wire = SignalCodec(room, identity).encode(Hello(identity.client_id, "sybil"))
        hellos.append(json.dumps({"type": "publish", "topic": global_topic(room), "data": wire}))
    headers = {"X-Forwarded-For": ATTACKER_ADDRESS}
    async with connect(url, additional_headers=headers, max_queue=None) as ws:
        while True:
            for frame in hellos:
                await ws.send(frame)
                await asyncio.sleep(1 / 60)  # a little above the publish limit


async def test_a_sybil_hello_flood_neither_crowds_out_a_newcomer_nor_spends_our_budget(
    spawn_peer: PeerFactory,
) -> None:
    broker = await start_meshchat_broker("--trust-proxy")
    try:
        ana = await spawn_peer(broker, "sybil", "ana")
        bo = await spawn_peer(broker, "sybil", "bo")
        await ana.wait_for_peers({bo.id})
        attackers = [
            asyncio.create_task(hello_flood(broker.url, "sybil")) for _ in range(ATTACK_CONNECTIONS)
        ]
        async with flooding(attackers):
            await asyncio.sleep(3)  # the flood is in full swing
            newcomer = await spawn_peer(broker, "sybil", "cy")
            await newcomer.wait_for_peers({ana.id, bo.id})
            await ana.wait_for_peers({newcomer.id})
            await newcomer.send("made it")
            await ana.wait_for(lambda e: e.get("text") == "made it")
        for victim in (ana, bo, newcomer):
            # Nothing the victims published was refused: they kept within their budget.
            assert "publishes per second" not in victim.logged(), victim.logged()
            assert victim.connected_peers() <= {ana.id, bo.id, newcomer.id}
    finally:
        await broker.stop()


async def test_a_flood_from_many_connections_leaves_the_broker_serving_others() -> None:
    broker = await start_meshchat_broker(
        "--max-connections-per-ip", "500", "--max-buffer-bytes", "65536"
    )
    room_topic = "meshchat/flood/global"  # the topic bench.flood's publishers flood
    try:
        # An honest subscriber of the topic the flood publishes to.
        listener, subscriber = await subscribed_pair(broker.url, room_topic)
        # 60 hostile connections from their own process (bench/flood.py's attacker):
        # half garbage, pings and bad proofs, reconnecting when cut off; half publishers.
        attacker = await asyncio.create_subprocess_exec(
            *PYTHON, "-m", "bench.flood", "--attack", broker.url, "60", cwd=REPO
        )
        try:
            await asyncio.sleep(6)  # the attacker starts up and reaches full swing
            # A newcomer connects, proves its topic and hears its own publish.
            identity = Identity()
            newcomer = WebSocketTransport(broker.url)
            await newcomer.connect(identity)
            own = f"meshchat/flood/client-{identity.client_id}"
            await newcomer.subscribe([own])
            await newcomer.publish(own, {"hello": "me"})
            async with asyncio.timeout(EVENT_TIMEOUT):
                async for event in newcomer.messages():
                    if getattr(event, "topic", None) == own:
                        break
            await newcomer.close()
        finally:
            attacker.kill()
            await attacker.wait()
        # The honest subscriber, flooded on its topic beyond what it could read, may
        # have lost some of the flood but was not cut off: it hears the next publish.
        await send(listener, {"type": "publish", "topic": room_topic, "data": 1})
        async with asyncio.timeout(EVENT_TIMEOUT):
            while json.loads(await subscriber.recv()).get("data") != 1:
                pass
        counters = await asyncio.to_thread(all_metrics, broker)
        # The garbage senders were read slowly, refused often but answered rarely, and
        # the most persistent were cut off.
        assert counters["disconnected_for_abuse_total"] >= 1, counters
        assert counters["errors_total"] > 5 * counters["error_replies_total"], counters
        assert counters["throttled_total"] > 0, counters
    finally:
        await broker.stop()


async def test_deeply_nested_json_is_a_bad_frame_not_a_crash(meshchat_broker: Broker) -> None:
    async with connect(meshchat_broker.url) as ws:
        await ws.send('{"type":"publish","topic":"t","data":' + "[" * 5000 + "]" * 5000 + "}")
        reply = await receive(ws)
        assert reply["type"] == "error" and reply["code"] == "malformed"
        await send(ws, {"type": "ping"})
        assert await receive(ws) == {"type": "pong"}


async def test_a_client_cannot_set_its_own_origin_tag(meshchat_broker: Broker) -> None:
    async with connect(meshchat_broker.url) as ws:
        await send(ws, {"type": "publish", "topic": "t", "data": 1, "origin": "someone-else"})
        assert (await receive(ws))["code"] == "malformed"


def http_get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str]]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as reply:
            return reply.status, dict(reply.headers)
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers)


async def test_the_page_forbids_sniffing_and_framing_and_foreign_pages_are_refused(
    meshchat_broker: Broker,
) -> None:
    http = meshchat_broker.url.replace("ws://", "http://")
    status, headers = await asyncio.to_thread(http_get, http + "/")
    assert status == 200
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    host = meshchat_broker.url.removeprefix("ws://")
    # The page the broker serves may open its websocket...
    async with connect(meshchat_broker.url, origin=f"http://{host}") as ws:  # type: ignore[arg-type]
        await send(ws, {"type": "ping"})
        assert await receive(ws) == {"type": "pong"}
    # ...a page from elsewhere may not (a visited site cannot use it behind your back).
    with pytest.raises(InvalidStatus) as refused:
        await connect(meshchat_broker.url, origin="https://evil.example")  # type: ignore[arg-type]
    assert refused.value.response.status_code == 403


async def test_an_origin_the_operator_allows_may_connect() -> None:
    broker = await start_meshchat_broker("--allow-origin", "https://app.example")
    try:
        async with connect(broker.url, origin="https://app.example") as ws:  # type: ignore[arg-type]
            await send(ws, {"type": "ping"})
            assert await receive(ws) == {"type": "pong"}
    finally:
        await broker.stop()


@contextlib.contextmanager
def udp_listeners(count: int) -> Iterator[list[socket.socket]]:
    sockets = []
    try:
        for _ in range(count):
            listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            listener.bind(("127.0.0.1", 0))
            listener.setblocking(False)
            sockets.append(listener)
        yield sockets
    finally:
        for listener in sockets:
            listener.close()


async def test_an_offer_spraying_candidates_gets_few_probes(
    meshchat_broker: Broker, spawn_peer: PeerFactory
) -> None:
    victim = await spawn_peer(meshchat_broker, "spray", "bob")
    # A real offer from aiortc, its candidates replaced by 300 of the attacker's choosing.
    pc = RTCPeerConnection()
    pc.createDataChannel("chat")
    await pc.setLocalDescription(await pc.createOffer())
    lines = [line for line in pc.localDescription.sdp.splitlines() if "a=candidate" not in line]
    await pc.close()
    with udp_listeners(300) as listeners:
        ports = [listener.getsockname()[1] for listener in listeners]
        sprayed = [
            f"a=candidate:{i} 1 udp 2130706431 127.0.0.1 {port} typ host"
            for i, port in enumerate(ports)
        ]
        sdp = "\r\n".join(lines[:-1] + sprayed + lines[-1:]) + "\r\n"
        attacker = Identity()
        offer = Offer(attacker.client_id, victim.id, "spray1", sdp, "eve")
        wire = SignalCodec("spray", attacker).encode(offer)
        async with connect(meshchat_broker.url) as ws:
            topic = f"meshchat/spray/client-{victim.id}"
            await send(ws, {"type": "publish", "topic": topic, "data": wire})
            await asyncio.sleep(8)  # ICE checks go out at once and are retried for seconds
        probed = set()
        for listener in listeners:
            with contextlib.suppress(BlockingIOError):
                while listener.recv(2048):
                    probed.add(listener.getsockname()[1])
    assert 1 <= len(probed) <= 4, f"{len(probed)} ports probed"


def rebound_handshake(port: int, name: str) -> bytes:
    """A websocket handshake as a page whose name was made to resolve to 127.0.0.1
    sends it: its own name as Host and as Origin (which therefore agree)."""
    with socket.create_connection(("127.0.0.1", port)) as raw:
        request = (
            f"GET / HTTP/1.1\r\nHost: {name}:{port}\r\nOrigin: http://{name}:{port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        raw.sendall(request.encode())
        return raw.recv(4096).split(b"\r\n", 1)[0]


async def test_a_page_that_rebinds_its_name_to_loopback_is_not_answered() -> None:
    """DNS rebinding: Host and Origin agreed (evil.example), and the Origin check let a
    stranger's page use the user's local broker."""
    broker = await start_meshchat_broker("--allow-host", "chat.example")
    port = int(broker.url.rsplit(":", 1)[1])
    try:
        assert b" 421 " in await asyncio.to_thread(rebound_handshake, port, "evil.example")
        assert b" 101 " in await asyncio.to_thread(rebound_handshake, port, "localhost")
        assert b" 101 " in await asyncio.to_thread(rebound_handshake, port, "127.0.0.1")
        assert b" 101 " in await asyncio.to_thread(rebound_handshake, port, "chat.example")
    finally:
        await broker.stop()
