"""Question cards: every resolved question with each forecast drawn on one axis and scored."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from markupsafe import Markup

from predtrack.report import draw
from predtrack.report.data import QuestionInfo
from predtrack.report.format import fmt, outcome_text, pct
from predtrack.report.sections.base import Section
from predtrack.report.view import View, forecast_quantiles
from predtrack.vocabulary import CONTINUOUS, SCORE, TEAM, Score, scores_for


def card_scores(kind: str) -> list[Score]:
    """A card's score columns: the per-prediction scores of the leaderboard and the log
    scores of the kind, with the PIT for fractions and quantities (not CRPS/scale: on one
    question it is the CRPS over a constant, ranking the forecasts as the CRPS does)."""
    scaled = SCORE["crps_scaled"]
    chosen = [
        s for s in scores_for(kind) if s.entry and (s.leaderboard or s.log) and s is not scaled
    ]
    return chosen + ([SCORE["pit"]] if kind in CONTINUOUS else [])


def team_text(dist: dict[str, Any]) -> str:
    """The team's forecast, short: its median and 90% range for a quantile set."""
    from predtrack.forecast import describe

    if dist.get("family") == "quantiles":
        q = dict(zip(dist["levels"], dist["values"], strict=True))
        if all(level in q for level in (0.05, 0.5, 0.95)):
            return f"median {fmt(q[0.5])}, 90% {fmt(q[0.05])} to {fmt(q[0.95])}"
    if dist.get("family") == "bernoulli":
        return f"{dist['p']:.3g}"
    return describe(dist)


class Questions(Section, name="questions", title="Questions"):
    def build(self, view: View) -> dict[str, Any]:
        qs = view.questions
        table: dict[tuple[str, str], dict[str, Any]] = {}
        for experiment, kind in qs.omitted:
            row = table.setdefault(
                (experiment, kind), {"experiment": experiment, "kind": kind, "questions": 0}
            )
            row["questions"] += 1
        omitted = {
            "count": len(qs.omitted),
            "rows": sorted(table.values(), key=lambda r: (r["experiment"], r["kind"])),
        }
        cards = [_card(view, info) for info in qs.shown]
        return {"cards": cards, "omitted": omitted, "limit": view.options.questions}


def _card(view: View, info: QuestionInfo) -> dict[str, Any]:
    from predtrack.output import local_time

    resolution = info.resolution
    entries = sorted(view.by_question.get(info.id, []), key=lambda e: e.forecaster)
    chosen = {e.forecaster: e for e in entries}
    rows: list[dict[str, Any]] = []
    shapes: list[tuple[dict[str, Any], Any, str]] = []  # (row, distribution, forecaster)
    for e in entries:
        row = _row(view, e.forecaster, e.forecast, e.made_at, e.late, e.scores)
        row["revisions"] = e.revisions
        rows.append(row)
        shapes.append((row, e.distribution, e.forecaster))
    if not view.options.include_late:
        latest = {p.forecaster: p for p in info.unscored if p.late}
        for name in sorted(latest):
            p = latest[name]
            if name in chosen and chosen[name].prediction_id == p.id:
                continue
            row = _row(view, name, p.forecast, p.made_at, True, None)
            row["late_reason"] = p.late_reason or ""
            rows.append(row)
            shapes.append((row, p.distribution, name))
    team = view.team_by_question.get(info.id)
    if team is not None:
        row = _row(view, TEAM, team_text(team.distribution), None, False, team.scores)
        row["virtual"] = True
        rows.append(row)
        shapes.append((row, team.distribution, TEAM))
    axis = _draw_forecasts(info, shapes)
    columns = [
        s
        for s in card_scores(info.kind)
        if any((s.entry or s.key) in (r["raw"] or {}) for r in rows)
    ]
    for row in rows:
        raw = row.pop("raw")
        values = [raw.get(s.entry or s.key) for s in columns] if raw is not None else []
        row["scores"] = [fmt(v) if v is not None else "" for v in values]
    source = None
    if resolution is not None:
        source = {
            "kind": resolution.source,
            "artifact": resolution.artifact_path,
            "sha": (resolution.sha256 or "")[:12],
            "sha_full": resolution.sha256 or "",
            "detail": resolution.detail,
            "at": local_time(resolution.resolved_at),
            "by": resolution.resolved_by,
            "reason": resolution.reason,
            "evidence": _evidence(resolution.evidence, info.label),
        }
    corrections = [
        (
            f"earlier {'annulment' if old.status == 'annulled' else 'outcome ' + outcome_text(old)}"
            f" of {local_time(old.resolved_at)} by {old.resolved_by}"
        )
        for old in info.history
    ]
    return {
        "id": info.id,
        "anchor": f"q{info.id}",
        "label": info.label,
        "title": info.title,
        "kind": info.kind,
        "unit": info.unit,
        "tags": info.tags,
        "note": info.note,
        "rule": info.rule,
        "outcome": outcome_text(resolution) if resolution is not None else "",
        "source": source,
        "corrections": corrections,
        "headers": [s.label for s in columns],
        "rows": rows,
        "axis": axis,
    }


EVIDENCE_SHOWN = 5  # a sweep's cards list their first files; the rest stay folded,
EVIDENCE_FOLDED = 200  # up to this many (a page of 100 cards over a 3,000-file store stays small)


def _evidence(files: list[dict[str, Any]], label: str) -> dict[str, Any] | None:
    """The files a resolution read: the first few open, the rest in a folded list."""
    if not files:
        return None
    rows = [
        {
            "path": f["path"],
            "sha": (f["sha256"] or "")[:12],
            "sha_full": f["sha256"] or "",
            "size": f["size"],
        }
        for f in files
    ]
    return {
        "question": label,
        "count": len(rows),
        "bytes": sum(f["size"] or 0 for f in files),
        "first": rows[:EVIDENCE_SHOWN],
        "more": rows[EVIDENCE_SHOWN:EVIDENCE_FOLDED],
        "unlisted": max(0, len(rows) - EVIDENCE_FOLDED),
    }


def _row(
    view: View,
    forecaster: str,
    forecast: str,
    made_at: datetime | None,
    late: bool,
    scores: dict[str, float] | None,
) -> dict[str, Any]:
    """A forecast's row; `scores` None: shown, not scored."""
    from predtrack.output import local_time

    return {
        "forecaster": forecaster,
        "colour": view.colour_of(forecaster),
        "forecast": forecast,
        "made_at": local_time(made_at) if made_at else "",
        "late": late,
        "late_reason": "",
        "scored": scores is not None,
        "virtual": False,
        "revisions": 1,
        "raw": scores,
        "visual": None,
    }


def _draw_forecasts(
    info: QuestionInfo, shapes: list[tuple[dict[str, Any], Any, str]]
) -> Markup | None:
    """Fill each row's glyph; return the card's shared axis."""
    resolution = info.resolution
    if info.kind == "binary":
        outcome = bool(resolution.outcome) if resolution is not None else None
        for row, dist, name in shapes:
            if dist.get("family") == "bernoulli":
                row["visual"] = draw.mini_probability(name, float(dist["p"]), outcome)
        return draw.mini_axis(0.0, 1.0, [0.0, 0.5, 1.0], pct)
    if info.kind == "categorical":
        categories: list[str] = []
        for row, dist, name in shapes:
            if dist.get("family") == "categorical":
                categories = categories or list(dist["categories"])
                row["visual"] = draw.mini_categories(
                    name,
                    dist["categories"],
                    dist["probs"],
                    resolution.outcome if resolution else None,
                )
        return draw.mini_category_axis(categories or list(info.categories or []))
    return _draw_intervals(info, shapes)


def _draw_intervals(
    info: QuestionInfo, shapes: list[tuple[dict[str, Any], Any, str]]
) -> Markup | None:
    found = [forecast_quantiles(dist, info.bounds) for _, dist, _ in shapes]
    outcome = None
    if info.resolution is not None and isinstance(info.resolution.outcome, (int, float)):
        outcome = float(info.resolution.outcome)
    values = [float(v) for q in found if q is not None for v in (q[0], q[-1])]
    if outcome is not None:
        values.append(outcome)
    if not values:
        return None
    lo, hi = min(values), max(values)
    pad = (hi - lo) * 0.06 or max(abs(hi) * 0.1, 0.5)
    lo, hi = lo - pad, hi + pad
    if info.kind == "fraction":
        lo, hi = max(lo, 0.0), min(hi, 1.0)
    for (row, _, name), q in zip(shapes, found, strict=True):
        if q is not None:
            row["visual"] = draw.mini_interval(name, q, outcome, lo, hi, info.unit)
    ticks = [t for t in draw.nice_ticks(lo, hi, 4) if lo <= t <= hi]
    return draw.mini_axis(lo, hi, ticks, draw.tick_label)
