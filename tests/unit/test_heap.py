"""`meshchat join` leaves what lives as long as the process out of the collector."""

from __future__ import annotations

import gc

from meshchat.cli.heap import settle_after_join


def test_after_joining_the_live_objects_are_frozen_and_garbage_still_goes() -> None:
    try:
        settle_after_join()
        frozen = gc.get_freeze_count()
        assert frozen > 1000  # the modules and everything else alive
        cycle: list[object] = []
        cycle.append(cycle)  # made after: still the collector's
        del cycle
        assert gc.collect() >= 1
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()
