"""Group summaries read through `Columns`: the same numbers as reading each entry in turn."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from predtrack.score import Board, Entry, group_stats, skill_scores, summarize
from predtrack.score.columns import Columns

T = datetime(2030, 1, 1, tzinfo=UTC)


def _entry(qid: int, forecaster: str, kind: str, scores: dict[str, float], **extra: Any) -> Entry:
    return Entry(
        question_id=qid, label=f"q{qid}", title="", experiment="e", kind=kind,
        tags=extra.get("tags", []), forecaster=forecaster, distribution={}, outcome=None,
        k=None, n=None, resolved_at=T, bounds=None, categories=None, ordered=False,
        revisions=extra.get("revisions", 1), scores=scores,
    )  # fmt: skip


def _entries(seed: int) -> list[Entry]:
    rng = random.Random(seed)
    out = []
    for qid in range(60):
        kind = ("binary", "fraction", "categorical")[qid % 3]
        for f in ("ana", "ben", "cy")[: 1 + (qid // 3) % 3]:
            if kind == "binary":
                p, y = rng.random(), float(rng.random() < 0.5)
                scores = {"brier": (p - y) ** 2, "log": rng.random(), "spherical": rng.random(),
                          "p": p, "y": y}  # fmt: skip
            elif kind == "fraction":
                scores = {"crps": rng.random(), "log_density": rng.random(), "pit": rng.random(),
                          "cover50": 1.0, "cover90": 0.0, "is50": 1.0, "is90": 2.0}  # fmt: skip
                if qid % 2:
                    scores["betabinom_log"] = rng.random()
            else:
                scores = {"brier_cat": rng.random(), "log_cat": rng.random()}
            tags = ["even"] if qid % 2 == 0 else ["odd", "x"]
            out.append(_entry(qid, f, kind, scores, tags=tags, revisions=1 + qid % 2))
    return out


def test_columns_take_keeps_each_scores_order_and_positions() -> None:
    entries = _entries(1)
    cols = Columns.of(entries)
    rows = [i for i, e in enumerate(entries) if e.forecaster == "ben" or e.question_id % 9 == 0]
    part = cols.take(rows)
    chosen = [entries[i] for i in rows]
    assert part.qid.tolist() == [e.question_id for e in chosen]
    for key in ("brier", "crps", "betabinom_log", "log_cat"):
        assert part.scores(key).tolist() == [e.scores[key] for e in chosen if key in e.scores]
        at = part.at.get(key, np.empty(0, dtype=int)).tolist()
        assert at == [j for j, e in enumerate(chosen) if key in e.scores]
    assert cols.take(range(len(entries))) is cols
    only = cols.take(rows, keys=["brier"])
    assert set(only.at) == {"brier"}
    assert np.array_equal(only.at["brier"], part.at["brier"])
    assert np.array_equal(only.values["brier"], part.values["brier"])
    assert set(cols.take(range(len(entries)), keys=["log"]).at) <= {"log"}
    assert len(cols.take([])) == 0 and cols.take([]).scores("brier").size == 0


def test_score_lookup_keeps_the_later_of_two_entries_on_a_question() -> None:
    entries = [_entry(5, "a", "binary", {"brier": 0.1}), _entry(2, "a", "binary", {"brier": 0.2}),
               _entry(5, "b", "binary", {"brier": 0.3})]  # fmt: skip
    q, v = Columns.of(entries).score_lookup("brier")
    assert q.tolist() == [2, 5] and v.tolist() == [0.2, 0.3]
    assert Columns.of(entries).score_lookup("crps")[0].size == 0


@pytest.mark.parametrize("by", [None, "forecaster", "tag", "kind"])
def test_summarize_groups_equal_group_stats_of_each_groups_entries(by: str | None) -> None:
    entries = _entries(2)
    board = Board(entries, {}, False, None, {})
    board.__dict__["team"] = []  # no team: these entries carry scores, not forecasts
    reference = [e for e in entries if e.forecaster == "ana"]
    document = summarize(board, by=by, baseline="ana")
    for group in document["groups"]:
        name = group["group"]
        members = [
            e
            for e in entries
            if by is None
            or (by == "forecaster" and e.forecaster == name)
            or (by == "tag" and name in e.tags)
            or (by == "kind" and e.kind == name)
        ]
        expected = {
            "group": name,
            **group_stats(members),
            "skill": skill_scores(members, reference),
        }
        assert group == expected
    ben = next(g for g in summarize(board, by="forecaster")["groups"] if g["group"] == "ben")
    assert ben["updates"] == sum(e.revisions - 1 for e in entries if e.forecaster == "ben")


def test_group_stats_reads_entries_as_a_loop_over_them_would() -> None:
    entries = _entries(3)
    stats = group_stats(entries)
    binary = [e for e in entries if e.kind == "binary"]
    assert stats["n"] == len(entries) and stats["n_binary"] == len(binary)
    assert stats["questions"] == len({e.question_id for e in entries})
    assert stats["brier"] == float(np.mean([e.scores["brier"] for e in binary]))
    assert stats["n_betabinom"] == sum("betabinom_log" in e.scores for e in entries)
    shared = [e for e in entries if e.forecaster == "ben" and e.kind == "binary"]
    ana = [e for e in entries if e.forecaster == "ana"]
    ref = {e.question_id: e.scores["brier"] for e in ana if "brier" in e.scores}
    skill = skill_scores([e for e in entries if e.forecaster == "ben"], ana)
    mine = [e.scores["brier"] for e in shared if e.question_id in ref]
    theirs = [ref[e.question_id] for e in shared if e.question_id in ref]
    assert skill["n_brier"] == len(mine)
    assert skill["brier"] == pytest.approx(1 - np.mean(mine) / np.mean(theirs), rel=1e-15)


def test_score_lookup_of_one_forecaster() -> None:
    entries = [_entry(5, "a", "binary", {"brier": 0.1}), _entry(2, "b", "binary", {"brier": 0.2}),
               _entry(3, "a", "categorical", {"brier_cat": 0.3})]  # fmt: skip
    cols = Columns.of(entries)
    q, v = cols.score_lookup("brier", "a")
    assert q.tolist() == [5] and v.tolist() == [0.1]
    assert cols.score_lookup("brier_cat", "b")[0].size == 0  # b has none: empty, not an error
    assert cols.score_lookup("brier", "nobody")[0].size == 0


def test_scoring_keeps_the_columns_its_entries_dicts_hold(tmp_path: Path) -> None:
    # `score_entries` fills each entry's dict and the board's columns from the same arrays:
    # the two must never disagree (the example store: every kind, scales, late predictions).
    import shutil

    import predtrack
    from predtrack.score import collect

    db = tmp_path / "p.db"
    shutil.copy(Path(__file__).resolve().parents[1] / "predictions.db.example", db)
    with predtrack.open(db) as study:
        board = collect(study.store, include_late=True)
    lists = [board.entries, board.team, *(board.baselines[b] for b in ("climatology", "naive"))]
    for entries in lists:
        kept, read = board.columns_of(entries), Columns.of(entries)
        assert kept is not read and len(kept) == len(entries) > 0
        for name in ("qid", "kind", "revisions", "forecaster"):
            assert getattr(kept, name).tolist() == getattr(read, name).tolist()
        assert kept.names == read.names
        assert sorted(kept.at) == sorted(read.at)
        for key in kept.at:
            assert kept.at[key].tolist() == read.at[key].tolist(), key
            assert kept.values[key].tolist() == read.values[key].tolist(), key
    assert "crps_scaled" in board.columns_of(board.entries).at


def _example_board(tmp_path: Path, **options: Any) -> Board:
    """The example store's board, with ordered and unordered categorical questions added."""
    import shutil

    import predtrack
    from predtrack.score import collect

    db = tmp_path / "p.db"
    shutil.copy(Path(__file__).resolve().parents[1] / "predictions.db.example", db)
    with predtrack.open(db) as study:
        for i, (forecast, ordered, outcome) in enumerate(
            [("a:0.5, b:0.3, c:0.2", True, "b"), ("x:0.6, y:0.4", False, "y"),
             ("a:0.1, b:0.2, c:0.7", False, "c"), ("lo:0.2, mid:0.5, hi:0.2, top:0.1", True, "hi")]
        ):  # fmt: skip
            study.predict(f"Which {i}", forecast, key=f"which{i}", ordered=ordered, by="ana")
            study.predict(forecast, question=f"which{i}", by="ben")
            study.resolve(f"which{i}", category=outcome)
        return collect(study.store, **options)


@pytest.mark.parametrize("include_late", [False, True])
def test_a_board_reads_as_its_entries_do_before_and_after_they_are_made(
    tmp_path: Path, include_late: bool
) -> None:
    from dataclasses import fields

    board = _example_board(tmp_path, include_late=include_late)
    names = [f.name for f in fields(Entry) if f.name != "scores"]
    before = {name: board.field(name) for name in names}
    # the summaries `score` prints read only the columns: no entry is made for them
    for by in (None, "experiment", "tag", "kind"):
        summarize(board, by=by)
    assert board._entries is None
    entries = board.entries
    assert len(entries) == len(board) == len(before["forecaster"]) > 0
    for name in names:
        assert [getattr(e, name) for e in entries] == before[name], name
        assert board.field(name) == before[name], name
    assert board._picks is None  # the entries hold it all now


def test_entries_made_later_hold_the_scores_scoring_them_gives(tmp_path: Path) -> None:
    # The board scores its predictions as columns and fills the entries' dicts only when they
    # are made; scoring the entries themselves must give the same dicts, keys in the same order.
    from dataclasses import replace

    from predtrack.score import score_entries

    board = _example_board(tmp_path, include_late=True)
    made = board.entries
    fresh = [replace(e, scores={}) for e in made]
    columns = score_entries(fresh, board.scales)
    assert [list(e.scores.items()) for e in fresh] == [list(e.scores.items()) for e in made]
    assert {"crps_scaled", "betabinom_log", "brier", "rps"} <= {k for e in made for k in e.scores}
    for key in columns.at:
        assert columns.values[key].tolist() == board.columns.values[key].tolist(), key


def test_baselines_outliving_their_board_say_so(tmp_path: Path) -> None:
    board = _example_board(tmp_path)
    baselines = board.baselines
    assert baselines["naive"]  # made while the board lives
    del board  # no reference cycle holds it: freed at once
    assert baselines["naive"]  # made before: kept
    with pytest.raises(ReferenceError, match="collect it again"):
        baselines["climatology"]
    with pytest.raises(KeyError):
        baselines["nobody"]
