"""How a room's payloads leave: a sender waits while too much is still to go out, and a
payload through a partial mesh goes whole, or in parts at the pace of our links."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable, Sequence

from meshchat.mesh.engine import Engine
from meshchat.mesh.events import SentPayload
from meshchat.mesh.payload_outcomes import PayloadOutcomes
from meshchat.mesh.room_actions import RoomAction
from meshchat.mesh.room_core import RoomCore, recipients
from meshchat.wire.ratelimit import TokenBucket

# send() waits while this many payload bytes are still to be handed to channels, so a
# sender faster than its peers does not pile up payloads in memory.
SEND_BACKLOG = 8 * 1024 * 1024
# Parts of a payload relayed through a partial mesh: at most this many a second (every
# relay forwards them, within its links' envelope budgets, gossip.ENVELOPE_RATE), and
# none while a link's channel holds this many bytes not yet sent.
PART_RATE = 150.0
RELAY_HIGH_WATER = 1024 * 1024


class PayloadSender:
    """Sends through ``core``, carrying out its actions with ``run``."""

    def __init__(
        self, core: RoomCore, engine: Engine, run: Callable[[Sequence[RoomAction]], None]
    ) -> None:
        self._core = core
        self._engine = engine
        self._run = run
        self._backlog_drained = asyncio.Event()
        self._link_drained = asyncio.Event()  # a channel's buffer fell to LOW_WATER
        self._relaying = asyncio.Lock()  # one relayed payload of ours at a time, in parts
        self.outcomes = PayloadOutcomes()
        self._closed = False

    async def send(
        self, channel: str, data: object, to: Iterable[str] | None, *, tracked: bool = False
    ) -> SentPayload:
        """``tracked``: the application's payload, which says how it ends for each
        recipient (payload_outcomes.py); the framework's own need not."""
        while self._core.backlog() > SEND_BACKLOG and not self._closed:
            self._backlog_drained.clear()
            await self._backlog_drained.wait()
        chosen = recipients(to)
        if self._core.sends_by_relay(chosen):
            return await self._relay(channel, data, chosen, tracked)
        sent, actions = self._core.send_payload(channel, data, chosen, time.monotonic())
        if tracked:  # before its actions: their events find it
            sent = self.outcomes.track(sent)
        self._run(actions)
        return sent

    def backlog_changed(self) -> None:
        """The backlog may have shrunk: release waiting senders if it is low enough."""
        if not self._backlog_drained.is_set() and self._core.backlog() <= SEND_BACKLOG:
            self._backlog_drained.set()

    def link_drained(self) -> None:
        self._link_drained.set()

    def close(self) -> None:
        self._closed = True
        self._backlog_drained.set()
        self.outcomes.close()

    async def _relay(
        self, channel: str, data: object, to: tuple[str, ...] | None, tracked: bool
    ) -> SentPayload:
        planned, actions = self._core.relay_payload(channel, data, to, time.monotonic())
        if isinstance(planned, SentPayload):
            if tracked:
                planned = self._track_relayed(planned)
            self._run(actions)
            return planned
        self._run(actions)
        async with self._relaying:
            pace = TokenBucket(PART_RATE, PART_RATE, time.monotonic())
            for index in range(planned.count):
                await self._turn_to_relay(pace)
                self._run(self._core.relay_part(planned, index, time.monotonic()))
        done: list[RoomAction] = []
        sent = self._core.relayed(planned.header, time.monotonic(), done)
        if tracked:
            sent = self._track_relayed(sent)
        self._run(done)
        return sent

    def _track_relayed(self, sent: SentPayload) -> SentPayload:
        """A payload to chosen members awaits their receipts; one to the whole room
        gets none, and is settled for its members at once."""
        if sent.header.to:
            return self.outcomes.track(sent)
        return self.outcomes.track(sent, relayed_to=self._core.peers())

    async def _turn_to_relay(self, pace: TokenBucket) -> None:
        """Wait for our turn to relay a part: within the rate, and until no link's
        channel is backed up (the room forwards at the pace of our slowest link)."""
        if (delay := pace.reserve(time.monotonic())) > 0:
            await asyncio.sleep(delay)
        while not self._closed and self._engine.most_buffered() > RELAY_HIGH_WATER:
            self._link_drained.clear()
            with contextlib.suppress(TimeoutError):  # a link that closed drains nothing
                await asyncio.wait_for(self._link_drained.wait(), timeout=0.1)
        if self._closed:
            raise ValueError("the room was left")
