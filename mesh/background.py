"""Tasks started and not awaited where they start.

The event loop keeps only a weak reference to a task, so a task nobody holds may be
collected before it finishes. :class:`BackgroundTasks` holds each until it is done,
and hands out those still running for whoever waits for them on closing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any


class BackgroundTasks:
    """A set of running tasks, each dropped when it is done."""

    def __init__(self) -> None:
        self._running: set[asyncio.Task[None]] = set()

    def start(self, coroutine: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.ensure_future(coroutine)
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        return task

    def running(self) -> list[asyncio.Task[None]]:
        """The tasks not yet done, as they are now."""
        return list(self._running)
