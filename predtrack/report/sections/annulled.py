"""Annulled questions: never scored; why, when and by whom, with the forecasts they had."""

from __future__ import annotations

from typing import Any

from predtrack.report.sections.base import Section
from predtrack.report.view import View


class Annulled(Section, name="annulled", title="Annulled"):
    def build(self, view: View) -> dict[str, Any]:
        from predtrack.output import local_time

        listed = []
        for info in view.questions.annulled:
            resolution = info.resolution
            latest = {p.forecaster: p for p in info.unscored}
            listed.append(
                {
                    "label": info.label,
                    "title": info.title,
                    "kind": info.kind,
                    "reason": (resolution.reason if resolution else "") or "no reason given",
                    "at": local_time(resolution.resolved_at) if resolution else "",
                    "by": resolution.resolved_by if resolution else "",
                    "predictions": [
                        {
                            "forecaster": name,
                            "colour": view.colour_of(name),
                            "forecast": latest[name].forecast,
                            "late": latest[name].late,
                        }
                        for name in sorted(latest)
                    ],
                }
            )
        more = view.questions.annulled_total - len(listed)
        return {"questions": listed, "more": more}
