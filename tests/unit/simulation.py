"""A deterministic in-memory world of :class:`~meshchat.mesh.room_core.RoomCore`\\ s: a
pub/sub network that can lose, duplicate and reorder messages, peer connections that
open when both sides hold each other's descriptions, and data channels between them
that carry frames in order at a bandwidth, after a latency (and lose what is in flight
when a connection breaks). No I/O, and no copy of the room's glue: each client is the
same RoomCore that ``room.py`` drives, and this file only carries out its actions.

Members can be made hostile: ``drop_relays`` forwards nothing it is given to relay (its
own frames still go), ``lie_in_ihave`` advertises envelopes it does not have.
"""

from __future__ import annotations

import contextlib
import heapq
import json
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

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
from meshchat.mesh.link import dataplane as d
from meshchat.mesh.link.in_flight import LOW_WATER
from meshchat.mesh.partial import gossip as g
from meshchat.mesh.partial.membership import OverlayConfig
from meshchat.mesh.room_actions import (
    Emit,
    LinkedPeerJoined,
    RoomAction,
    Send,
    SendPayload,
    ToChannel,
    WakeAt,
)
from meshchat.mesh.room_core import PartsPlan, RoomCore, recipients
from meshchat.mesh.signalling import protocol as p


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
    core: RoomCore
    pcs: dict[int, SimPeerConnection] = field(default_factory=dict)
    joined: list[str] = field(default_factory=list)
    left: list[tuple[str, str]] = field(default_factory=list)
    offers_made: int = 0
    received: list[tuple[str, str]] = field(default_factory=list)  # (sender, text)
    # When each chat line arrived: (sender, text) -> simulated time.
    arrived_at: dict[tuple[str, str], float] = field(default_factory=dict)
    undelivered: list[tuple[str, str, str]] = field(default_factory=list)  # (peer, text, why)
    # Channel payloads: (sender, channel, value or bytes), and those that did not arrive.
    payloads: list[tuple[str, str, object]] = field(default_factory=list)
    payloads_undelivered: list[tuple[str, str, str]] = field(default_factory=list)
    progress: list[TransferProgress] = field(default_factory=list)
    misbehaved: list[tuple[str, str]] = field(default_factory=list)  # (peer, reason)
    history: list[tuple[str, str]] = field(default_factory=list)  # (sender, text)
    drop_relays: bool = False
    lie_in_ihave: bool = False
    frames_sent: int = 0
    # When its core is next due: what next_wakeup() said after the last tick, or an
    # earlier WakeAt since (as room.py's one timer is set).
    due: float = float("-inf")

    @property
    def id(self) -> str:
        return self.core.id

    @property
    def proto(self) -> p.MeshProtocol:
        return self.core.protocol

    @property
    def data(self) -> d.DataPlane:
        return self.core.data

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
        latency: float | None = None,
    ) -> None:
        """``loss``, ``duplicate``, ``max_delay``: of the pub/sub service.
        ``bandwidth``: bytes each data channel delivers per second; ``latency``: its
        one-way delay (default: up to a quarter of ``max_delay``, at random). A link
        breaks when :meth:`break_connection` says so."""
        self.rng = random.Random(seed)
        self.loss = loss
        self.duplicate = duplicate
        self.max_delay = max_delay
        self.latency = latency
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
        self.channels: set[str] = set()  # read by every member (read_everywhere)
        self._order: list[str] | None = None  # the clients' ids, sorted: who ticks first

    # --- the members ---

    def add_client(
        self,
        nick: str,
        *,
        timing: p.Timing | None = None,
        overlay: OverlayConfig | None = None,
        history: bool = False,
    ) -> SimClient:
        identity = Identity(Ed25519PrivateKey.from_private_bytes(self.rng.randbytes(32)))
        ids = random.Random(self.rng.random())
        core = RoomCore(
            self.room,
            identity,
            nick,
            timing=timing,
            history=history,
            overlay=overlay,
            rng=random.Random(self.rng.random()),
            new_session=lambda: f"s{self.rng.getrandbits(32):08x}",
            new_id=lambda: f"{ids.getrandbits(128):032x}",
        )
        for channel in self.channels:
            core.read(channel)
        client = SimClient(core)
        client_id = core.id
        self.clients[client_id] = client
        self._order = None
        for topic in core.start():
            self.subscriptions.setdefault(topic, set()).add(client_id)
        self.apply(client_id, core.subscribed(self.now))
        return client

    def kill(self, client_id: str) -> None:
        """The client vanishes without a word: its connections die silently."""
        client = self.clients.pop(client_id)
        self._order = None
        for topics in self.subscriptions.values():
            topics.discard(client_id)
        for pc in client.pcs.values():
            pc.closed = True

    def leave(self, client_id: str) -> None:
        """The client says bye and goes."""
        client = self.clients[client_id]
        self.apply(client_id, client.core.leave(self.now))
        self._deliver_frames(0.0)  # the bye frames are on their way as it closes
        self.kill(client_id)

    def stall(self, client_id: str, seconds: float) -> None:
        """The client's process stands still for ``seconds``, then goes on."""
        self.stalled_until[client_id] = self.now + seconds

    def _is_stalled(self, client_id: str) -> bool:
        return self.stalled_until.get(client_id, 0.0) > self.now

    def say(self, client_id: str, text: str) -> SentMessage:
        client = self.clients[client_id]
        sent, actions = client.core.send_chat(text, self.now)
        self.apply(client_id, actions)
        return sent

    def send_payload(
        self, client_id: str, channel: str, data: object, to: list[str] | None = None
    ) -> SentPayload:
        self.read_everywhere(channel)
        client = self.clients[client_id]
        chosen = recipients(to)
        if not client.core.sends_by_relay(chosen):
            sent, actions = client.core.send_payload(channel, data, chosen, self.now)
            self.apply(client_id, actions)
            return sent
        planned, actions = client.core.relay_payload(channel, data, chosen, self.now)
        self.apply(client_id, actions)
        if isinstance(planned, PartsPlan):  # unpaced: the simulated links take any rate
            for index in range(planned.count):
                self.apply(client_id, client.core.relay_part(planned, index, self.now))
            done: list[RoomAction] = []
            planned = client.core.relayed(planned.header, self.now, done)
            self.apply(client_id, done)
        return planned

    def read_everywhere(self, channel: str) -> None:
        """Every member, now and to come, reads ``channel`` (as if each had opened it
        before anything was sent on it)."""
        if channel not in self.channels:
            self.channels.add(channel)
            for client in self.clients.values():
                client.core.read(channel)

    def break_connection(self, a: str, b: str) -> None:
        """The connection between ``a`` and ``b`` dies mid-conversation: what is in
        flight on it is lost, and both ends see their channel close."""
        for owner, other in ((a, b), (b, a)):
            pc = self.clients[owner].open_pc_to(other)
            if pc is not None:
                self._break(owner, pc)

    def _break(self, owner: str, pc: SimPeerConnection) -> None:
        pc.closed = True
        self.frames = [f for f in self.frames if f[3] is not pc]
        self.apply(owner, self.clients[owner].core.channel_closed(pc.pc_id, self.now))

    # --- carrying out what a core decided ---

    def apply(self, client_id: str, actions: Sequence[RoomAction]) -> None:
        client = self.clients.get(client_id)
        if client is None:
            return
        core = client.core
        for action in actions:
            match action:
                case Send(pc_id=pc_id, frame=frame):
                    self._send(client_id, client, pc_id, frame)
                case d.Pump(peer_id=peer_id):
                    pc = client.open_pc_to(peer_id)
                    if pc is not None:
                        self.apply(client_id, core.pump(peer_id, pc.buffered, self.now))
                case Emit(event=event):
                    self._emitted(client, event)
                case LinkedPeerJoined(peer_id=peer_id):
                    client.joined.append(peer_id)
                case ToChannel(received=received):
                    client.payloads.append((received.sender, received.channel, received.data))
                case SendPayload(channel=channel, value=value, to=to):
                    with contextlib.suppress(ValueError):  # the peer left meanwhile
                        self.send_payload(client_id, channel, value, list(to))
                case p.Publish(topic=topic, message=message):
                    self._publish(topic, message)
                case p.CreatePeerConnection(pc_id=pc_id, peer_id=peer_id, caller=caller):
                    pc = SimPeerConnection(client_id, pc_id, peer_id)
                    client.pcs[pc_id] = pc
                    if caller:
                        client.offers_made += 1
                        offer = core.local_description(pc_id, "offer", pc.tag("offer"), self.now)
                        self.apply(client_id, offer)
                case p.SetRemoteDescription(pc_id=pc_id, sdp_type=sdp_type, sdp=sdp):
                    pc = client.pcs[pc_id]
                    _, _, owner, remote_pc = sdp.split()
                    pc.remote = (owner, int(remote_pc))
                    if sdp_type == "offer":
                        answer = core.local_description(pc_id, "answer", pc.tag("answer"), self.now)
                        self.apply(client_id, answer)
                    self._maybe_open(client_id, pc)
                case p.AddRemoteCandidate(pc_id=pc_id):
                    assert client.pcs[pc_id].remote is not None, "candidate before description"
                case p.ClosePeerConnection(pc_id=pc_id):
                    client.pcs[pc_id].closed = True
                case WakeAt(when=when):
                    client.due = min(client.due, when)
                case _:
                    pass  # files: none in the simulation

    def _emitted(self, client: SimClient, event: object) -> None:
        match event:
            case MessageReceived(message=message, history=True):
                client.history.append((message.sender, message.text))
            case MessageReceived(message=message):
                client.received.append((message.sender, message.text))
                client.arrived_at.setdefault((message.sender, message.text), self.now)
            case MessageUndelivered(message=message, peer_id=peer_id, reason=reason):
                client.undelivered.append((peer_id, message.text, reason))
            case PayloadUndelivered(header=header, peer_id=peer_id, reason=reason):
                client.payloads_undelivered.append((peer_id, header.id, reason))
            case TransferProgress():
                client.progress.append(event)
            case PeerJoined(peer_id=peer_id):
                client.joined.append(peer_id)
            case PeerLeft(peer_id=peer_id, reason=reason):
                client.left.append((peer_id, reason))

    def _send(self, client_id: str, client: SimClient, pc_id: int, frame: str | bytes) -> None:
        pc = client.pcs.get(pc_id)
        if pc is None or not pc.open or pc.closed:
            return
        if client.drop_relays and self._relayed_by_another(client_id, frame):
            return
        if client.lie_in_ihave and isinstance(frame, str) and frame.startswith('{"type":"ihave"'):
            frame = self._lie(frame)
        self._sequence += 1
        client.frames_sent += 1
        if self.latency is not None:
            delay = self.latency
        else:
            delay = self.rng.uniform(0, self.max_delay / 4)
        self.frames.append((self.now + delay, self._sequence, client_id, pc, frame))
        pc.buffered += len(frame)
        self.max_buffered = max(self.max_buffered, pc.buffered)

    @staticmethod
    def _relayed_by_another(client_id: str, frame: str | bytes) -> bool:
        """Whether ``frame`` is a gossip envelope (text, or with bytes attached) that
        someone else wrote."""
        if isinstance(frame, bytes):
            if not g.is_gossip_frame(frame):
                return False
            author = g.decode_binary_envelope(frame).author
        elif frame.startswith('{"type":"gossip"'):
            author = json.loads(frame)["from"]
        else:
            return False
        return bool(author != client_id)

    @staticmethod
    def _lie(frame: str) -> str:
        """An IHAVE that claims 50 more envelopes of every author than it has."""
        wire = json.loads(frame)
        wire["high"] = {author: n + 50 for author, n in wire["high"].items()}
        return json.dumps(wire, separators=(",", ":"))

    def _deliver_frames(self, step: float) -> None:
        # In order per channel: a channel is ordered and reliable while it lives, and
        # carries ``bandwidth`` bytes a second; a frame waits for those before it.
        allowance: dict[int, float] = {}
        blocked: set[int] = set()  # channels whose next frame is not due yet
        due = []
        waiting = []
        per_step = self.bandwidth * max(step, 1e-3)
        stalls = any(until > self.now for until in self.stalled_until.values())
        for item in self.frames:  # appended in sequence order, and kept in it
            channel = id(item[3])
            left = allowance.get(channel, per_step)
            remote = item[3].remote
            reader_stalled = stalls and remote is not None and self._is_stalled(remote[0])
            if channel in blocked or item[0] > self.now or left <= 0 or reader_stalled:
                blocked.add(channel)
                waiting.append(item)
            else:
                allowance[channel] = left - len(item[4])
                due.append(item)
        self.frames = waiting
        drained: dict[int, tuple[str, SimPeerConnection]] = {}
        for _, _, sender, pc, frame in due:
            pc.buffered -= len(frame)
            drained[id(pc)] = (sender, pc)
            if pc.closed or pc.remote is None:
                continue
            other_id, other_pc_id = pc.remote
            other = self.clients.get(other_id)
            if other is None or other.pcs[other_pc_id].closed:
                continue
            self.apply(other_id, other.core.on_frame(other_pc_id, frame, self.now))
        self._pump_drained_channels(drained.values())

    def _pump_drained_channels(self, sent_from: Iterable[tuple[str, SimPeerConnection]]) -> None:
        """What room.py does on a channel's ``bufferedamountlow`` event: for each
        channel that delivered frames and holds no more than LOW_WATER now."""
        for client_id, pc in sent_from:
            client = self.clients.get(client_id)
            if client is None or self._is_stalled(client_id):
                continue
            if pc.open and not pc.closed and pc.buffered <= LOW_WATER:
                self.apply(client_id, client.core.pump(pc.peer_id, pc.buffered, self.now))

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
                core = self.clients[owner].core
                self.apply(owner, core.channel_open(connection.pc_id, self.now))

    def _publish(self, topic: str, message: dict[str, Any]) -> None:
        self.published += 1
        copies = 0 if self.rng.random() < self.loss else 1
        if copies and self.rng.random() < self.duplicate:
            copies = 2
        for _ in range(copies):
            self._sequence += 1
            delay = self.rng.uniform(0, self.max_delay)
            heapq.heappush(self.in_flight, (self.now + delay, self._sequence, topic, message))

    # --- time ---

    def run(self, seconds: float, step: float = 0.05) -> None:
        """Advance time, delivering messages and ticking every client when it is due."""
        end = self.now + seconds
        while self.now < end - 1e-9:
            self.now += step
            self._deliver_frames(step)
            due = []
            while self.in_flight and self.in_flight[0][0] <= self.now:
                due.append(heapq.heappop(self.in_flight))
            for _, _, topic, message in due:
                for client_id in sorted(self.subscriptions.get(topic, ())):
                    client = self.clients.get(client_id)
                    if client is not None and not self._is_stalled(client_id):
                        self.apply(client_id, client.core.on_signal(topic, message, self.now))
            if self._order is None:
                self._order = sorted(self.clients)
            for client_id in self._order:
                client = self.clients.get(client_id)
                if client is None or self._is_stalled(client_id):
                    continue
                if client.due <= self.now:
                    client.due = float("inf")
                    self.apply(client_id, client.core.tick(self.now))
                    client.due = min(client.due, client.core.next_wakeup())

    def mesh_complete(self) -> bool:
        ids = set(self.clients)
        return all(
            set(client.proto.open_peers()) == ids - {client_id}
            for client_id, client in self.clients.items()
        )

    def open_connection_count(self) -> int:
        return sum(1 for c in self.clients.values() for pc in c.pcs.values() if not pc.closed)
