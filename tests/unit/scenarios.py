"""Whole simulated rooms, measured: members arriving, talking, leaving, some hostile,
over ``simulation.py``'s world (``python -m bench.simulate`` prints these).

Signatures: Ed25519 costs 30-60 µs a check, and every member checks every hello and
every line, so :func:`cheap_signatures` stands in a keyed BLAKE2b for signing and
checking, in simulations only. It changes cost, not behaviour: every check still runs,
and a wrong key or altered content still fails.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from meshchat.mesh.features import history
from meshchat.mesh.identity import Identity
from meshchat.mesh.link import dataplane
from meshchat.mesh.partial import gossip, relayed
from meshchat.mesh.partial.membership import OverlayConfig
from meshchat.mesh.signalling import codec
from meshchat.wire import keys

from .simulation import SimClient, SimNetwork

_MODULES_THAT_VERIFY = (codec, dataplane, gossip, history, relayed)


@dataclass
class Result:
    peers: int
    lines: int
    churn: float
    loss: float
    seed: int
    delivered: float  # of (line, member) pairs
    pairs: int
    latency_ms: dict[str, float]
    frames_per_line_per_member: float
    memory_per_member_kib: float
    simulated_seconds: float
    wall_seconds: float
    signatures: str
    left: int  # members that left during the lines (as many newcomers came)
    hostile: int


def _digest(public_key: bytes, payload: bytes) -> str:
    return keys.b64encode(hashlib.blake2b(payload, key=public_key, digest_size=64).digest())


def _cheap_sign(self: Identity, payload: bytes) -> str:
    return _digest(self.public_key, payload)


def _cheap_verify(claimed_id: str, public_key_b64: str, signature_b64: str, payload: bytes) -> None:
    try:
        public_key = base64.urlsafe_b64decode(public_key_b64 + "=" * (-len(public_key_b64) % 4))
    except ValueError:
        raise keys.BadSignature("not base64url") from None
    if keys.client_id_for(public_key) != claimed_id:
        raise keys.BadSignature(f"key does not belong to {claimed_id}")
    if signature_b64 != _digest(public_key, payload):
        raise keys.BadSignature(f"signature does not match sender {claimed_id}")


@contextlib.contextmanager
def cheap_signatures() -> Iterator[None]:
    """Sign and check with keyed BLAKE2b in this process (simulation only)."""
    saved_sign = Identity.sign
    saved = [(module, module.verify) for module in _MODULES_THAT_VERIFY]
    Identity.sign = _cheap_sign  # type: ignore[method-assign]
    for module, _ in saved:
        module.verify = _cheap_verify  # type: ignore[attr-defined]
    try:
        yield
    finally:
        Identity.sign = saved_sign  # type: ignore[method-assign]
        for module, verify in saved:
            module.verify = verify  # type: ignore[attr-defined]


def _resident_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def simulate(
    peers: int,
    lines: int,
    *,
    churn: float = 0.0,
    loss: float = 0.0,
    seed: int = 1,
    arrivals: float = 25.0,
    rate: float = 5.0,
    latency_ms: float = 20.0,
    settle: float = 20.0,
    drain: float = 15.0,
    overlay: OverlayConfig | None = None,
    hostile: float = 0.0,
    real_signatures: bool = False,
) -> Result:
    """Run one simulated room; ``hostile``: the fraction of members that relay nothing
    and lie in their IHAVEs."""
    started = time.perf_counter()
    resident_before = _resident_kib()
    rng = random.Random(seed)
    net = SimNetwork(seed, loss=loss, max_delay=0.05, latency=latency_ms / 1000)
    members: list[SimClient] = []
    with contextlib.ExitStack() as stack:
        if not real_signatures:
            stack.enter_context(cheap_signatures())
        # Arrivals: a few at a time, as people come into a room.
        for index in range(peers):
            client = net.add_client(f"m{index}", overlay=overlay)
            if rng.random() < hostile:
                client.drop_relays = client.lie_in_ihave = True
            members.append(client)
            net.run(1.0 / arrivals)
        net.run(settle)
        resident_after = _resident_kib()

        said: list[tuple[str, str, float, frozenset[str]]] = []  # author, text, when, audience
        departed: set[str] = set()
        churn_events = round(churn * peers)
        churn_at = (
            set(rng.sample(range(lines), min(churn_events, lines))) if churn_events else set()
        )
        frames_before = sum(client.frames_sent for client in net.clients.values())
        for number in range(lines):
            if number in churn_at:
                leaving = rng.choice([c for c in members if c.id in net.clients])
                departed.add(leaving.id)
                if rng.random() < 0.5:
                    net.leave(leaving.id)
                else:
                    net.kill(leaving.id)
                members.append(net.add_client(f"n{number}", overlay=overlay))
            present = [c for c in net.clients.values() if not c.drop_relays]
            author = rng.choice(present)
            text = f"line {number}"
            audience = frozenset(
                client.id
                for client in net.clients.values()
                if client is not author and client.core.linked()
            )
            net.say(author.id, text)
            said.append((author.id, text, net.now, audience))
            net.run(1.0 / rate)
        net.run(drain)
        frames = sum(client.frames_sent for client in members) - frames_before

    stayed = {client.id: client for client in members if client.id in net.clients}
    delivered = pairs = 0
    latencies: list[float] = []
    for author_id, text, when, audience in said:
        for member_id in audience:
            if (member := stayed.get(member_id)) is None:
                continue  # it left, or crashed
            pairs += 1
            arrived = member.arrived_at.get((author_id, text))
            if arrived is not None:
                delivered += 1
                latencies.append((arrived - when) * 1000)
    listeners = max(1, len(stayed) - 1)
    return Result(
        peers=peers,
        lines=lines,
        churn=churn,
        loss=loss,
        seed=seed,
        delivered=delivered / pairs if pairs else float("nan"),
        pairs=pairs,
        latency_ms={
            "p50": _percentile(latencies, 0.5),
            "p90": _percentile(latencies, 0.9),
            "p99": _percentile(latencies, 0.99),
            "max": max(latencies, default=float("nan")),
        },
        frames_per_line_per_member=frames / max(1, lines) / listeners,
        memory_per_member_kib=(resident_after - resident_before) / peers,
        simulated_seconds=net.now,
        wall_seconds=time.perf_counter() - started,
        signatures="ed25519" if real_signatures else "blake2b stand-in",
        left=len(departed),
        hostile=sum(client.drop_relays for client in members),
    )
