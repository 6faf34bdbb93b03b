"""Which strangers get our attention, and how fast: fair, bounded admission.

Anyone can make fresh identities for free and say hello with each, so a message from
a peer we do not know yet is not acted on at once. It waits in a *lane*: the
connection or address it came through (the bundled broker stamps each publish with
one, Ably names the publishing connection) or, where the service says nothing, the
sender itself. Lanes are served in turn, a few strangers per second in all, and only
while few connection attempts are half-open. So a flood through a handful of
connections gets a handful of turns, like one honest newcomer, and costs us a bounded
number of replies however many identities it invents.

Pure bookkeeping on a clock passed in: the protocol core decides what a turn means.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Generic, TypeVar

from meshchat.wire.ratelimit import TokenBucket

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class AdmissionLimits:
    rate: float = 10.0  # strangers served per second, on average...
    burst: float = 40.0  # ...and at once (a room's worth of honest joiners)
    max_half_open: int = 32  # connection attempts not yet open, beyond which we wait
    per_lane: int = 2  # waiting strangers kept per lane: the newest
    max_lanes: int = 256
    max_age: float = 3.0  # a stranger's hello older than this is stale: they hello again


class Admission(Generic[T]):
    def __init__(self, limits: AdmissionLimits, now: float) -> None:
        self.limits = limits
        self._budget = TokenBucket(limits.rate, limits.burst, now)
        # lane -> waiting (sender, item, arrival); lanes in the order they are served.
        self._lanes: OrderedDict[str, deque[tuple[str, T, float]]] = OrderedDict()
        self.shed = 0  # strangers dropped unserved, for tests and diagnostics

    def __len__(self) -> int:
        return sum(len(waiting) for waiting in self._lanes.values())

    def wait(self, lane: str, sender: str, item: T, now: float) -> None:
        """Queue ``item`` from the stranger ``sender``, who arrived through ``lane``."""
        waiting = self._lanes.get(lane)
        if waiting is None:
            if len(self._lanes) >= self.limits.max_lanes:
                # Full: the lane served longest ago... is the next to be served. Drop the
                # one that joined last instead, so turns already earned stand.
                _, dropped = self._lanes.popitem(last=True)
                self.shed += len(dropped)
            waiting = self._lanes[lane] = deque()
        for index, (queued_sender, _, _) in enumerate(waiting):
            if queued_sender == sender:  # a newer message replaces the older one
                del waiting[index]
                self.shed += 1
                break
        waiting.append((sender, item, now))
        if len(waiting) > self.limits.per_lane:
            waiting.popleft()
            self.shed += 1

    def forget(self, sender: str) -> None:
        """``sender`` is no stranger any more (we met it another way). A lane it leaves
        empty goes: take() serves only lanes with someone waiting."""
        for lane, waiting in list(self._lanes.items()):
            for entry in [e for e in waiting if e[0] == sender]:
                waiting.remove(entry)
            if not waiting:
                del self._lanes[lane]

    def take(self, now: float, half_open: int) -> list[tuple[str, T]]:
        """The strangers to serve now, one per lane in turn."""
        served: list[tuple[str, T]] = []
        while self._lanes and half_open + len(served) < self.limits.max_half_open:
            lane, waiting = next(iter(self._lanes.items()))
            sender, item, arrived = waiting.popleft()
            if not waiting:
                del self._lanes[lane]
            else:
                self._lanes.move_to_end(lane)
            if now - arrived > self.limits.max_age:
                self.shed += 1
                continue
            if not self._budget.take(now):
                # Out of budget: put it back at the head of its lane for the next tick.
                self._lanes.setdefault(lane, deque()).appendleft((sender, item, arrived))
                self._lanes.move_to_end(lane, last=False)
                break
            served.append((sender, item))
        return served
