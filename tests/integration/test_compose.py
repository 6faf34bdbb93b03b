"""compose.yaml, tested without a Docker engine: the file is validated by docker-compose,
and each service's command runs as a plain process with the environment the file gives
it (redis-server, coturn and nginx from Debian's packages), then a chat runs through
the proxy, both broker replicas and Redis."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import socket
import subprocess
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from .conftest import PeerFactory
from .processes import MESHCHAT, REPO, Signalling, free_port
from .test_chat_mesh import assert_delivered_exactly_once, everyone_says_something, form_mesh

pytestmark = pytest.mark.integration

COMPOSE = REPO / "compose.yaml"
TURN_SECRET = "a-test-secret-not-a-default"


def require(*programs: str) -> None:
    missing = [p for p in programs if shutil.which(p) is None]
    if missing:
        message = f"not installed: {', '.join(missing)} (Debian packages)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def interpolate(value: str, env: Mapping[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?error}."""

    def substitute(match: re.Match[str]) -> str:
        name, operator, argument = match.group(1), match.group(2), match.group(3)
        current = env.get(name, "")
        if operator == ":?" and not current:
            raise ValueError(argument)
        return current or (argument if operator == ":-" else "")

    return re.sub(r"\$\{(\w+)(?:(:[-?])([^}]*))?\}", substitute, value)


def service(name: str, env: Mapping[str, str]) -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE.read_text())
    raw: dict[str, Any] = document["services"][name]

    def walk(node: Any) -> Any:
        if isinstance(node, str):
            return interpolate(node, env)
        if isinstance(node, list):
            return [walk(item) for item in node]
        if isinstance(node, dict):
            return {key: walk(item) for key, item in node.items()}
        return node

    resolved: dict[str, Any] = walk(raw)
    return resolved


# --- validation --------------------------------------------------------------------


def test_docker_compose_accepts_the_file_and_insists_on_a_turn_secret(tmp_path: Path) -> None:
    require("docker-compose")
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "MESHCHAT_PUBLIC_HOST": "chat.test"}
    ok = subprocess.run(
        ["docker-compose", "-f", str(COMPOSE), "config"],
        env={**env, "MESHCHAT_TURN_SECRET": TURN_SECRET},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ok.returncode == 0, ok.stderr
    assert f"--static-auth-secret={TURN_SECRET}" in ok.stdout
    assert "turn:chat.test:3478" in ok.stdout
    refused = subprocess.run(
        ["docker-compose", "-f", str(COMPOSE), "config"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode != 0
    assert "set MESHCHAT_TURN_SECRET" in refused.stderr


def test_the_mqtt_profile_runs_mosquitto_with_the_shipped_logins_and_acls(tmp_path: Path) -> None:
    require("docker-compose")
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "MESHCHAT_PUBLIC_HOST": "chat.test"}
    env["MESHCHAT_TURN_SECRET"] = TURN_SECRET
    shown = subprocess.run(
        ["docker-compose", "-f", str(COMPOSE), "--profile", "mqtt", "config"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert shown.returncode == 0, shown.stderr
    mosquitto = yaml.safe_load(shown.stdout)["services"]["mosquitto"]
    assert {str(p.get("target", p)) for p in mosquitto["ports"]} >= {"1883", "9001"}
    mounted = dict(reversed(v.rsplit(":", 2)[:2]) for v in mosquitto["volumes"])
    assert mounted["/mosquitto/config/acl.conf"] == str(REPO / "deploy" / "mosquitto" / "acl.conf")
    config = (REPO / "deploy" / "mosquitto" / "mosquitto.conf").read_text()
    for path in ("/mosquitto/config/acl.conf", "/mosquitto/config/meshchat-passwords"):
        assert path in config and path in mounted
    assert mosquitto["profiles"] == ["mqtt"], "started only with --profile mqtt"


def test_compose_up_needs_a_docker_engine() -> None:
    engine = (
        shutil.which("docker")
        and subprocess.run(["docker", "info"], capture_output=True, timeout=30).returncode == 0
    )
    if not engine:
        pytest.skip("no Docker engine runs here: services are tested as plain processes instead")
    result = subprocess.run(
        ["docker", "compose", "-f", str(COMPOSE), "build"], capture_output=True, timeout=1800
    )
    assert result.returncode == 0


# --- the services as plain processes --------------------------------------------------


class Services:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.processes: list[asyncio.subprocess.Process] = []

    async def start(self, command: list[str], env: Mapping[str, str], name: str) -> None:
        path = self.directory / f"{name}.log"  # kept for a person reading a failure
        log = await asyncio.to_thread(path.open, "wb")
        with log:
            process = await asyncio.create_subprocess_exec(
                *command, env={**os.environ, **env}, stdout=log, stderr=log
            )
        self.processes.append(process)

    async def stop(self) -> None:
        for process in reversed(self.processes):
            if process.returncode is None:
                process.terminate()
                await process.wait()


async def wait_for_port(port: int, kind: int = socket.SOCK_STREAM) -> None:
    async with asyncio.timeout(20):
        while True:
            with socket.socket(socket.AF_INET, kind) as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    return
            await asyncio.sleep(0.05)


def replace_option(command: list[str], option: str, value: str) -> list[str]:
    """Set ``--option value`` or ``--option=value`` in a command."""
    out = list(command)
    for i, part in enumerate(out):
        if part == option:
            out[i + 1] = value
            return out
        if part.startswith(option + "="):
            out[i] = f"{option}={value}"
            return out
    return [*out, f"{option}={value}"]


def stun_binding_succeeds(port: int) -> bool:
    """A STUN Binding request (RFC 5389) to 127.0.0.1:port gets a success response."""
    transaction = os.urandom(12)
    request = b"\x00\x01\x00\x00\x21\x12\xa4\x42" + transaction
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.settimeout(2)
        udp.sendto(request, ("127.0.0.1", port))
        reply = udp.recv(2048)
    return reply[:2] == b"\x01\x01" and reply[8:20] == transaction


@pytest.fixture
async def deployment(tmp_path: Path) -> AsyncIterator[Signalling]:
    require("redis-server", "turnserver", "nginx")
    env = {"MESHCHAT_TURN_SECRET": TURN_SECRET, "MESHCHAT_PUBLIC_HOST": "127.0.0.1"}
    services = Services(tmp_path)
    turn_port = free_port()
    try:
        # redis
        redis = service("redis", env)
        redis_port = free_port()
        await services.start(
            [*redis["command"], "--port", str(redis_port), "--bind", "127.0.0.1"], {}, "redis"
        )
        await wait_for_port(redis_port)

        # broker replicas, with redis's service name resolved to where it runs here
        broker = service("broker", env)
        # Service names and published ports resolved to where things run here.
        broker_env = {
            key: str(value)
            .replace("redis:6379", f"127.0.0.1:{redis_port}")
            .replace(":3478", f":{turn_port}")
            for key, value in broker["environment"].items()
        }
        assert broker_env["MESHCHAT_TURN_SECRET"] == TURN_SECRET
        broker_ports = []
        for replica in range(int(broker["deploy"]["replicas"])):
            port = free_port()
            command = replace_option(broker["command"], "--port", str(port))
            command = replace_option(command, "--host", "127.0.0.1")
            assert command[0] == "meshchat"
            await services.start([*MESHCHAT, *command[1:]], broker_env, f"broker{replica}")
            broker_ports.append(port)
        for port in broker_ports:
            await wait_for_port(port)

        # the proxy: the same template the nginx image renders, one server per replica
        proxy = service("proxy", env)
        proxy_port = free_port()
        template = (REPO / "deploy" / "meshchat.conf.template").read_text()
        proxy_env = dict(proxy["environment"])
        assert proxy_env["MESHCHAT_UPSTREAM_SERVERS"] == "server broker:8765;"
        proxy_env["MESHCHAT_UPSTREAM_SERVERS"] = " ".join(
            f"server 127.0.0.1:{port};" for port in broker_ports
        )
        proxy_env["MESHCHAT_PROXY_PORT"] = f"127.0.0.1:{proxy_port}"
        rendered = re.sub(r"\$\{(\w+)\}", lambda m: proxy_env[m.group(1)], template)
        (tmp_path / "meshchat.conf").write_text(rendered)
        (tmp_path / "nginx.conf").write_text(
            f"user root;\nworker_processes 1;\npid {tmp_path}/nginx.pid;\nerror_log stderr;\n"
            "events {}\nhttp {\n  access_log off;\n"
            + "".join(
                f"  {kind}_temp_path {tmp_path}/{kind};\n"
                for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
            )
            + f"  include {tmp_path}/meshchat.conf;\n}}\n"
        )
        await services.start(
            ["nginx", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-g", "daemon off;"],
            {},
            "nginx",
        )
        await wait_for_port(proxy_port)

        # coturn, with the file's command, on loopback
        turn = service("turn", env)
        command = replace_option(turn["command"], "--listening-port", str(turn_port))
        command = [*command, "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1"]
        command = replace_option(command, "--log-file", str(tmp_path / "turn.log"))
        await services.start(command, {}, "turn")
        async with asyncio.timeout(20):
            while not await asyncio.to_thread(_stun_quietly, turn_port):
                await asyncio.sleep(0.1)

        yield Signalling("compose", ["--broker", f"ws://127.0.0.1:{proxy_port}"])
    finally:
        await services.stop()


def _stun_quietly(port: int) -> bool:
    try:
        return stun_binding_succeeds(port)
    except OSError:
        return False


async def test_a_chat_runs_through_the_composed_services(
    deployment: Signalling, spawn_peer: PeerFactory
) -> None:
    peers = [await spawn_peer(deployment, "composed", n) for n in ("ana", "bo", "cy", "di")]
    await form_mesh(peers)
    said = await everyone_says_something(peers, "through the proxy")
    await assert_delivered_exactly_once(peers, said)


async def test_the_served_page_may_open_its_websocket_through_the_proxy(
    deployment: Signalling,
) -> None:
    """nginx passes the Host on with its port, so the broker recognises its own page's
    Origin behind the proxy, and still refuses other sites'."""
    url = deployment.join_args[deployment.join_args.index("--broker") + 1]
    page = url.replace("ws://", "http://")
    async with connect(url, origin=page) as ws:  # type: ignore[arg-type]
        await ws.send('{"type":"ping"}')
        assert json.loads(await ws.recv()) == {"type": "pong"}
    with pytest.raises(InvalidStatus) as refused:
        await connect(url, origin="https://evil.example")  # type: ignore[arg-type]
    assert refused.value.response.status_code == 403
