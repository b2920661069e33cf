"""The same score table grouped by experiment, tag or kind (`report --by`)."""

from __future__ import annotations

from typing import Any

from predtrack.report.sections.base import Section
from predtrack.report.sections.leaderboard import board_table
from predtrack.report.view import View


class ByGroup(Section, name="by-group", title="By group"):
    def build(self, view: View) -> dict[str, Any] | None:
        if view.extra is None:
            return None
        by = view.options.by
        return {"board": board_table(view, view.extra, virtual=False), "by": by, "toc": f"By {by}"}
