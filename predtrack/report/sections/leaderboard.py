"""The leaderboard: each forecaster's mean scores, bootstrap intervals and skill."""

from __future__ import annotations

from typing import Any

from predtrack.report.format import data_value, fmt
from predtrack.report.sections.base import Section
from predtrack.report.view import View
from predtrack.vocabulary import BASELINES, KINDS, SCORE, SCORES, TEAM, Score

RAW, SCALED = SCORE["crps"], SCORE["crps_scaled"]


def crps_column(view: View) -> Score:
    """Raw mean CRPS within one unit; CRPS/scale when the fraction and quantity questions in
    view do not all share one unit (a mean over units is decided by the largest unit)."""
    return SCALED if len(view.continuous_units) > 1 else RAW


def _present(groups: list[dict[str, Any]], key: str, skill: bool = False) -> bool:
    return any(((g.get("skill") or {}) if skill else g).get(key) is not None for g in groups)


def board_table(view: View, document: dict[str, Any], *, virtual: bool) -> dict[str, Any]:
    """One score table: a row per group of `document`, a column per leaderboard score."""
    groups = document["groups"]
    wanted = crps_column(view)
    unwanted = RAW if wanted is SCALED else SCALED
    # Until the scoring service emits CRPS/scale the raw mean stays, with a warning.
    mixed_raw = wanted is SCALED and not _present(groups, SCALED.key)
    leaderboard = [s for s in SCORES if s.leaderboard and (s is not unwanted or mixed_raw)]
    columns = [s for s in leaderboard if _present(groups, s.key)]
    skills = [s for s in leaderboard if _present(groups, s.key, skill=True)]
    rows = []
    for g in groups:
        name = g["group"]
        role = "real"
        if virtual and name == TEAM:
            role = "team"
        elif virtual and name in BASELINES:
            role = "baseline"
        cells = []
        for s in columns:
            value = g.get(s.key)
            ci = (g.get("ci") or {}).get(s.key) if s.ci else None
            cells.append(
                {
                    "key": s.key,
                    "text": fmt(value),
                    "value": data_value(value),
                    "ci": f"[{fmt(ci[0], 2)}, {fmt(ci[1], 2)}]" if ci else "",
                    "lo": data_value(ci[0]) if ci else "",
                    "hi": data_value(ci[1]) if ci else "",
                }
            )
        skill = g.get("skill") or {}
        skill_cells = []
        for s in skills:
            value = skill.get(s.key)
            sign = "pos" if (value or 0) > 0 else "neg" if (value or 0) < 0 else ""
            skill_cells.append(
                {
                    "key": f"skill.{s.key}",
                    "text": fmt(value),
                    "value": data_value(value),
                    "n": skill.get(f"n_{s.key}"),
                    "sign": sign,
                }
            )
        kinds = ", ".join(f"{g.get('n_' + k, 0)} {k}" for k in KINDS if g.get("n_" + k))
        rows.append(
            {
                "name": name,
                "role": role,
                "colour": view.colour_of(name) if virtual else "",
                "n": g["n"],
                "kinds": kinds,
                "cells": cells,
                "skills": skill_cells,
                "infinite": g.get("log_infinite") or 0,
                "reference": name == document.get("baseline"),
            }
        )
    return {
        "columns": [{"key": s.key, "label": s.label, "ci": s.ci} for s in columns],
        "skills": [{"key": s.key, "label": s.label} for s in skills],
        "rows": rows,
        "baseline": document.get("baseline"),
        "ci_level": document.get("ci_level", 0.9),
        "infinite": sum(r["infinite"] for r in rows if r["role"] == "real"),
        "by": document.get("by"),
        "lower_better": [s.label for s in columns if s.lower_is_better],
        "mixed_raw": mixed_raw and _present(groups, RAW.key),
        "units": sorted(view.continuous_units),
    }


class Leaderboard(Section, name="leaderboard", title="Leaderboard"):
    def build(self, view: View) -> dict[str, Any]:
        return board_table(view, view.document, virtual=True)
