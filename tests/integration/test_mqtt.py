"""Rooms over a real mosquitto, through ``--transport mqtt``: three peers chat in an
open and a sealed room over MQTT and over MQTT's websockets; a restarted mosquitto
loses no chat and a newcomer joins after; the ACL configuration (deploy/mosquitto)
keeps a peer's topic from other readers; a bad URL, refused credentials and an
unreachable broker are each one clear line. (The transport's own conformance:
test_transport_conformance.py.)"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import ssl
import time
from pathlib import Path

import aiomqtt
import pytest

from meshchat.mesh.identity import Identity
from meshchat.mesh.transports.base import Transport, TransportError, TransportMessage
from meshchat.mesh.transports.mqtt import MqttTransport
from meshchat.wire.topics import client_topic, global_topic

from .conftest import PeerFactory
from .mosquitto import start_mosquitto
from .processes import MESHCHAT, free_port, silent_listener
from .test_chat_mesh import assert_delivered_exactly_once, everyone_says_something, form_mesh
from .transports import connected

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]


@pytest.mark.parametrize(
    ("kind", "secret"), [("mqtt-tcp", None), ("mqtt-ws", "a room secret for mqtt")]
)
async def test_three_peers_chat_over_mosquitto(
    spawn_peer: PeerFactory, kind: str, secret: str | None
) -> None:
    mosquitto = await start_mosquitto(kind)
    try:
        extra = ["--secret", secret] if secret else []
        peers = [await spawn_peer(mosquitto, "mq", nick, *extra) for nick in ("ana", "bo", "cy")]
        await form_mesh(peers)
        said = await everyone_says_something(peers, "over mqtt")
        await assert_delivered_exactly_once(peers, said)
        ready = await peers[0].wait_for(lambda e: e["event"] == "ready")
        assert ready["broker"] == f"MQTT broker {mosquitto.url}" and ready["sealed"] is bool(secret)
    finally:
        await mosquitto.stop()


async def test_a_restarted_mosquitto_loses_no_chat_and_a_newcomer_joins_after(
    spawn_peer: PeerFactory,
) -> None:
    mosquitto = await start_mosquitto("mqtt-tcp")
    try:
        peers = [await spawn_peer(mosquitto, "mq-restart", nick) for nick in ("ana", "bo", "cy")]
        await form_mesh(peers)
        assert mosquitto.process is not None
        mosquitto.process.send_signal(signal.SIGKILL)
        await mosquitto.process.wait()
        for peer in peers:
            await peer.wait_for(lambda e: e["event"] == "signalling-lost")
        during = await everyone_says_something(peers, "while mosquitto is down")
        await assert_delivered_exactly_once(peers, during)

        down_at = time.monotonic()
        await mosquitto.start()  # the same ports
        for peer in peers:
            await peer.wait_for(lambda e: e["event"] == "signalling-restored")
        back_within = time.monotonic() - down_at
        peers.append(await spawn_peer(mosquitto, "mq-restart", "dee"))
        await form_mesh(peers)
        after = await everyone_says_something(peers, "after the restart")
        await assert_delivered_exactly_once(peers, after)
        for peer in peers[:3]:
            assert not any(e["event"] == "left" for e in peer.events), "nobody left"
        assert back_within < 15, back_within  # a liveness bound; ~2 s measured
    finally:
        await mosquitto.stop()


async def test_the_acl_lets_a_peer_read_only_its_own_topic() -> None:
    mosquitto = await start_mosquitto("mqtt-tcp", secured=True)
    owner, snoop = Identity(), Identity()
    room = "acl"
    try:
        async with (
            connected(_login(mosquitto.url, "ana"), owner) as ana,
            connected(_login(mosquitto.url, "bo"), snoop) as bo,
            connected(_login(mosquitto.url, "bo")) as sender,
        ):
            await ana.subscribe([client_topic(room, owner.client_id), global_topic(room)])
            await bo.subscribe([client_topic(room, owner.client_id), global_topic(room)])
            await sender.publish(client_topic(room, owner.client_id), {"for": "ana"})
            await sender.publish(global_topic(room), {"for": "everyone"})
            assert [m.data for m in await _arrivals(ana, 2)] == [
                {"for": "ana"},
                {"for": "everyone"},
            ]
            assert [m.data for m in await _arrivals(bo, 2)] == [{"for": "everyone"}]
    finally:
        await mosquitto.stop()


def _login(url: str, user: str, password: str | None = None) -> Transport:
    return MqttTransport(url, username=user, password=password or f"example-only-{user}")


async def _arrivals(transport: Transport, at_most: int) -> list[TransportMessage]:
    """What arrives within a second, up to ``at_most`` messages."""
    got: list[TransportMessage] = []

    async def collect() -> None:
        async for event in transport.messages():
            if isinstance(event, TransportMessage):
                got.append(event)
                if len(got) == at_most:
                    return

    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(collect(), 1.0)
    return got


async def test_wrong_credentials_and_a_silent_broker_are_one_clear_line_each() -> None:
    mosquitto = await start_mosquitto("mqtt-tcp", secured=True)
    quiet_port = free_port()
    silent = await silent_listener(quiet_port)
    try:
        with pytest.raises(TransportError, match=r"refused us: not authorized \(a wrong"):
            await _login(mosquitto.url, "ana", "not-her-password").connect(Identity())
        refused = await _join(
            ["--mqtt-url", mosquitto.url, "--mqtt-username", "ana"],
            {"MESHCHAT_MQTT_PASSWORD": "not-her-password"},
        )
        assert "refused us: not authorized" in refused
        unanswered = await _join(["--mqtt-url", f"mqtt://127.0.0.1:{quiet_port}"])
        assert "cannot reach MQTT broker" in unanswered
    finally:
        silent.close()
        await mosquitto.stop()


async def _join(arguments: list[str], env: dict[str, str] | None = None) -> str:
    """``meshchat join --transport mqtt`` that must fail: its one line, checked to be
    one clear line (no traceback, no password) within 15 s."""
    started = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        *MESHCHAT,
        "join",
        "mq",
        "--plain",
        "--transport",
        "mqtt",
        *arguments,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )
    out, err = await asyncio.wait_for(process.communicate(), 30)
    stderr = err.decode()
    assert process.returncode != 0
    assert "Traceback" not in stderr + out.decode() and "s3cret" not in stderr, stderr
    assert "not-her-password" not in stderr
    assert time.monotonic() - started < 15, stderr
    return stderr


@pytest.mark.parametrize(
    ("arguments", "said"),
    [
        (["--mqtt-url", "htp://127.0.0.1"], "invalid MQTT URL 'htp://127.0.0.1'"),
        (["--mqtt-url", "mqtt://127.0.0.1:99999"], "bad port"),
        (["--mqtt-url", "mqtt://127.0.0.1:{closed}"], "cannot reach MQTT broker"),
        (["--mqtt-url", "mqtt://u:s3cret@127.0.0.1:{closed}"], "mqtt://u:***@127.0.0.1"),
        ([], "--transport mqtt needs --mqtt-url"),
        (["--mqtt-url", "mqtt://127.0.0.1", "--mqtt-prefix", "no-slash"], "ends with '/'"),
        (["--mqtt-url", "mqtt://127.0.0.1", "--mqtt-password-file", "/nonexistent"], "password"),
    ],
)
async def test_a_bad_mqtt_setting_is_one_clear_line(arguments: list[str], said: str) -> None:
    closed = str(free_port())
    stderr = await _join([a.replace("{closed}", closed) for a in arguments])
    assert said in stderr, stderr


async def test_junk_anyone_publishes_on_our_topics_is_ignored_and_the_rest_arrives() -> None:
    mosquitto = await start_mosquitto("mqtt-tcp")
    topic = global_topic("junk")
    try:
        async with (
            connected(mosquitto.transport()) as ours,
            aiomqtt.Client("127.0.0.1", mosquitto.tcp_port) as stranger,
        ):
            await ours.subscribe([topic])
            for junk in (b"\xff not json", b"[" * 100_000, b"x" * 300_000, b""):
                await stranger.publish(topic, junk, qos=1)
            await stranger.publish(topic, b'{"after": "the junk"}', qos=1)
            assert [m.data for m in await _arrivals(ours, 1)] == [{"after": "the junk"}]
    finally:
        await mosquitto.stop()


async def test_mqtts_and_wss_carry_the_room_over_tls(tmp_path: Path) -> None:
    """A mosquitto with TLS on both listeners (a certificate made here for 127.0.0.1):
    the transport talks to it, checking the certificate against the one we trust, and
    refuses it when told to trust nothing but the system's authorities."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    made = await asyncio.create_subprocess_exec(
        "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
        "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-addext",
        "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    assert await made.wait() == 0
    mosquitto = await start_mosquitto("mqtt-tcp", tls=(cert, key))
    trusted = ssl.create_default_context(cafile=str(cert))
    try:
        for url in (
            f"mqtts://127.0.0.1:{mosquitto.tcp_port}",
            f"wss://127.0.0.1:{mosquitto.ws_port}/",
        ):
            async with (
                connected(MqttTransport(url, tls_context=trusted)) as one,
                connected(MqttTransport(url, tls_context=trusted)) as two,
            ):
                await two.subscribe([global_topic("tls")])
                await one.publish(global_topic("tls"), {"over": url})
                assert [m.data for m in await _arrivals(two, 1)] == [{"over": url}]
            with pytest.raises(TransportError, match="cannot reach MQTT broker"):
                await MqttTransport(url).connect(Identity())  # self-signed: not trusted
    finally:
        await mosquitto.stop()


async def test_doctor_checks_an_mqtt_broker_and_says_when_it_is_not_there() -> None:
    mosquitto = await start_mosquitto("mqtt-ws")
    try:
        found = await _doctor("--mqtt-url", mosquitto.url)
        assert found[0] == 0, found
        assert f"ok    MQTT broker reachable at {mosquitto.url}; a message went round" in found[1]
    finally:
        await mosquitto.stop()
    gone = await _doctor("--mqtt-url", mosquitto.url)
    assert gone[0] == 1 and "FAIL  cannot reach MQTT broker" in gone[1], gone


async def _doctor(*arguments: str) -> tuple[int | None, str]:
    process = await asyncio.create_subprocess_exec(
        *MESHCHAT,
        "doctor",
        "--transport",
        "mqtt",
        *arguments,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), 30)
    return process.returncode, out.decode()
