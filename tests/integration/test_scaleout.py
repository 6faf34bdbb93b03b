"""Scale-out: two broker processes joined by a real Redis, peers split across them,
one room; and the broker's Prometheus metrics."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import urllib.request
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from .conftest import PeerFactory
from .processes import MESHCHAT, Broker, free_port, start_meshchat_broker
from .test_chat_mesh import assert_delivered_exactly_once, everyone_says_something, form_mesh

pytestmark = pytest.mark.integration


@pytest.fixture
async def redis_url() -> AsyncIterator[str]:
    if shutil.which("redis-server") is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is not installed (Debian package redis-server)")
        pytest.skip("redis-server is not installed: apt-get install redis-server")
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        "redis-server",
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        stdout=asyncio.subprocess.DEVNULL,
    )
    try:
        url = f"redis://127.0.0.1:{port}/0"
        client = aioredis.from_url(url)
        for _ in range(100):
            with contextlib.suppress(RedisError):
                if await client.ping():
                    break
            await asyncio.sleep(0.05)
        await client.aclose()
        yield url
    finally:
        process.terminate()
        await process.wait()


def metrics(broker: Broker) -> dict[str, float]:
    url = broker.url.replace("ws://", "http://") + "/metrics"
    with urllib.request.urlopen(url, timeout=5) as response:
        assert response.headers["Content-Type"].startswith("text/plain")
        text = response.read().decode()
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            values[name.removeprefix("meshchat_broker_")] = float(value)
    return values


async def test_peers_on_two_brokers_sharing_redis_form_one_mesh(
    redis_url: str, spawn_peer: PeerFactory
) -> None:
    brokers = [await start_meshchat_broker("--redis", redis_url) for _ in range(2)]
    try:
        peers = [
            await spawn_peer(brokers[i % 2], "shared", nick)
            for i, nick in enumerate(("ana", "bo", "cy", "di"))
        ]
        await form_mesh(peers)
        said = await everyone_says_something(peers, "across brokers")
        await assert_delivered_exactly_once(peers, said)
        for broker in brokers:
            counts = await asyncio.to_thread(metrics, broker)
            assert counts["connections"] == 2
            assert counts["backplane_received_total"] > 0, "signalling crossed via Redis"
    finally:
        for broker in brokers:
            await broker.stop()


async def test_without_redis_brokers_are_separate_worlds(spawn_peer: PeerFactory) -> None:
    brokers = [await start_meshchat_broker() for _ in range(2)]
    try:
        ana = await spawn_peer(brokers[0], "shared", "ana")
        bo = await spawn_peer(brokers[1], "shared", "bo")
        cy = await spawn_peer(brokers[1], "shared", "cy")
        await form_mesh([bo, cy])
        assert ana.connected_peers() == set()
    finally:
        for broker in brokers:
            await broker.stop()


def test_an_unreachable_redis_is_one_clear_error() -> None:
    port = free_port()
    result = subprocess.run(
        [*MESHCHAT, "broker", "--port", "0", "--redis", f"redis://127.0.0.1:{port}/0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"cannot reach Redis at redis://127.0.0.1:{port}/0" in result.stderr


async def test_metrics_count_what_happens(meshchat_broker: Broker, spawn_peer: PeerFactory) -> None:
    before = await asyncio.to_thread(metrics, meshchat_broker)
    ana = await spawn_peer(meshchat_broker, "m", "ana")
    bo = await spawn_peer(meshchat_broker, "m", "bo")
    await form_mesh([ana, bo])
    after = await asyncio.to_thread(metrics, meshchat_broker)
    assert after["connections"] == before["connections"] + 2
    assert after["topics"] == 3  # the room's global topic and each client's own
    assert after["messages_in_total"] > before["messages_in_total"]
    assert after["messages_out_total"] > before["messages_out_total"]
    assert set(after) >= {"errors_total", "dropped_total", "refused_connections_total"}
