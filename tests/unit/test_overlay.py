"""Membership and links of a partial mesh (mesh/partial/membership.py)."""

from __future__ import annotations

import random
from typing import TypeVar

import pytest

from meshchat.mesh.partial import membership as o

CONFIG = o.OverlayConfig(threshold=12, degree=4, degree_low=3, degree_high=6)
KEY = "k" * 43
T = TypeVar("T")


def peer(n: int) -> str:
    return f"{n:032x}"


def make(members: int = 0, connections: int = 0) -> o.Overlay:
    overlay = o.Overlay(peer(0), CONFIG, random.Random(1), connections=lambda: connections)
    for n in range(1, members + 1):  # from a roster: no link offers to newcomers
        overlay.vouched(peer(n), f"p{n}", KEY, {"hello": n}, 0.0)
    return overlay


def of(kind: type[T], actions: list[o.OverlayAction]) -> list[T]:
    return [action for action in actions if isinstance(action, kind)]


def test_a_small_room_stays_a_full_mesh_and_leaves_announcing_to_signalling() -> None:
    overlay = make(members=CONFIG.threshold - 1)
    assert not overlay.partial
    assert overlay.tick(1.0) == []
    assert overlay.members() == {}  # the signalling core announces peers in a full mesh
    assert overlay.left(peer(1), "said bye", 1.0, said_bye=True) == []


def test_past_the_threshold_the_room_turns_partial_and_announces_every_member() -> None:
    overlay = make(members=CONFIG.threshold - 1)
    overlay.told(peer(1))  # met over a link while the room was a full mesh
    actions = overlay.vouched(peer(50), "late", KEY, {}, 1.0)
    assert isinstance(actions[0], o.BecamePartial) and overlay.partial
    joined = of(o.MemberJoined, actions)
    assert {action.peer_id for action in joined} == {peer(n) for n in range(2, 12)} | {peer(50)}
    assert all(action.route == o.OVERLAY_ROUTE for action in joined)


def test_a_partial_room_links_to_degree_and_no_further() -> None:
    overlay = make(members=20)
    asked = of(o.Link, overlay.tick(1.0))
    assert len(asked) == CONFIG.degree
    assert of(o.Link, overlay.tick(2.0)) == []  # asked, waiting
    for link in asked[:2]:
        overlay.link_up(link.peer_id, link.nick, KEY, 2.0)
    assert of(o.Link, overlay.tick(3.0)) == []  # 2 links + 4 asked


def test_unanswered_asks_free_their_place_and_are_not_repeated_soon() -> None:
    overlay = make(members=20)
    first = {link.peer_id for link in of(o.Link, overlay.tick(1.0))}
    second = {link.peer_id for link in of(o.Link, overlay.tick(1.0 + CONFIG.link_timeout + 0.1))}
    assert len(second) == CONFIG.degree and not first & second


def test_more_links_than_degree_high_are_pruned_to_degree() -> None:
    overlay = make(members=20)
    overlay.tick(0.5)
    for n in range(1, CONFIG.degree_high + 1):
        overlay.link_up(peer(n), f"p{n}", KEY, 1.0)
    assert of(o.Prune, overlay.tick(1.0)) == []  # at degree_high: kept
    overlay.link_up(peer(13), "p13", KEY, 1.5)
    pruned = [of(o.Prune, overlay.tick(2.0 + n)) for n in range(5)]
    # A few a second, not all at once (closing connections stalls a busy process).
    assert [len(p) for p in pruned] == [o.PRUNES_PER_TICK] * 1 + [1, 0, 0, 0]
    assert len(overlay.links) == CONFIG.degree


def test_a_link_with_a_payload_on_its_way_is_pruned_only_to_keep_within_degree_high() -> None:
    overlay = make(members=20)
    overlay.tick(0.5)
    for n in range(1, CONFIG.degree_high + 2):
        overlay.link_up(peer(n), f"p{n}", KEY, 1.0)
    busy = frozenset(peer(n) for n in range(1, CONFIG.degree_high + 1))  # all but one
    pruned = [p.peer_id for n in range(4) for p in of(o.Prune, overlay.tick(2.0 + n, busy))]
    assert pruned == [peer(CONFIG.degree_high + 1)], "the idle one only: back within bounds"
    overlay.link_up(peer(30), "p30", KEY, 6.0)
    overlay.link_up(peer(31), "p31", KEY, 6.0)  # over degree_high, every link busy
    forced = of(o.Prune, overlay.tick(7.0, busy | {peer(30), peer(31)}))
    assert len(forced) == 2 and len(overlay.links) == CONFIG.degree_high
    assert len(of(o.Prune, overlay.tick(8.0))) == o.PRUNES_PER_TICK  # idle again: down to degree


def test_a_member_at_degree_high_asks_a_newcomer_for_no_link() -> None:
    overlay = make(members=20, connections=CONFIG.degree_high)
    assert overlay.partial
    assert of(o.Link, overlay.hello_heard(peer(31), "new", KEY, {}, 1.0)) == []  # no offers


def test_a_newcomer_gets_a_link_from_about_degree_members() -> None:
    offers = 0
    for seed in range(200):
        overlay = o.Overlay(peer(0), CONFIG, random.Random(seed))
        for n in range(1, 40):
            overlay.vouched(peer(n), f"p{n}", KEY, {}, 0.0)
        offers += len(of(o.Link, overlay.hello_heard(peer(77), "new", KEY, {}, 1.0)))
    # Each of the 40 members offers with probability degree / members: 4 per newcomer.
    assert 3.0 < offers / 200 * 40 < 5.0


def test_a_roster_brings_members_but_not_ones_long_silent_or_gone() -> None:
    overlay = make(members=20)
    overlay.vouched(peer(30), "fresh", KEY, {}, 5.0, age=3.0)
    overlay.vouched(peer(31), "stale", KEY, {}, 5.0, age=CONFIG.member_ttl)
    overlay.left(peer(32), "said bye", 5.0, said_bye=True)
    overlay.vouched(peer(32), "ghost", KEY, {}, 6.0, age=2.0)
    members = overlay.members()
    assert peer(30) in members and peer(31) not in members and peer(32) not in members
    overlay.vouched(peer(32), "back", KEY, {}, 7.0, hearsay=False)  # its own "here"
    assert overlay.members()[peer(32)] == "back"


def test_a_flood_of_announcements_from_fresh_identities_makes_no_members() -> None:
    small = make(members=3)
    for n in range(100, 600):  # many more than the threshold, through two connections
        assert small.hello_heard(peer(n), "sybil", KEY, {}, 1.0, f"conn-{n % 2}") == []
    assert not small.partial and len(small.members()) == 0  # still a full mesh of 4
    big = make(members=30)
    offers = [
        big.hello_heard(peer(n), "sybil", KEY, {}, 1.0 + n / 1000, "conn") for n in range(100, 600)
    ]
    # Links offered to strangers are rationed, however many there are.
    assert sum(len(of(o.Link, actions)) for actions in offers) <= o.OFFER_BURST + 1
    assert peer(100) not in big.members()


def test_a_link_makes_a_member_and_a_partial_mesh_says_here_once() -> None:
    overlay = make(members=30)
    overlay.hello_heard(peer(40), "new", KEY, {"hello": 40}, 1.0)
    actions = overlay.link_up(peer(40), "new", KEY, 2.0)
    assert of(o.SayHere, actions) == [o.SayHere()]
    assert overlay.members()[peer(40)] == "new"
    assert [entry[0] for entry in overlay.roster(2.0)].count({"hello": 40}) == 1
    assert of(o.SayHere, overlay.link_up(peer(41), "p41", KEY, 3.0)) == []


def test_a_crash_is_believed_from_two_links_not_one() -> None:
    overlay = make(members=20)
    assert overlay.reported_gone(peer(5), peer(6), 10.0) == []
    assert overlay.reported_gone(peer(5), peer(6), 10.1) == []  # the same link again
    assert overlay.reported_gone(peer(5), peer(7), 10.5) == []  # suspected, from now
    assert of(o.MemberLeft, overlay.tick(10.5 + CONFIG.suspect_grace - 0.1)) == []
    left = of(o.MemberLeft, overlay.tick(10.5 + CONFIG.suspect_grace))
    assert left == [o.MemberLeft(peer(5), "p5", "lost (noticed by p6, p7)", False)]


def test_a_member_reported_gone_that_speaks_within_the_grace_stays() -> None:
    overlay = make(members=20)
    overlay.reported_gone(peer(5), peer(6), 10.0)
    overlay.reported_gone(peer(5), peer(7), 10.5)
    overlay.alive(peer(5), 11.0)  # an envelope of its, repaired late: maybe from before
    overlay.hello_heard(peer(5), "p5", KEY, {}, 12.0)  # it stalled for a while, and is back
    assert of(o.MemberLeft, overlay.tick(10.5 + CONFIG.suspect_grace + 1)) == []
    assert peer(5) in overlay.members()


def test_a_member_reported_gone_is_not_kept_by_its_old_envelopes_arriving_late() -> None:
    overlay = make(members=20)
    overlay.reported_gone(peer(5), peer(6), 10.0)
    overlay.reported_gone(peer(5), peer(7), 10.5)
    overlay.alive(peer(5), 12.0)  # a line it said before it died, repaired only now
    left = of(o.MemberLeft, overlay.tick(10.5 + CONFIG.suspect_grace))
    assert [action.peer_id for action in left] == [peer(5)]


def test_a_report_is_ignored_for_a_member_we_link_to_or_that_spoke_since() -> None:
    overlay = make(members=20)
    overlay.link_up(peer(5), "p5", KEY, 1.0)
    for reporter in (6, 7, 9):
        assert overlay.reported_gone(peer(5), peer(reporter), 10.0) == []
    overlay.reported_gone(peer(8), peer(6), 10.0)
    overlay.hello_heard(peer(8), "p8", KEY, {}, 11.0)  # its own word, after the first report
    overlay.reported_gone(peer(8), peer(7), 14.0)  # one since: not enough
    assert of(o.MemberLeft, overlay.tick(14.0 + CONFIG.suspect_grace)) == []
    overlay.reported_gone(peer(8), peer(9), 14.5)
    left = of(o.MemberLeft, overlay.tick(14.5 + CONFIG.suspect_grace))
    assert [action.peer_id for action in left] == [peer(8)]  # not 5, linked to us


def test_an_envelope_delivered_late_voids_no_report_that_its_author_is_gone() -> None:
    """What a member said just before it crashed reaches some members seconds later
    (held for order, or repaired): taken for a sign of life, it voided the reports that
    came before it, and where too few came after, the member stayed for member_ttl."""
    overlay = make(members=20)
    overlay.reported_gone(peer(5), peer(6), 10.0)
    overlay.alive(peer(5), 11.0)  # a line it said before it died, repaired only now
    overlay.reported_gone(peer(5), peer(7), 12.0)
    left = of(o.MemberLeft, overlay.tick(12.0 + CONFIG.suspect_grace))
    assert [action.peer_id for action in left] == [peer(5)]


def test_a_silent_link_is_reported_to_the_room_and_counts_as_one_report() -> None:
    overlay = make(members=20)
    overlay.link_up(peer(5), "p5", KEY, 1.0)
    actions = overlay.link_down(peer(5), 10.0, silent=True)
    assert actions == [o.ReportGone(peer(5))]
    overlay.reported_gone(peer(5), peer(6), 10.2)
    assert of(o.MemberLeft, overlay.tick(10.2 + CONFIG.suspect_grace))
    overlay.link_up(peer(9), "p9", KEY, 11.0)
    assert overlay.link_down(peer(9), 12.0, silent=False) == []  # closed, not crashed


def test_members_not_heard_from_for_member_ttl_leave() -> None:
    overlay = make(members=20)
    overlay.alive(peer(3), 50.0)
    left = of(o.MemberLeft, overlay.tick(CONFIG.member_ttl + 1.0))
    assert {action.peer_id for action in left} == {peer(n) for n in range(1, 21)} - {peer(3)}


def test_the_hello_interval_grows_with_the_room() -> None:
    assert make(members=100).hello_floor() == pytest.approx(5.0)


def test_config_is_checked() -> None:
    with pytest.raises(ValueError, match="degree"):
        o.OverlayConfig(degree_low=7, degree=6)
    with pytest.raises(ValueError, match="threshold"):
        o.OverlayConfig(threshold=4)


def test_rosters_go_to_each_new_link_and_to_one_link_every_roster_interval() -> None:
    overlay = make(members=30)
    assert of(o.SendRoster, overlay.link_up(peer(1), "p1", KEY, 1.0)) == [o.SendRoster(peer(1))]
    overlay.link_up(peer(2), "p2", KEY, 1.0)
    sent = [of(o.SendRoster, overlay.tick(1.0 + n)) for n in range(int(CONFIG.roster_interval) * 3)]
    assert sum(len(rosters) for rosters in sent) == 3
    assert {r.peer_id for rosters in sent for r in rosters} <= {peer(1), peer(2)}


def test_announcements_through_many_connections_make_the_room_partial() -> None:
    overlay = make(members=3)
    actions: list[o.OverlayAction] = []
    for n in range(100, 100 + CONFIG.threshold):
        actions += overlay.hello_heard(peer(n), f"p{n}", KEY, {}, 1.0, f"conn-{n}")
    assert overlay.partial and of(o.BecamePartial, actions)
    assert len(overlay.members()) == 3  # strangers are still no members
    # What was offered on hearing them lapses; then members are asked first.
    asked = [link.peer_id for link in of(o.Link, overlay.tick(2.0 + CONFIG.link_timeout))]
    assert set(asked[:3]) == {peer(1), peer(2), peer(3)}  # members first, then strangers


class AlwaysOffers(random.Random):
    """Every roll for a link offer comes up yes."""

    def random(self) -> float:
        return 0.0


def test_a_newcomer_saying_hello_again_is_not_offered_links_again_soon() -> None:
    overlay = o.Overlay(peer(0), CONFIG, AlwaysOffers(), connections=lambda: 0)
    for n in range(1, CONFIG.threshold + 2):
        overlay.vouched(peer(n), f"p{n}", KEY, {"hello": n}, 0.0)
    assert overlay.partial
    first = of(o.Link, overlay.hello_heard(peer(77), "new", KEY, {}, 1.0))
    assert [link.peer_id for link in first] == [peer(77)]
    overlay.tick(1.0 + CONFIG.link_timeout + 1)  # our ask went unanswered: its place is free
    later = 2.0 + CONFIG.link_timeout
    assert of(o.Link, overlay.hello_heard(peer(77), "new", KEY, {}, later)) == []
    again = 1.5 + CONFIG.retry_after
    assert of(o.Link, overlay.hello_heard(peer(77), "new", KEY, {}, again)) != []


def test_a_report_heard_while_we_still_link_to_the_peer_counts_when_our_link_dies() -> None:
    overlay = make(members=20)
    overlay.link_up(peer(5), "p5", KEY, 1.0)
    assert overlay.reported_gone(peer(5), peer(6), 10.0) == []  # our link still lives
    assert overlay.link_down(peer(5), 14.0, silent=True) == [o.ReportGone(peer(5))]
    left = of(o.MemberLeft, overlay.tick(14.0 + CONFIG.suspect_grace))
    assert [action.peer_id for action in left] == [peer(5)]


@pytest.mark.parametrize("closed", ["pruned", "closed"])
def test_reports_heard_while_we_link_to_the_peer_count_when_the_link_goes_another_way(
    closed: str,
) -> None:
    """A crashed member's link, pruned (as a surplus one, looking idle) or closed before
    our failure detector took it for silent, brings no report of ours: the reports that
    others made while it lived must still count, or the member stays for member_ttl."""
    overlay = make(members=20)
    overlay.link_up(peer(5), "p5", KEY, 1.0)
    assert overlay.reported_gone(peer(5), peer(6), 10.0) == []
    assert overlay.reported_gone(peer(5), peer(7), 10.2) == []  # our link still lives
    if closed == "closed":
        assert overlay.link_down(peer(5), 11.0, silent=False) == []  # not a report
    else:
        overlay.pruned(peer(5), 11.0)  # by us (_keep_degree), or by it (a "prune" frame)
    left = of(o.MemberLeft, overlay.tick(11.0 + CONFIG.suspect_grace))
    assert [action.peer_id for action in left] == [peer(5)]


def test_a_member_pruned_with_one_report_on_it_needs_a_second() -> None:
    overlay = make(members=20)
    overlay.link_up(peer(5), "p5", KEY, 1.0)
    overlay.reported_gone(peer(5), peer(6), 10.0)
    overlay.pruned(peer(5), 11.0)
    assert of(o.MemberLeft, overlay.tick(11.0 + CONFIG.suspect_grace)) == []
    overlay.reported_gone(peer(5), peer(7), 20.0)
    left = of(o.MemberLeft, overlay.tick(20.0 + CONFIG.suspect_grace))
    assert [action.peer_id for action in left] == [peer(5)]


def test_reports_from_strangers_remove_nobody() -> None:
    """Two 'gone' reports by authors who were not members evicted a member: anyone
    can make identities."""
    overlay = make(members=20)
    for stranger in (500, 501, 502):
        overlay.reported_gone(peer(5), peer(stranger), 10.0)
    assert of(o.MemberLeft, overlay.tick(10.5 + CONFIG.suspect_grace + 1)) == []
    overlay.reported_gone(peer(5), peer(7), 20.0)
    overlay.reported_gone(peer(5), peer(9), 20.0)  # two members: believed
    left = of(o.MemberLeft, overlay.tick(20.0 + CONFIG.suspect_grace))
    assert [action.peer_id for action in left] == [peer(5)]


def test_one_link_cannot_make_members_of_identities_it_made() -> None:
    """One linked peer's rosters held 300 self-signed hellos: every honest peer listed
    303 members and the room went partial for good. A member only a roster tells of
    joins once two of our links vouch for it; one link's claims wait, a few at most."""
    overlay = make(members=20)  # a partial room of 21
    assert overlay.partial
    for link in (peer(1), peer(2), peer(3)):
        overlay.link_up(link, link, KEY, 1.0)
    for n in range(1000, 1300):  # the liar's roster
        overlay.vouched(peer(n), "alice", KEY, {"hello": n}, 2.0, via=peer(1))
    assert not [p for p in overlay.members() if p >= peer(1000)]
    # An honest member far away: two links' rosters tell of it.
    overlay.vouched(peer(50), "far", KEY, {"hello": 50}, 3.0, via=peer(2))
    assert peer(50) not in overlay.members()
    overlay.vouched(peer(50), "far", KEY, {"hello": 50}, 3.1, via=peer(3))
    assert overlay.members()[peer(50)] == "far"
    assert len(overlay._hearsay) <= o.MAX_HEARSAY_PER_LINK + 1


def test_one_link_s_roster_does_not_make_the_room_partial_two_do() -> None:
    overlay = make()
    for link in (peer(1), peer(2)):
        overlay.link_up(link, link, KEY, 1.0)
    assert overlay.roster_heard(peer(1)) == [] and not overlay.partial
    assert overlay.roster_heard(peer(1)) == [] and not overlay.partial, "the same link again"
    assert overlay.roster_heard(peer(9)) == [], "not a link of ours"
    assert of(o.BecamePartial, overlay.roster_heard(peer(2))) == [o.BecamePartial()]
    assert overlay.partial
