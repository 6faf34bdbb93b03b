"""Who is in a room and which of them to link to, as a sans-I/O core.

Up to ``threshold`` peers a room is a full mesh: every peer links to every other, and
the signalling core (``signalling/protocol.py``) does that alone. Past it, the room becomes a
*partial mesh*: each peer keeps between ``degree_low`` and ``degree_high`` links
(GossipSub's D_lo and D_hi), chosen at random among the members, and what is said to
the room travels along them (``partial/gossip.py``). Random links make a random graph, which
is connected with a diameter of a few hops at these degrees, so no link needs to be
chosen as "long-range": each already is.

A member is a peer some link vouches for, so that identities made for nothing cannot
crowd a room (a hello flood only fills a bounded list of strangers). Membership,
room-wide, comes from what the members sign themselves:

* a link: the peer at the other end is a member;
* the *roster* a new link sends: the last signed ``hello`` it heard from each of its
  members, with how long ago (so a newcomer knows the room at once);
* a ``here`` envelope: each peer, once it has a link in a partial mesh, tells the room
  through it that it is there;
* its broadcast ``hello``s (every 30 s at most once joined) keep a member current.

A member leaves by ``bye`` (signalling, or an envelope); one that crashes is noticed
by its links' failure detectors, which tell the room (a ``gone`` envelope), or, if it
had none, by ``member_ttl`` of silence. A ``gone`` report is hearsay: it takes two
links, a member heard from since stays, and one that is still there answers ``here``.

A newcomer gets its first links from members: each member that hears a stranger's
broadcast ``hello`` offers it a link with probability ``degree / members`` (about
``degree`` of them do, each at most ``OFFER_RATE`` a second), and the newcomer fills
up from its roster.
"""

from __future__ import annotations

import random
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from meshchat.wire.ratelimit import TokenBucket

MAX_MEMBERS = 1024  # bounds memory whatever a hello flood brings
MAX_STRANGERS = 256  # announced, not yet vouched for
# Links offered to strangers (newcomers, as far as we can tell) per second, and in a
# burst: a flood of announcements from fresh identities costs us little.
PRUNES_PER_TICK = 2
REPORT_RATE = 1.0  # silent links we tell the room of, per second...
REPORT_BURST = 6.0  # ...and at once
OFFER_RATE = 0.5
OFFER_BURST = 3.0
ROSTER_PER_FRAME = 100  # signed hellos of ~300 bytes: a frame stays far under 64 KiB
# A member only a roster tells of (hearsay) joins once that many of our links vouch for
# it, or once one does and we heard its own hello: one link cannot make
# members out of identities it made for nothing. Such claims wait, a few per link.
HEARSAY_LINKS = 2
MAX_HEARSAY_PER_LINK = 256
OVERLAY_ROUTE = "overlay"  # MemberJoined.route of a member we reach through others


@dataclass(frozen=True, slots=True)
class OverlayConfig:
    threshold: int = 24  # a room of more peers than this is a partial mesh
    degree: int = 6  # links aimed for (GossipSub's D)
    degree_low: int = 5  # fewer: ask more
    degree_high: int = 12  # more: prune down to degree, and refuse new ones
    member_ttl: float = 90.0  # a member not heard from for this long has gone
    link_timeout: float = 10.0  # an asked link not open by then frees its place
    retry_after: float = 30.0  # a member that did not link is not asked again before
    gone_quiet: float = 2.0  # a "gone" report about a member heard within this is stale
    gone_reports: int = 2  # links that must report a member silent before it is gone
    # ... and then it is gone if nothing is heard from it for this long: a process that
    # stalls for a few seconds (a busy machine) has all its links report it at once.
    suspect_grace: float = 8.0
    report_memory: float = 30.0  # seconds a report counts for
    departed_memory: float = 60.0  # hearsay about a member that left is ignored this long
    roster_interval: float = 15.0  # a roster to one link at random this often (anti-entropy)
    # Seconds of stall a link may show beyond its heartbeats before it is taken for dead
    # (link/liveness.py; 1 s in a full mesh): a link lost for nothing costs a partial mesh a
    # rebuild, reports to the room and a roster, while a crash noticed a little later
    # costs nothing, its messages having come by other paths anyway. 5 s covers a
    # heartbeat SCTP sent again at its initial 3 s retransmission timeout.
    link_pause: float = 5.0

    def __post_init__(self) -> None:
        if not 1 <= self.degree_low <= self.degree <= self.degree_high:
            raise ValueError("need 1 <= degree_low <= degree <= degree_high")
        if self.threshold < self.degree_high:
            raise ValueError("the full-mesh threshold must be at least degree_high")


# --- actions ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Link:
    """Ask the signalling core for a connection to ``peer_id``."""

    peer_id: str
    nick: str


@dataclass(frozen=True, slots=True)
class Prune:
    """Tell ``peer_id`` the link is dropped (not a leave), and close it."""

    peer_id: str


@dataclass(frozen=True, slots=True)
class ReportGone:
    """Tell the room that our link to ``peer_id`` died without a bye."""

    peer_id: str


@dataclass(frozen=True, slots=True)
class SendRoster:
    """Send ``peer_id`` our roster: on every new link, and to one link at random every
    ``roster_interval``, so that what one peer knows of the room reaches all."""

    peer_id: str


@dataclass(frozen=True, slots=True)
class SayHere:
    """Tell the room, through the partial mesh, that we are in it."""


@dataclass(frozen=True, slots=True)
class BecamePartial:
    """The room outgrew a full mesh: from now on it is a partial one."""


@dataclass(frozen=True, slots=True)
class MemberJoined:
    """In a partial mesh, a member the application has not been told of is in the room
    (``route``: how we reach it, OVERLAY_ROUTE if through others)."""

    peer_id: str
    nick: str
    route: str


@dataclass(frozen=True, slots=True)
class MemberLeft:
    """In a partial mesh, a member the application was told of has left (``reason``)."""

    peer_id: str
    nick: str
    reason: str
    said_bye: bool


OverlayAction = (
    Link | Prune | ReportGone | SendRoster | SayHere | BecamePartial | MemberJoined | MemberLeft
)


@dataclass
class _Member:
    nick: str
    key: str
    hello: object  # its last signed broadcast hello, as the signalling service gave it
    heard_at: float
    first_heard: float
    announced: bool = False  # the application was told it joined
    origin: str = ""  # for a stranger: the connection its hello came through
    suspected: tuple[float, str] | None = None  # (since, by whom): reported gone
    # When it last spoke for itself: a broadcast hello, its own "here", a link. Not any
    # envelope of its: one repaired late may be from before it died.
    spoke_at: float = float("-inf")


class Overlay:
    """Membership and links of the client ``client_id`` in one room."""

    def __init__(
        self,
        client_id: str,
        config: OverlayConfig | None = None,
        rng: random.Random | None = None,
        connections: Callable[[], int] = lambda: 0,
    ) -> None:
        """``connections()``: the peer connections we hold now, open or being made,
        whoever asked for them."""
        self.client_id = client_id
        self._connections = connections
        self.config = config or OverlayConfig()
        self._rng = rng or random.Random()
        self.partial = False
        self._members: OrderedDict[str, _Member] = OrderedDict()
        # Announced on the signalling service, vouched for by no link yet: not members.
        self._strangers: OrderedDict[str, _Member] = OrderedDict()
        # members a roster told of, not yet vouched for by enough links: id -> the links
        # that vouched; and how many claims each link has waiting
        self._hearsay: OrderedDict[str, set[str]] = OrderedDict()
        self._hearsay_by_link: dict[str, int] = {}
        self._roster_links: set[str] = set()  # links whose rosters say the room is partial
        self._introduced = False
        self._next_roster = 0.0
        self._pruning = False  # from above degree_high down to degree
        self._reports_out = TokenBucket(REPORT_RATE, REPORT_BURST, 0.0)
        self._offers = TokenBucket(OFFER_RATE, OFFER_BURST, 0.0)
        self._links: set[str] = set()
        self._asked: dict[str, float] = {}  # peer -> when we asked for a link
        self._not_before: dict[str, float] = {}  # peer -> when it may be asked again
        self._departed: dict[str, float] = {}  # peer -> when it left
        self._rolled: OrderedDict[str, float] = OrderedDict()  # stranger -> when we rolled
        self._reports: dict[str, dict[str, float]] = {}  # peer -> reporter -> when

    # -- queries --

    @property
    def links(self) -> frozenset[str]:
        return frozenset(self._links)

    def members(self) -> dict[str, str]:
        """Members the application knows of: id -> nick."""
        return {peer_id: m.nick for peer_id, m in self._members.items() if m.announced}

    def nick_of(self, peer_id: str) -> str | None:
        member = self._members.get(peer_id)
        return member.nick if member else None

    def key_of(self, peer_id: str) -> str | None:
        member = self._members.get(peer_id)
        return member.key if member else None

    def hello_floor(self) -> float:
        """The shortest interval between our broadcast hellos: the whole room then
        announces itself at most ~20 times a second (Ably allows 50 per channel)."""
        return len(self._members) / 20.0

    def roster(self, now: float, own_hello: object | None = None) -> list[list[Any]]:
        """What a new link is told of the room: [signed hello, seconds since heard],
        ours (as last published) last."""
        entries = [
            [m.hello, round(now - m.heard_at, 1)]
            for m in self._members.values()
            if m.hello is not None
        ]
        if own_hello is not None:
            entries.append([own_hello, 0])
        return entries

    # -- membership --

    def hello_heard(
        self, peer_id: str, nick: str, key: str, hello: object, now: float, origin: str = ""
    ) -> list[OverlayAction]:
        """A broadcast hello on the signalling service, through the connection
        ``origin``. A member's keeps it current. A stranger's is kept aside: it is no
        member until a link vouches for it (anyone can make identities for nothing,
        and announce them), and the room's size counts strangers by their connections,
        so a flood through a few connections counts as a few peers."""
        if peer_id == self.client_id:
            return []
        self._departed.pop(peer_id, None)  # its own word: it is here (again)
        if (member := self._members.get(peer_id)) is not None:
            member.heard_at = max(member.heard_at, now)
            member.spoke_at = now
            member.hello = hello
            return []
        self._strangers[peer_id] = _Member(nick, key, hello, now, now, origin=origin or peer_id)
        self._strangers.move_to_end(peer_id)
        if len(self._strangers) > MAX_STRANGERS:
            self._strangers.popitem(last=False)
        actions = self._check_size(now)
        return actions + (self._maybe_offer_link(peer_id, now) if self.partial else [])

    def vouched(
        self,
        peer_id: str,
        nick: str,
        key: str,
        hello: object,
        now: float,
        *,
        age: float = 0.0,
        hearsay: bool = True,
        via: str | None = None,
    ) -> list[OverlayAction]:
        """A member's signed hello passed on by our link ``via`` in its roster
        (``hearsay``, heard ``age`` seconds ago), or sent through the room by the
        member itself."""
        if peer_id == self.client_id:
            return []
        if (
            hearsay
            and via is not None
            and peer_id not in self._members
            and peer_id not in self._strangers
            and not self._corroborated(peer_id, via)
        ):
            return []
        heard_at = now - min(max(age, 0.0), self.config.member_ttl)
        departed = self._departed.get(peer_id)
        if departed is not None:
            if hearsay and heard_at <= departed + self.config.gone_quiet:
                return []  # from before it left
            del self._departed[peer_id]
        member = self._members.get(peer_id)
        if member is None:
            if now - heard_at >= self.config.member_ttl:
                return []
            self._strangers.pop(peer_id, None)
            member = _Member(nick, key, hello, heard_at, now)
            self._add(peer_id, member)
            return self._check_size(now) + self._announce(peer_id, member)
        if heard_at > member.heard_at:
            member.heard_at = heard_at
            member.hello = hello
        if not hearsay:
            member.spoke_at = now
        return []

    def _corroborated(self, peer_id: str, via: str) -> bool:
        """Whether enough links now vouch for ``peer_id``, known only by hearsay; if not
        yet, the claim waits (within each link's share)."""
        links = self._hearsay.get(peer_id) or set()
        if via not in links:
            if self._hearsay_by_link.get(via, 0) >= MAX_HEARSAY_PER_LINK:
                return False  # this link has claimed enough that nobody else confirms
            links.add(via)
            self._hearsay_by_link[via] = self._hearsay_by_link.get(via, 0) + 1
        if len(links) >= HEARSAY_LINKS:  # however few links we have: one liar is not two
            self._forget_hearsay(peer_id, links)
            return True
        self._hearsay[peer_id] = links
        self._hearsay.move_to_end(peer_id)
        while len(self._hearsay) > MAX_MEMBERS:
            oldest = next(iter(self._hearsay))
            self._forget_hearsay(oldest, self._hearsay[oldest])
        return False

    def _forget_hearsay(self, peer_id: str, links: set[str]) -> None:
        self._hearsay.pop(peer_id, None)
        for link in links:
            left = self._hearsay_by_link.get(link, 0) - 1
            if left > 0:
                self._hearsay_by_link[link] = left
            else:
                self._hearsay_by_link.pop(link, None)

    def alive(self, peer_id: str, now: float) -> None:
        """The member said something through the room (a verified envelope): it stays
        a member (``member_ttl``), but no report that it is gone is voided, as the
        envelope may be from before it died."""
        if (member := self._members.get(peer_id)) is not None:
            member.heard_at = max(member.heard_at, now)

    def left(self, peer_id: str, reason: str, now: float, *, said_bye: bool) -> list[OverlayAction]:
        """The member said bye, or is known to be gone."""
        member = self._members.pop(peer_id, None)
        self._asked.pop(peer_id, None)
        self._departed[peer_id] = now
        if member is None or not member.announced or not self.partial:
            return []  # in a full mesh, the signalling core tells the application
        return [MemberLeft(peer_id, member.nick, reason, said_bye)]

    def reported_gone(self, peer_id: str, reporter: str, now: float) -> list[OverlayAction]:
        """A member's link reports it silent. Believed once ``gone_reports`` members say
        so (one flaky link, or one liar, removes nobody), unless we know better: we
        link to it ourselves, or it spoke for itself since (``spoke_at``). A reporter who
        is not a member counts for nothing: identities cost nothing (and members a
        single link claims are not members until another link vouches for them too)."""
        member = self._members.get(peer_id)
        if member is None or peer_id == self.client_id:
            return []
        if reporter != self.client_id and reporter not in self._members:
            return []
        if now - member.spoke_at < self.config.gone_quiet:
            return []
        self._reports.setdefault(peer_id, {})[reporter] = now
        self._weigh_reports(peer_id, member, now)
        return []

    def _weigh_reports(self, peer_id: str, member: _Member, now: float) -> None:
        """Suspect the member once enough recent reports say it is gone. Reports are
        kept while our own link to it lives: if that link dies too, a moment later, it
        is the second report (the two links of a crashed peer rarely notice at the same
        moment, and the first report comes only once); and if it closes for another
        reason (we pruned it, or it was closed), the reports alone decide."""
        reports = self._reports.get(peer_id)
        if reports is None:
            return
        for who, when in list(reports.items()):
            # Void if it spoke for itself since; not if an envelope of its came since,
            # which may be one said before it died, repaired late or held for order.
            if now - when > self.config.report_memory or when < member.spoke_at:
                del reports[who]
        if not reports:
            del self._reports[peer_id]
            return
        if peer_id in self._links or len(reports) < min(
            self.config.gone_reports, len(self._members)
        ):
            return
        del self._reports[peer_id]
        names = ", ".join(sorted(self.nick_of(who) or who for who in reports))
        if member.suspected is None:
            member.suspected = (now, names)

    def told(self, peer_id: str) -> None:
        """In a full mesh the signalling core announces peers: record that it did."""
        if (member := self._members.get(peer_id)) is not None:
            member.announced = True

    # -- links --

    def link_up(self, peer_id: str, nick: str, key: str | None, now: float) -> list[OverlayAction]:
        """A link opened (to a member, or to a peer that asked us directly): it is a
        member now, if it was not."""
        self._links.add(peer_id)
        self._asked.pop(peer_id, None)
        self._departed.pop(peer_id, None)
        member = self._members.get(peer_id)
        actions: list[OverlayAction] = []
        if member is None:
            stranger = self._strangers.pop(peer_id, None)
            if key is None:
                return []
            member = _Member(nick, key, stranger.hello if stranger else None, now, now)
            self._add(peer_id, member)
            actions += self._check_size(now)
        member.heard_at = member.spoke_at = now
        actions += self._announce(peer_id, member) + self._introduce_ourselves()
        return [*actions, SendRoster(peer_id)] if self.partial else actions

    def link_down(self, peer_id: str, now: float, *, silent: bool) -> list[OverlayAction]:
        """A link closed; ``silent``: the peer stopped answering, as a crashed one
        does. That is told to the room, and counts as one report of it gone."""
        if peer_id not in self._links:
            return []
        self._links.discard(peer_id)
        if not silent or not self.partial:
            self._link_gone(peer_id, now)
            return []
        believed = self.reported_gone(peer_id, self.client_id, now)
        # Told to the room a few times a second at most: when we are the one that
        # stalled, every link goes silent at once, and the room need not hear it all.
        return ([ReportGone(peer_id)] if self._reports_out.take(now) else []) + believed

    def pruned(self, peer_id: str, now: float) -> None:
        """The peer dropped its link to us; it stays a member. Not asked again soon,
        or it would be pruned again."""
        self._links.discard(peer_id)
        self._not_before[peer_id] = now + self.config.retry_after
        self._link_gone(peer_id, now)

    def _link_gone(self, peer_id: str, now: float) -> None:
        """Our link to the member closed, not for its silence: what others reported
        of it while the link lived now counts without us."""
        if (member := self._members.get(peer_id)) is not None:
            self._weigh_reports(peer_id, member, now)

    # -- time --

    def tick(self, now: float, busy: frozenset[str] = frozenset()) -> list[OverlayAction]:
        """Call about once a second: mode, expiry, and the number of links. ``busy``:
        links pruned only when no other will do: a payload on its way over them (a
        file half-sent to a linked member would fail with its link), or heartbeats
        overdue (a crashed member's link must live to report it)."""
        actions = self._check_size(now)
        for peer_id, member in list(self._members.items()):
            if peer_id not in self._links and now - member.heard_at > self.config.member_ttl:
                actions += self.left(peer_id, "not heard from", now, said_bye=False)
            elif member.suspected is not None:
                since, names = member.suspected
                if member.spoke_at > since or peer_id in self._links:
                    member.suspected = None  # it spoke: it stalled, it did not die
                elif now - since >= self.config.suspect_grace:
                    actions += self.left(peer_id, f"lost (noticed by {names})", now, said_bye=False)
        for peer_id, asked_at in list(self._asked.items()):
            if now - asked_at > self.config.link_timeout:
                del self._asked[peer_id]
                self._not_before[peer_id] = now + self.config.retry_after
        for peer_id, when in list(self._departed.items()):
            if now - when > self.config.departed_memory:
                del self._departed[peer_id]
        if self.partial:
            actions += self._keep_degree(now, busy)
            if self._links and now >= self._next_roster:
                self._next_roster = now + self.config.roster_interval
                actions.append(SendRoster(self._rng.choice(sorted(self._links))))
        return actions

    def _check_size(self, now: float) -> list[OverlayAction]:
        """Past the threshold, the room becomes a partial mesh (and stays one). Its
        size: the members, and strangers heard lately, one per connection."""
        if self.partial:
            return []
        recent = now - self.config.member_ttl / 3
        lanes = {s.origin for s in self._strangers.values() if s.heard_at >= recent}
        if len(self._members) + len(lanes) + 1 <= self.config.threshold:
            return []
        return self._become_partial()

    def roster_heard(self, link: str) -> list[OverlayAction]:
        """The link sent its roster: by its word the room is a partial mesh. Believed
        once HEARSAY_LINKS of our links say so: no one member changes the room's mode."""
        if self.partial or link not in self._links:
            return []
        self._roster_links.add(link)
        self._roster_links &= self._links
        if len(self._roster_links) < HEARSAY_LINKS:
            return []
        return self._become_partial()

    def _become_partial(self) -> list[OverlayAction]:
        self.partial = True
        actions: list[OverlayAction] = [BecamePartial()]
        for peer_id, member in self._members.items():
            actions += self._announce(peer_id, member)
        return actions + self._introduce_ourselves()

    def _introduce_ourselves(self) -> list[OverlayAction]:
        """Once in a partial mesh with a link: tell the whole room we are here (only
        links and rosters vouch for members, and ours may not have reached all)."""
        if not self.partial or not self._links or self._introduced:
            return []
        self._introduced = True
        return [SayHere()]

    def _keep_degree(self, now: float, busy: frozenset[str]) -> list[OverlayAction]:
        config = self.config
        if len(self._links) > config.degree_high:
            self._pruning = True
        if self._pruning and len(self._links) <= config.degree:
            self._pruning = False
        if self._pruning:
            # Down to degree, as GossipSub does (room for newcomers to link to us), a
            # few a second: closing connections costs, and a burst of it stalls us.
            excess = min(len(self._links) - config.degree, PRUNES_PER_TICK)
            idle = sorted(self._links - busy)
            extra = self._rng.sample(idle, min(excess, len(idle)))
            # A busy link goes only to keep within degree_high; else it waits its turn.
            over = min(len(self._links) - len(extra) - config.degree_high, excess - len(extra))
            if over > 0:
                extra += self._rng.sample(sorted(self._links & busy), over)
            for peer_id in extra:
                self.pruned(peer_id, now)
            return [Prune(peer_id) for peer_id in extra]
        wanted = config.degree - len(self._links) - len(self._asked)
        if len(self._links) + len(self._asked) >= config.degree_low or wanted <= 0:
            return []
        # Members first; strangers heard lately too (while a room forms, nobody is
        # vouched for yet): one that is no peer at all just never answers.
        recent = now - self.config.member_ttl / 3
        strangers = [p for p, s in self._strangers.items() if s.heard_at >= recent]
        chosen: list[str] = []
        for pool in (self._members, strangers):
            candidates = sorted(
                peer_id
                for peer_id in pool
                if peer_id not in self._links
                and peer_id not in self._asked
                and self._not_before.get(peer_id, 0.0) <= now
            )
            chosen += self._rng.sample(candidates, min(wanted - len(chosen), len(candidates)))
        return [self._ask(peer_id, now) for peer_id in chosen]

    def _maybe_offer_link(self, peer_id: str, now: float) -> list[OverlayAction]:
        if peer_id in self._links or peer_id in self._asked:
            return []
        # One roll per stranger per retry_after, not one per hello: a newcomer says
        # hello every second or two at first, and ~degree offers at each would bury it
        # in half-made connections while its first ones are still opening.
        if now - self._rolled.get(peer_id, float("-inf")) < self.config.retry_after:
            return []
        self._rolled[peer_id] = now
        self._rolled.move_to_end(peer_id)
        if len(self._rolled) > MAX_STRANGERS:
            self._rolled.popitem(last=False)
        if self._in_use() >= self.config.degree_high:
            return []
        chance = min(1.0, self.config.degree / max(1, len(self._members)))
        if self._rng.random() >= chance or not self._offers.take(now):
            return []
        return [self._ask(peer_id, now)]

    def _in_use(self) -> int:
        """Links open or being made, ours or asked of us."""
        return max(len(self._links) + len(self._asked), self._connections())

    def _ask(self, peer_id: str, now: float) -> Link:
        self._asked[peer_id] = now
        self._not_before.pop(peer_id, None)
        known = self._members.get(peer_id) or self._strangers[peer_id]
        return Link(peer_id, known.nick)

    def _add(self, peer_id: str, member: _Member) -> None:
        self._members[peer_id] = member
        if (waiting := self._hearsay.get(peer_id)) is not None:
            self._forget_hearsay(peer_id, waiting)
        if len(self._members) > MAX_MEMBERS:
            # The member heard from longest ago that we do not link to makes room.
            quiet = [p for p in self._members if p not in self._links]
            oldest = min(quiet, key=lambda p: self._members[p].heard_at)
            del self._members[oldest]

    def _announce(self, peer_id: str, member: _Member) -> list[OverlayAction]:
        if not self.partial or member.announced:
            return []
        member.announced = True
        route = "unknown" if peer_id in self._links else OVERLAY_ROUTE
        return [MemberJoined(peer_id, member.nick, route)]
