"""How to read this report: what counts, what each score means, where the numbers come from."""

from __future__ import annotations

from typing import Any

from predtrack.report.sections.base import Section
from predtrack.report.sections.leaderboard import RAW, SCALED, crps_column
from predtrack.report.view import View
from predtrack.vocabulary import SCORES


class About(Section, name="about", title="How to read this"):
    def build(self, view: View) -> dict[str, Any]:
        groups = view.document["groups"]
        shown = [
            {"label": s.label, "detail": s.detail}
            for s in SCORES
            if s.leaderboard and s.detail and any(g.get(s.key) is not None for g in groups)
        ]
        crps = crps_column(view)
        return {
            "scores": shown,
            "continuous": bool(view.continuous_units),
            "scaled": crps is SCALED,
            "scaled_given": any(g.get(SCALED.key) is not None for g in groups),
            "units": len(view.continuous_units),
            "raw_label": RAW.label,
            "scaled_label": SCALED.label,
        }
