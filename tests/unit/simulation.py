"""A deterministic in-memory world for the sans-I/O cores: a pub/sub network that can
lose, duplicate and reorder messages, peer connections that open when both sides hold
each other's descriptions, and data channels between them that carry frames in order
(and lose what is in flight when a connection breaks). No I/O: this exercises the
signalling state machine and the data plane alone, joined as ``room.py`` joins them."""

from __future__ import annotations

import io
import random
from dataclasses import dataclass, field
from typing import Any

from meshchat.mesh import dataplane as d
from meshchat.mesh import protocol as p
from meshchat.mesh.events import (
    MessageReceived,
    MessageUndelivered,
    PayloadUndelivered,
    PeerJoined,
    PeerLeft,
    SentMessage,
    SentPayload,
    TransferProgress,
)
from meshchat.mesh.identity import Identity
from meshchat.mesh.transfers import LOW_WATER


@dataclass
class SimPeerConnection:
    owner: str
    pc_id: int
    peer_id: str
    remote: tuple[str, int] | None = None  # (client, pc_id) whose description we applied
    closed: bool = False
    open: bool = False
    buffered: int = 0  # bytes sent on its channel and not yet delivered

    def tag(self, sdp_type: str) -> str:
        return f"v=0 {sdp_type} {self.owner} {self.pc_id}"


@dataclass
class SimClient:
    proto: p.MeshProtocol
    data: d.DataPlane

    @property
    def id(self) -> str:
        return self.proto.client_id

    pcs: dict[int, SimPeerConnection] = field(default_factory=dict)
    joined: list[str] = field(default_factory=list)
    left: list[tuple[str, str]] = field(default_factory=list)
    offers_made: int = 0
    received: list[tuple[str, str]] = field(default_factory=list)  # (sender, text)
    undelivered: list[tuple[str, str, str]] = field(default_factory=list)  # (peer, text, why)
    # Channel payloads: (sender, channel, value or bytes), and those that did not arrive.
    payloads: list[tuple[str, str, object]] = field(default_factory=list)
    payloads_undelivered: list[tuple[str, str, str]] = field(default_factory=list)
    progress: list[TransferProgress] = field(default_factory=list)
    misbehaved: list[tuple[str, str]] = field(default_factory=list)  # (peer, reason)

    def open_pc_to(self, peer_id: str) -> SimPeerConnection | None:
        for pc in self.pcs.values():
            if pc.peer_id == peer_id and pc.open and not pc.closed:
                return pc
        return None


class SimNetwork:
    def __init__(
        self,
        seed: int = 0,
        *,
        loss: float = 0.0,
        duplicate: float = 0.0,
        max_delay: float = 0.0,
        room: str = "lobby",
        bandwidth: int = 64 * 1024 * 1024,
    ) -> None:
        """``bandwidth``: bytes each data channel delivers per second."""
        self.rng = random.Random(seed)
        self.loss = loss
        self.duplicate = duplicate
        self.max_delay = max_delay
        self.room = room
        self.bandwidth = bandwidth
        self.max_buffered = 0  # the most any channel held at once
        self.now = 0.0
        self.clients: dict[str, SimClient] = {}
        self.subscriptions: dict[str, set[str]] = {}
        self.in_flight: list[tuple[float, int, str, dict[str, Any]]] = []
        # Data-channel frames under way: (due, sequence, sender, its pc, frame).
        self.frames: list[tuple[float, int, str, SimPeerConnection, str | bytes]] = []
        self._sequence = 0
        self.published = 0
        # Clients whose process stands still (SIGSTOP) until then: they neither tick nor
        # read, and frames to them wait.
        self.stalled_until: dict[str, float] = {}

    def add_client(self, nick: str, *, timing: p.Timing | None = None) -> SimClient:
        identity = Identity()
        proto = p.MeshProtocol(
            self.room,
            identity,
            nick,
            timing=timing,
            rng=random.Random(self.rng.random()),
            new_session=lambda: f"s{self.rng.getrandbits(32):08x}",
        )
        heartbeat = (timing or p.Timing()).heartbeat_interval
        data = d.DataPlane(
            proto.client_id,
            nick,
            room=self.room,
            sign=identity.sign,
            key_of=proto.public_key_of,
            heartbeat_interval=heartbeat,
        )
        client = SimClient(proto, data)
        client_id = proto.client_id
        self.clients[client_id] = client
        self.apply(client_id, proto.start())
        self.apply(client_id, proto.subscribed(self.now))
        return client

    def kill(self, client_id: str) -> None:
        """The client vanishes without a word: its connections die silently."""
        client = self.clients.pop(client_id)
        for topics in self.subscriptions.values():
            topics.discard(client_id)
        for pc in client.pcs.values():
            pc.closed = True

    def stall(self, client_id: str, seconds: float) -> None:
        """The client's process stands still for ``seconds``, then goes on."""
        self.stalled_until[client_id] = self.now + seconds

    def _is_stalled(self, client_id: str) -> bool:
        return self.stalled_until.get(client_id, 0.0) > self.now

    def say(self, client_id: str, text: str) -> SentMessage:
        client = self.clients[client_id]
        sent, actions = client.data.send_chat(text, self.now, int(self.now * 1000))
        self.carry(client_id, actions)
        return sent

    def send_payload(
        self, client_id: str, channel: str, data: object, to: list[str] | None = None
    ) -> SentPayload:
        client = self.clients[client_id]
        sent, actions = client.data.send_payload(channel, data, self.now, int(self.now * 1000), to)
        self.carry(client_id, actions)
        return sent

    def break_connection(self, a: str, b: str) -> None:
        """The connection between ``a`` and ``b`` dies mid-conversation: what is in
        flight on it is lost, and both ends see their channel close."""
        for owner, other in ((a, b), (b, a)):
            pc = self.clients[owner].open_pc_to(other)
            if pc is not None:
                pc.closed = True
                self.frames = [f for f in self.frames if f[3] is not pc]
                self.apply(owner, self.clients[owner].proto.channel_closed(pc.pc_id))

    def carry(self, client_id: str, actions: list[d.DataAction]) -> None:
        """Carry out a data plane's actions, as room.py does."""
        client = self.clients.get(client_id)
        if client is None:
            return
        for action in actions:
            match action:
                case d.SendFrame(peer_id=peer_id, frame=frame):
                    pc = client.open_pc_to(peer_id)
                    if pc is not None:
                        self._sequence += 1
                        delay = self.rng.uniform(0, self.max_delay / 4)
                        self.frames.append((self.now + delay, self._sequence, client_id, pc, frame))
                        pc.buffered += len(frame)
                        self.max_buffered = max(self.max_buffered, pc.buffered)
                case d.Pump(peer_id=peer_id):
                    pc = client.open_pc_to(peer_id)
                    if pc is not None:
                        self.carry(client_id, client.data.pump(peer_id, pc.buffered, self.now))
                case d.PayloadReceived(header=header, value=value, body=body):
                    data = body.getvalue() if isinstance(body, io.BytesIO) else value
                    client.payloads.append((header.sender, header.channel, data))
                case PayloadUndelivered(header=header, peer_id=peer_id, reason=reason):
                    client.payloads_undelivered.append((peer_id, header.id, reason))
                case TransferProgress():
                    client.progress.append(action)
                case d.DropPeer(peer_id=peer_id, reason=reason):
                    client.misbehaved.append((peer_id, reason))
                    pc = client.open_pc_to(peer_id)
                    if pc is not None:
                        self.apply(client_id, client.proto.misbehaved(pc.pc_id, reason, self.now))
                case d.PeerSilent(peer_id=peer_id, silence=silence):
                    pc = client.open_pc_to(peer_id)
                    if pc is not None:
                        self.apply(client_id, client.proto.peer_silent(pc.pc_id, silence))
                case MessageReceived(message=message):
                    client.received.append((message.sender, message.text))
                case MessageUndelivered(message=message, peer_id=peer_id, reason=reason):
                    client.undelivered.append((peer_id, message.text, reason))
                case d.PeerSaidBye(peer_id=peer_id) | d.PeerMisbehaved(peer_id=peer_id):
                    if isinstance(action, d.PeerMisbehaved):
                        client.misbehaved.append((peer_id, action.reason))
                    pc = client.open_pc_to(peer_id)
                    if pc is not None and isinstance(action, d.PeerSaidBye):
                        self.apply(client_id, client.proto.channel_bye(pc.pc_id))

    def _deliver_frames(self, step: float) -> None:
        # In order per channel: a channel is ordered and reliable while it lives, and
        # carries ``bandwidth`` bytes a second; a frame waits for those before it.
        allowance: dict[int, float] = {}
        blocked: set[int] = set()  # channels whose next frame is not due yet
        due = []
        waiting = []
        for item in sorted(self.frames, key=lambda f: f[1]):
            channel = id(item[3])
            left = allowance.setdefault(channel, self.bandwidth * step)
            remote = item[3].remote
            reader_stalled = remote is not None and self._is_stalled(remote[0])
            if channel in blocked or item[0] > self.now or left <= 0 or reader_stalled:
                blocked.add(channel)
                waiting.append(item)
            else:
                allowance[channel] = left - len(item[4])
                due.append(item)
        self.frames = waiting
        for _, _, sender, pc, frame in due:
            pc.buffered -= len(frame)
            if pc.closed or pc.remote is None:
                continue
            other_id, other_pc_id = pc.remote
            other = self.clients.get(other_id)
            if other is None or other.pcs[other_pc_id].closed:
                continue
            other.proto.channel_activity(other_pc_id, self.now)
            self.carry(other_id, other.data.receive(sender, frame, self.now))
        self._pump_drained_channels()

    def _pump_drained_channels(self) -> None:
        """What room.py does on a channel's ``bufferedamountlow`` event."""
        for client_id, client in list(self.clients.items()):
            if self._is_stalled(client_id):
                continue
            for pc in list(client.pcs.values()):
                if pc.open and not pc.closed and pc.buffered <= LOW_WATER:
                    self.carry(client_id, client.data.pump(pc.peer_id, pc.buffered, self.now))

    def apply(self, client_id: str, actions: list[p.Action]) -> None:
        client = self.clients.get(client_id)
        if client is None:
            return
        for action in actions:
            match action:
                case p.Subscribe(topics=topics):
                    for topic in topics:
                        self.subscriptions.setdefault(topic, set()).add(client_id)
                case p.Publish(topic=topic, message=message):
                    self._publish(topic, message)
                case p.CreatePeerConnection(pc_id=pc_id, peer_id=peer_id, caller=caller):
                    pc = SimPeerConnection(client_id, pc_id, peer_id)
                    client.pcs[pc_id] = pc
                    if caller:
                        client.offers_made += 1
                        self.apply(
                            client_id,
                            client.proto.local_description(
                                pc_id, "offer", pc.tag("offer"), self.now
                            ),
                        )
                case p.SetRemoteDescription(pc_id=pc_id, sdp_type=sdp_type, sdp=sdp):
                    pc = client.pcs[pc_id]
                    _, _, owner, remote_pc = sdp.split()
                    pc.remote = (owner, int(remote_pc))
                    if sdp_type == "offer":
                        self.apply(
                            client_id,
                            client.proto.local_description(
                                pc_id, "answer", pc.tag("answer"), self.now
                            ),
                        )
                    self._maybe_open(client_id, pc)
                case p.AddRemoteCandidate(pc_id=pc_id):
                    assert client.pcs[pc_id].remote is not None, "candidate before description"
                case p.ClosePeerConnection(pc_id=pc_id):
                    pc = client.pcs[pc_id]
                    if pc.open and not pc.closed:
                        self.carry(
                            client_id, client.data.closed(pc.peer_id, self.now, said_bye=False)
                        )
                    pc.closed = True
                case PeerJoined(peer_id=peer_id):
                    client.joined.append(peer_id)
                case PeerLeft(peer_id=peer_id, reason=reason, said_bye=said_bye):
                    client.left.append((peer_id, reason))
                    self.carry(client_id, client.data.closed(peer_id, self.now, said_bye=said_bye))

    def _maybe_open(self, client_id: str, pc: SimPeerConnection) -> None:
        if pc.remote is None or pc.closed:
            return
        other_id, other_pc_id = pc.remote
        other = self.clients.get(other_id)
        if other is None:
            return
        other_pc = other.pcs.get(other_pc_id)
        if other_pc is None or other_pc.closed or other_pc.remote != (client_id, pc.pc_id):
            return
        for owner, connection in ((client_id, pc), (other_id, other_pc)):
            if not connection.open:
                connection.open = True
                sim = self.clients[owner]
                self.apply(owner, sim.proto.channel_open(connection.pc_id, self.now))
                self.carry(owner, sim.data.opened(connection.peer_id, self.now))

    def _publish(self, topic: str, message: dict[str, Any]) -> None:
        self.published += 1
        copies = 0 if self.rng.random() < self.loss else 1
        if copies and self.rng.random() < self.duplicate:
            copies = 2
        for _ in range(copies):
            self._sequence += 1
            delay = self.rng.uniform(0, self.max_delay)
            self.in_flight.append((self.now + delay, self._sequence, topic, message))

    def run(self, seconds: float, step: float = 0.05) -> None:
        """Advance time, delivering messages and ticking every client."""
        end = self.now + seconds
        while self.now < end:
            self.now += step
            self._deliver_frames(step)
            due = sorted(m for m in self.in_flight if m[0] <= self.now)
            self.in_flight = [m for m in self.in_flight if m[0] > self.now]
            for _, _, topic, message in due:
                for client_id in sorted(self.subscriptions.get(topic, ())):
                    client = self.clients.get(client_id)
                    if client is not None and not self._is_stalled(client_id):
                        self.apply(client_id, client.proto.receive(topic, message, self.now))
            for client_id in sorted(self.clients):
                client = self.clients.get(client_id)
                if client is not None and not self._is_stalled(client_id):
                    self.apply(client_id, client.proto.tick(self.now))
                    self.carry(client_id, client.data.tick(self.now))

    def mesh_complete(self) -> bool:
        ids = set(self.clients)
        return all(
            set(client.proto.open_peers()) == ids - {client_id}
            for client_id, client in self.clients.items()
        )

    def open_connection_count(self) -> int:
        return sum(1 for c in self.clients.values() for pc in c.pcs.values() if not pc.closed)
