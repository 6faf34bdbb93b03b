"""Who is taken for gone in a room bigger than a full mesh: 30 simulated RoomCores
(tests/unit/simulation.py). A member whose process stalls, twice in a few seconds,
while it talks, stays a member everywhere; one that crashes is gone everywhere soon,
whatever it said just before."""

from __future__ import annotations

from .scenarios import cheap_signatures
from .simulation import SimClient, SimNetwork

MEMBERS = 30  # past the full mesh's 24
STALL = 8.0  # seconds: past a partial mesh link's tolerance (5 s beyond its heartbeats)


def talking_room(seed: int) -> tuple[SimNetwork, list[SimClient]]:
    net = SimNetwork(seed, latency=0.02, max_delay=0.05)
    members = []
    for index in range(MEMBERS):
        members.append(net.add_client(f"m{index}"))
        net.run(0.1)
    net.run(20.0)
    assert all(member.core.overlay.partial for member in members)
    return net, members


def run_talking(net: SimNetwork, talker: SimClient, seconds: float) -> None:
    """``seconds`` pass while ``talker`` says a line every half second, when it can."""
    for _ in range(round(seconds / 0.5)):
        if talker.id in net.clients and not net._is_stalled(talker.id):
            net.say(talker.id, f"line at {net.now:.1f}")
        net.run(0.5)


def test_a_member_that_stalls_twice_while_it_talks_is_never_taken_for_gone() -> None:
    with cheap_signatures():
        net, members = talking_room(seed=11)
        staller = members[7]
        run_talking(net, staller, 3.0)
        links_before = staller.core.overlay.links
        net.stall(staller.id, STALL)
        run_talking(net, staller, STALL + 4.0)  # back for 4 s, then it stalls again
        assert not links_before <= staller.core.overlay.links, "its links took it for dead"
        net.stall(staller.id, STALL)
        run_talking(net, staller, STALL + 25.0)
    assert [(m.id, why) for m in members for peer, why in m.left if peer == staller.id] == []


def test_a_member_that_crashes_while_it_talks_is_gone_everywhere() -> None:
    with cheap_signatures():
        net, members = talking_room(seed=12)
        crashed = members[9]
        run_talking(net, crashed, 3.0)
        net.kill(crashed.id)
        run_talking(net, crashed, 30.0)  # its last lines still on their way
    survivors = [m for m in members if m is not crashed]
    assert [m.id for m in survivors if crashed.id not in dict(m.left)] == []
