"""The page's header: what the store holds, and whether its ledger verified."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from predtrack.report.sections.base import Section
from predtrack.report.view import View


class Header(Section, name="top", title="Summary", toc=False):
    def build(self, view: View) -> dict[str, Any]:
        from predtrack.output import local_time

        return {
            "experiments": view.questions.experiments,
            "experiment_filter": view.options.experiment,
            "counts": view.board.counts,
            "generated_at": local_time(datetime.now(UTC)),
            # Commitments never revealed on resolved questions: committing many and
            # revealing the winners must show.
            "sealed": view.document.get("sealed") or [],
        }
