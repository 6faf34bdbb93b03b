"""One room, every decision, no I/O.

``RoomCore`` composes the sans-I/O cores (signalling, the per-link data plane, the
overlay and its gossip, relayed parts and receipts, history) and is the only place
that joins them: each core returns actions, and the core routes them to the others or
hands them to its driver (room_actions.py). Inputs are method calls that take the time
(``now``, a monotonic clock in seconds); outputs are lists of actions;
:meth:`RoomCore.next_wakeup` says when :meth:`RoomCore.tick` is next due.

The driver (``room.py`` over aiortc, ``tests/unit/simulation.py`` over simulated
links) creates peer connections, moves frames, publishes to the signalling service and
reports back; it decides nothing.
"""

from __future__ import annotations

import io
import json
import logging
import random
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import IO

from meshchat.mesh.events import (
    MessageReceived,
    MessageUndelivered,
    PayloadDelivered,
    PayloadUndelivered,
    PeerJoined,
    PeerLeft,
    Received,
    SentMessage,
    SentPayload,
    SignallingLost,
    SignallingRestored,
    TransferProgress,
)
from meshchat.mesh.features.file_protocol import FILE_DATA_CHANNEL, FILES_CHANNEL, RESERVED_PREFIX
from meshchat.mesh.features.history import HISTORY_CHANNEL, REQUEST, HistoryBook
from meshchat.mesh.features.history import Answer as HistoryAnswer
from meshchat.mesh.features.history import Request as HistoryRequest
from meshchat.mesh.features.history import parse as parse_history
from meshchat.mesh.identity import Identity
from meshchat.mesh.link import dataplane as d
from meshchat.mesh.link.actions import PeerMisbehaved, SendFrame
from meshchat.mesh.link.chat_frames import (
    MAX_FRAME_BYTES,
    ChatMessage,
    chat_fields,
    new_message_id,
    private_fields,
)
from meshchat.mesh.link.payloads import (
    CHAT_CHANNEL,
    PayloadHeader,
    check_channel_name,
    check_json_size,
    decode_json_body,
    encode_body,
    new_header,
)
from meshchat.mesh.link.private_lines import open_line
from meshchat.mesh.partial import gossip as g
from meshchat.mesh.partial import membership as o
from meshchat.mesh.partial import relayed as r
from meshchat.mesh.partial import relayed_parts as rp
from meshchat.mesh.partial import relayed_receipts as rr
from meshchat.mesh.partial import sealed_relays as sr
from meshchat.mesh.room_actions import (
    Emit,
    FilesPeerJoined,
    FilesPeerLeft,
    FilesUndelivered,
    LinkedPeerJoined,
    RoomAction,
    Send,
    SendPayload,
    ToChannel,
    ToFiles,
    WakeAt,
)
from meshchat.mesh.signalling import protocol as p
from meshchat.mesh.signalling.messages import ProtocolError
from meshchat.mesh.signalling.sealing import RoomSeal
from meshchat.wire.canonical import loads_untrusted
from meshchat.wire.keys import b64encode
from meshchat.wire.quietlog import QuietLog

log = logging.getLogger(__name__)

# Frames of the partial mesh (partial/membership.py, partial/gossip.py); they start with their type.
PRUNE_FRAME = '{"type":"prune"}'
OVERLAY_FRAMES = (
    *(f'{{"type":"{kind}"' for kind in g.FRAME_TYPES),
    '{"type":"roster"',
    PRUNE_FRAME,
)
# Seconds between our answers to reports that we are gone: one for all the reports of
# one stall, which come within a few seconds; each stall's before suspect_grace is over.
REFUTE_INTERVAL = 3.0
PRUNE_GRACE = 2.0  # seconds a pruned link stays open for the prune to reach the peer
OVERLAY_TICK = 1.0  # seconds between the overlay's rounds
RECONNECT_GRACE = 30.0  # seconds a lost peer's messages and files wait for it
RECOVER_SLACK = 8  # envelopes an author may have said between two parts of a payload
STALLED = 2.0  # seconds our own loop stood still: a partial mesh may take us for gone
OWN_CHANNELS = frozenset({FILES_CHANNEL, FILE_DATA_CHANNEL, HISTORY_CHANNEL})  # always read


@dataclass(frozen=True, slots=True)
class PartsPlan:
    """A payload going through the partial mesh in parts: what
    :meth:`RoomCore.relay_part` needs for each, and the header that sums it up."""

    header: PayloadHeader
    body: bytes
    to: tuple[str, ...]
    count: int
    sealing: sr.Sealing | None = None  # to chosen members: sealed to their keys


class RoomCore:
    """The client ``identity``'s membership of ``room``, as decisions.

    ``wall_offset``: add to ``now`` for the wall clock in seconds (timestamps of what we
    say, the age of history; :meth:`tick` may correct it); ``new_sink(size)``: where a
    payload of ``size`` bytes is received into (memory, or a file for big ones). ``rng``,
    ``new_session`` and ``new_id`` make a simulation repeatable.
    """

    def __init__(
        self,
        room: str,
        identity: Identity,
        nick: str,
        *,
        seal: RoomSeal | None = None,
        timing: p.Timing | None = None,
        history: bool = True,
        overlay: o.OverlayConfig | None = None,
        new_sink: Callable[[int], IO[bytes]] | None = None,
        wall_offset: float = 0.0,
        rng: random.Random | None = None,
        new_session: Callable[[], str] | None = None,
        new_id: Callable[[], str] = new_message_id,
    ) -> None:
        self.room = room
        self.id = identity.client_id
        self.nick = nick
        self._key = identity.public_key_b64
        self._seal_key = identity.seal_key
        self._wall_offset = wall_offset
        self._new_id = new_id
        new_sink = new_sink or _in_memory
        # Peer connections whose open channel the data plane was told of -> their peer
        # (the signalling core has forgotten a connection by the time it closes it).
        self._open_links: dict[int, str] = {}
        self.protocol = p.MeshProtocol(
            room,
            identity,
            nick,
            seal=seal,
            timing=timing,
            rng=random.Random(rng.random()) if rng else None,
            new_session=new_session,
        )
        # Members take every link asked of them, and the overlay prunes past degree_high:
        # refusing instead leaves a newcomer linkless while every member is full (the
        # protocol's accept_link is for a light member, as the page is).
        self.overlay = o.Overlay(
            self.id,
            overlay,
            rng=random.Random(rng.random()) if rng else None,
            connections=self.protocol.connection_count,
        )
        self.gossip = g.Gossip(
            self.id,
            room,
            key=identity.public_key_b64,
            sign=identity.sign,
            knows=self.knows,
            rng=random.Random(rng.random()) if rng else None,
        )
        self.data = d.DataPlane(
            self.id,
            nick,
            room=room,
            sign=identity.sign,
            key_of=self.protocol.public_key_of,
            heartbeat_interval=self.protocol.timing.heartbeat_interval,
            reconnect_grace=RECONNECT_GRACE,
            new_sink=new_sink,
            new_id=new_id,
            wanted=self.reads,
            seal_key=identity.seal_key,
            seal_key_of=self.protocol.seal_key_of,
        )
        self.history = HistoryBook(room, keep=history)
        self.parts = rp.PartAssembler(new_sink)
        self.receipts = rr.RelayedReceipts()  # for what we relayed to chosen members
        self.sealed = sr.SealedRelays(
            room, self.id, identity.seal_key, self.protocol.seal_key_of
        )  # ... sealed to their keys
        self._channels: set[str] = set()  # the application's, which it reads
        self._vouched: OrderedDict[str, p.Announced] = OrderedDict()  # see _vouch
        self._prunes: list[tuple[float, str, int | None]] = []  # (when, peer, its link)
        self._said_here_at = float("-inf")
        self._last_tick = float("-inf")
        self._next_overlay_tick = 0.0
        self._bad_frame_log = QuietLog(log)
        self._started = False
        self.left = False

    # --- queries ---

    @property
    def partial(self) -> bool:
        """Whether the room has outgrown a full mesh (partial/membership.py)."""
        return self.overlay.partial

    def peers(self) -> dict[str, str]:
        """The other members: id -> nick. In a full mesh, those with an open data
        channel; in a partial one, every member, linked to us or not."""
        if self.overlay.partial:
            return self.overlay.members()
        return self.protocol.open_peers()

    def linked(self) -> dict[str, str]:
        """The members we hold an open data channel to: id -> nick."""
        return self.protocol.open_peers()

    def pc_of(self, peer_id: str) -> int | None:
        """The peer connection that carries our link to ``peer_id``."""
        return self.protocol.pc_of(peer_id)

    def peer_for(self, pc_id: int) -> str | None:
        """The peer at the other end of the live peer connection ``pc_id``."""
        return self.protocol.peer_for(pc_id)

    def round_trip(self, peer_id: str) -> float | None:
        return self.data.round_trip(peer_id)

    @property
    def forged(self) -> int:
        """Messages dropped because their author's signature did not verify."""
        return self.data.forged + self.history.forged + self.gossip.forged

    def backlog(self) -> int:
        """Payload bytes not yet handed to any link."""
        return self.data.backlog()

    def knows(self, peer_id: str) -> bool:
        """Whether ``peer_id`` is a member we know (linked, or vouched for)."""
        return self.overlay.nick_of(peer_id) is not None

    def nick_of(self, peer_id: str) -> str | None:
        """The nick a member announced for itself, if the room knows it."""
        return self.protocol.nick_of(peer_id) or self.overlay.nick_of(peer_id)

    def public_key_of(self, peer_id: str) -> str | None:
        """The key (base64url) a member proved it signs with: to a link's signalling,
        or, in a partial mesh, in what the room vouched for."""
        return self.protocol.public_key_of(peer_id) or self.overlay.key_of(peer_id)

    def reads(self, channel: str) -> bool:
        """Whether anything here reads ``channel``: payloads on others are not kept."""
        return channel in self._channels or channel in OWN_CHANNELS

    def sends_by_relay(self, to: tuple[str, ...] | None) -> bool:
        """Whether a payload to ``to`` (everyone: None) goes through the partial mesh
        rather than straight over our links."""
        return self.overlay.partial and not (to and set(to) <= self.gossip.links)

    def next_wakeup(self) -> float:
        """When :meth:`tick` is due at the latest."""
        due = [self.data.next_wakeup(), self._last_tick + d.TICK_INTERVAL]
        if self._prunes:
            due.append(min(when for when, _, _ in self._prunes))
        return min(due)

    # --- the application ---

    def read(self, channel: str) -> None:
        """The application reads ``channel`` from now on."""
        self._channels.add(channel)

    def start(self) -> list[str]:
        """The topics to subscribe to before anything else."""
        topics: list[str] = []
        for action in self.protocol.start():
            assert isinstance(action, p.Subscribe)
            topics += action.topics
        return topics

    def subscribed(self, now: float) -> list[RoomAction]:
        """The subscriptions are in place: announce ourselves."""
        self._started = True
        self.history.joined(now)
        return self._signalling(self.protocol.subscribed(now), now)

    def send_chat(self, text: str, now: float) -> tuple[SentMessage, list[RoomAction]]:
        """A chat line to the room.

        Raises :class:`~meshchat.mesh.MessageTooLarge` if the text is over the limit.
        """
        actions: list[RoomAction] = []
        if self.overlay.partial:
            message = self.data.new_chat(text, self._wall_ms(now))
            _, relay = self.gossip.publish(chat_fields(message), now)
            self._gossiped(relay, now, actions)
            sent = SentMessage(message, tuple(sorted(self.gossip.links)))
        else:
            sent, data_actions = self.data.send_chat(text, now, self._wall_ms(now))
            self._linked(data_actions, now, actions)
        self.history.keep(sent.message, self._key, now)
        return sent, actions

    def send_private(
        self, text: str, to: tuple[str, ...], now: float
    ) -> tuple[SentMessage, list[RoomAction]]:
        """A private line to the members ``to`` (sorted), sealed to their keys: over
        our links to them, or relayed through the partial mesh when one is not linked.
        Never kept in history.

        Raises ValueError (no recipients, one not in the room or without a key) or
        :class:`~meshchat.mesh.MessageTooLarge`.
        """
        actions: list[RoomAction] = []
        if not self.sends_by_relay(to):
            sent, data_actions = self.data.send_private(text, to, now, self._wall_ms(now))
            self._linked(data_actions, now, actions)
            return sent, actions
        self._check_members(to)
        message, line = self.data.new_private(text, to, self._wall_ms(now))
        _, relay = self.gossip.publish(private_fields(line), now, to)
        self._gossiped(relay, now, actions)
        return SentMessage(message, tuple(sorted(self.gossip.links))), actions

    def send_payload(
        self, channel: str, data: object, to: tuple[str, ...] | None, now: float
    ) -> tuple[SentPayload, list[RoomAction]]:
        """A payload straight over our links (see :meth:`sends_by_relay`)."""
        actions: list[RoomAction] = []
        sent, data_actions = self.data.send_payload(channel, data, now, self._wall_ms(now), to)
        self._linked(data_actions, now, actions)
        return sent, actions

    def relay_payload(
        self, channel: str, data: object, to: tuple[str, ...] | None, now: float
    ) -> tuple[SentPayload | PartsPlan, list[RoomAction]]:
        """A payload through the partial mesh: a JSON value in one envelope if it
        fits (sent, then), else a plan for :meth:`relay_part`, paced by the driver.

        To chosen members, it is sealed to their keys: the members relaying it carry
        ciphertext only (``partial/sealed_relays.py``).

        Raises ValueError (bad channel or data, recipients not in the room or without
        a key) or :class:`~meshchat.mesh.link.payloads.PayloadTooLarge`.
        """
        check_channel_name(channel)
        if to is not None:
            if not to:
                raise ValueError("no recipients given")
            self._check_members(to)
        kind, body = encode_body(data)
        if kind == "json":
            check_json_size(channel, len(body))
        message_id = self._new_id()
        timestamp_ms = self._wall_ms(now)
        header = new_header(self.id, channel, 0, timestamp_ms, kind, body, to or (), message_id)
        sealing = self.sealed.seal_for(channel, message_id, to) if to else None
        actions: list[RoomAction] = []
        if kind == "json":
            value_body = r.value_body(channel, message_id, timestamp_ms, data)
            if sealing is not None:
                del value_body["value"]
                value_body |= {"seal": sealing.seal, "sealed": b64encode(sealing.encrypt(0, body))}
            try:
                _, relay = self.gossip.publish(value_body, now, to or ())
            except ValueError:
                pass  # too big for one envelope: in parts
            else:
                self._gossiped(relay, now, actions)
                return self.relayed(header, now, actions), actions
        count = rp.part_count(len(body), sealing is not None)
        return PartsPlan(header, body, to or (), count, sealing), actions

    def relay_part(self, plan: PartsPlan, index: int, now: float) -> list[RoomAction]:
        """Part ``index`` of a payload going through the partial mesh."""
        header, sealing = plan.header, plan.sealing
        size = rp.part_bytes(sealing is not None)
        part = plan.body[index * size : (index + 1) * size]
        fields = rp.part_body(
            header.channel,
            header.id,
            header.timestamp_ms,
            header.kind,
            len(plan.body),
            index,
            seal=sealing.seal if sealing is not None else "",
        )
        if sealing is not None:
            part = sealing.encrypt(index, part)
        actions: list[RoomAction] = []
        self._gossiped(self.gossip.publish(fields, now, plan.to, attachment=part)[1], now, actions)
        return actions

    def relayed(self, header: PayloadHeader, now: float, actions: list[RoomAction]) -> SentPayload:
        """A payload went into the partial mesh whole: await its receipts."""
        self._linked(self.receipts.sent(header, now), now, actions)
        return SentPayload(header, tuple(sorted(self.gossip.links)))

    def leave(self, now: float) -> list[RoomAction]:
        """Say bye: through the room in a partial mesh, on every link, and on the
        signalling service."""
        self.left = True
        actions: list[RoomAction] = []
        if self.overlay.partial:  # the whole room hears it, signalling or not
            self._gossiped(self.gossip.publish(r.BYE_BODY, now)[1], now, actions)
        self._linked(self.data.leave(), now, actions)
        if self._started:
            actions += self._signalling(self.protocol.leave(), now)
        return actions

    # --- the signalling service ---

    def on_signal(
        self, topic: str, data: object, now: float, origin: str | None = None
    ) -> list[RoomAction]:
        return self._signalling(self.protocol.receive(topic, data, now, origin), now)

    def signalling_lost(self, reason: str) -> list[RoomAction]:
        return [Emit(SignallingLost(reason))]

    def signalling_restored(self, resumed: bool, now: float) -> list[RoomAction]:
        actions: list[RoomAction] = [Emit(SignallingRestored())]
        if not resumed:  # what was said meanwhile is lost: announce again
            actions += self._signalling(self.protocol.reannounce(now), now)
        return actions

    def signalling_closed(self) -> list[RoomAction]:
        if self.left:
            return []
        return [Emit(SignallingLost("the signalling connection was closed", True))]

    # --- peer connections and their data channels ---

    def local_description(
        self, pc_id: int, sdp_type: str, sdp: str, now: float
    ) -> list[RoomAction]:
        """Our offer or answer for ``pc_id``, with its candidates, is ready."""
        return self._signalling(self.protocol.local_description(pc_id, sdp_type, sdp, now), now)

    def connection_state(self, pc_id: int, state: str, now: float) -> list[RoomAction]:
        return self._signalling(self.protocol.connection_state(pc_id, state), now)

    def connection_error(self, pc_id: int, reason: str, now: float) -> list[RoomAction]:
        """The engine refused the peer's description or candidate."""
        return self._signalling(self.protocol.peer_connection_error(pc_id, reason), now)

    def channel_open(self, pc_id: int, now: float) -> list[RoomAction]:
        actions = self._signalling(self.protocol.channel_open(pc_id, now), now)
        if (peer_id := self.protocol.peer_for(pc_id)) is not None:
            self._open_links[pc_id] = peer_id
            self._linked(self.data.opened(peer_id, now), now, actions)
        return actions

    def channel_closed(self, pc_id: int, now: float) -> list[RoomAction]:
        return self._signalling(self.protocol.channel_closed(pc_id), now)

    def pump(self, peer_id: str, buffered: int, now: float) -> list[RoomAction]:
        """The link to ``peer_id`` holds ``buffered`` bytes not yet sent: give it more."""
        actions: list[RoomAction] = []
        self._linked(self.data.pump(peer_id, buffered, now), now, actions)
        return actions

    def on_frame(self, pc_id: int, frame: str | bytes, now: float) -> list[RoomAction]:
        """A frame arrived on the data channel of ``pc_id``."""
        peer_id = self.protocol.peer_for(pc_id)
        if peer_id is None:
            return []
        self.protocol.channel_activity(pc_id, now)
        actions: list[RoomAction] = []
        if isinstance(frame, str) and frame.startswith(OVERLAY_FRAMES):
            self._on_overlay_frame(peer_id, frame, now, actions)
        elif isinstance(frame, bytes) and g.is_gossip_frame(frame):
            self._gossiped(self.gossip.receive_binary(peer_id, frame, now), now, actions)
        else:
            self._linked(self.data.receive(peer_id, frame, now), now, actions)
        return actions

    # --- time ---

    def tick(self, now: float, wall: float | None = None) -> list[RoomAction]:
        """Heartbeats, deadlines and the overlay's rounds: call at :meth:`next_wakeup`.
        ``wall``: the wall clock now, if it may have been set since."""
        self._last_tick = now
        if wall is not None:
            self._wall_offset = wall - now
        actions = self._signalling(self.protocol.tick(now), now)
        self._linked(self.data.tick(now), now, actions)
        self._gossiped(self.gossip.tick(now), now, actions)
        dropped, due = self.parts.expire(now)
        for payload in dropped:
            log.info("dropped relayed payload %s: its parts stopped coming", payload)
        self._deliver_assembled(due, now, actions)
        self._linked(self.receipts.expire(now), now, actions)
        for when, peer_id, pc_id in [prune for prune in self._prunes if prune[0] <= now]:
            self._prunes.remove((when, peer_id, pc_id))
            if not self.left and pc_id is not None and self.protocol.pc_of(peer_id) == pc_id:
                actions += self._signalling(self.protocol.unlink(peer_id), now)
        if now >= self._next_overlay_tick:
            self._next_overlay_tick = now + OVERLAY_TICK
            keep = self.data.busy_peers() | self.data.overdue_peers(now)
            self._steer(self.overlay.tick(now, busy=keep), now, actions)
            if self.overlay.partial:
                self.protocol.pace_hellos(self.overlay.hello_floor())
        return actions

    # --- routing what the cores return ---

    def _signalling(self, signalled: list[p.Action], now: float) -> list[RoomAction]:
        """What the signalling core decided: peer connections for the driver, links
        opened and closed for the other cores."""
        actions: list[RoomAction] = []
        for action in signalled:
            match action:
                case (
                    p.Publish()
                    | p.CreatePeerConnection()
                    | p.SetRemoteDescription()
                    | p.AddRemoteCandidate()
                ):
                    actions.append(action)
                case p.ClosePeerConnection(pc_id=pc_id):
                    # Detached at once, so nothing is sent on it any more.
                    if (closed := self._open_links.pop(pc_id, None)) is not None:
                        self._linked(self.data.closed(closed, now, said_bye=False), now, actions)
                    actions.append(action)
                case p.LinkOpened():
                    self._link_opened(action, now, actions)
                case p.LinkClosed():
                    self._link_closed(action, now, actions)
                case p.Announced(peer_id=peer_id, nick=nick, public_key=key, wire=wire):
                    heard = self.overlay.hello_heard(peer_id, nick, key, wire, now, action.origin)
                    self._steer(heard, now, actions)
                case p.Departed(peer_id=peer_id):
                    left = self.overlay.left(peer_id, p.SAID_BYE, now, said_bye=True)
                    self._steer(left, now, actions)
                case p.Subscribe():
                    raise AssertionError("subscriptions happen only in start()")
        return actions

    def _link_opened(self, joined: p.LinkOpened, now: float, actions: list[RoomAction]) -> None:
        """The signalling core opened a data channel to a peer: in a full mesh, a peer
        joined; in a partial one, a link to a member."""
        peer_id = joined.peer_id
        key = self.protocol.public_key_of(peer_id)
        self._steer(self.overlay.link_up(peer_id, joined.nick, key, now), now, actions)
        self._gossiped(self.gossip.link_up(peer_id, now), now, actions)
        if not self.overlay.partial:
            self.overlay.told(peer_id)
            actions += [LinkedPeerJoined(peer_id, joined.nick), FilesPeerJoined(peer_id)]
        if self.history.should_ask(peer_id, now):
            actions.append(SendPayload(HISTORY_CHANNEL, REQUEST, (peer_id,)))

    def _link_closed(self, left: p.LinkClosed, now: float, actions: list[RoomAction]) -> None:
        peer_id = left.peer_id
        self.gossip.link_down(peer_id)
        if not self.overlay.partial:  # in a full mesh, a link is a member
            gone = PeerLeft(peer_id, left.nick, left.reason, left.said_bye, left.silent)
            actions.append(Emit(gone))
            self.overlay.link_down(peer_id, now, silent=False)
        elif left.said_bye:
            self.overlay.link_down(peer_id, now, silent=False)
            self._steer(self.overlay.left(peer_id, left.reason, now, said_bye=True), now, actions)
        else:
            self._steer(self.overlay.link_down(peer_id, now, silent=left.silent), now, actions)
        self._linked(self.data.closed(peer_id, now, said_bye=left.said_bye), now, actions)
        if not self.overlay.partial:  # else the overlay says when a member leaves
            actions.append(FilesPeerLeft(peer_id, left.said_bye))

    def _steer(self, steered: list[o.OverlayAction], now: float, actions: list[RoomAction]) -> None:
        """What the overlay decided."""
        for action in steered:
            match action:
                case o.Link(peer_id=peer_id, nick=nick):
                    actions += self._signalling(self.protocol.connect(peer_id, nick, now), now)
                case o.Prune(peer_id=peer_id):
                    # The peer closes the link on reading this; we close it ourselves
                    # a little later if it did not, never before the frame is out.
                    log.info("pruning the link to %s", peer_id)
                    self._send(peer_id, PRUNE_FRAME, actions)
                    self.gossip.link_down(peer_id)
                    when = now + PRUNE_GRACE
                    self._prunes.append((when, peer_id, self.protocol.pc_of(peer_id)))
                    actions.append(WakeAt(when))
                case o.SendRoster(peer_id=peer_id):
                    self._send_roster(peer_id, now, actions)
                case o.SayHere():
                    self._say_here(now, actions)
                case o.ReportGone(peer_id=peer_id):
                    self._gossiped(self.gossip.publish(r.gone_body(peer_id), now)[1], now, actions)
                case o.BecamePartial():
                    log.info("the room outgrew a full mesh: now a partial one")
                    self.data.tolerate_pauses(self.overlay.config.link_pause)
                    actions += self._signalling(self.protocol.go_partial(), now)
                case o.MemberJoined(peer_id=peer_id, nick=nick, route=route):
                    actions += [Emit(PeerJoined(peer_id, nick, route)), FilesPeerJoined(peer_id)]
                case o.MemberLeft(peer_id=peer_id, nick=nick, reason=reason, said_bye=said_bye):
                    gone = PeerLeft(peer_id, nick, reason, said_bye)
                    actions += [Emit(gone), FilesPeerLeft(peer_id, said_bye)]
                    self._deliver_assembled(self.parts.forget(peer_id), now, actions)
                    self._linked(self.receipts.left(peer_id), now, actions)

    def _send_roster(self, peer_id: str, now: float, actions: list[RoomAction]) -> None:
        entries = self.overlay.roster(now, own_hello=self.protocol.last_hello)
        for start in range(0, len(entries), o.ROSTER_PER_FRAME):
            chunk = entries[start : start + o.ROSTER_PER_FRAME]
            frame = json.dumps({"type": "roster", "members": chunk}, separators=(",", ":"))
            self._send(peer_id, frame, actions)

    def _send(self, peer_id: str, frame: str | bytes, actions: list[RoomAction]) -> None:
        """A frame for the link to ``peer_id``, if we hold one."""
        if (pc_id := self.protocol.pc_of(peer_id)) is not None:
            actions.append(Send(pc_id, frame))

    def _gossiped(
        self, relayed: Sequence[g.GossipAction], now: float, actions: list[RoomAction]
    ) -> None:
        """What the gossip core decided."""
        for action in relayed:
            match action:
                case SendFrame(peer_id=peer_id, frame=frame):
                    self._send(peer_id, frame, actions)
                case g.Delivered(envelope=envelope):
                    self._delivered(envelope, now, actions)
                case PeerMisbehaved():
                    self._linked([action], now, actions)
                case g.Forged(peer_id=peer_id):
                    self._linked([d.DropPeer(peer_id, "it relayed a forged message")], now, actions)

    def _linked(
        self, decided: Sequence[d.DataAction], now: float, actions: list[RoomAction]
    ) -> None:
        """What the data plane (or relayed receipts) decided."""
        for action in decided:
            match action:
                case SendFrame(peer_id=peer_id, frame=frame):
                    self._send(peer_id, frame, actions)
                case d.Pump():
                    actions.append(action)
                case d.FlushAcksAt(when=when):
                    actions.append(WakeAt(when))  # the data plane's tick sends them
                case MessageReceived(message=message):
                    # Shown under the nick the peer announced when it joined, whatever
                    # the frame says: a peer cannot post as someone else line by line.
                    nick = self.protocol.nick_of(message.sender) or message.nick
                    key = self.protocol.public_key_of(message.sender)
                    self._chat_line(message, nick, key, now, actions)
                case d.PayloadReceived():
                    self._deliver_payload(action, now, actions)
                case PayloadUndelivered(header=header, peer_id=peer_id, reason=reason) if (
                    header.channel.startswith(RESERVED_PREFIX)
                ):
                    actions.append(FilesUndelivered(header.id, peer_id, reason))
                case (
                    TransferProgress(channel=channel)
                    | PayloadDelivered(header=PayloadHeader(channel=channel))
                ) if channel.startswith(RESERVED_PREFIX):
                    pass  # a file's chunks: the file's own progress and outcome are reported
                case (
                    MessageUndelivered()
                    | PayloadDelivered()
                    | PayloadUndelivered()
                    | TransferProgress()
                ):
                    actions.append(Emit(action))
                case d.DropPeer(peer_id=peer_id, reason=reason):
                    log.warning("dropping peer %s: %s", peer_id, reason)
                    if (pc_id := self.protocol.pc_of(peer_id)) is not None:
                        misbehaved = self.protocol.misbehaved(pc_id, reason, now)
                        actions += self._signalling(misbehaved, now)
                case d.PeerSilent(peer_id=peer_id, silence=silence):
                    if (pc_id := self.protocol.pc_of(peer_id)) is not None:
                        actions += self._signalling(self.protocol.peer_silent(pc_id, silence), now)
                case d.PeerSaidBye(peer_id=peer_id):
                    if (pc_id := self.protocol.pc_of(peer_id)) is not None:
                        actions += self._signalling(self.protocol.channel_bye(pc_id), now)
                case d.WeStalled(seconds=seconds) if seconds > STALLED and self.overlay.partial:
                    # Long enough for links to take us for dead: tell the room we are
                    # here before their reports remove us.
                    self.protocol.announce_soon()
                case PeerMisbehaved(peer_id=peer_id, reason=reason):
                    self._bad_frame_log.warning(
                        peer_id, "peer %s sent a bad data channel frame: %s", reason
                    )
                    if (pc_id := self.protocol.pc_of(peer_id)) is not None:
                        actions += self._signalling(self.protocol.bad_frame(pc_id, now), now)

    # --- what arrives ---

    def _chat_line(
        self,
        message: ChatMessage,
        nick: str,
        key: str | None,
        now: float,
        actions: list[RoomAction],
    ) -> None:
        """The one way a chat line reaches the application, over a link or relayed."""
        shown = message if nick == message.nick else replace(message, nick=nick)
        actions.append(Emit(MessageReceived(shown)))
        if key is not None and not message.private:  # a private line is for its recipients
            self.history.keep(shown, key, now)
        if CHAT_CHANNEL in self._channels:
            actions.append(ToChannel(_received_chat(shown)))

    def _delivered(self, envelope: g.Envelope, now: float, actions: list[RoomAction]) -> None:
        """An envelope for us, in its author's order."""
        author = envelope.author
        self.overlay.alive(author, now)
        try:
            said = r.read_body(envelope, self.room)
        except ProtocolError as error:
            log.info("dropped a message relayed from %s: %s", author, error)
            return
        match said:
            case r.RelayedChat(message=message):
                nick = self.overlay.nick_of(author) or self.protocol.nick_of(author) or "anon"
                self._chat_line(message, nick, envelope.key, now, actions)
            case r.RelayedPrivate(line=line):
                try:
                    message = open_line(line, self.room, self.id, self._seal_key)
                except ProtocolError as error:
                    log.info("dropped a private line relayed from %s: %s", author, error)
                    return
                nick = self.overlay.nick_of(author) or self.protocol.nick_of(author) or "anon"
                self._chat_line(message, nick, envelope.key, now, actions)
            case r.RelayedValue():
                value, size = said.value, said.size
                if said.seal:
                    try:
                        value, size = self.sealed.open_value(author, said, envelope.to)
                    except ProtocolError as error:
                        log.info("dropped a value relayed from %s: %s", author, error)
                        return
                # Relayed: numbered by gossip, not by a link (seq 0).
                header = PayloadHeader(
                    said.message_id, author, said.channel, 0, said.timestamp_ms, "json", size, ""
                )
                self._deliver_payload(d.PayloadReceived(header, value, None), now, actions)
                if envelope.to:
                    self._send_receipt(author, said.message_id, now, actions)
            case rp.RelayedPart():
                if said.seal:
                    try:
                        said = self.sealed.open_part(author, said, envelope.to)
                    except ProtocolError as error:
                        log.info("dropped a part relayed from %s: %s", author, error)
                        return
                if said.index > 0 and self.parts.is_new(author, said):
                    # Its first parts came before we heard from the author at all, and
                    # gossip took them for older than us: they are not, ask for them
                    # (a few numbers earlier too: the author may have said more between).
                    first = envelope.n - said.index - RECOVER_SLACK
                    self.gossip.recover(author, first, envelope.n, now)
                addressed = bool(envelope.to)
                try:
                    due = self.parts.add(
                        author, said, envelope.n, now, addressed=addressed, via=envelope.via
                    )
                except ValueError as error:
                    log.info("dropped a payload relayed from %s: %s", author, error)
                else:
                    self._deliver_assembled(due, now, actions)
            case r.Receipt(message_id=message_id):
                self._linked(self.receipts.got(message_id, author), now, actions)
            case r.GoneReport(peer_id=peer_id) if peer_id == self.id:
                self._say_here(now, actions)
            case r.GoneReport(peer_id=peer_id):
                self._steer(self.overlay.reported_gone(peer_id, author, now), now, actions)
            case r.StillHere(hello=hello):
                vouched = self._vouch(hello)
                if vouched is not None and vouched.peer_id == author:
                    key, nick = vouched.public_key, vouched.nick
                    steered = self.overlay.vouched(author, nick, key, hello, now, hearsay=False)
                    self._steer(steered, now, actions)
            case r.RelayedBye():
                self._steer(self.overlay.left(author, p.SAID_BYE, now, said_bye=True), now, actions)

    def _deliver_assembled(
        self, payloads: list[rp.Assembled], now: float, actions: list[RoomAction]
    ) -> None:
        """Relayed payloads put back together: each as if it had come over a link."""
        for assembled in payloads:
            part = assembled.part
            header = PayloadHeader(
                part.message_id,
                assembled.author,
                part.channel,
                0,
                part.timestamp_ms,
                part.kind,
                part.size,
                assembled.sha256,
            )
            value: object = None
            body: IO[bytes] | None = assembled.body
            if part.kind == "json":
                try:
                    value = decode_json_body(assembled.body.read())
                except ProtocolError as error:
                    log.info("dropped a payload relayed from %s: %s", assembled.author, error)
                    continue
                finally:
                    assembled.body.close()
                body = None
            self._deliver_payload(d.PayloadReceived(header, value, body), now, actions)
            if assembled.addressed:
                self._send_receipt(assembled.author, part.message_id, now, actions)

    def _send_receipt(
        self, author: str, message_id: str, now: float, actions: list[RoomAction]
    ) -> None:
        """Tell the author of a payload relayed to us (among chosen members) we have it."""
        _, relay = self.gossip.publish(rr.got_body(message_id), now, (author,))
        self._gossiped(relay, now, actions)

    def _say_here(self, now: float, actions: list[RoomAction]) -> None:
        """Tell the room we are here: on arriving in a partial mesh, and when a link
        took us for gone (we stalled, or it lost the link); once for all such reports
        in a few seconds."""
        hello = self.protocol.last_hello
        if hello is None or now - self._said_here_at < REFUTE_INTERVAL:
            return
        self._said_here_at = now
        self._gossiped(self.gossip.publish(r.here_body(hello), now)[1], now, actions)

    def _deliver_payload(
        self, action: d.PayloadReceived, now: float, actions: list[RoomAction]
    ) -> None:
        header = action.header
        if header.channel == HISTORY_CHANNEL:
            if action.body is not None:
                action.body.close()  # history is a JSON value, never a stream of bytes
            else:
                self._history_said(header.sender, action.value, now, actions)
            return
        to_files = header.channel in (FILES_CHANNEL, FILE_DATA_CHANNEL)
        if not to_files and header.channel not in self._channels:
            if action.body is not None:
                action.body.close()
            log.debug("payload on channel %r, which this client has not opened", header.channel)
            return
        sender = header.sender
        received = Received(
            header.channel,
            sender,
            self.nick_of(sender) or "anon",
            header.timestamp_ms,
            header.id,
            kind=header.kind,
            size=header.size,
            sha256=header.sha256,
            **({"body": action.body} if action.body is not None else {"data": action.value}),
        )
        actions.append(ToFiles(received) if to_files else ToChannel(received))

    def _history_said(
        self, peer_id: str, value: object, now: float, actions: list[RoomAction]
    ) -> None:
        try:
            said = parse_history(value)
        except ProtocolError as error:
            log.info("peer %s sent a bad history message: %s", peer_id, error)
            return
        match said:
            case HistoryRequest():
                if (answer := self.history.answer_for(peer_id, now)) is not None:
                    actions.append(SendPayload(HISTORY_CHANNEL, answer, (peer_id,)))
            case HistoryAnswer():
                believed = self.history.believe(
                    peer_id, said, now, now_ms=self._wall_ms(now), nick_of=self.nick_of
                )
                actions += [Emit(MessageReceived(message, history=True)) for message in believed]

    # --- frames of the partial mesh ---

    def _on_overlay_frame(
        self, peer_id: str, frame: str, now: float, actions: list[RoomAction]
    ) -> None:
        """A frame of the partial mesh: relayed messages, gossip, a roster, a prune."""
        try:
            if len(frame) > MAX_FRAME_BYTES:
                raise ProtocolError(f"overlay frame of {len(frame)} bytes")
            wire = loads_untrusted(frame)
            if not isinstance(wire, dict):
                raise ProtocolError("overlay frame is not a JSON object")
        except (ValueError, ProtocolError) as error:
            self._linked([PeerMisbehaved(peer_id, str(error))], now, actions)
            return
        match wire.get("type"):
            case "roster":
                self._on_roster(peer_id, wire.get("members"), now, actions)
            case "prune":
                log.info("%s pruned its link to us", peer_id)
                self.gossip.link_down(peer_id)
                self.overlay.pruned(peer_id, now)
                actions += self._signalling(self.protocol.unlink(peer_id), now)
            case _:
                self._gossiped(self.gossip.receive(peer_id, wire, frame, now), now, actions)

    def _on_roster(
        self, peer_id: str, entries: object, now: float, actions: list[RoomAction]
    ) -> None:
        if not isinstance(entries, list) or len(entries) > o.ROSTER_PER_FRAME:
            bad = PeerMisbehaved(peer_id, "a roster that is not a short list")
            self._linked([bad], now, actions)
            return
        self._steer(self.overlay.roster_heard(peer_id), now, actions)
        if not self.overlay.partial:
            return  # one link's word does not make the room partial, nor its members
        for entry in entries:
            if not (isinstance(entry, list) and len(entry) == 2):
                continue
            wire, age = entry
            vouched = self._vouch(wire)
            if vouched is None or not isinstance(age, int | float):
                continue  # not a member's own hello: hearsay we cannot check
            steered = self.overlay.vouched(
                vouched.peer_id,
                vouched.nick,
                vouched.public_key,
                wire,
                now,
                age=float(age),
                via=peer_id,
            )
            self._steer(steered, now, actions)

    def _vouch(self, wire: object) -> p.Announced | None:
        """A member's signed hello, checked once: every link's roster repeats it."""
        token = wire.get("sig") or wire.get("sealed") if isinstance(wire, dict) else None
        if not isinstance(token, str):
            return None
        if (known := self._vouched.get(token)) is not None:
            self._vouched.move_to_end(token)
            return known
        vouched = self.protocol.vouch(wire)
        if vouched is not None:
            self._vouched[token] = vouched
            if len(self._vouched) > o.MAX_MEMBERS:
                self._vouched.popitem(last=False)
        return vouched

    def _check_members(self, to: tuple[str, ...]) -> None:
        """ValueError naming those of ``to`` the room does not know."""
        members = self.peers()
        if absent := [peer for peer in to if peer not in members]:
            raise ValueError(f"not in the room: {', '.join(absent)}")

    def _wall_ms(self, now: float) -> int:
        return int((now + self._wall_offset) * 1000)


def _in_memory(size: int) -> IO[bytes]:
    return io.BytesIO()


def _received_chat(message: ChatMessage) -> Received:
    return Received(
        CHAT_CHANNEL,
        message.sender,
        message.nick,
        message.timestamp_ms,
        message.id,
        kind="text",
        size=len(message.text.encode()),
        data=message.text,
        to=message.to,
    )


def recipients(to: Iterable[str] | None) -> tuple[str, ...] | None:
    """``to`` as the core takes it: sorted, without repeats (None: everyone)."""
    return None if to is None else tuple(sorted(set(to)))
