"""Large inputs without the cyclic garbage collector: the pause every bulk path shares."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

FREEZE_FROM = 100_000  # objects made during a pause from which they are frozen at its end
_freeze = False


def freeze_after_pauses() -> None:
    """In a process that ends after its one command (the CLI): freeze what a large pause made
    instead of letting the collector walk it (see `without_gc`)."""
    global _freeze
    _freeze = True


@contextmanager
def without_gc(large: bool) -> Iterator[None]:
    """No cyclic garbage collection while a large input is turned into rows: it makes no
    cycles, and each collection would walk every object made so far (a third of the time of a
    million-prediction file).

    In the CLI the objects a large pause made are then frozen (`gc.freeze`): re-enabled, the
    collector would first walk every one of them, several times as they age (3 s of a
    million-prediction report, 0.4 s at 100,000). Reference counting still frees them; a
    reference cycle among them would live until the process ends, so a long-lived process
    (a notebook, the API) keeps the collector's usual walk.
    """
    paused = large and gc.isenabled()
    if paused:
        gc.disable()
    try:
        yield
    finally:
        if paused:
            if _freeze and gc.get_count()[0] >= FREEZE_FROM:
                gc.freeze()
            gc.enable()
