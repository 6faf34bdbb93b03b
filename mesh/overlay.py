"""Who is in a room and which of them to link to, as a sans-I/O core.

Up to ``threshold`` peers a room is a full mesh: every peer links to every other, and
the signalling core (``protocol.py``) does that alone. Past it, the room becomes a
*partial mesh*: each peer keeps between ``degree_low`` and ``degree_high`` links
(GossipSub's D_lo and D_hi), chosen at random among the members, and what is said to
the room travels along them (``gossip.py``). Random links make a random graph, which
is connected with a diameter of a few hops at these degrees, so no link needs to be
chosen as "long-range": each already is.

Membership, room-wide, comes from three sources, each signed by the member itself:

* its broadcast ``hello`` on the signalling service (heard by everyone, every 30 s at
  most once joined);
* the *roster* a new link sends: the last signed ``hello`` it heard from each member,
  with how long ago (so a newcomer knows the room at once, not after 30 s);
* anything it says through the room (an envelope).

A member leaves by ``bye`` (signalling, or an envelope); one that crashes is noticed
by its links' failure detectors, which tell the room (a ``gone`` envelope), or, if it
had none, by ``member_ttl`` of silence. A ``gone`` report is hearsay: a member heard
from since it was made stays, and one that is still there says hello again.

A newcomer gets its first links from members: each member that hears a stranger's
broadcast ``hello`` offers it a link with probability ``degree / members`` (about
``degree`` of them do), and the newcomer fills up from its roster.
"""

from __future__ import annotations

import random
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .events import PeerJoined, PeerLeft

MAX_MEMBERS = 1024  # bounds memory whatever a hello flood brings
ROSTER_PER_FRAME = 100  # signed hellos of ~300 bytes: a frame stays far under 64 KiB
OVERLAY_ROUTE = "overlay"  # PeerJoined.route of a member we reach through others


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
    report_memory: float = 30.0  # seconds a report counts for
    departed_memory: float = 60.0  # hearsay about a member that left is ignored this long

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
class BecameSparse:
    """The room outgrew a full mesh: from now on it is a partial one."""


OverlayAction = Link | Prune | ReportGone | BecameSparse | PeerJoined | PeerLeft


@dataclass
class _Member:
    nick: str
    key: str
    hello: object  # its last signed broadcast hello, as the signalling service gave it
    heard_at: float
    first_heard: float
    announced: bool = False  # the application was told it joined


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
        self.sparse = False
        self._members: OrderedDict[str, _Member] = OrderedDict()
        self._links: set[str] = set()
        self._asked: dict[str, float] = {}  # peer -> when we asked for a link
        self._not_before: dict[str, float] = {}  # peer -> when it may be asked again
        self._departed: dict[str, float] = {}  # peer -> when it left
        self._reports: dict[str, dict[str, float]] = {}  # peer -> reporter -> when
        self.own_hello: object | None = None  # ours, for rosters

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

    def accept_link(self, peer_id: str) -> bool:
        """Whether a stranger's request for a link may be taken up."""
        return not self.sparse or self._in_use() < self.config.degree_high

    def hello_floor(self) -> float:
        """The shortest interval between our broadcast hellos: the whole room then
        announces itself at most ~20 times a second (Ably allows 50 per channel)."""
        return len(self._members) / 20.0

    def roster(self, now: float) -> list[list[Any]]:
        """What a new link is told of the room: [signed hello, seconds since heard]."""
        entries = [
            [m.hello, round(now - m.heard_at, 1)]
            for m in self._members.values()
            if m.hello is not None
        ]
        if self.own_hello is not None:
            entries.append([self.own_hello, 0])
        return entries

    # -- membership --

    def heard(
        self,
        peer_id: str,
        nick: str,
        key: str,
        hello: object,
        now: float,
        *,
        age: float = 0.0,
        broadcast: bool = True,
    ) -> list[OverlayAction]:
        """A member's signed hello: on the signalling service (``broadcast``), or in a
        link's roster (heard ``age`` seconds ago by that link)."""
        if peer_id == self.client_id:
            return []
        heard_at = now - min(max(age, 0.0), self.config.member_ttl)
        departed = self._departed.get(peer_id)
        if departed is not None:
            if not broadcast and heard_at <= departed + self.config.gone_quiet:
                return []  # hearsay from before it left
            del self._departed[peer_id]
        member = self._members.get(peer_id)
        if member is None:
            if not broadcast and now - heard_at >= self.config.member_ttl:
                return []
            member = _Member(nick, key, hello, heard_at, now)
            self._add(peer_id, member)
            actions: list[OverlayAction] = self._check_size() + self._announce(peer_id, member)
            if broadcast and self.sparse:
                actions += self._maybe_offer_link(peer_id, now)
            return actions
        if heard_at > member.heard_at:
            member.heard_at = heard_at
            member.hello = hello
        if broadcast and self.sparse and now - member.first_heard < self.config.member_ttl / 3:
            # Still joining: another chance for it to get links.
            return self._maybe_offer_link(peer_id, now)
        return []

    def alive(self, peer_id: str, now: float) -> None:
        """The member said something through the room (a verified envelope)."""
        if (member := self._members.get(peer_id)) is not None:
            member.heard_at = max(member.heard_at, now)

    def left(self, peer_id: str, reason: str, now: float, *, said_bye: bool) -> list[OverlayAction]:
        """The member said bye, or is known to be gone."""
        member = self._members.pop(peer_id, None)
        self._asked.pop(peer_id, None)
        self._departed[peer_id] = now
        if member is None or not member.announced or not self.sparse:
            return []  # in a full mesh, the signalling core tells the application
        return [PeerLeft(peer_id, member.nick, reason, said_bye)]

    def reported_gone(self, peer_id: str, reporter: str, now: float) -> list[OverlayAction]:
        """A member's link reports it silent. Believed once ``gone_reports`` links say
        so (one flaky link, or one liar, removes nobody), unless we know better: we
        link to it ourselves, or heard from it since."""
        member = self._members.get(peer_id)
        if member is None or peer_id in self._links or peer_id == self.client_id:
            return []
        if now - member.heard_at < self.config.gone_quiet:
            return []
        reports = self._reports.setdefault(peer_id, {})
        reports[reporter] = now
        for who, when in list(reports.items()):
            if now - when > self.config.report_memory or when < member.heard_at:
                del reports[who]
        if len(reports) < min(self.config.gone_reports, len(self._members)):
            return []
        del self._reports[peer_id]
        names = ", ".join(sorted(self.nick_of(who) or who for who in reports))
        return self.left(peer_id, f"lost (noticed by {names})", now, said_bye=False)

    def announced(self, peer_id: str) -> None:
        """In a full mesh the signalling core announces peers: record that it did."""
        if (member := self._members.get(peer_id)) is not None:
            member.announced = True

    # -- links --

    def link_up(self, peer_id: str, nick: str, key: str | None, now: float) -> list[OverlayAction]:
        """A link opened (to a member, or to a peer that asked us directly and that we
        learn of only now)."""
        self._links.add(peer_id)
        self._asked.pop(peer_id, None)
        self._departed.pop(peer_id, None)
        member = self._members.get(peer_id)
        if member is None:
            if key is None:
                return []
            member = _Member(nick, key, None, now, now)
            self._add(peer_id, member)
        member.heard_at = now
        return self._announce(peer_id, member)

    def link_down(self, peer_id: str, now: float, *, silent: bool) -> list[OverlayAction]:
        """A link closed; ``silent``: the peer stopped answering, as a crashed one
        does. That is told to the room, and counts as one report of it gone."""
        if peer_id not in self._links:
            return []
        self._links.discard(peer_id)
        if not silent or not self.sparse:
            return []
        return [ReportGone(peer_id), *self.reported_gone(peer_id, self.client_id, now)]

    def pruned(self, peer_id: str, now: float) -> None:
        """The peer dropped its link to us; it stays a member. Not asked again soon,
        or it would be pruned again."""
        self._links.discard(peer_id)
        self._not_before[peer_id] = now + self.config.retry_after

    # -- time --

    def tick(self, now: float) -> list[OverlayAction]:
        """Call about once a second: mode, expiry, and the number of links."""
        actions = self._check_size()
        for peer_id, member in list(self._members.items()):
            if peer_id not in self._links and now - member.heard_at > self.config.member_ttl:
                actions += self.left(peer_id, "not heard from", now, said_bye=False)
        for peer_id, asked_at in list(self._asked.items()):
            if now - asked_at > self.config.link_timeout:
                del self._asked[peer_id]
                self._not_before[peer_id] = now + self.config.retry_after
        for peer_id, when in list(self._departed.items()):
            if now - when > self.config.departed_memory:
                del self._departed[peer_id]
        if self.sparse:
            actions += self._keep_degree(now)
        return actions

    def _check_size(self) -> list[OverlayAction]:
        """Past the threshold, the room becomes a partial mesh (and stays one)."""
        if self.sparse or len(self._members) + 1 <= self.config.threshold:
            return []
        self.sparse = True
        actions: list[OverlayAction] = [BecameSparse()]
        for peer_id, member in self._members.items():
            actions += self._announce(peer_id, member)
        return actions

    def _keep_degree(self, now: float) -> list[OverlayAction]:
        config = self.config
        if len(self._links) > config.degree_high:
            # Down to degree, as GossipSub does: room for newcomers to link to us.
            extra = self._rng.sample(sorted(self._links), len(self._links) - config.degree)
            for peer_id in extra:
                self.pruned(peer_id, now)
            return [Prune(peer_id) for peer_id in extra]
        wanted = config.degree - len(self._links) - len(self._asked)
        if len(self._links) + len(self._asked) >= config.degree_low or wanted <= 0:
            return []
        candidates = sorted(
            peer_id
            for peer_id in self._members
            if peer_id not in self._links
            and peer_id not in self._asked
            and self._not_before.get(peer_id, 0.0) <= now
        )
        chosen = self._rng.sample(candidates, min(wanted, len(candidates)))
        return [self._ask(peer_id, now) for peer_id in chosen]

    def _maybe_offer_link(self, peer_id: str, now: float) -> list[OverlayAction]:
        if peer_id in self._links or peer_id in self._asked:
            return []
        if self._in_use() >= self.config.degree_high:
            return []
        chance = min(1.0, self.config.degree / max(1, len(self._members)))
        if self._rng.random() >= chance:
            return []
        return [self._ask(peer_id, now)]

    def _in_use(self) -> int:
        """Links open or being made, ours or asked of us."""
        return max(len(self._links) + len(self._asked), self._connections())

    def _ask(self, peer_id: str, now: float) -> Link:
        self._asked[peer_id] = now
        self._not_before.pop(peer_id, None)
        return Link(peer_id, self._members[peer_id].nick)

    def _add(self, peer_id: str, member: _Member) -> None:
        self._members[peer_id] = member
        if len(self._members) > MAX_MEMBERS:
            # The member heard from longest ago that we do not link to makes room.
            quiet = [p for p in self._members if p not in self._links]
            oldest = min(quiet, key=lambda p: self._members[p].heard_at)
            del self._members[oldest]

    def _announce(self, peer_id: str, member: _Member) -> list[OverlayAction]:
        if not self.sparse or member.announced:
            return []
        member.announced = True
        route = "unknown" if peer_id in self._links else OVERLAY_ROUTE
        return [PeerJoined(peer_id, member.nick, route)]
