"""Head to head: every pair of forecasters compared on the questions both answered."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from predtrack.report.format import data_value, fmt
from predtrack.report.sections.base import Section
from predtrack.report.sections.leaderboard import RAW, SCALED, crps_column
from predtrack.report.view import View
from predtrack.vocabulary import HEADLINE, KINDS, SCORE, TEAM

H2H_BUDGET = 40_000_000  # resampled differences for all head-to-head bootstraps together
FULL_RESAMPLES = 2000  # what `predtrack score --compare` uses
MIN_RESAMPLES = 200
VERDICTS = {
    # verdict of A − B -> (class, text) from A's side
    "a": ("win", "better"),
    "b": ("loss", "worse"),
    "none": ("tie", "no clear diff."),
    "few": ("few", "too few"),
    "undefined": ("few", "undefined"),
}
FLIPPED = {"a": "b", "b": "a"}


def headline_keys(view: View) -> list[str]:
    """The score a pair is compared on, in order of preference (the first they share)."""
    keys: list[str] = []
    for kind in KINDS:
        key = HEADLINE[kind]
        if key == RAW.key and crps_column(view) is SCALED:
            keys.append(SCALED.key)  # unit-free first; raw CRPS if entries lack it
        if key not in keys:
            keys.append(key)
    return keys


def _too_few_forecasters(names: Sequence[str]) -> str:
    if not names:
        return "No scored forecasts yet: nothing to compare."
    return f"Only {names[0]} has scored forecasts: a head-to-head needs at least two forecasters."


class HeadToHead(Section, name="head-to-head", title="Head to head"):
    def build(self, view: View) -> dict[str, Any]:
        import numpy as np

        from predtrack.score import CI_LEVEL, MIN_SHARED, compare
        from predtrack.scoring.compare import kept_resamples

        names = view.participants
        if len(names) < 2:
            return {"names": names, "rows": [], "message": _too_few_forecasters(names)}
        keys = headline_keys(view)
        board = view.board
        everyone = board.columns
        # each forecaster's headline scores taken once, for every comparison it is in
        columns = {
            name: board.columns_of(board.team)
            if name == TEAM
            else everyone.take(
                np.flatnonzero(everyone.forecaster == everyone.names.index(name)), keys=keys
            )
            for name in names
        }

        def shared_count(a: str, b: str, key: str) -> int:
            qa, qb = columns[a].score_lookup(key)[0], columns[b].score_lookup(key)[0]
            return int(np.intersect1d(qa, qb, assume_unique=True).size)

        plan: list[tuple[str, str, list[str], int]] = []
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                shared = [(k, shared_count(a, b, k)) for k in keys]
                usable = [k for k, n in shared if n]
                if usable:
                    plan.append((a, b, usable, dict(shared)[usable[0]]))
        total = sum(n for *_, n in plan)
        resamples = FULL_RESAMPLES
        if total * FULL_RESAMPLES > H2H_BUDGET:
            resamples = max(MIN_RESAMPLES, int(H2H_BUDGET // total))
        results: dict[tuple[str, str], dict[str, Any]] = {}
        with kept_resamples():  # pairs sharing as many questions draw the same resamples
            for a, b, usable, _ in plan:
                for key in usable:
                    # Exactly `predtrack score --compare A B`, restricted to the headline score.
                    rows = compare(
                        columns[a],
                        columns[b],
                        seed=view.options.seed,
                        n_resamples=resamples,
                        keys=[key],
                    )
                    row = next((r for r in rows if r["score"] == key), None)
                    if row is not None:
                        results[(a, b)] = row
                        break
        table = []
        for a in names:
            cells = []
            for b in names:
                if a == b:
                    cells.append({"cls": "self", "text": "", "sub": "", "tip": "", "data": {}})
                    continue
                found = results.get((a, b))
                flipped = found is None
                if flipped:
                    found = results.get((b, a))
                cells.append(_cell(a, b, found, flipped, CI_LEVEL, MIN_SHARED))
            table.append({"name": a, "colour": view.colour[a], "cells": cells})
        return {
            "names": [{"name": n, "colour": view.colour[n]} for n in names],
            "rows": table,
            "message": None,
            "resamples": resamples,
            "full_resamples": FULL_RESAMPLES,
            "reduced": resamples != FULL_RESAMPLES,
            "min_shared": MIN_SHARED,
            "alpha": 1 - CI_LEVEL,
            "ci_level": CI_LEVEL,
            "scores": [SCORE[k].label for k in keys],
        }


def _cell(
    a: str, b: str, row: dict[str, Any] | None, flipped: bool, level: float, min_shared: int
) -> dict[str, Any]:
    """One cell, from the row forecaster's side (`flipped`: the row was computed as B − A)."""
    cell: dict[str, Any] = {"cls": "none", "text": "—", "sub": "", "data": {}}
    if row is None:
        cell["tip"] = f"{a} and {b} share no scored question"
        return cell
    n = row["n"]
    label = SCORE[row["score"]].label
    verdict = row["verdict"]
    cell["data"] = {"score": row["score"], "n": str(n), "verdict": verdict}
    if row.get("mean_diff") is None:
        cell.update(
            cls="few",
            text="undefined",
            sub=f"n {n}",
            tip=f"{a} vs {b}: an infinite log score on a shared question",
        )
        return cell
    diff, p_value = row["mean_diff"], row.get("p_value")
    lo, hi = row["ci"]
    if flipped:
        diff, lo, hi = -diff, -hi, -lo
        verdict = FLIPPED.get(verdict, verdict)
    cell["data"].update(diff=data_value(diff), lo=data_value(lo), hi=data_value(hi))
    tip = (
        f"{a} − {b}: mean {label} difference {fmt(diff)} over {n} shared questions, "
        f"{level:.0%} bootstrap CI [{fmt(lo)}, {fmt(hi)}], Wilcoxon p = {fmt(p_value, 2)} "
        f"(negative: {a} better)"
    )
    cls, text = VERDICTS[verdict]
    if verdict == "few":
        tip += f"; fewer than {min_shared} shared questions: not ranked"
    elif verdict == "none" and (hi < 0 or lo > 0):
        tip += f"; the interval excludes 0 but the Wilcoxon test does not (p ≥ {1 - level:.2g})"
    sub = f"n {n}"
    if verdict != "few":
        sub = f"{fmt(diff, 2)} · n {n}" + (f" · {label}" if row["score"] != "brier" else "")
    cell.update(cls=cls, text=text, sub=sub, tip=tip)
    return cell
