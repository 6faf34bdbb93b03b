"""The sans-I/O signalling state machine for one client in one room.

Events go in as method calls (a pub/sub message arrived, a peer connection changed
state, a data channel opened, time passed); every method returns the list of actions
the caller must carry out, in order. Nothing here touches a socket, asyncio or aiortc,
so every path, including glare, loss, reordering and garbage, is tested with plain
unit tests. The driver in ``room.py`` does the I/O.

Rules (see ``docs/protocol.md``):

* The peer with the smaller id is the *caller*: it creates the data channel and the
  offer. The other is the *callee*. If offers cross anyway, the caller's offer wins:
  the callee discards its own connection and answers on a fresh one.
* A broadcast ``hello`` from an unknown peer makes the caller offer, and makes the
  callee reply with a ``hello`` addressed to the caller (which then offers).
* A ``hello`` addressed to us means "I have no connection with you and want one".
* Every actions for one peer connection must be executed in the order returned.
* A stranger (a sender we have no state for) waits for its turn in ``signalling/admission.py``;
  a caller answers a stranger's broadcast ``hello`` with a directed ``hello`` only
  (a probe), and makes a peer connection once the stranger replies. Attempts that get
  no reply are dropped quickly; every reply to a stranger is bounded in number.
"""

from __future__ import annotations

import logging
import random
import secrets
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from meshchat.mesh.identity import Identity
from meshchat.mesh.signalling.admission import Admission, AdmissionLimits
from meshchat.mesh.signalling.candidates import CandidateBudget, limit_sdp
from meshchat.mesh.signalling.codec import SignalCodec
from meshchat.mesh.signalling.messages import (
    Answer,
    Bye,
    Candidate,
    Hello,
    IceCandidate,
    Offer,
    ProtocolError,
    SignalMessage,
)
from meshchat.mesh.signalling.sealing import RoomSeal
from meshchat.wire.quietlog import QuietLog
from meshchat.wire.ratelimit import TokenBucket
from meshchat.wire.topics import client_topic, global_topic

log = logging.getLogger(__name__)


# --- actions: what the driver must do ------------------------------------------------


@dataclass(frozen=True, slots=True)
class Subscribe:
    topics: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Publish:
    topic: str
    message: dict[str, Any]


@dataclass(frozen=True, slots=True)
class CreatePeerConnection:
    """Create a peer connection; a caller also creates the data channel and an offer,
    then reports it with ``local_description()``."""

    pc_id: int
    peer_id: str
    caller: bool


@dataclass(frozen=True, slots=True)
class SetRemoteDescription:
    """Apply the remote SDP; for an offer, also create and set the answer and report it."""

    pc_id: int
    sdp_type: str
    sdp: str


@dataclass(frozen=True, slots=True)
class AddRemoteCandidate:
    """Add a trickled candidate; ``None`` is end-of-candidates."""

    pc_id: int
    candidate: IceCandidate | None


@dataclass(frozen=True, slots=True)
class ClosePeerConnection:
    pc_id: int


@dataclass(frozen=True, slots=True)
class Announced:
    """A valid broadcast ``hello``: ``peer_id`` is in the room. ``wire`` is the message
    as the service gave it (signed, sealed if the room is), to vouch for it to others."""

    peer_id: str
    nick: str
    public_key: str
    wire: object
    origin: str = ""  # the connection it came through, if the service names one


@dataclass(frozen=True, slots=True)
class Departed:
    """A valid ``bye`` from ``peer_id``, linked to us or not."""

    peer_id: str


@dataclass(frozen=True, slots=True)
class LinkOpened:
    """The data channel to ``peer_id`` opened (the first time for this peer: a channel
    rebuilt after a lost connection is not news)."""

    peer_id: str
    nick: str


@dataclass(frozen=True, slots=True)
class LinkClosed:
    """The link to ``peer_id`` is gone: it said bye (``said_bye``), or its connection
    was lost (``silent``: nothing came from it for far longer than its heartbeats are
    apart, as when its process or machine died)."""

    peer_id: str
    nick: str
    reason: str
    said_bye: bool = False
    silent: bool = False


Action = (
    Subscribe
    | Publish
    | CreatePeerConnection
    | SetRemoteDescription
    | AddRemoteCandidate
    | ClosePeerConnection
    | LinkOpened
    | LinkClosed
    | Announced
    | Departed
)


# --- settings and per-peer state -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class Timing:
    """Every delay the protocol uses, in seconds."""

    hello_initial: float = 1.0
    # On joining, strangers' announcements are only noted for this long: the room may
    # turn out too big for a full mesh (partial/membership.py), and its members call us anyway.
    join_settle: float = 1.5
    hello_max: float = 30.0
    hello_jitter: float = 0.25  # each interval is scaled by 1 +/- this
    connect_timeout: float = 20.0  # from first contact to an open data channel
    # A stranger that has not said a word to us directly within this is forgotten.
    unanswered_timeout: float = 6.0
    max_description_sends: int = 4  # an offer goes at most this often without an answer
    retransmit_interval: float = 2.0  # an unanswered offer is sent again this often
    # Sent by the data plane, whose failure detector decides when a peer is silent
    # for too long (link/dataplane.py, link/liveness.py).
    heartbeat_interval: float = 1.0
    # Invalid data-channel frames forgiven per second (and in a burst) before the peer
    # is dropped, and how long it is then ignored.
    bad_frame_rate: float = 2.0
    bad_frame_burst: float = 20.0
    shun_seconds: float = 60.0
    # What a known peer's messages may make us do (a fresh peer connection for a new
    # offer, our description again for a repeated one): this often, in bursts of this.
    peer_work_rate: float = 0.5
    peer_work_burst: float = 6.0


SAID_BYE = "said bye"  # the reason a deliberate leave is given
SENT_GARBAGE = "sent too many invalid or excess data channel frames"
MAX_PEERS = 256  # a full mesh of more is impractical; bounds memory under a hello flood
# Once a hello says the room is a partial mesh, the strangers we probe ourselves; the
# others' links, offered to us, and their rosters do the rest (partial/membership.py).
CROWD_PROBES = 6
MAX_EARLY_CANDIDATES = 64  # per peer, across sessions
MAX_CANDIDATE_SENDERS = 32  # strangers whose candidates are kept for an offer to come
# Strangers we replied to and that have not answered yet; past this, the oldest is
# forgotten (it can always say hello again).
MAX_UNANSWERED = 64
MAX_SHUNNED = 1024


class Phase(Enum):
    IDLE = "idle"  # known, no peer connection
    OFFERING = "offering"  # caller: offer being made or waiting for the answer
    ANSWERING = "answering"  # callee: remote offer applied, answer being made
    CONNECTING = "connecting"  # descriptions exchanged, waiting for the data channel
    OPEN = "open"


@dataclass
class _Peer:
    peer_id: str
    nick: str
    phase: Phase = Phase.IDLE
    pc_id: int | None = None
    session: str | None = None
    remote_described: bool = False
    # Candidates that arrived before the description they belong to, by session.
    early_candidates: dict[str, list[IceCandidate | None]] = field(default_factory=dict)
    joined: bool = False
    # Our offer or answer for the current session, kept to send again if it was lost.
    description: Publish | None = None
    description_sent_at: float = 0.0
    description_sends: int = 0
    # The peer has sent us a directed message since we met: it is listening.
    heard_directly: bool = False
    attempt_started: float = 0.0
    last_activity: float = 0.0
    bad_frames: TokenBucket | None = None
    work: TokenBucket | None = None  # see Timing.peer_work_rate
    public_key: str | None = None  # base64url, as verified in its signalling
    # Remote candidates accepted on the current peer connection (see signalling/candidates.py).
    candidates: CandidateBudget = field(default_factory=CandidateBudget)


# --- the state machine ---------------------------------------------------------------


class MeshProtocol:
    """Signalling state for the client with ``identity`` in ``room``.

    With a ``seal`` (the room secret), everything published is sealed and only sealed
    messages are accepted.
    """

    def __init__(
        self,
        room: str,
        identity: Identity,
        nick: str,
        *,
        seal: RoomSeal | None = None,
        timing: Timing | None = None,
        rng: random.Random | None = None,
        new_session: Callable[[], str] | None = None,
        admission: AdmissionLimits | None = None,
        accept_link: Callable[[str], bool] | None = None,
    ) -> None:
        self.room = room
        self.client_id = identity.client_id
        self.nick = nick
        self._codec = SignalCodec(room, identity, seal)
        self.timing = timing or Timing()
        self._rng = rng or random.Random()
        self._new_session = new_session or (lambda: secrets.token_hex(8))
        self._peers: dict[str, _Peer] = {}
        self._by_pc: dict[int, _Peer] = {}
        self._next_pc_id = 1
        self._subscribed = False
        self._left = False
        self._hello_interval = self.timing.hello_initial
        self._next_hello: float | None = None
        self._hurry_hello = False
        self._admission: Admission[tuple[Hello | Offer, str]] = Admission(
            admission or AdmissionLimits(), 0.0
        )
        # Candidates from strangers whose offer may still be on its way: sender -> list.
        self._stray_candidates: OrderedDict[str, list[tuple[str, IceCandidate | None]]] = (
            OrderedDict()
        )
        self._shunned: OrderedDict[str, float] = OrderedDict()  # peer id -> until when
        self.dropped = 0  # messages rejected as invalid, for tests and diagnostics
        # A partial mesh (partial/membership.py; see go_partial): strangers' hellos are
        # not answered with a link, links are made by connect(). A stranger's request is
        # taken up only if ``accept_link`` says so: a light member (as the page is) may
        # keep to a few links; a full member takes all and prunes. ``_hello_floor``: the
        # least interval between hellos (pace_hellos).
        self._partial = False
        self._accept_link = accept_link or (lambda peer_id: True)
        self._hello_floor = 0.0
        self.last_hello: dict[str, Any] | None = None  # as published, for rosters
        # Strangers probed since a hello said the room is a crowd (None: none said so).
        self._crowd_probes: int | None = None
        self._settle_until: float | None = None
        # Strangers' announcements noted while settling: sender -> (hello, key, lane).
        self._noted: OrderedDict[str, tuple[Hello, str, str]] = OrderedDict()
        self._quiet_log = QuietLog(log)  # strangers decide how often we would log

    # -- queries --

    @property
    def partial(self) -> bool:
        """Whether the room is a partial mesh (go_partial)."""
        return self._partial

    @property
    def global_topic(self) -> str:
        return global_topic(self._codec.topic_room)

    @property
    def own_topic(self) -> str:
        return client_topic(self._codec.topic_room, self.client_id)

    def is_caller_towards(self, peer_id: str) -> bool:
        return self.client_id < peer_id

    def open_peers(self) -> dict[str, str]:
        """Peers with an open data channel: id -> nickname."""
        return {p.peer_id: p.nick for p in self._peers.values() if p.phase is Phase.OPEN}

    def public_key_of(self, peer_id: str) -> str | None:
        """The public key (base64url) the peer signs with, as its signalling proved."""
        peer = self._peers.get(peer_id)
        return peer.public_key if peer else None

    def seal_key_of(self, peer_id: str) -> bytes | None:
        """The X25519 key ``peer_id`` announced in its signed signalling, if any came."""
        return self._codec.seal_key_of(peer_id)

    def nick_of(self, peer_id: str) -> str | None:
        """The nick the peer announced for itself; fixed once it has joined."""
        peer = self._peers.get(peer_id)
        return peer.nick if peer else None

    def peer_for(self, pc_id: int) -> str | None:
        peer = self._by_pc.get(pc_id)
        return peer.peer_id if peer else None

    def connection_count(self) -> int:
        """The peer connections we hold now, open or being made."""
        return len(self._by_pc)

    def pc_of(self, peer_id: str) -> int | None:
        """The peer connection currently meant for ``peer_id``, if any."""
        peer = self._peers.get(peer_id)
        return peer.pc_id if peer else None

    def phase_of(self, peer_id: str) -> Phase | None:
        peer = self._peers.get(peer_id)
        return peer.phase if peer else None

    # -- lifecycle --

    def start(self) -> list[Action]:
        """First step: subscribe to our own channel and the room's global channel."""
        return [Subscribe((self.own_topic, self.global_topic))]

    def subscribed(self, now: float) -> list[Action]:
        """Both subscriptions are active: announce ourselves."""
        self._subscribed = True
        self._hello_interval = self.timing.hello_initial
        self._settle_until = now + self.timing.join_settle
        return self._broadcast_hello(now)

    def announce_soon(self) -> None:
        """Say hello on ``global`` at the next tick the hello floor allows: after we
        stalled, the room may take us for gone (partial/membership.py), and a hello reaches every
        member directly, whatever became of our links."""
        self._hurry_hello = True

    def reannounce(self, now: float) -> list[Action]:
        """The pub/sub connection came back without its history: say hello again soon
        and often, as on joining."""
        if self._left or not self._subscribed:
            return []
        self._hello_interval = self.timing.hello_initial
        return self._broadcast_hello(now)

    def leave(self) -> list[Action]:
        """Say bye and close every peer connection."""
        if self._left:
            return []
        self._left = True
        actions: list[Action] = [Publish(self.global_topic, self._wire(Bye(self.client_id)))]
        for peer in list(self._peers.values()):
            actions += self._drop(peer, "we left", announce=False)
        return actions

    # -- links in a partial mesh --

    def connect(self, peer_id: str, nick: str, now: float) -> list[Action]:
        """Make a link to the member ``peer_id`` (heard of, not met): the caller offers
        at once, the callee asks the caller to."""
        if self._left or peer_id in self._peers or self._is_shunned(peer_id, now):
            return []
        peer = self._add_peer(peer_id, nick, now)
        if peer is None:
            return []
        if self.is_caller_towards(peer_id):
            return self._call(peer, now)
        return [self._send(peer_id, Hello(self.client_id, self.nick, peer_id))]

    def unlink(self, peer_id: str) -> list[Action]:
        """Close the link to ``peer_id`` without counting it as a leave (a prune)."""
        peer = self._peers.get(peer_id)
        return self._drop(peer, "link pruned", announce=False) if peer else []

    def vouch(self, data: object) -> Announced | None:
        """A broadcast hello that another peer passed on (a roster entry), if it is a
        valid, signed one for this room; None otherwise."""
        try:
            message, public_key = self._codec.decode_with_key(data)
        except ProtocolError:
            return None
        if not isinstance(message, Hello) or message.to is not None:
            return None
        return Announced(message.sender, message.nick, public_key, data)

    # -- pub/sub input --

    def receive(
        self, topic: str, data: object, now: float, origin: str | None = None
    ) -> list[Action]:
        """A message arrived on ``topic``, through ``origin`` (the publishing connection
        or address, if the service names one). Invalid ones are logged and dropped."""
        if self._left:
            return []
        if topic not in (self.global_topic, self.own_topic):
            return self._reject(f"message on unexpected topic {topic!r}")
        try:
            message, public_key = self._codec.decode_with_key(data)
        except ProtocolError as error:
            return self._reject(str(error))
        if message.sender == self.client_id:
            return []  # our own broadcast echoed back by the pub/sub layer
        to = getattr(message, "to", None)
        if to is not None and to != self.client_id:
            return self._reject(f"message addressed to {to}, not us")
        if topic == self.global_topic and to is not None:
            return self._reject("directed message on the global channel")
        if self._is_shunned(message.sender, now):
            return self._reject(f"message from {message.sender}, who is shunned")
        sender = message.sender
        peer = self._peers.get(sender)
        heard: list[Action] = []
        if isinstance(message, Hello) and to is None:
            lane = origin or message.sender
            heard = [Announced(message.sender, message.nick, public_key, data, lane)]
            if message.crowd and self._crowd_probes is None:
                self._crowd_probes = 0
        elif isinstance(message, Bye):
            heard = [Departed(message.sender)]
        if peer is None and self._partial and isinstance(message, Hello) and to is None:
            return heard  # the overlay decides whom to link to
        if peer is None and isinstance(message, Hello) and to is None and self._settling(now):
            self._noted[message.sender] = (message, public_key, origin or message.sender)
            if len(self._noted) > MAX_PEERS:
                self._noted.popitem(last=False)
            return heard
        if peer is None and isinstance(message, Hello | Offer) and not self._accept_link(sender):
            log.debug("link asked by %s: we have enough", sender)
            return heard  # it asks someone else when we do not answer
        if peer is None and isinstance(message, Hello | Offer):
            item = (message, public_key)
            self._admission.wait(origin or message.sender, message.sender, item, now)
            return heard + self._admit(now)
        if peer is not None:
            peer.public_key = public_key  # an id is a hash of its key: it never changes
            if to is not None:
                peer.heard_directly = True
        return heard + self._handle(message, peer, now)

    def _handle(self, message: SignalMessage, peer: _Peer | None, now: float) -> list[Action]:
        match message:
            case Hello():
                return self._on_hello(message, now)
            case Offer():
                return self._on_offer(message, now)
            case Answer():
                return self._on_answer(message)
            case Candidate():
                return self._on_candidate(message, now)
            case Bye():
                return self._drop(peer, SAID_BYE, said_bye=True) if peer else []

    # -- peer connection input --

    def local_description(self, pc_id: int, sdp_type: str, sdp: str, now: float) -> list[Action]:
        """The driver created and set our offer or answer; send it to the peer."""
        peer = self._by_pc.get(pc_id)
        if peer is None or peer.session is None:
            return []  # that connection was replaced meanwhile
        kind = Offer if sdp_type == "offer" else Answer
        if peer.phase is Phase.ANSWERING:
            peer.phase = Phase.CONNECTING
        message = kind(self.client_id, peer.peer_id, peer.session, sdp, self.nick)
        peer.description = self._send(peer.peer_id, message)
        peer.description_sent_at = now
        peer.description_sends = 1
        return [peer.description]

    def connection_state(self, pc_id: int, state: str) -> list[Action]:
        """aiortc's ``connectionState`` changed."""
        peer = self._by_pc.get(pc_id)
        if peer is None or state not in ("failed", "closed"):
            return []
        return self._lost(peer, f"connection {state}")

    def peer_connection_error(self, pc_id: int, reason: str) -> list[Action]:
        """The driver could not apply a description or candidate."""
        peer = self._by_pc.get(pc_id)
        if peer is None:
            return []
        log.warning("peer %s: %s", peer.peer_id, reason)
        return self._lost(peer, reason)

    def channel_open(self, pc_id: int, now: float) -> list[Action]:
        peer = self._by_pc.get(pc_id)
        if peer is None or peer.phase is Phase.OPEN:
            return []
        peer.phase = Phase.OPEN
        peer.last_activity = now
        if peer.joined:
            return []
        peer.joined = True
        return [LinkOpened(peer.peer_id, peer.nick)]

    def channel_activity(self, pc_id: int, now: float) -> None:
        """Anything arrived on the data channel: the peer is alive."""
        peer = self._by_pc.get(pc_id)
        if peer is not None:
            peer.last_activity = now

    def peer_silent(self, pc_id: int, silence: float) -> list[Action]:
        """The data plane's failure detector gave up on the peer: lost, and asked to
        reconnect (if it only stalled, it will)."""
        peer = self._by_pc.get(pc_id)
        return self._lost(peer, f"silent for {silence:.1f} s", silent=True) if peer else []

    def bad_frame(self, pc_id: int, now: float) -> list[Action]:
        """The peer sent something invalid on the data channel. A few are forgiven (a
        newer client, a glitch); a peer that keeps at it is dropped and shunned."""
        peer = self._by_pc.get(pc_id)
        if peer is None:
            return []
        if peer.bad_frames is None:
            limit = self.timing.bad_frame_rate
            peer.bad_frames = TokenBucket(limit, self.timing.bad_frame_burst, now)
        if peer.bad_frames.take(now):
            return []
        self._shun(peer.peer_id, now)
        return self._drop(peer, SENT_GARBAGE)

    def misbehaved(self, pc_id: int, reason: str, now: float) -> list[Action]:
        """The peer broke a limit no honest client breaks: dropped and shunned at once."""
        peer = self._by_pc.get(pc_id)
        if peer is None:
            return []
        self._shun(peer.peer_id, now)
        return self._drop(peer, reason)

    def channel_closed(self, pc_id: int) -> list[Action]:
        peer = self._by_pc.get(pc_id)
        return self._lost(peer, "data channel closed") if peer else []

    def channel_bye(self, pc_id: int) -> list[Action]:
        """The peer said bye on the data channel (faster than via the broker)."""
        peer = self._by_pc.get(pc_id)
        return self._drop(peer, SAID_BYE, said_bye=True) if peer else []

    # -- time --

    def tick(self, now: float) -> list[Action]:
        """Call often (every ~0.25 s): re-announce, serve strangers, give up on
        connections that never open."""
        if self._left or not self._subscribed:
            return []
        actions: list[Action] = self._admit(now)
        if self._settle_until is not None and not self._settling(now):
            self._settle_until = None
            actions += self._answer_noted(now)
        for peer in list(self._peers.values()):
            if peer.phase is Phase.OPEN:
                continue
            if now - peer.attempt_started > self.timing.connect_timeout:
                # Covers a callee waiting for an offer that never came, too.
                actions += self._lost(peer, "connection attempt timed out", recontact=False)
            elif (
                not peer.heard_directly
                and now - peer.attempt_started > self.timing.unanswered_timeout
            ):
                # A stranger that never spoke to us directly: perhaps no one at all, so
                # nothing to hurry for either.
                actions += self._drop(peer, "no reply")
            elif (
                peer.phase is Phase.OFFERING
                and now - peer.description_sent_at >= self.timing.retransmit_interval
            ):
                if peer.description_sends >= self.timing.max_description_sends:
                    actions += self._drop(peer, "offer never answered")
                else:
                    actions += self._resend_description(peer, now)
        if self._hurry_hello and self._next_hello is not None:
            # Someone was lost: look for them (and anyone else) again soon.
            soon = max(self.timing.hello_initial, self._hello_floor)
            self._next_hello = min(self._next_hello, now + soon)
            self._hurry_hello = False
        if self._next_hello is not None and now >= self._next_hello:
            if not self._partial and any(p.phase is not Phase.OPEN for p in self._peers.values()):
                self._hello_interval = self.timing.hello_initial  # mesh incomplete: hurry
            actions += self._broadcast_hello(now)
        return actions

    def _settling(self, now: float) -> bool:
        return self._settle_until is not None and now < self._settle_until

    def _answer_noted(self, now: float) -> list[Action]:
        """Settled in a room that stayed small: the announcements noted take their
        turn with other strangers' (signalling/admission.py), as if they had just come."""
        noted, self._noted = self._noted, OrderedDict()
        if self._partial:
            return []
        for sender, (hello, public_key, lane) in noted.items():
            if sender not in self._peers:
                self._admission.wait(lane, sender, (hello, public_key), now)
        return self._admit(now)

    def pace_hellos(self, floor: float) -> None:
        """Broadcast hellos at most every ``floor`` seconds: a big room's announcements
        together stay within what the signalling service allows (overlay.hello_floor)."""
        self._hello_floor = floor

    def go_partial(self) -> list[Action]:
        """The room turned into a partial mesh (for good): from now on links are made by
        connect(), hellos say "crowd", and connections still being made for the full
        mesh are dropped (the overlay makes the few it needs)."""
        self._partial = True
        actions: list[Action] = []
        for peer in list(self._peers.values()):
            if peer.phase is not Phase.OPEN:
                actions += self._drop(peer, "not needed in a partial mesh", announce=False)
        return actions

    # -- message handlers --

    def _on_hello(self, hello: Hello, now: float) -> list[Action]:
        directed = hello.to is not None
        peer = self._peers.get(hello.sender)
        probes = None if directed else self._crowd_probes
        if peer is None:
            if probes is not None and probes >= CROWD_PROBES:
                return []  # a crowd: probing all of it would open a connection to each
            peer = self._add_peer(hello.sender, hello.nick, now)
            if peer is None:
                return []
            peer.heard_directly = directed
            if probes is not None:
                self._crowd_probes = probes + 1
            if not directed:
                # A stranger's announcement: one directed hello back (a probe). The
                # peer connection is made once they reply, so an identity that never
                # listens costs one publish and no peer connection.
                return [self._send(peer.peer_id, Hello(self.client_id, self.nick, peer.peer_id))]
        self._announce_nick(peer, hello.nick)
        if not directed and (peer.pc_id is not None or not peer.heard_directly):
            # A periodic announcement from a peer we already handle, or from one we
            # replied to and that has not answered: another reply would only be work
            # on behalf of an identity that may not be listening at all.
            return []
        if peer.pc_id is not None:
            if peer.phase is Phase.OPEN:
                if now - peer.last_activity < 2 * self.timing.heartbeat_interval:
                    return []  # stale: the peer was heartbeating us just now
            elif peer.phase is Phase.OFFERING:
                if now - peer.description_sent_at < self.timing.retransmit_interval / 2:
                    return []  # they sent this before our fresh offer reached them
                if not self._may_work_for(peer, now):
                    return []
                return self._resend_description(peer, now)  # they never got our offer
            elif not self.is_caller_towards(peer.peer_id):
                return []  # their offer is already on its way
        if not self._may_work_for(peer, now):
            return self._reject(f"{peer.peer_id} asks for new connections too often")
        if self.is_caller_towards(peer.peer_id):
            return self._call(peer, now)
        actions = self._close_pc(peer)
        peer.attempt_started = now  # now waiting for the caller's offer
        return [*actions, self._send(peer.peer_id, Hello(self.client_id, self.nick, peer.peer_id))]

    def _on_offer(self, offer: Offer, now: float) -> list[Action]:
        peer = self._peers.get(offer.sender) or self._add_peer(offer.sender, offer.nick, now)
        if peer is None:
            return []
        peer.heard_directly = True
        self._announce_nick(peer, offer.nick)
        if peer.session == offer.session:
            # A duplicate, or a retransmission because our answer was lost.
            return self._resend_description(peer, now) if self._may_work_for(peer, now) else []
        if peer.phase is Phase.OFFERING and self.is_caller_towards(peer.peer_id):
            log.info("offers crossed with %s: ours wins, theirs ignored", peer.peer_id)
            return []
        if not self._may_work_for(peer, now):
            return self._reject(f"{peer.peer_id} offers new connections too often")
        actions = self._close_pc(peer)
        pc_id = self._open_pc(peer, offer.session, Phase.ANSWERING, now)
        actions.append(CreatePeerConnection(pc_id, peer.peer_id, caller=False))
        actions.append(SetRemoteDescription(pc_id, "offer", self._limit_sdp(peer, offer.sdp)))
        actions += self._apply_early_candidates(peer)
        return actions

    def _on_answer(self, answer: Answer) -> list[Action]:
        peer = self._peers.get(answer.sender)
        if peer is not None and peer.session == answer.session and peer.remote_described:
            return []  # a duplicate of the answer we already applied
        if (
            peer is None
            or peer.pc_id is None
            or peer.phase is not Phase.OFFERING
            or peer.session != answer.session
        ):
            return self._reject(f"unexpected or stale answer from {answer.sender}")
        self._announce_nick(peer, answer.nick)
        peer.phase = Phase.CONNECTING
        sdp = self._limit_sdp(peer, answer.sdp)
        actions: list[Action] = [SetRemoteDescription(peer.pc_id, "answer", sdp)]
        return actions + self._apply_early_candidates(peer)

    def _on_candidate(self, message: Candidate, now: float) -> list[Action]:
        sender = message.sender
        peer = self._peers.get(sender)
        if peer is not None and peer.session == message.session and peer.remote_described:
            assert peer.pc_id is not None
            return self._add_candidates(peer, [message.candidate])
        if self.is_caller_towards(sender) and (peer is None or peer.session != message.session):
            # Only a callee can receive candidates for an offer it has not seen yet.
            return self._reject(f"candidate for unknown session from {sender}")
        if peer is None:
            # A stranger's offer may still be on its way (or waiting for admission):
            # keep a few of its candidates, for a few strangers only.
            stray = self._stray_candidates.setdefault(sender, [])
            self._stray_candidates.move_to_end(sender)
            if len(self._stray_candidates) > MAX_CANDIDATE_SENDERS:
                self._stray_candidates.popitem(last=False)
            if len(stray) >= MAX_EARLY_CANDIDATES:
                return self._reject(f"too many early candidates from {sender}")
            stray.append((message.session, message.candidate))
            return []
        buffered = sum(len(c) for c in peer.early_candidates.values())
        if buffered >= MAX_EARLY_CANDIDATES:
            return self._reject(f"too many early candidates from {sender}")
        peer.early_candidates.setdefault(message.session, []).append(message.candidate)
        return []

    # -- helpers --

    def _add_peer(self, peer_id: str, nick: str, now: float) -> _Peer | None:
        if len(self._peers) >= MAX_PEERS:
            self._reject(f"peer limit {MAX_PEERS} reached, ignoring {peer_id}")
            return None
        unanswered = [q for q in self._peers.values() if q.pc_id is None and not q.heard_directly]
        if len(unanswered) >= MAX_UNANSWERED:
            oldest = min(unanswered, key=lambda q: q.attempt_started)
            self._drop(oldest, "no reply", announce=False)
        peer = _Peer(peer_id, nick, attempt_started=now)
        self._peers[peer_id] = peer
        self._admission.forget(peer_id)
        for session, candidate in self._stray_candidates.pop(peer_id, []):
            peer.early_candidates.setdefault(session, []).append(candidate)
        return peer

    def _admit(self, now: float) -> list[Action]:
        """Serve the strangers whose turn it is (see ``signalling/admission.py``)."""
        # Attempts that hold a peer connection: the costly kind of half-open.
        half_open = sum(
            1 for p in self._peers.values() if p.pc_id is not None and p.phase is not Phase.OPEN
        )
        actions: list[Action] = []
        for sender, (message, public_key) in self._admission.take(now, half_open):
            if sender in self._peers and isinstance(message, Hello) and message.to is None:
                continue  # met meanwhile; their announcement adds nothing
            if isinstance(message, Hello):
                actions += self._on_hello(message, now)
            else:
                actions += self._on_offer(message, now)
            if (peer := self._peers.get(sender)) is not None:
                peer.public_key = public_key
        return actions

    def _may_work_for(self, peer: _Peer, now: float) -> bool:
        """Whether a message from ``peer`` may cost us a peer connection or a publish:
        an honest peer needs a few per connection attempt, a hostile one gets no more."""
        if peer.work is None:
            peer.work = TokenBucket(self.timing.peer_work_rate, self.timing.peer_work_burst, now)
        return peer.work.take(now)

    def _announce_nick(self, peer: _Peer, nick: str) -> None:
        """A peer's nick is the one it announced before joining; later messages cannot
        change it (so a peer cannot pass itself off as someone else mid-conversation)."""
        if not peer.joined:
            peer.nick = nick

    def _shun(self, peer_id: str, now: float) -> None:
        self._shunned[peer_id] = now + self.timing.shun_seconds
        self._shunned.move_to_end(peer_id)
        if len(self._shunned) > MAX_SHUNNED:
            self._shunned.popitem(last=False)

    def _is_shunned(self, peer_id: str, now: float) -> bool:
        until = self._shunned.get(peer_id)
        if until is None:
            return False
        if now < until:
            return True
        del self._shunned[peer_id]
        return False

    def _call(self, peer: _Peer, now: float) -> list[Action]:
        actions = self._close_pc(peer)
        pc_id = self._open_pc(peer, self._new_session(), Phase.OFFERING, now)
        actions.append(CreatePeerConnection(pc_id, peer.peer_id, caller=True))
        return actions

    def _open_pc(self, peer: _Peer, session: str, phase: Phase, now: float) -> int:
        pc_id = self._next_pc_id
        self._next_pc_id += 1
        peer.pc_id = pc_id
        peer.session = session
        peer.phase = phase
        peer.remote_described = phase is Phase.ANSWERING
        peer.candidates = CandidateBudget()
        peer.attempt_started = now
        self._by_pc[pc_id] = peer
        return pc_id

    def _resend_description(self, peer: _Peer, now: float) -> list[Action]:
        if peer.description is None:
            return []  # not made yet: it goes out once the driver reports it
        peer.description_sent_at = now
        peer.description_sends += 1
        return [peer.description]

    def _apply_early_candidates(self, peer: _Peer) -> list[Action]:
        """The remote description is now set: flush what was buffered for it."""
        assert peer.pc_id is not None and peer.session is not None
        peer.remote_described = True
        early = peer.early_candidates.pop(peer.session, [])
        peer.early_candidates.clear()  # other sessions are stale now
        return self._add_candidates(peer, early)

    def _add_candidates(self, peer: _Peer, candidates: list[IceCandidate | None]) -> list[Action]:
        assert peer.pc_id is not None
        actions: list[Action] = []
        for candidate in candidates:
            refusal = None if candidate is None else peer.candidates.admit(candidate.candidate)
            if refusal is None:
                actions.append(AddRemoteCandidate(peer.pc_id, candidate))
            else:
                self._reject(f"candidate from {peer.peer_id} refused: {refusal}")
        return actions

    def _limit_sdp(self, peer: _Peer, sdp: str) -> str:
        limited, refused = limit_sdp(sdp, peer.candidates)
        if refused:
            self._reject(f"{len(refused)} candidates in the SDP of {peer.peer_id}: {refused[0]}")
        return limited

    def _close_pc(self, peer: _Peer) -> list[Action]:
        if peer.pc_id is None:
            return []
        pc_id = peer.pc_id
        del self._by_pc[pc_id]
        peer.pc_id = None
        peer.session = None
        peer.description = None
        peer.description_sends = 0
        peer.remote_described = False
        peer.phase = Phase.IDLE
        return [ClosePeerConnection(pc_id)]

    def _lost(
        self, peer: _Peer, reason: str, *, recontact: bool = True, silent: bool = False
    ) -> list[Action]:
        """The connection died without a bye: drop it and ask the peer for a new one."""
        actions = self._drop(peer, reason, silent=silent)
        if not self._partial:  # in a partial mesh, the overlay replaces lost links
            self._hello_interval = self.timing.hello_initial  # the mesh is incomplete again
            self._hurry_hello = True
        if recontact and not self._left and not self._partial:
            # If the peer is alive it reconnects; if it is gone, this is harmless.
            actions.append(self._send(peer.peer_id, Hello(self.client_id, self.nick, peer.peer_id)))
        return actions

    def _drop(
        self,
        peer: _Peer,
        reason: str,
        *,
        announce: bool = True,
        said_bye: bool = False,
        silent: bool = False,
    ) -> list[Action]:
        actions = self._close_pc(peer)
        del self._peers[peer.peer_id]
        if peer.joined and announce:
            actions.append(LinkClosed(peer.peer_id, peer.nick, reason, said_bye, silent))
        log.info("peer %s dropped: %s", peer.peer_id, reason)
        return actions

    def _broadcast_hello(self, now: float) -> list[Action]:
        jitter = self._rng.uniform(-self.timing.hello_jitter, self.timing.hello_jitter)
        self._next_hello = now + self._hello_interval * (1 + jitter)
        self._next_hello = max(self._next_hello, now + self._hello_floor)
        self._hello_interval = min(self._hello_interval * 2, self.timing.hello_max)
        self.last_hello = self._wire(Hello(self.client_id, self.nick, crowd=self._partial))
        return [Publish(self.global_topic, self.last_hello)]

    def _send(self, peer_id: str, message: SignalMessage) -> Publish:
        return Publish(client_topic(self._codec.topic_room, peer_id), self._wire(message))

    def _wire(self, message: SignalMessage) -> dict[str, Any]:
        return self._codec.encode(message)

    def _reject(self, reason: str) -> list[Action]:
        self.dropped += 1
        self._quiet_log.warning("signalling", "dropped %s message: %s", reason)
        return []
