"""Regression tests for bad local input and leaked secrets, with real processes
(docs/security.md): undecodable stdin, a non-UTF-8 config file, an empty room secret,
and the broker's access token wherever it could show."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from .conftest import PeerFactory
from .processes import MESHCHAT, Broker, Peer, start_meshchat_broker
from .test_cli import assert_one_clear_error, run

pytestmark = pytest.mark.integration

TOKEN = "tok-3f9a-secret-value"


async def test_an_undecodable_line_on_stdin_is_reported_and_later_lines_are_sent(
    meshchat_broker: Broker, spawn_peer: PeerFactory
) -> None:
    ana = await spawn_peer(meshchat_broker, "stdin", "ana")
    bo = await spawn_peer(meshchat_broker, "stdin", "bo")
    await ana.wait_for_peers({bo.id})
    assert ana.process.stdin is not None
    ana.process.stdin.write(b"caf\xe9 in latin-1\nstill sent\n")
    await ana.process.stdin.drain()
    error = await ana.wait_for(lambda e: e["event"] == "error")
    assert "not valid UTF-8" in error["message"] and "line 1" in error["message"]
    await bo.wait_for(lambda e: e.get("text") == "still sent")
    assert await ana.quit() == 0, "end of input still ends the session"


def test_a_config_file_that_is_not_utf8_is_one_clear_error(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_bytes(b'[join]\nnick = "caf\xe9"\n')
    result = run("--config", str(config), "join", "lobby")
    assert_one_clear_error(result, "is not UTF-8")
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("how", ["option", "environment"])
def test_an_empty_room_secret_is_refused_not_taken_for_an_open_room(how: str) -> None:
    env = dict(os.environ)
    args = ["join", "lobby", "--broker", "ws://127.0.0.1:1"]
    if how == "option":
        args += ["--secret", " "]
    else:
        env["MESHCHAT_ROOM_SECRET"] = ""
    result = subprocess.run([*MESHCHAT, *args], capture_output=True, text=True, timeout=60, env=env)
    assert_one_clear_error(result, "the room secret is empty")


async def test_joining_says_whether_the_room_is_sealed(
    meshchat_broker: Broker, spawn_peer: PeerFactory
) -> None:
    sealed = await spawn_peer(meshchat_broker, "kinds", "ana", "--secret", "s3cret")
    open_room = await spawn_peer(meshchat_broker, "kinds", "bo")
    sealed_ready = await sealed.wait_for(lambda e: e["event"] == "ready")
    open_ready = await open_room.wait_for(lambda e: e["event"] == "ready")
    assert sealed_ready["sealed"] is True and open_ready["sealed"] is False
    text = await asyncio.to_thread(
        subprocess.run,
        [*MESHCHAT, "join", "kinds", *meshchat_broker.join_args, "--secret", "s3cret"],
        input="/quit\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "joined the sealed room" in text.stdout.splitlines()[0]


@pytest.fixture
async def token_broker() -> AsyncIterator[Broker]:
    broker = await start_meshchat_broker(env={"MESHCHAT_BROKER_TOKEN": TOKEN})
    yield broker
    await broker.stop()


async def test_the_broker_token_is_never_shown(token_broker: Broker, tmp_path: Path) -> None:
    url_with_token = f"{token_broker.url}/?token={TOKEN}"
    # In the URL (as people paste it): works, and the ready event shows no token.
    peer = await Peer.start(None, "tok", "ana", "--broker", url_with_token)
    try:
        ready = await peer.wait_for(lambda e: e["event"] == "ready")
        assert TOKEN not in json.dumps(ready) and ready["broker"].startswith("ws://")
        assert TOKEN not in peer.logged()
    finally:
        await peer.stop()
    # From the environment and from a file, with no token on the command line at all.
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    by_file = await Peer.start(
        None, "tok", "bo", "--broker", token_broker.url, "--broker-token-file", str(token_file)
    )
    await by_file.stop()
    # A wrong token: the refusal names the broker but not the token.
    wrong = f"{token_broker.url}/?token=wrong-{TOKEN}"
    result = await asyncio.to_thread(run, "join", "tok", "--broker", wrong, "--json")
    assert_one_clear_error(result, "needs an access token")
    assert TOKEN not in result.stderr + result.stdout
    # doctor reports the broker without the token.
    doctor = await asyncio.to_thread(run, "doctor", "--broker", url_with_token)
    assert "broker reachable" in doctor.stdout and TOKEN not in doctor.stdout + doctor.stderr
    # The broker's own log, at -vv, holds no token either.
    debug_broker = await start_meshchat_broker(verbose=2, env={"MESHCHAT_BROKER_TOKEN": TOKEN})
    try:
        debug_url = f"{debug_broker.url}/?token={TOKEN}"
        probe = await Peer.start(None, "tok", "cy", "--broker", debug_url)
        await probe.stop()
        # Another client (a browser, curl) may put it in the request line itself.
        async with connect(f"{debug_broker.url}/?token={TOKEN}") as ws:
            await ws.send('{"type":"ping"}')
            await ws.recv()
    finally:
        await debug_broker.stop()
        assert debug_broker.process is not None and debug_broker.process.stderr is not None
        broker_log = (await debug_broker.process.stderr.read()).decode(errors="replace")
    assert "GET /" in broker_log, "the request log is there..."
    assert TOKEN not in broker_log, "...without the token"


async def test_metrics_need_the_token_and_health_says_only_ok(token_broker: Broker) -> None:
    http = token_broker.url.replace("ws://", "http://")

    def get(path: str, token: str | None = None) -> tuple[int, bytes]:
        request = urllib.request.Request(http + path)
        if token is not None:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=5) as reply:
                return reply.status, reply.read()
        except urllib.error.HTTPError as error:
            return error.code, b""

    assert (await asyncio.to_thread(get, "/metrics"))[0] == 401
    assert (await asyncio.to_thread(get, "/metrics", "wrong"))[0] == 401
    status, body = await asyncio.to_thread(get, "/metrics", TOKEN)
    assert status == 200 and b"meshchat_broker_connections" in body
    assert await asyncio.to_thread(get, "/healthz") == (200, b'{"status": "ok"}\n')
