"""The GC pause of the bulk paths: objects made in a large pause are frozen, not walked."""

from __future__ import annotations

import gc
import shutil
from pathlib import Path

import pytest

from predtrack import memory
from predtrack.memory import FREEZE_FROM, without_gc


def test_a_large_pause_freezes_what_it_made_and_a_small_one_does_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(memory, "_freeze", True)  # as the CLI sets it
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


def test_outside_the_cli_nothing_is_frozen() -> None:
    assert not memory._freeze  # the API and the tests run without it
    gc.unfreeze()
    with without_gc(True):
        made = [[i] for i in range(FREEZE_FROM + 10)]
    assert gc.get_freeze_count() == 0
    del made


def test_a_scored_board_holds_no_reference_cycle(tmp_path: Path) -> None:
    """A board dropped is freed by reference counting (a cycle would wait for the collector,
    and in the CLI, where large pauses end frozen, would never be freed)."""
    import predtrack
    from predtrack.score import collect, summarize

    db = tmp_path / "example.db"
    shutil.copy(Path(__file__).resolve().parents[1] / "predictions.db.example", db)
    store = predtrack.open(str(db)).store
    board = collect(store)
    assert board.entries
    for baseline in ("climatology", "naive", "team"):
        summarize(board, by="forecaster", baseline=baseline)
    assert board.team and board.baselines["climatology"]
    gc.collect()
    del board
    assert gc.collect() == 0
    store.dispose()
