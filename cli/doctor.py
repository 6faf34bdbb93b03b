"""``meshchat doctor``: can peers meet and connect from here? Checks the broker, then
each STUN and TURN server, and says in plain words what will and will not work."""

from __future__ import annotations

import asyncio
import os
import secrets
from dataclasses import dataclass

import aioice.stun
import aioice.turn
from aiortc.rtcicetransport import parse_stun_turn_uri

from meshchat.mesh import IceServer, TransportError, WebSocketTransport
from meshchat.mesh.identity import Identity
from meshchat.mesh.transports.base import TransportMessage

from .join_options import MqttSettings

TIMEOUT = 5.0


@dataclass
class Finding:
    ok: bool
    text: str


async def check_broker(url: str, token: str | None = None) -> tuple[Finding, tuple[IceServer, ...]]:
    transport = WebSocketTransport(url, token=token, open_timeout=TIMEOUT, patience=0)
    url = transport.url  # without the token, which is never shown
    try:
        offered = await transport.connect(Identity())
    except TransportError as error:
        return Finding(False, f"broker unreachable ({error}): no one can meet through it"), ()
    await transport.close()
    extra = f"; it offers {len(offered)} ICE server(s)" if offered else ""
    return Finding(True, f"broker reachable at {url}{extra}"), offered


class _StunProbe(asyncio.DatagramProtocol):
    def __init__(self, transaction: bytes) -> None:
        self.transaction = transaction
        self.reply: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        if data[8:20] == self.transaction and not self.reply.done():
            self.reply.set_result(data)


async def check_stun(url: str) -> Finding:
    target = parse_stun_turn_uri(url)
    transaction = os.urandom(12)
    loop = asyncio.get_running_loop()
    try:
        transport, probe = await loop.create_datagram_endpoint(
            lambda: _StunProbe(transaction), remote_addr=(target["host"], target["port"])
        )
    except OSError as error:
        return Finding(False, f"STUN {url} unusable ({error.strerror})")
    try:
        transport.sendto(b"\x00\x01\x00\x00\x21\x12\xa4\x42" + transaction)
        reply = await asyncio.wait_for(probe.reply, TIMEOUT)
    except TimeoutError:
        return Finding(
            False,
            f"STUN {url} unreachable: peers on different networks will only connect "
            "through TURN, if at all",
        )
    finally:
        transport.close()
    if reply[:2] != b"\x01\x01":
        return Finding(False, f"STUN {url} answered with an error")
    return Finding(True, f"STUN {url} works: peers behind ordinary NATs can connect directly")


async def check_turn(server: IceServer) -> Finding:
    url = server.urls[0]
    target = parse_stun_turn_uri(url)
    try:
        transport, _ = await asyncio.wait_for(
            aioice.turn.create_turn_endpoint(
                asyncio.DatagramProtocol,
                server_addr=(target["host"], target["port"]),
                username=server.username,
                password=server.credential,
                transport=target["transport"] or "udp",
            ),
            TIMEOUT,
        )
    except (
        TimeoutError,
        OSError,
        aioice.stun.TransactionFailed,
        aioice.stun.TransactionTimeout,
    ) as error:
        reason = str(error) or type(error).__name__
        return Finding(
            False,
            f"TURN {url} unreachable or refused ({reason}): peers behind symmetric NAT or "
            "strict firewalls will not connect",
        )
    relayed = transport.get_extra_info("sockname")
    transport.close()
    return Finding(True, f"TURN {url} works (relay address {relayed[0]}:{relayed[1]})")


async def check_mqtt(settings: MqttSettings) -> Finding:
    """Connect to the MQTT broker, and send a message round through it."""
    from meshchat.mesh.transports.mqtt import MqttTransport

    probe = f"meshchat/doctor-{secrets.token_hex(6)}/global"
    try:
        transport = MqttTransport(
            settings.url,
            username=settings.username,
            password=settings.password,
            prefix=settings.prefix,
        )
        await transport.connect(Identity())
    except TransportError as error:
        return Finding(False, f"{error}: no one can meet through it")
    try:
        async with asyncio.timeout(TIMEOUT):
            await transport.subscribe([probe])
            started = asyncio.get_running_loop().time()
            await transport.publish(probe, {"doctor": True})
            async for event in transport.messages():
                if isinstance(event, TransportMessage) and event.topic == probe:
                    break
        took = (asyncio.get_running_loop().time() - started) * 1000
        return Finding(
            True, f"MQTT broker reachable at {transport.url}; a message went round in {took:.0f} ms"
        )
    except (TransportError, TimeoutError) as error:
        reason = str(error) or "no answer within 5 s"
        return Finding(
            False, f"MQTT broker at {transport.url} took us but relays nothing ({reason})"
        )
    finally:
        await transport.close()


async def diagnose(
    broker_url: str,
    servers: tuple[IceServer, ...],
    broker_token: str | None = None,
    mqtt: MqttSettings | None = None,
) -> list[Finding]:
    offered: tuple[IceServer, ...] = ()
    if mqtt is not None:
        broker = await check_mqtt(mqtt)
    else:
        broker, offered = await check_broker(broker_url, broker_token)
    findings = [broker]
    for server in servers or offered:
        if server.urls[0].startswith("stun"):
            findings.append(await check_stun(server.urls[0]))
        else:
            findings.append(await check_turn(server))
    if not (servers or offered):
        findings.append(
            Finding(
                True,
                "no STUN or TURN server configured: peers connect only when they can reach "
                "each other's addresses directly (same network or host)",
            )
        )
    return findings
