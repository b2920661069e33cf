"""Large inputs without the cyclic garbage collector: the pause every bulk path shares."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def without_gc(large: bool) -> Iterator[None]:
    """No cyclic garbage collection while a large input is turned into rows: it makes no
    cycles, and each collection would walk every object made so far (a third of the time of a
    million-prediction file)."""
    paused = large and gc.isenabled()
    if paused:
        gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()
