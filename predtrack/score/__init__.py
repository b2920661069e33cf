"""Scoring a store: which predictions count, their scores, summaries and comparisons.

`board` chooses and scores the predictions, `summary` builds the `score --json` document and
the paired comparisons, `export` the per-prediction rows. `score` and `report` both go
through here, so they never disagree.
"""

from predtrack.score.board import Board, Entry, by_question, collect, score_entries
from predtrack.score.export import CSV_FIELDS, scored_rows, scored_rows_csv
from predtrack.score.summary import (
    CI_LEVEL,
    MIN_SHARED,
    compare,
    comparison,
    continuous_units,
    convert_bits,
    group_stats,
    score_report,
    skill_scores,
    summarize,
    verdict,
)

__all__ = [
    "CI_LEVEL",
    "CSV_FIELDS",
    "MIN_SHARED",
    "Board",
    "Entry",
    "by_question",
    "collect",
    "compare",
    "comparison",
    "continuous_units",
    "convert_bits",
    "group_stats",
    "score_entries",
    "score_report",
    "scored_rows",
    "scored_rows_csv",
    "skill_scores",
    "summarize",
    "verdict",
]
