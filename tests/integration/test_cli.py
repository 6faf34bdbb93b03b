"""The command line as a user meets it: real processes, real exit codes, real output."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import time
from pathlib import Path

import pytest

from .conftest import PeerFactory
from .processes import MESHCHAT, Broker, Peer, free_port

pytestmark = pytest.mark.integration


def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*MESHCHAT, *args], input=stdin, capture_output=True, text=True, timeout=60
    )


def assert_one_clear_error(result: subprocess.CompletedProcess[str], expected: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert expected in result.stderr, result.stderr


def test_unreachable_broker_is_one_clear_line_and_exit_1() -> None:
    port = free_port()  # nothing listens there
    result = run("join", "lobby", "--broker", f"ws://127.0.0.1:{port}")
    assert result.returncode == 1
    assert_one_clear_error(result, f"cannot reach broker at ws://127.0.0.1:{port}")
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["join", "lobby", "--broker", "not a url"], "invalid broker URL"),
        (["join", "lobby", "--broker", "http://127.0.0.1:1"], "invalid broker URL"),
        (["join", "no spaces allowed", "--broker", "ws://127.0.0.1:1"], "invalid room name"),
        (["join", "lobby", "--ice-server", "http://stun.example"], "invalid ICE server URL"),
        (["join", "lobby", "--host-address", "eth0"], "invalid host address"),
    ],
)
def test_bad_arguments_are_explained(args: list[str], expected: str) -> None:
    assert_one_clear_error(run(*args), expected)


def test_broker_on_a_taken_port_says_so() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run("broker", "--port", str(port))
    assert result.returncode == 1
    assert_one_clear_error(result, f"cannot listen on 127.0.0.1:{port}")


def test_help_explains_every_option() -> None:
    text = run("join", "--help").stdout
    for option in (
        "--nick",
        "--broker",
        "--json",
        "--ice-server",
        "--ice-username",
        "--ice-credential",
        "--host-address",
    ):
        assert option in text
    assert "--port" in run("broker", "--help").stdout
    assert "join" in run("--help").stdout


async def test_interactive_mode_shows_people_and_messages_as_text(
    meshchat_broker: Broker, spawn_peer: PeerFactory
) -> None:
    bo = await spawn_peer(meshchat_broker, "lobby", "bo")
    process = await asyncio.create_subprocess_exec(
        *MESHCHAT,
        "join",
        "lobby",
        "--nick",
        "ana",
        "--broker",
        meshchat_broker.url,
        "--host-address",
        "127.0.0.1",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdin is not None and process.stdout is not None
    try:
        lines: list[str] = []

        async def read_until(fragment: str) -> None:
            assert process.stdout is not None
            while not any(fragment in line for line in lines):
                lines.append((await asyncio.wait_for(process.stdout.readline(), 45)).decode())

        bo_label = f"bo#{bo.id[:4]}"
        await read_until(f"* {bo_label} joined (id {bo.id})")
        await bo.send("hello ana")
        await read_until(f"<{bo_label}> hello ana")
        process.stdin.write(b"/peers\nhi bo\n")
        await read_until(f"* peers: {bo_label}")
        await bo.wait_for(lambda e: e["event"] == "message" and e["text"] == "hi bo")
        await bo.quit()
        await read_until("left: said bye")
        process.stdin.write(b"/quit\n")
        assert await asyncio.wait_for(process.wait(), 30) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


def default_port_is_free() -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", 8765)) != 0


@pytest.mark.skipif(not default_port_is_free(), reason="something already listens on 8765")
async def test_with_no_broker_given_the_first_peer_embeds_one(spawn_peer: PeerFactory) -> None:
    first: Peer = await spawn_peer(None, "lobby", "first")
    second: Peer = await spawn_peer(None, "lobby", "second")
    assert first.events[0]["embedded_broker"] is True
    assert second.events[0]["embedded_broker"] is False
    # Each side's channel opens on its own (the callee's a moment before the caller's):
    # what first says before its own side is open goes to no one.
    await second.wait_for_peers({first.id})
    await first.wait_for_peers({second.id})
    await first.send("works out of the box")
    await second.wait_for(lambda e: e.get("text") == "works out of the box")


def test_a_config_file_sets_defaults_and_options_override_it(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[join]\ntransport = "ably"\nably_endpoint = "ws://127.0.0.1:9"\n')
    env = {"PATH": "/usr/bin:/bin", "MESHCHAT_CONFIG": str(config)}
    chose_ably = subprocess.run(
        [*MESHCHAT, "join", "lobby"], env=env, capture_output=True, text=True, timeout=60
    )
    assert_one_clear_error(chose_ably, "Ably needs exactly one of")
    port = free_port()
    overridden = subprocess.run(
        [*MESHCHAT, "join", "lobby", "--transport", "broker", "--broker", f"ws://127.0.0.1:{port}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert_one_clear_error(overridden, f"cannot reach broker at ws://127.0.0.1:{port}")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[join]\ncolour = "red"\n', "unknown key 'colour' in [join]"),
        ("[party]\n", "unknown section [party]"),
        ("[join\n", "is not valid TOML"),
    ],
)
def test_a_bad_config_file_is_explained(tmp_path: Path, text: str, expected: str) -> None:
    config = tmp_path / "config.toml"
    config.write_text(text)
    assert_one_clear_error(run("--config", str(config), "join", "lobby"), expected)


def test_an_unreachable_ably_endpoint_is_one_clear_line_within_15_seconds() -> None:
    port = free_port()  # nothing listens there
    env = {**os.environ, "ABLY_API_KEY": "app.key:secret"}
    started = time.monotonic()
    result = subprocess.run(
        [
            *MESHCHAT,
            "join",
            "lobby",
            "--transport",
            "ably",
            "--ably-endpoint",
            f"ws://127.0.0.1:{port}",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    took = time.monotonic() - started
    assert result.returncode == 1
    assert_one_clear_error(result, "cannot reach Ably within")
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert took < 15.0, f"{took:.1f} s"
