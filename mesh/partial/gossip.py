"""Messages relayed along a partial mesh, as a sans-I/O core: author-signed envelopes,
flooding with a seen cache, per-author order, and repair by gossip (IHAVE / IWANT).

In a room bigger than a full mesh (``partial/membership.py``), a peer's links reach a few peers
only. Whatever is said to the whole room goes out as an *envelope*: the author's id,
its own sequence number ``n`` (1, 2, 3... for everything it relays through the room),
its public key, the recipients (empty: everyone) and a body, all signed by the author.
Every peer that gets an envelope it has not seen checks the signature, keeps a copy for
a while, delivers it if it is addressed to it, and forwards it, verbatim, to its other
links. A relay can therefore drop an envelope but neither alter nor invent one.

Pushing: flooding every link would bring each envelope to a peer once per link (some
nine times in a big room), and on a busy machine the copies are most of the work. So a
peer that gets a second copy of an envelope over a link asks that link to stop pushing
to it (an IHAVE with ``"push": false``), as long as ``EAGER_LINKS`` others still push;
the links it stopped still send IHAVE, and one whose IHAVE shows an envelope we lack
is asked to push again (``"push": true``) with the IWANT: the others' paths failed. A
relay that drops is routed around by the other pushing links, or repaired this way.
This is Plumtree's eager and lazy push (Leitao et al., 2007), keeping a few eager
links instead of a tree. Peers that do not know ``push`` ignore it and go on pushing
to every link.

Order: envelopes of one author are delivered in the order of ``n``; a later one waits
up to ``GAP_WAIT`` for an earlier one that is missing, and is delivered anyway after
that. Repair: once a second, each peer tells its links the highest ``n`` it holds of
the authors heard lately (IHAVE), and a new link at once all it has; a link that is
behind asks for what it lacks (IWANT) and gets the cached envelopes. An envelope may
carry bytes (a binary frame), bound to the signature by their digest. This is
GossipSub's scheme, with per-author sequence numbers instead of message ids so that a
gap is visible. The wire format is in ``docs/protocol.md``, "Rooms bigger than a full
mesh".
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import random
import re
import struct
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from meshchat.mesh.link.actions import PeerMisbehaved, SendFrame
from meshchat.mesh.link.chat_frames import MAX_FRAME_BYTES, MAX_SEQ, SIGNATURE_PATTERN, whole_number
from meshchat.mesh.signalling.messages import ID_PATTERN, ProtocolError
from meshchat.wire.canonical import canonical, loads_untrusted
from meshchat.wire.keys import BadSignature, verify
from meshchat.wire.ratelimit import TokenBucket

GOSSIP_CHANNEL = "meshchat/gossip"  # what envelope signatures are bound to, with the room
GAP_WAIT = 3.0  # seconds a later envelope waits for a missing earlier one
START_WAIT = 0.3  # ... and the first one heard from an author, for any earlier one
START_BACKFILL = 8  # an author first heard at an n this low: its envelopes from 1 are asked for
CACHE_SECONDS = 30.0  # envelopes kept to answer IWANT
CACHE_MAX = 8192
CACHE_BYTES = 48 * 1024 * 1024  # of cached frames: relayed bytes make them big
SEEN_MAX = 32768  # (author, n) pairs remembered to drop copies
MAX_AUTHORS = 1024
MAX_HELD = 256  # envelopes of one author waiting for an earlier one
IHAVE_INTERVAL = 1.0
# Links that go on pushing every envelope to us: a copy over another link asks it to
# stop. With three, a relay that drops or a link that dies costs no repair, and a room
# of 100 in bench.simulate (seed 3) sends 9.0 frames a line per member against
# flooding's 16.2; two save little (8.6) and lines wait longer for repairs (p99 1.15 s,
# not 0.8); four cost 9.8 for a p99 of 0.3 s there, not yet told apart in real rooms.
EAGER_LINKS = 3
STOP_PUSHING = '{"type":"ihave","high":{},"push":false}'
PUSH_AGAIN = '{"type":"ihave","high":{},"push":true}'
IHAVE_FANOUT = 64  # links told each round (at random past this): every link, in practice
IHAVE_WINDOW = 5.0  # authors advertised: those with a new envelope within this
MAX_IHAVE_AUTHORS = 256
MAX_WANT = 256  # envelopes asked for in one IWANT
# An envelope a link has and we lack is asked of it at once (it may be on its way by
# another path, but on a loaded machine a second copy by the shortest path is what
# keeps delivery going: measured at 100 peers), and of the same link again only
# after WANT_RETRY (its answer may be on its way).
WANT_RETRY = 2.0
# (link, author, n) asked for and not yet WANT_RETRY old, at most: a dozen links asking
# 256 each a second need some 6,000; links that claim ever higher numbers in IHAVE
# after IHAVE would need any number. Past it the oldest go (asked again sooner).
MAX_ASKED = 16384
MAX_SKIPPED = 1024  # envelopes of one author given up on, still asked for while cached
MAX_RECIPIENTS = 64
# Envelopes taken from one link, per second and in a burst: forwarded traffic from
# the whole room, so far above what one author may send.
ENVELOPE_RATE = 400.0
ENVELOPE_BURST = 800.0
WANT_RATE = 4.0  # IWANT requests served per link per second
WANT_BURST = 8.0
# IHAVE read from one link, per second and in a burst: one a second, one as a link
# opens, and asking it to stop or go on pushing are all an honest link sends. Past
# it, only the push request is read (each IHAVE costs a pass over its authors).
IHAVE_RATE = 4.0
IHAVE_BURST = 16.0
# Answers to one link's IWANTs: each cached envelope at most MAX_RESENDS times (as
# GossipSub), and at most this many bytes a second (bursts of the second figure), so
# that a few small requests cannot make us send a cache's worth again and again.
MAX_RESENDS = 3
ANSWER_BYTES_RATE = 512 * 1024
ANSWER_BYTES_BURST = 2 * 1024 * 1024
KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{43}$")  # 32 bytes, base64url unpadded

FRAME_TYPES = ("gossip", "ihave", "iwant")
PAYLOAD_BODIES = frozenset({"part", "data"})  # carried only for authors the room knows

# An envelope with bytes attached (a part of a relayed payload, ``partial/relayed_parts.py``)
# goes in a binary frame: 0x03 | envelope length (u32, big-endian) | envelope (UTF-8
# JSON, as a text frame) | the bytes. The body names their SHA-256 (``digest``), so the
# author's signature covers them. 0x01 and 0x02 are the data plane's (link/payloads.py).
BINARY_ENVELOPE = 0x03
_BINARY_PREFIX = struct.Struct(">BI")
MAX_BINARY_FRAME = 16 * 1024  # as a payload chunk: SCTP carries it easily


@dataclass(frozen=True, slots=True)
class Envelope:
    """One author-signed message relayed through the room. ``frame`` is its text as
    received or made, forwarded verbatim."""

    author: str
    n: int
    key: str
    to: tuple[str, ...]
    body: dict[str, Any]
    signature: str
    frame: str | bytes
    attachment: bytes = b""
    via: str = ""  # the link it came over ("" for our own)


@dataclass(frozen=True, slots=True)
class Delivered:
    """An envelope for us (to everyone, or to us among others), in its author's order."""

    envelope: Envelope


@dataclass(frozen=True, slots=True)
class Forged:
    """A link relayed an envelope whose signature does not verify: an honest relay
    checks before it forwards, so this link is lying."""

    peer_id: str


GossipAction = SendFrame | Delivered | PeerMisbehaved | Forged


def is_gossip_frame(frame: str | bytes) -> bool:
    """Whether a data-channel frame is the overlay's (``gossip``/``ihave``/``iwant``):
    they start with their type, as this module writes them; or an envelope with bytes."""
    if isinstance(frame, bytes):
        return frame[:1] == bytes([BINARY_ENVELOPE])
    return frame.startswith(('{"type":"gossip"', '{"type":"ihave"', '{"type":"iwant"'))


def signed_content(room: str, author: str, n: int, to: tuple[str, ...], body: object) -> bytes:
    return canonical(
        {
            "room": room,
            "channel": GOSSIP_CHANNEL,
            "from": author,
            "n": n,
            "to": list(to),
            "body": body,
        }
    )


def encode_envelope(
    author: str, n: int, key: str, to: tuple[str, ...], body: dict[str, Any], signature: str
) -> str:
    fields = {"type": "gossip", "from": author, "n": n, "key": key, "to": list(to)}
    fields |= {"body": body, "sig": signature}
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":"))


def encode_binary_envelope(envelope_text: str, attachment: bytes) -> bytes:
    encoded = envelope_text.encode()
    return _BINARY_PREFIX.pack(BINARY_ENVELOPE, len(encoded)) + encoded + attachment


def decode_binary_envelope(frame: bytes) -> Envelope:
    """The envelope in a binary frame, its bytes attached; ProtocolError if the frame
    or a field is invalid (the signature, and whether the bytes are the ones the body
    names, are checked by the caller: :func:`attachment_matches`)."""
    if len(frame) > MAX_BINARY_FRAME:
        raise ProtocolError(f"binary envelope of {len(frame)} bytes over {MAX_BINARY_FRAME}")
    if len(frame) < _BINARY_PREFIX.size:
        raise ProtocolError("truncated binary envelope")
    _, length = _BINARY_PREFIX.unpack_from(frame)
    end = _BINARY_PREFIX.size + length
    if end > len(frame):
        raise ProtocolError("binary envelope shorter than its header says")
    try:
        wire = loads_untrusted(frame[_BINARY_PREFIX.size : end].decode())
    except (UnicodeDecodeError, ValueError) as error:
        raise ProtocolError(f"binary envelope without a JSON header: {error}") from None
    if not isinstance(wire, dict) or wire.get("type") != "gossip":
        raise ProtocolError("binary envelope whose header is not a gossip envelope")
    envelope = decode_envelope(wire, frame)
    return Envelope(
        envelope.author,
        envelope.n,
        envelope.key,
        envelope.to,
        envelope.body,
        envelope.signature,
        frame,
        frame[end:],
    )


def attachment_matches(envelope: Envelope) -> bool:
    """Whether the bytes attached are those the signed body names: none and no
    ``digest``, or bytes with their SHA-256 as ``digest``."""
    digest = envelope.body.get("digest")
    if digest is None:
        return not envelope.attachment and isinstance(envelope.frame, str)
    return (
        isinstance(digest, str)
        and isinstance(envelope.frame, bytes)
        and hashlib.sha256(envelope.attachment).hexdigest() == digest
    )


def decode_envelope(wire: dict[str, Any], frame: str | bytes) -> Envelope:
    """The envelope in a parsed ``gossip`` frame; ProtocolError if a field is invalid
    (the signature is checked by the caller, once per envelope)."""
    author, key, sig, body, to = (wire.get(k) for k in ("from", "key", "sig", "body", "to"))
    n = whole_number(wire.get("n"), 1, MAX_SEQ)
    if not isinstance(author, str) or not ID_PATTERN.match(author):
        raise ProtocolError("envelope without a valid 'from'")
    if n is None:
        raise ProtocolError("envelope without a valid 'n'")
    if not isinstance(key, str) or not KEY_PATTERN.match(key):
        raise ProtocolError("envelope without a valid 'key'")
    if not isinstance(sig, str) or not SIGNATURE_PATTERN.match(sig):
        raise ProtocolError("envelope without a valid 'sig'")
    if not isinstance(body, dict) or not isinstance(body.get("type"), str):
        raise ProtocolError("envelope without a 'body' object with a 'type'")
    if not isinstance(to, list) or len(to) > MAX_RECIPIENTS:
        raise ProtocolError(f"envelope 'to' must be a list of at most {MAX_RECIPIENTS} ids")
    if not all(isinstance(r, str) and ID_PATTERN.match(r) for r in to):
        raise ProtocolError("envelope 'to' holds an invalid id")
    return Envelope(author, n, key, tuple(to), body, sig, frame)


@dataclass
class _Author:
    """What we have of one author's envelopes."""

    author_id: str
    next: int | None  # the next n to deliver; None until the first wait is over
    high: int = 0  # the highest n held
    held: dict[int, Envelope] = field(default_factory=dict)
    waiting_since: float | None = None  # when the oldest held envelope arrived
    changed_at: float = 0.0  # when ``high`` last grew
    skipped: dict[int, float] = field(default_factory=dict)  # n -> when we gave up on it


class Gossip:
    """The relayed messages of the client ``client_id`` in ``room``."""

    def __init__(
        self,
        client_id: str,
        room: str,
        *,
        key: str,
        sign: Callable[[bytes], str],
        rng: random.Random | None = None,
        knows: Callable[[str], bool] = lambda author: True,
    ) -> None:
        """``knows(author)``: whether the room knows ``author`` as a member; payloads
        (parts and values) of others are neither carried nor delivered."""
        self.client_id = client_id
        self._knows = knows
        self._rng = rng or random.Random()
        self.room = room
        self._key = key
        self._sign = sign
        self._n = 0
        self._links: set[str] = set()
        self._quiet_in: set[str] = set()  # links we asked to stop pushing to us
        self._quiet_out: set[str] = set()  # links that asked us to stop pushing to them
        self._authors: OrderedDict[str, _Author] = OrderedDict()
        # The authors with envelopes held for an earlier one, in _authors' order (each
        # tick looks at these, not at every author), and those with some given up on.
        self._waiting: OrderedDict[str, None] = OrderedDict()
        self._skipping: set[str] = set()
        self._seen: OrderedDict[tuple[str, int], None] = OrderedDict()
        self._cache: OrderedDict[tuple[str, int], tuple[str | bytes, float]] = OrderedDict()
        self._cache_bytes = 0
        # (link, author, n) -> when we asked for it, oldest first
        self._asked: OrderedDict[tuple[str, str, int], float] = OrderedDict()
        self._budgets: dict[str, TokenBucket] = {}
        self._want_budgets: dict[str, TokenBucket] = {}
        self._ihave_budgets: dict[str, TokenBucket] = {}
        self._answer_budgets: dict[str, TokenBucket] = {}  # link -> bytes of answers
        # (author, n) -> link -> times we sent that cached envelope to it on request
        self._resent: dict[tuple[str, int], dict[str, int]] = {}
        self._next_ihave = 0.0
        self.forged = 0  # envelopes dropped because their signature did not verify
        self.relayed = 0  # envelopes forwarded for others

    # -- links --

    def link_up(self, peer_id: str, now: float) -> list[GossipAction]:
        """A link opened: tell it at once what we hold of everything still cached, so
        it can catch up (it may have had no link at all for a while)."""
        self._links.add(peer_id)
        ihave = self._ihave_frame(now, CACHE_SECONDS)
        return [SendFrame(peer_id, ihave)] if ihave else []

    def link_down(self, peer_id: str) -> None:
        self._links.discard(peer_id)
        self._quiet_in.discard(peer_id)
        self._quiet_out.discard(peer_id)
        self._budgets.pop(peer_id, None)
        self._want_budgets.pop(peer_id, None)
        self._ihave_budgets.pop(peer_id, None)
        self._answer_budgets.pop(peer_id, None)

    @property
    def links(self) -> frozenset[str]:
        return frozenset(self._links)

    # -- out --

    def publish(
        self,
        body: dict[str, Any],
        now: float,
        to: tuple[str, ...] = (),
        attachment: bytes | None = None,
    ) -> tuple[Envelope, list[GossipAction]]:
        """``body`` from us to the room (or to the peers ``to``), to every link; with
        ``attachment``, those bytes too (the body gains their ``digest``)."""
        if attachment is not None:
            body = body | {"digest": hashlib.sha256(attachment).hexdigest()}
        to = tuple(sorted(set(to)))
        n = self._n + 1
        signature = self._sign(signed_content(self.room, self.client_id, n, to, body))
        text = encode_envelope(self.client_id, n, self._key, to, body, signature)
        frame: str | bytes = text
        if attachment is not None:
            frame = encode_binary_envelope(text, attachment)
            if len(frame) > MAX_BINARY_FRAME:
                raise ValueError(
                    f"an envelope with bytes is at most {MAX_BINARY_FRAME} bytes; "
                    f"this one is {len(frame)}"
                )
        elif len(text) > MAX_FRAME_BYTES:
            raise ValueError(
                f"a message relayed through the room is at most {MAX_FRAME_BYTES} bytes "
                f"encoded; this one is {len(text)}"
            )
        self._n = n
        envelope = Envelope(
            self.client_id, n, self._key, to, body, signature, frame, attachment or b""
        )
        self._remember(envelope, now)
        return envelope, [SendFrame(link, frame) for link in self._pushing()]

    # -- in --

    def receive_binary(self, peer_id: str, frame: bytes, now: float) -> list[GossipAction]:
        """A binary envelope (``is_gossip_frame``) from the link ``peer_id``."""
        try:
            return self._on_envelope(peer_id, decode_binary_envelope(frame), now)
        except ProtocolError as error:
            return [PeerMisbehaved(peer_id, str(error))]

    def receive(
        self, peer_id: str, wire: dict[str, Any], frame: str, now: float
    ) -> list[GossipAction]:
        """A parsed overlay frame (``is_gossip_frame``) from the link ``peer_id``."""
        kind = wire.get("type")
        try:
            if kind == "gossip":
                return self._on_envelope(peer_id, decode_envelope(wire, frame), now)
            if kind == "ihave":
                return self._on_ihave(peer_id, wire, now)
            return self._on_iwant(peer_id, wire, now)
        except ProtocolError as error:
            return [PeerMisbehaved(peer_id, str(error))]

    def _on_envelope(self, peer_id: str, envelope: Envelope, now: float) -> list[GossipAction]:
        budget = self._budgets.get(peer_id)
        if budget is None:
            budget = self._budgets[peer_id] = TokenBucket(ENVELOPE_RATE, ENVELOPE_BURST, now)
        if not budget.take(now):
            return [
                PeerMisbehaved(peer_id, f"more than {ENVELOPE_RATE:g} relayed messages a second")
            ]
        key = (envelope.author, envelope.n)
        if key in self._seen:
            return self._copy_from(peer_id)  # by another path (ours too): cheap
        content = signed_content(self.room, envelope.author, envelope.n, envelope.to, envelope.body)
        try:
            verify(envelope.author, envelope.key, envelope.signature, content)
        except BadSignature:
            self.forged += 1
            return [Forged(peer_id)]
        if not attachment_matches(envelope):  # signed, but the bytes were swapped
            self.forged += 1
            return [Forged(peer_id)]
        if envelope.author == self.client_id:
            return []  # ours, from before what we remember
        if envelope.body.get("type") in PAYLOAD_BODIES and not self._knows(envelope.author):
            # Identities cost nothing: bytes are carried only for members the room
            # knows. Not remembered either, so once its author is known it can be
            # asked for again.
            return []
        envelope = dataclasses.replace(envelope, via=peer_id)
        self._remember(envelope, now)
        self.relayed += 1
        actions: list[GossipAction] = [
            SendFrame(link, envelope.frame)
            for link in self._pushing()
            if link not in (peer_id, envelope.author)
        ]
        return actions + self._hold(envelope, now)

    def _pushing(self) -> list[str]:
        """The links we push envelopes to: those that have not asked us to stop."""
        return sorted(self._links - self._quiet_out)

    def _copy_from(self, peer_id: str) -> list[GossipAction]:
        """A second copy came over ``peer_id``: it may stop pushing to us, if enough
        other links still do."""
        if peer_id in self._quiet_in or len(self._links - self._quiet_in) <= EAGER_LINKS:
            return []
        self._quiet_in.add(peer_id)
        return [SendFrame(peer_id, STOP_PUSHING)]

    def _remember(self, envelope: Envelope, now: float) -> None:
        key = (envelope.author, envelope.n)
        self._seen[key] = None
        if len(self._seen) > SEEN_MAX:
            self._seen.popitem(last=False)
        if (old := self._cache.pop(key, None)) is not None:
            self._cache_bytes -= len(old[0])
            self._resent.pop(key, None)
        self._cache[key] = (envelope.frame, now)
        self._cache_bytes += len(envelope.frame)
        while len(self._cache) > CACHE_MAX or self._cache_bytes > CACHE_BYTES:
            self._forget_oldest()
        author = self._author(envelope.author, now)
        if envelope.n > author.high:
            author.high = envelope.n
            author.changed_at = now

    def _forget_oldest(self) -> None:
        key, (frame, _) = self._cache.popitem(last=False)
        self._cache_bytes -= len(frame)
        self._resent.pop(key, None)

    def _author(self, author_id: str, now: float) -> _Author:
        author = self._authors.get(author_id)
        if author is None:
            author = self._authors[author_id] = _Author(author_id, next=None)
            if len(self._authors) > MAX_AUTHORS:
                evicted, _ = self._authors.popitem(last=False)
                self._waiting.pop(evicted, None)
                self._skipping.discard(evicted)
        self._authors.move_to_end(author_id)
        if author_id in self._waiting:
            self._waiting.move_to_end(author_id)
        return author

    def _hold(self, envelope: Envelope, now: float) -> list[GossipAction]:
        """Deliver ``envelope`` in its author's order, or keep it until its turn."""
        if envelope.author == self.client_id:
            return []
        author = self._author(envelope.author, now)
        if author.next is not None and envelope.n < author.next:
            # Older than where we started with this author, or given up on: late, but
            # new to us all the same.
            author.skipped.pop(envelope.n, None)
            return self._for_us(envelope)
        author.held[envelope.n] = envelope
        if author.waiting_since is None:
            author.waiting_since = now
            self._waiting[author.author_id] = None
        if len(author.held) > MAX_HELD:
            return self._release(author, now, skip=True)
        return self._release(author, now)

    def _release(self, author: _Author, now: float, *, skip: bool = False) -> list[GossipAction]:
        """Deliver what is in order; with ``skip``, give up on the gap before the
        earliest held envelope first."""
        if author.next is None or skip:
            if author.next is None and not skip and 1 not in author.held:
                return []  # the first from this author: wait START_WAIT for earlier ones
            first = min(author.held)
            if author.next is not None:
                self._skip(author, range(author.next, first), now)
            elif first <= START_BACKFILL:
                # A young author's earlier envelopes: asked for while links cache them,
                # and delivered late if they come; not waited for, as the rest would
                # wait GAP_WAIT at every member that joined after them.
                self._skip(author, range(1, first), now)
            author.next = first
        actions: list[GossipAction] = []
        while (envelope := author.held.pop(author.next, None)) is not None:
            author.next += 1
            actions += self._for_us(envelope)
        if not author.held:
            author.waiting_since = None
            self._waiting.pop(author.author_id, None)
        return actions

    def _skip(self, author: _Author, numbers: Sequence[int], now: float) -> None:
        """Envelopes ``numbers`` are late: deliver the rest without them, but keep
        asking for them while links may still hold them (a part of a relayed payload
        is worth having late). The latest MAX_SKIPPED at most."""
        for n in numbers[-MAX_SKIPPED:]:
            author.skipped.setdefault(n, now)
        if author.skipped:
            self._skipping.add(author.author_id)
        while len(author.skipped) > MAX_SKIPPED:  # the earliest given up on go first
            del author.skipped[next(iter(author.skipped))]

    def recover(self, author_id: str, first: int, end: int, now: float) -> None:
        """The caller learnt (from a body) that ``author_id``'s envelopes ``first`` ..
        ``end - 1`` matter to it: those we passed over as from before our time (an
        author first heard at a high number) are asked for like ones given up on."""
        author = self._authors.get(author_id)
        if author is None or author.next is None:
            return
        passed_over = range(max(1, first), min(end, author.next))
        self._skip(author, [n for n in passed_over if (author_id, n) not in self._seen], now)

    def _for_us(self, envelope: Envelope) -> list[GossipAction]:
        if envelope.to and self.client_id not in envelope.to:
            return []
        return [Delivered(envelope)]

    def _on_ihave(self, peer_id: str, wire: dict[str, Any], now: float) -> list[GossipAction]:
        match wire.get("push"):
            case False:
                self._quiet_out.add(peer_id)
            case True:
                self._quiet_out.discard(peer_id)
        budget = self._ihave_budgets.get(peer_id)
        if budget is None:
            budget = self._ihave_budgets[peer_id] = TokenBucket(IHAVE_RATE, IHAVE_BURST, now)
        if not budget.take(now):
            return []
        highs = wire.get("high")
        if not isinstance(highs, dict) or len(highs) > MAX_IHAVE_AUTHORS:
            raise ProtocolError(f"'ihave' must map at most {MAX_IHAVE_AUTHORS} authors to numbers")
        missing: list[tuple[str, str, int]] = []
        for author_id, raw_high in highs.items():
            high = whole_number(raw_high, 1, MAX_SEQ)
            author = self._authors.get(author_id)  # its id was checked when first heard
            if high is None or (author is None and not ID_PATTERN.match(author_id)):
                raise ProtocolError("'ihave' holds an invalid author or number")
            if author_id == self.client_id:
                continue
            if author is None or author.next is None:
                # An author we never heard. From a link that pushes to us, these are
                # from before that link (it would have pushed them): nothing to order
                # after. From one we stopped, they may be what our pushing links failed
                # to bring: the latest (all, if the author is young) is asked for.
                if peer_id in self._quiet_in and (author is None or not author.held):
                    first = 1 if high <= START_BACKFILL else high
                    missing += [
                        (peer_id, author_id, n)
                        for n in range(first, high + 1)
                        if (author_id, n) not in self._seen
                    ]
                continue
            missing += [(peer_id, author_id, n) for n in self._lacking(author_id, author, high)]
        missing = [key for key in missing if now - self._asked.get(key, -WANT_RETRY) >= WANT_RETRY]
        missing = missing[:MAX_WANT]
        wanted = [[a, first, last] for a, first, last in _runs([key[1:] for key in missing])]
        if not wanted:
            return []
        for key in missing:
            self._asked[key] = now
            self._asked.move_to_end(key)
        while len(self._asked) > MAX_ASKED:
            self._asked.popitem(last=False)
        frame = json.dumps({"type": "iwant", "want": wanted}, separators=(",", ":"))
        if peer_id not in self._quiet_in:
            return [SendFrame(peer_id, frame)]
        # A link we stopped has what the links that push to us did not bring: it
        # pushes again (asked before the IWANT, so that what it answers is pushed on).
        self._quiet_in.discard(peer_id)
        return [SendFrame(peer_id, PUSH_AGAIN), SendFrame(peer_id, frame)]

    def _lacking(self, author_id: str, author: _Author, high: int) -> list[int]:
        """The numbers up to ``high`` (a link holds them) that we lack: given up on
        waiting for, or past where we deliver. Oldest first."""
        assert author.next is not None
        if high < author.next and not author.skipped:
            return []  # the usual case in a room that keeps up
        lacking = sorted(n for n in author.skipped if n <= high)
        lacking += [
            n
            for n in range(max(author.next, high - MAX_WANT + 1), high + 1)
            if n not in author.held
        ]
        return [n for n in lacking if (author_id, n) not in self._seen][:MAX_WANT]

    def _on_iwant(self, peer_id: str, wire: dict[str, Any], now: float) -> list[GossipAction]:
        wants = wire.get("want")
        if not isinstance(wants, list) or len(wants) > MAX_WANT:
            raise ProtocolError(f"'iwant' must list at most {MAX_WANT} ranges")
        budget = self._want_budgets.get(peer_id)
        if budget is None:
            budget = self._want_budgets[peer_id] = TokenBucket(WANT_RATE, WANT_BURST, now)
        if not budget.take(now):
            return []  # asking faster than any gap opens: answered at the next one
        answers = self._answer_budgets.get(peer_id)
        if answers is None:
            answers = self._answer_budgets[peer_id] = TokenBucket(
                ANSWER_BYTES_RATE, ANSWER_BYTES_BURST, now
            )
        frames: list[GossipAction] = []
        for want in wants:
            if not (isinstance(want, list) and len(want) == 3 and isinstance(want[0], str)):
                raise ProtocolError("an 'iwant' range must be [author, first, last]")
            first, last = whole_number(want[1], 1, MAX_SEQ), whole_number(want[2], 1, MAX_SEQ)
            if first is None or last is None or last < first:
                raise ProtocolError("an 'iwant' range must be [author, first, last]")
            for n in range(first, min(last, first + MAX_WANT - 1) + 1):
                if len(frames) >= MAX_WANT:
                    return frames
                if (cached := self._cache.get((want[0], n))) is None:
                    continue
                sent = self._resent.setdefault((want[0], n), {})
                if sent.get(peer_id, 0) >= MAX_RESENDS:
                    continue  # it has had this one often enough
                if not answers.take(now, len(cached[0])):
                    return frames  # the rest when its budget allows
                sent[peer_id] = sent.get(peer_id, 0) + 1
                frames.append(SendFrame(peer_id, cached[0]))
        return frames

    # -- time --

    def tick(self, now: float) -> list[GossipAction]:
        """Call every ``TICK_INTERVAL``: envelopes whose wait is over, old copies
        forgotten, and the IHAVE round once a second."""
        actions: list[GossipAction] = []
        for author_id in list(self._waiting):
            author = self._authors[author_id]
            assert author.waiting_since is not None
            wait = START_WAIT if author.next is None else GAP_WAIT
            if now - author.waiting_since >= wait:
                actions += self._release(author, now, skip=True)
        for author_id in list(self._skipping):
            author = self._authors[author_id]
            for n in [n for n, at in author.skipped.items() if at < now - CACHE_SECONDS]:
                del author.skipped[n]  # no link caches it any more
            if not author.skipped:
                self._skipping.discard(author_id)
        while self._asked and next(iter(self._asked.values())) <= now - WANT_RETRY:
            self._asked.popitem(last=False)  # asked long enough ago to ask again
        while self._cache and next(iter(self._cache.values()))[1] < now - CACHE_SECONDS:
            self._forget_oldest()
        if now >= self._next_ihave:
            self._next_ihave = now + IHAVE_INTERVAL
            if (ihave := self._ihave_frame(now, IHAVE_WINDOW)) is not None:
                links = sorted(self._links)
                told = self._rng.sample(links, min(IHAVE_FANOUT, len(links)))
                actions += [SendFrame(peer_id, ihave) for peer_id in sorted(told)]
        return actions

    def _ihave_frame(self, now: float, window: float) -> str | None:
        """The highest number held of each author whose envelopes changed within
        ``window`` seconds (ours: within CACHE_SECONDS), most recent first."""
        highs: dict[str, int] = {}
        for author_id, author in reversed(self._authors.items()):
            # Our own for as long as we cache them: what we said can sit in a link's
            # buffer for longer than the window, and be lost with the link.
            age = now - author.changed_at
            ours = author_id == self.client_id
            if author.high and (age <= window or (ours and age <= CACHE_SECONDS)):
                highs[author_id] = author.high
                if len(highs) >= MAX_IHAVE_AUTHORS:
                    break
        if not highs:
            return None
        return json.dumps({"type": "ihave", "high": highs}, separators=(",", ":"))


def _runs(wanted: list[tuple[str, int]]) -> list[tuple[str, int, int]]:
    """(author, n) pairs, sorted by author then n, as inclusive runs per author:
    [(a, 1), (a, 2), (b, 7)] -> [(a, 1, 2), (b, 7, 7)]."""
    runs: list[tuple[str, int, int]] = []
    for author, n in wanted:
        if runs and runs[-1][0] == author and n == runs[-1][2] + 1:
            runs[-1] = (author, runs[-1][1], n)
        else:
            runs.append((author, n, n))
    return runs
