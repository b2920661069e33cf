"""The GC pause of the bulk paths: objects made in a large pause are frozen, not walked."""

from __future__ import annotations

import gc

from predtrack.memory import FREEZE_FROM, without_gc


def test_a_large_pause_freezes_what_it_made_and_a_small_one_does_not() -> None:
    gc.unfreeze()
    gc.collect()
    try:
        with without_gc(True):
            assert not gc.isenabled()
            small = [[i] for i in range(10)]
        assert gc.isenabled() and gc.get_freeze_count() == 0
        with without_gc(True):
            made = [[i] for i in range(FREEZE_FROM + 10)]
        assert gc.isenabled()
        frozen = gc.get_freeze_count()
        assert frozen >= len(made)
        # Reference counting still frees them.
        count = len(made)
        del made
        assert gc.get_freeze_count() <= frozen - count
        with without_gc(False):
            assert gc.isenabled()
        del small
    finally:
        gc.unfreeze()


def test_a_pause_inside_a_pause_leaves_the_collector_off() -> None:
    with without_gc(True):
        with without_gc(True):
            pass
        assert not gc.isenabled()
    assert gc.isenabled()
