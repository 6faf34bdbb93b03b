"""TURN across networks that cannot reach each other, with a real coturn and the ICE
servers handed out by the broker (short-lived TURN REST credentials).

Topology (all made by the test): namespaces A and B, each linked to this namespace
only; the broker and coturn listen on an address of this namespace that both reach.
A and B have no route to each other, so only a relayed path can work. In the second
case a peer sits on this namespace's end of A's link: a direct path exists, and ICE must
take it instead of the relay."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from collections.abc import AsyncIterator

import pytest

from .netns import ip, local_address, namespace_link, require_netns
from .processes import MESHCHAT, Broker, Peer, start_meshchat_broker

pytestmark = pytest.mark.integration

SERVICES = "10.203.0.1"  # broker and coturn, on an extra address here
A_HOST, A_NS = "10.203.1.1", "10.203.1.2"
B_HOST, B_NS = "10.203.2.1", "10.203.2.2"
TURN_SECRET = "nat-traversal-test-secret"


@pytest.fixture(params=["udp", "tcp"])
async def network(request: pytest.FixtureRequest) -> AsyncIterator[tuple[str, str, Broker]]:
    """The topology, with the broker offering TURN over UDP or over TCP."""
    turn_url = f"turn:{SERVICES}:3478" + ("?transport=tcp" if request.param == "tcp" else "")
    require_netns()
    if shutil.which("turnserver") is None:
        if os.environ.get("CI"):
            pytest.fail("coturn is not installed")
        pytest.skip("coturn is not installed: apt-get install coturn")
    with (
        local_address(SERVICES),
        namespace_link(A_HOST, A_NS) as (ns_a, _),
        namespace_link(B_HOST, B_NS) as (ns_b, _),
    ):
        for ns, via in ((ns_a, A_HOST), (ns_b, B_HOST)):
            ip("netns", "exec", ns, "ip", "route", "add", f"{SERVICES}/32", "via", via)
        turn = await asyncio.create_subprocess_exec(
            "turnserver",
            "--listening-ip",
            SERVICES,
            "--relay-ip",
            SERVICES,
            "--listening-port",
            "3478",
            "--min-port",
            "49160",
            "--max-port",
            "49200",
            "--use-auth-secret",
            f"--static-auth-secret={TURN_SECRET}",
            "--realm=meshchat",
            "--fingerprint",
            "--no-cli",
            "--no-tls",
            "--no-dtls",
            "--log-file=stdout",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        broker = await start_meshchat_broker(
            "--host",
            SERVICES,
            "--ice-server",
            f"stun:{SERVICES}:3478",
            "--ice-server",
            turn_url,
            "--turn-secret",
            TURN_SECRET,
        )
        try:
            await asyncio.sleep(0.5)  # coturn's listeners
            yield ns_a, ns_b, broker
        finally:
            await broker.stop()
            turn.terminate()
            await turn.wait()


async def start_in(namespace: str | None, broker: Broker, nick: str, address: str) -> Peer:
    launcher = ["ip", "netns", "exec", namespace] if namespace else []
    return await Peer.start(broker, "nat", nick, host_address=address, launcher=launcher)


async def test_peers_that_cannot_reach_each_other_chat_through_the_relay(
    network: tuple[str, str, Broker],
) -> None:
    ns_a, ns_b, broker = network
    ana = await start_in(ns_a, broker, "ana", A_NS)
    bo = await start_in(ns_b, broker, "bo", B_NS)
    try:
        joined = await ana.wait_for(lambda e: e["event"] == "joined")
        assert "relay" in joined["route"], joined
        await bo.wait_for_peers({ana.id})
        await ana.send("over the relay")
        await bo.wait_for(lambda e: e["event"] == "message" and e["text"] == "over the relay")
    finally:
        await ana.stop()
        await bo.stop()


async def test_a_direct_path_is_preferred_over_the_relay(
    network: tuple[str, str, Broker],
) -> None:
    ns_a, _, broker = network
    ana = await start_in(ns_a, broker, "ana", A_NS)
    bo = await start_in(None, broker, "bo", A_HOST)  # this end of A's link
    try:
        joined = await ana.wait_for(lambda e: e["event"] == "joined")
        assert joined["route"] == "host/host", joined
        await bo.wait_for_peers({ana.id})
        await bo.send("direct")
        await ana.wait_for(lambda e: e["event"] == "message" and e["text"] == "direct")
    finally:
        await ana.stop()
        await bo.stop()


def doctor(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*MESHCHAT, "doctor", *args], capture_output=True, text=True, timeout=60)


async def test_doctor_reports_what_works_and_what_does_not(
    network: tuple[str, str, Broker],
) -> None:
    _, _, broker = network
    healthy = await asyncio.to_thread(doctor, "--broker", broker.url)
    assert healthy.returncode == 0, healthy.stdout
    lines = healthy.stdout.splitlines()
    assert lines[0].startswith("ok    broker reachable") and "offers 2 ICE server(s)" in lines[0]
    assert any(line.startswith(f"ok    STUN stun:{SERVICES}:3478 works") for line in lines)
    assert any(line.startswith(f"ok    TURN turn:{SERVICES}:3478") for line in lines)
    assert not any(line.startswith("FAIL") for line in lines)

    refused = await asyncio.to_thread(
        doctor,
        "--broker",
        broker.url,
        "--ice-server",
        f"turn:{SERVICES}:3478",
        "--ice-username",
        "1:someone",
        "--ice-credential",
        "wrong",
    )
    assert refused.returncode == 1
    assert "peers behind symmetric NAT or strict firewalls will not connect" in refused.stdout
