"""The biggest surprises: the forecasts that scored worst, each with the score that applies."""

from __future__ import annotations

import heapq
import math
from typing import TYPE_CHECKING, Any

from predtrack.report.format import data_value, fmt, given
from predtrack.report.sections.base import Section
from predtrack.report.view import View
from predtrack.vocabulary import CONTINUOUS, SCORE, scores_for

if TYPE_CHECKING:
    from predtrack.score import Entry

SURPRISES = 10
# The log score of each kind with a probability of what happened (binary, categorical).
PROBABILITY = {
    k: next(s for s in scores_for(k) if s.log and s.leaderboard) for k in ("binary", "categorical")
}
COUNTED = SCORE["betabinom_log"]  # a fraction resolved as k of n: −ln P(k | n)
DENSITY, PIT, CRPS = SCORE["log_density"], SCORE["pit"], SCORE["crps"]


def _score(e: Entry, key: str) -> float:
    return e.scores[SCORE[key].entry or key]


def tail_text(tail: float, density_infinite: bool, counted: bool) -> str:
    """Where in the forecast the outcome fell. A count k of n always had positive probability
    under a forecast of the rate, so it is never said to be beyond the forecast."""
    if tail > 0:
        return f"{tail:.1%} in that tail"
    if density_infinite and not counted:
        return "where the forecast gave zero density"
    return "at the very end of the forecast's range"


class Surprises(Section, name="surprises", title="Biggest surprises"):
    def build(self, view: View) -> dict[str, Any]:
        entries = view.board.entries

        def row(e: Entry, value: float) -> dict[str, Any]:
            return {
                **view.question_ref(e.question_id),
                "forecaster": e.forecaster,
                "colour": view.colour[e.forecaster],
                "forecast": e.forecast,
                "outcome": view.outcome(e.question_id),
                "score": fmt(value),
                "value": data_value(value),
            }

        def log_of(e: Entry) -> float:
            return _score(e, PROBABILITY[e.kind].key)

        worst = heapq.nsmallest(
            SURPRISES,
            (e for e in entries if e.kind in PROBABILITY),
            key=lambda e: (-log_of(e), e.question_id, e.forecaster),
        )
        probabilistic = [{**row(e, log_of(e)), "given": given(log_of(e))} for e in worst]

        counted_key = COUNTED.entry or COUNTED.key
        counted = heapq.nsmallest(
            SURPRISES,
            (e for e in entries if counted_key in e.scores),
            key=lambda e: (-e.scores[counted_key], e.question_id, e.forecaster),
        )
        counts = [
            {
                **row(e, e.scores[counted_key]),
                "given": given(e.scores[counted_key]),
                "pit": fmt(_score(e, PIT.key), 3),
            }
            for e in counted
        ]

        def tail(e: Entry) -> float:
            p = _score(e, PIT.key)
            return min(p, 1 - p)

        furthest = heapq.nsmallest(
            SURPRISES,
            (e for e in entries if e.kind in CONTINUOUS and counted_key not in e.scores),
            key=lambda e: (tail(e), -_score(e, DENSITY.key), e.question_id, e.forecaster),
        )
        continuous = []
        for e in furthest:
            density = _score(e, DENSITY.key)
            continuous.append(
                {
                    **row(e, density),
                    "pit": fmt(_score(e, PIT.key), 3),
                    "tail": tail_text(tail(e), math.isinf(density), e.n is not None),
                    "crps": fmt(_score(e, CRPS.key)),
                }
            )
        return {"probabilistic": probabilistic, "counted": counts, "continuous": continuous}
