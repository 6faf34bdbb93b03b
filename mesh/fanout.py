"""One stream of events to every listener: each iterator, and each handler, sees all of
them (``Room.events()``, ``Room.on()``).

Each iterator has its own queue, bounded: one that falls more than ``limit`` events
behind loses the oldest, and is told how many with an ``EventsMissed`` (events.py) in
their place, so a slow listener costs bounded memory and never blocks the others. What is
published while nobody listens waits (bounded the same way) for the next iterator, with
what the last one left unread, as in the room's one queue before: an application that
reads, stops and reads again misses nothing. ``close()`` ends every iterator once it
has what it holds, and those made later once they have what waited.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Generic, TypeVar

from meshchat.mesh.events import EventsMissed

log = logging.getLogger(__name__)

# Events an iterator may hold unread: at hundreds of events a second, minutes of them.
DEFAULT_LIMIT = 10_000

T = TypeVar("T")
Handler = Callable[[Any], Awaitable[None] | None]


class _Queue(Generic[T]):
    """One listener's events, oldest dropped (and counted) past ``limit`` of them, or
    past ``max_weight`` of what ``weigh`` says they hold (the newest always stays)."""

    def __init__(self, limit: int, weigh: Callable[[T], int] | None, max_weight: int) -> None:
        self.items: deque[T] = deque()
        self.limit = limit
        self.weigh = weigh
        self.max_weight = max_weight
        self.weight = 0
        self.missed = 0  # dropped since the listener last heard of it
        self.ready = asyncio.Event()
        self.closed = False

    def put(self, item: T) -> None:
        self.items.append(item)
        if self.weigh is not None:
            self.weight += self.weigh(item)
        while len(self.items) > self.limit or (
            self.weight > self.max_weight and len(self.items) > 1
        ):
            self.take()
            self.missed += 1
        self.ready.set()

    def take(self) -> T:
        item = self.items.popleft()
        if self.weigh is not None:
            self.weight -= self.weigh(item)
        return item

    def close(self) -> None:
        self.closed = True
        self.ready.set()


class Fanout(Generic[T]):
    """Publish once, every listener hears it."""

    def __init__(
        self,
        limit: int = DEFAULT_LIMIT,
        *,
        weigh: Callable[[T], int] | None = None,
        max_weight: int = 0,
    ) -> None:
        """``limit``: events a listener may hold unread; ``weigh(event)`` and
        ``max_weight``: what they may hold all together, as bytes of payloads."""
        self._limits = (limit, weigh, max_weight)
        self._queues: list[_Queue[T]] = []
        self._unheard: _Queue[T] | None = self._new_queue()  # while no iterator listens
        self._handlers: list[tuple[type | tuple[type, ...], Handler]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self.ended = asyncio.Event()  # set by close()

    @property
    def closed(self) -> bool:
        return self.ended.is_set()

    @property
    def missed(self) -> int:
        """Events dropped for slow iterators, all together, since they last heard."""
        return sum(queue.missed for queue in self._queues)

    def publish(self, item: T) -> None:
        if self.closed:
            return
        for kinds, handler in tuple(self._handlers):  # a handler may add or stop one
            if isinstance(item, kinds):
                self._call(handler, item)
        if self._unheard is not None:
            self._unheard.put(item)
        for queue in self._queues:
            queue.put(item)

    def on(self, kinds: type | tuple[type, ...], handler: Handler) -> Callable[[], None]:
        """Call ``handler(event)`` for every event of the types ``kinds`` from now on (a
        coroutine function runs as a task); returns what removes it. A handler that
        raises is logged, and called again for the next event."""
        entry = (kinds, handler)
        self._handlers.append(entry)
        return lambda: self._handlers.remove(entry) if entry in self._handlers else None

    def iterate(self) -> Listener[T]:
        """A new listener: every event from now on (and what waited for one)."""
        queue = self._unheard or self._new_queue()
        self._unheard = None
        if self.closed:
            queue.close()
        self._queues.append(queue)
        return Listener(self, queue)

    def _new_queue(self) -> _Queue[T]:
        return _Queue[T](*self._limits)

    def _release(self, queue: _Queue[T]) -> None:
        self._queues.remove(queue)
        if not self._queues:  # the last listener: what it left unread waits for the next
            queue.closed = self.closed
            self._unheard = queue

    def close(self) -> None:
        self.ended.set()
        for queue in self._queues:
            queue.close()

    async def drain_handlers(self) -> None:
        """Wait for the handlers' tasks still running."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def _call(self, handler: Handler, item: T) -> None:
        try:
            result = handler(item)
        except Exception:
            log.exception("an event handler failed on %r", item)
            return
        if inspect.isawaitable(result):
            task = asyncio.ensure_future(result)
            self._tasks.add(task)
            task.add_done_callback(self._handled)

    def _handled(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            log.error("an event handler failed", exc_info=error)


class Listener(AsyncIterator["T | EventsMissed"], Generic[T]):
    """One iterator over a ``Fanout`` (``async for``). It stops listening when the
    stream ends, on ``aclose()``, or as soon as nothing refers to it (a loop left with
    ``break``): then what it left unread goes to the next listener if it was the last."""

    def __init__(self, fanout: Fanout[T], queue: _Queue[T]) -> None:
        self._fanout: Fanout[T] | None = fanout
        self._queue = queue

    def __aiter__(self) -> Listener[T]:
        return self

    async def __anext__(self) -> T | EventsMissed:
        queue = self._queue
        while self._fanout is not None:
            if queue.missed:
                missed, queue.missed = queue.missed, 0
                return EventsMissed(missed)
            if queue.items:
                return queue.take()
            if queue.closed:
                break
            queue.ready.clear()
            await queue.ready.wait()
        self._stop()
        raise StopAsyncIteration

    async def aclose(self) -> None:
        self._stop()

    def __del__(self) -> None:
        self._stop()

    def _stop(self) -> None:
        if self._fanout is not None:
            fanout, self._fanout = self._fanout, None
            fanout._release(self._queue)
