"""Pending questions: what each one waits for (their forecasts stay hidden: no anchoring)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from predtrack.report.sections.base import Section
from predtrack.report.view import View


class Pending(Section, name="pending", title="Pending"):
    def build(self, view: View) -> dict[str, Any]:
        from predtrack.output import local_time

        listed = []
        for info in view.questions.pending:
            if not info.rule:
                reason = "no resolution rule: resolve it by hand (predtrack resolve KEY --value/--yes/...)"
            elif (
                info.rule_file and "://" not in info.rule_file and not Path(info.rule_file).exists()
            ):
                reason = f"waiting for the result file {info.rule_file}"
            else:
                reason = "its rule can be evaluated now: run `predtrack resolve`"
            listed.append(
                {
                    "label": info.label,
                    "title": info.title,
                    "kind": info.kind,
                    "rule": info.rule,
                    "reason": reason,
                    "created": local_time(info.created_at),
                    "forecasters": sorted({p.forecaster for p in info.unscored}),
                    "predictions": len(info.unscored),
                    "late": sum(1 for p in info.unscored if p.late),
                }
            )
        return {"questions": listed, "more": view.questions.pending_total - len(listed)}
