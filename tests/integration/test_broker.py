"""The bundled broker, as a real subprocess, against real websocket clients: the protocol,
its limits, and hostile input that must not disturb anyone else."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from meshchat.mesh import TransportError, WebSocketTransport
from meshchat.mesh.identity import Identity
from meshchat.wire.keys import CHALLENGE_HEADER

from .processes import EVENT_TIMEOUT, Broker, start_meshchat_broker

# Every module of the page: the broker must serve each one the page imports, its own
# and the pinned third-party ones.
WEB = Path(__file__).parents[2] / "broker" / "web"
WEB_SCRIPTS = sorted("/" + path.name for path in WEB.glob("*.js")) + sorted(
    f"/vendor/{name}/{path}"
    for name, library in json.loads((WEB / "vendor" / "manifest.json").read_text()).items()
    for path in library["files"]
    if path.endswith((".js", ".mjs"))
)

pytestmark = pytest.mark.integration


@pytest.fixture
async def client(meshchat_broker: Broker) -> AsyncIterator[ClientConnection]:
    async with connect(meshchat_broker.url) as ws:
        yield ws


async def send(ws: ClientConnection, frame: dict[str, Any]) -> None:
    await ws.send(json.dumps(frame))


async def receive(ws: ClientConnection) -> dict[str, Any]:
    frame: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 5))
    return frame


async def subscribed_pair(url: str, topic: str) -> tuple[ClientConnection, ClientConnection]:
    """A publisher and a subscriber of ``topic``, with the subscription known active."""
    subscriber = await connect(url)
    await send(subscriber, {"type": "subscribe", "topics": [topic]})
    await send(subscriber, {"type": "ping"})
    assert await receive(subscriber) == {"type": "pong"}  # frames are handled in order
    publisher = await connect(url)
    return publisher, subscriber


@contextlib.contextmanager
def raw_websocket(port: int, receive_buffer: int | None = None) -> Iterator[socket.socket]:
    """A websocket opened by hand, for clients that misbehave below the library's level."""
    with socket.create_connection(("127.0.0.1", port)) as raw:
        if receive_buffer is not None:
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        raw.sendall(
            b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            b"Sec-WebSocket-Version: 13\r\n\r\n"
        )
        assert b" 101 " in raw.recv(4096).split(b"\r\n", 1)[0]
        yield raw


def masked_text_frame(message: dict[str, Any]) -> bytes:
    """One small client-to-server text frame (RFC 6455: clients must mask)."""
    payload = json.dumps(message).encode()
    assert len(payload) < 126
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes([0x81, 0x80 | len(payload)]) + mask + masked


async def assert_still_delivers(url: str) -> None:
    publisher, subscriber = await subscribed_pair(url, "canary")
    await send(publisher, {"type": "publish", "topic": "canary", "data": {"n": 1}})
    received = await receive(subscriber)
    assert received["topic"] == "canary" and received["data"] == {"n": 1}
    await publisher.close()
    await subscriber.close()


async def test_publish_reaches_every_subscriber_including_the_sender(
    meshchat_broker: Broker,
) -> None:
    url = meshchat_broker.url
    a, b = await subscribed_pair(url, "t")
    await send(a, {"type": "subscribe", "topics": ["t"]})
    frame = {"type": "publish", "topic": "t", "data": {"sdp": "v=0"}, "extra": [1, 2]}
    await send(a, frame)
    # Forwarded unchanged, y-webrtc style, but for the publisher's origin tag.
    received = await receive(a)
    origin = received.pop("origin")
    assert received == frame and isinstance(origin, str) and len(origin) == 16
    assert await receive(b) == {**frame, "origin": origin}
    await send(b, {"type": "unsubscribe", "topics": ["t"]})
    await send(b, {"type": "ping"})
    assert await receive(b) == {"type": "pong"}
    await send(a, {"type": "publish", "topic": "t", "data": 2})
    assert (await receive(a))["data"] == 2
    await send(b, {"type": "ping"})
    assert await receive(b) == {"type": "pong"}, "unsubscribed client still got a publish"


async def test_binary_json_frames_are_accepted_like_text(client: ClientConnection) -> None:
    await client.send(json.dumps({"type": "ping"}).encode())
    assert await receive(client) == {"type": "pong"}


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("{not json", "malformed"),
        ("[1, 2]", "malformed"),
        ('{"type": "dance"}', "unknown-type"),
        ('{"no": "type"}', "unknown-type"),
        ('{"type": "publish"}', "bad-topic"),
        ('{"type": "publish", "topic": 7}', "bad-topic"),
        ('{"type": "subscribe", "topics": "t"}', "bad-topic"),
        ('{"type": "subscribe", "topics": [""]}', "bad-topic"),
        ('{"type": "subscribe", "topics": ["' + "t" * 300 + '"]}', "bad-topic"),
        (b"\xff\xfe\x00", "malformed"),
    ],
)
async def test_bad_frames_get_an_error_frame_and_the_connection_stays_usable(
    meshchat_broker: Broker, client: ClientConnection, frame: str | bytes, code: str
) -> None:
    await client.send(frame)
    error = await receive(client)
    assert error["type"] == "error" and error["code"] == code and error["message"]
    await send(client, {"type": "ping"})
    assert await receive(client) == {"type": "pong"}
    await assert_still_delivers(meshchat_broker.url)


async def test_an_oversize_frame_is_refused_but_the_connection_stays(
    meshchat_broker: Broker, client: ClientConnection
) -> None:
    await send(client, {"type": "publish", "topic": "t", "data": "x" * 70_000})
    error = await receive(client)
    assert error["code"] == "frame-too-large" and "65536" in error["message"]
    await send(client, {"type": "ping"})
    assert await receive(client) == {"type": "pong"}


async def test_a_frame_over_the_hard_limit_closes_only_that_connection(
    meshchat_broker: Broker,
) -> None:
    async with connect(meshchat_broker.url, max_size=None) as ws:
        await ws.send("x" * (2 * 1024 * 1024))
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    await assert_still_delivers(meshchat_broker.url)


async def test_too_many_topics_is_refused(
    meshchat_broker: Broker, client: ClientConnection
) -> None:
    await send(client, {"type": "subscribe", "topics": [f"t{i}" for i in range(60)]})
    await send(client, {"type": "subscribe", "topics": [f"u{i}" for i in range(10)]})
    error = await receive(client)
    assert error["code"] == "too-many-topics" and "64" in error["message"]
    await send(client, {"type": "subscribe", "topics": ["t1", "t2"]})  # already held: fine
    await send(client, {"type": "ping"})
    assert await receive(client) == {"type": "pong"}


async def test_a_client_vanishing_mid_frame_disturbs_no_one(meshchat_broker: Broker) -> None:
    publisher, subscriber = await subscribed_pair(meshchat_broker.url, "room")
    port = int(meshchat_broker.url.rsplit(":", 1)[1])
    for _ in range(5):
        # A raw websocket handshake, then half a frame, then the socket is dropped.
        with raw_websocket(port) as raw:
            # A masked text frame announcing 126 -> 1000 bytes, of which 10 arrive.
            raw.sendall(b"\x81\xfe\x03\xe8" + os.urandom(4) + b"0123456789")
    await send(publisher, {"type": "publish", "topic": "room", "data": "after"})
    assert (await receive(subscriber))["data"] == "after"
    await publisher.close()
    await subscriber.close()


async def test_a_flood_of_garbage_from_one_client_loses_nothing_for_others(
    meshchat_broker: Broker,
) -> None:
    publisher, subscriber = await subscribed_pair(meshchat_broker.url, "room")
    async with connect(meshchat_broker.url) as vandal:

        async def vandalise() -> None:
            for i in range(500):
                await vandal.send(["{", "[]", '{"type":"x"}', "null"][i % 4])

        async def chat() -> None:
            for i in range(80):  # within the publish burst allowance
                await send(publisher, {"type": "publish", "topic": "room", "data": i})

        with contextlib.suppress(ConnectionClosed):  # it may be cut off mid-flood
            await asyncio.gather(vandalise(), chat())
        # The vandal was told what is wrong a few times, not 500, then cut off (1008).
        replies = []
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                replies.append(json.loads(await asyncio.wait_for(vandal.recv(), 5)))
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
        assert 1 <= len(replies) <= 10 and all(r["type"] == "error" for r in replies)
    received = [(await receive(subscriber))["data"] for _ in range(80)]
    assert received == list(range(80))  # all of them, in order


async def test_health_says_only_ok_and_metrics_have_the_counters(meshchat_broker: Broker) -> None:
    publisher, subscriber = await subscribed_pair(meshchat_broker.url, "room")
    http_url = meshchat_broker.url.replace("ws://", "http://")
    with await asyncio.to_thread(urllib.request.urlopen, http_url + "/healthz", timeout=5) as reply:
        assert reply.headers.get_all("Content-Type") == ["application/json"]
        assert json.loads(reply.read()) == {"status": "ok"}
    assert metric(meshchat_broker, "connections") == 2
    assert metric(meshchat_broker, "topics") == 1
    await publisher.close()
    await subscriber.close()


def all_metrics(broker: Broker) -> dict[str, int]:
    """Every counter from the broker's /metrics (blocking: call in a thread or briefly)."""
    url = broker.url.replace("ws://", "http://") + "/metrics"
    with urllib.request.urlopen(url, timeout=10) as reply:
        lines = reply.read().decode().splitlines()
    return {
        line.split()[0].removeprefix("meshchat_broker_"): int(line.split()[1])
        for line in lines
        if not line.startswith("#")
    }


def metric(broker: Broker, name: str) -> int:
    return all_metrics(broker)[name]


async def test_a_publisher_over_the_rate_limit_is_told_and_the_rest_still_flows(
    meshchat_broker: Broker,
) -> None:
    publisher, subscriber = await subscribed_pair(meshchat_broker.url, "room")
    for i in range(150):  # far beyond the burst of 100, faster than 50 per second
        await send(publisher, {"type": "publish", "topic": "room", "data": i})
    await send(publisher, {"type": "ping"})
    replies = []
    while (reply := await receive(publisher)) != {"type": "pong"}:
        replies.append(reply)
    assert 1 <= len(replies) <= 10 and all(r["code"] == "rate-limited" for r in replies)
    refused = await asyncio.to_thread(metric, meshchat_broker, "dropped_total")
    assert refused > 0
    delivered = [(await receive(subscriber))["data"] for _ in range(150 - refused)]
    assert delivered == sorted(delivered) and len(set(delivered)) == 150 - refused
    await asyncio.sleep(1.0)  # the bucket refills
    await send(publisher, {"type": "publish", "topic": "room", "data": "later"})
    assert (await receive(subscriber))["data"] == "later"


async def test_only_the_owner_may_subscribe_to_a_client_topic(meshchat_broker: Broker) -> None:
    owner, impostor = Identity(), Identity()
    topic = f"meshchat/lobby/client-{owner.client_id}"
    async with connect(meshchat_broker.url) as ws:
        assert ws.response is not None
        challenge = ws.response.headers[CHALLENGE_HEADER]
        await send(ws, {"type": "subscribe", "topics": [topic]})
        assert (await receive(ws))["code"] == "not-owner"
        wrong = impostor.subscribe_proof(challenge)
        await send(ws, {"type": "subscribe", "topics": [topic], "proof": wrong})
        assert (await receive(ws))["code"] == "not-owner"
        stale = owner.subscribe_proof("another connection's challenge")
        await send(ws, {"type": "subscribe", "topics": [topic], "proof": stale})
        assert (await receive(ws))["code"] == "not-owner"
        # Anyone may still publish to it, and the rightful owner may subscribe.
        good = owner.subscribe_proof(challenge)
        await send(ws, {"type": "subscribe", "topics": [topic], "proof": good})
        await send(ws, {"type": "publish", "topic": topic, "data": "for the owner"})
        assert (await receive(ws))["data"] == "for the owner"


async def test_a_broker_with_a_token_refuses_clients_without_it() -> None:
    broker = await start_meshchat_broker("--token", "s3cret")
    try:
        with pytest.raises(TransportError, match=r"refused us \(401\): .*access token"):
            await WebSocketTransport(broker.url).connect(Identity())
        allowed = WebSocketTransport(broker.url + "/?token=s3cret")
        await allowed.connect(Identity())
        await allowed.close()
    finally:
        await broker.stop()


async def test_connections_per_address_are_limited_with_a_clear_refusal() -> None:
    broker = await start_meshchat_broker("--max-connections-per-ip", "3")
    try:
        held = [await connect(broker.url) for _ in range(3)]
        with pytest.raises(TransportError, match=r"\(429\): at most 3 connections per address"):
            await WebSocketTransport(broker.url).connect(Identity())
        await held[0].close()
        await asyncio.sleep(0.2)
        another = await connect(broker.url)  # a slot was freed
        for ws in (*held[1:], another):
            await ws.close()
    finally:
        await broker.stop()


async def test_dead_connections_are_reaped_and_their_topics_freed() -> None:
    broker = await start_meshchat_broker("--ping-interval", "0.5")

    def health() -> dict[str, Any]:
        return {name: metric(broker, name) for name in ("topics", "connections")}

    try:
        port = int(broker.url.rsplit(":", 1)[1])
        # A client that completes the handshake, subscribes, then never reads again:
        # it cannot answer pings, like a machine that dropped off the network.
        with raw_websocket(port) as raw:
            raw.sendall(masked_text_frame({"type": "subscribe", "topics": ["t"]}))
            await asyncio.sleep(0.3)
            assert (await asyncio.to_thread(health))["topics"] == 1
            async with asyncio.timeout(10):
                while (await asyncio.to_thread(health))["connections"] > 0:
                    await asyncio.sleep(0.2)
            assert (await asyncio.to_thread(health))["topics"] == 0
    finally:
        await broker.stop()


async def test_the_total_number_of_connections_is_capped() -> None:
    broker = await start_meshchat_broker("--max-connections", "2")
    try:
        held = [await connect(broker.url) for _ in range(2)]
        with pytest.raises(TransportError, match=r"\(503\): the broker is full"):
            await WebSocketTransport(broker.url, patience=0).connect(Identity())
        # A full broker is load, not a refusal: a client tries again, and gets in.
        told: list[str] = []
        patient = WebSocketTransport(broker.url, patience=EVENT_TIMEOUT, on_retry=told.append)
        joining = asyncio.create_task(patient.connect(Identity()))
        async with asyncio.timeout(EVENT_TIMEOUT):
            while not told:
                await asyncio.sleep(0.05)
        assert "(503): the broker is full" in told[0] and not joining.done()
        await held[0].close()
        await asyncio.wait_for(joining, EVENT_TIMEOUT)
        await patient.close()
        await held[1].close()
    finally:
        await broker.stop()


async def test_a_subscriber_that_stops_reading_is_skipped_then_reaped_others_get_all() -> None:
    broker = await start_meshchat_broker(
        "--max-buffer-bytes", "1048576", "--max-publish-rate", "100000", "--ping-interval", "1"
    )
    try:
        publisher, reader = await subscribed_pair(broker.url, "room")
        port = int(broker.url.rsplit(":", 1)[1])
        with raw_websocket(port, receive_buffer=4096) as stalled:
            # Subscribe, then never read: the broker's buffer for it fills up.
            stalled.sendall(masked_text_frame({"type": "subscribe", "topics": ["room"]}))
            await asyncio.sleep(0.3)
            big = "x" * 60_000
            count = 300  # 18 MB in all: far more than the kernel and the limit hold

            async def publish() -> None:
                for i in range(count):
                    await send(publisher, {"type": "publish", "topic": "room", "data": [i, big]})
                    await asyncio.sleep(0.005)  # a pace the well-behaved reader keeps up with

            async def read() -> list[int]:
                return [(await receive(reader))["data"][0] for _ in range(count)]

            _, received = await asyncio.gather(publish(), read())
            assert received == list(range(count))
            # Its buffer stayed bounded: what did not fit was dropped for it alone...
            assert await asyncio.to_thread(metric, broker, "slow_consumer_drops_total") >= 1
            # ...and, as it answers no pings, it is closed (the two readers remain).
            async with asyncio.timeout(15):
                while await asyncio.to_thread(metric, broker, "connections") > 2:
                    await asyncio.sleep(0.2)
    finally:
        await broker.stop()


async def test_the_web_client_is_served_and_unknown_paths_are_404(meshchat_broker: Broker) -> None:
    http = meshchat_broker.url.replace("ws://", "http://")

    def get(path: str) -> tuple[int, str, str]:
        try:
            with urllib.request.urlopen(http + path, timeout=5) as response:
                return response.status, response.headers["Content-Type"], response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, "", ""

    status, kind, body = await asyncio.to_thread(get, "/")
    assert status == 200 and kind.startswith("text/html") and "meshchat" in body
    for script in WEB_SCRIPTS:
        status, kind, _ = await asyncio.to_thread(get, script)
        assert status == 200 and kind.startswith("text/javascript")
    assert (await asyncio.to_thread(get, "/favicon.ico"))[0] == 404
    assert (await asyncio.to_thread(get, "/metrics"))[0] == 200


async def test_the_page_gets_the_offered_ice_servers_in_its_challenge_frame() -> None:
    """Browsers cannot read handshake headers: they ask for the challenge in a frame,
    and the ICE servers come with it, in the browser's RTCIceServer shape."""
    broker = await start_meshchat_broker(
        "--ice-server",
        "stun:stun.example:3478",
        "--ice-server",
        "turn:turn.example:3478",
        "--turn-secret",
        "shared",
    )
    try:
        async with connect(broker.url) as ws:
            await send(ws, {"type": "challenge"})
            reply = await receive(ws)
        assert reply["type"] == "challenge" and reply["nonce"]
        stun, turn = reply["iceServers"]
        assert stun == {"urls": ["stun:stun.example:3478"]}
        assert turn["urls"] == ["turn:turn.example:3478"]
        assert turn["username"].endswith(":meshchat") and turn["credential"]
    finally:
        await broker.stop()


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGINT])
async def test_a_stopped_broker_tells_every_client_it_is_going_away(
    meshchat_broker: Broker, how: signal.Signals
) -> None:
    async with connect(meshchat_broker.url) as first, connect(meshchat_broker.url) as second:
        assert meshchat_broker.process is not None
        meshchat_broker.process.send_signal(how)  # docker stop, systemd; or Ctrl-C
        for client in (first, second):
            with pytest.raises(ConnectionClosed) as closed:
                async with asyncio.timeout(5):
                    while True:
                        await client.recv()
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
    assert await asyncio.wait_for(meshchat_broker.process.wait(), 5) == 0


async def subscribed_from(
    url: str, address: str, topics: list[str]
) -> tuple[ClientConnection, dict[str, Any]]:
    """A connection from the loopback ``address`` that subscribes to ``topics``; the
    broker's answer to a ping after it (a pong), or the error it sent first."""
    ws = await connect(url, compression=None, local_addr=(address, 0))
    await send(ws, {"type": "subscribe", "topics": topics})
    await send(ws, {"type": "ping"})
    return ws, await receive(ws)


async def test_subscriptions_are_bounded_per_address_and_in_all() -> None:
    """2,000 connections from 34 addresses, each within the per-connection limits, made
    the broker hold 128,000 subscriptions (174 MiB): the addresses together are bounded
    too, and the whole broker."""
    broker = await start_meshchat_broker(
        "--max-subscriptions-per-ip", "10", "--max-subscriptions", "15"
    )
    held: list[ClientConnection] = []
    try:
        for n in range(2):
            ws, answer = await subscribed_from(
                broker.url, "127.0.0.2", [f"a{n}-{k}" for k in range(5)]
            )
            held.append(ws)
            assert answer == {"type": "pong"}
        ws, answer = await subscribed_from(broker.url, "127.0.0.2", ["one-too-many"])
        held.append(ws)
        assert (
            answer["type"] == "error" and "10 subscriptions from one address" in answer["message"]
        )
        ws, answer = await subscribed_from(broker.url, "127.0.0.3", [f"b{k}" for k in range(5)])
        held.append(ws)
        assert answer == {"type": "pong"}, "another address has its own share"
        ws, answer = await subscribed_from(broker.url, "127.0.0.4", ["c"])
        held.append(ws)
        assert answer["code"] == "broker-full"
        await held[0].close()  # its five subscriptions are freed
        await asyncio.sleep(0.2)
        ws, answer = await subscribed_from(broker.url, "127.0.0.4", ["c"])
        held.append(ws)
        assert answer == {"type": "pong"}
    finally:
        for ws in held:
            await ws.close()
        await broker.stop()
