"""Log lines about what strangers send, at a rate no stranger can drive up.

A peer that sends garbage as fast as it can must not fill the disk or the terminal:
per key (a peer id, an address), a few lines per interval go through, and the next
line after a quiet spell says how many were held back.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable


class QuietLog:
    def __init__(
        self,
        logger: logging.Logger,
        *,
        lines: int = 3,
        interval: float = 10.0,
        max_keys: int = 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._logger = logger
        self._lines, self._interval, self._max_keys = lines, interval, max_keys
        self._clock = clock
        # key -> (start of its current interval, lines logged in it, lines held back)
        self._keys: OrderedDict[str, tuple[float, int, int]] = OrderedDict()

    def warning(self, key: str, message: str, *args: object) -> None:
        """Log ``message % (key, *args)``: its first ``%s`` is the key."""
        self.log(logging.WARNING, key, message, *args)

    def log(self, level: int, key: str, message: str, *args: object) -> None:
        now = self._clock()
        start, logged, held = self._keys.pop(key, (now, 0, 0))
        if now - start >= self._interval:
            start, logged = now, 0
        if logged < self._lines:
            if held:
                message += f" ({held} similar lines held back)"
                held = 0
            self._logger.log(level, message, key, *args)
            logged += 1
        else:
            held += 1
        self._keys[key] = (start, logged, held)
        if len(self._keys) > self._max_keys:
            self._keys.popitem(last=False)
