"""The garbage collector, set for a process that holds one room for hours.

Once a room is joined, nearly every object alive (modules, aiortc's and the app's
state) lives as long as the process. CPython's full collections walk all of them,
and in a process holding aiortc's objects one took 100-400 ms on a loaded machine,
long enough to show in the latency of chat (docs/benchmarks.md, "the room core,
before and after"). Frozen, they are left out: a full collection walks only what
was made since.
"""

from __future__ import annotations

import gc


def settle_after_join() -> None:
    """Collect once, then leave everything alive now out of later collections."""
    gc.collect()
    gc.freeze()
