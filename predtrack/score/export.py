"""Scored predictions as rows: the CSV export, and the API's `scored_predictions()`.

CSV cells that a spreadsheet would run as a formula (beginning with `=`, `+`, `-`, `@`, a tab
or a carriage return) are prefixed with a single quote, as the OWASP guidance on CSV injection
advises; numbers are written as numbers, and `raw=True` keeps every text as stored.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterator, Sequence
from typing import Any

from predtrack.score.board import Board, collect
from predtrack.store.engine import Store
from predtrack.store.types import iso_z
from predtrack.vocabulary import CSV_SCORES

BASE_FIELDS = (
    "question_id", "question", "experiment", "kind", "title", "forecaster", "prediction_id",
    "made_at", "late", "forecast", "family", "outcome", "k", "n", "resolved_at",
)  # fmt: skip
CSV_FIELDS = BASE_FIELDS + tuple(str(s.entry) for s in CSV_SCORES)
_FORMULA = re.compile(r"^[=+\-@\t\r]")
_NUMBER = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")


def scored_rows(board: Board) -> list[dict[str, Any]]:
    """One dict per scored prediction (the CSV's columns), by question then forecaster."""
    rows = []
    for e in sorted(board.entries, key=lambda e: (e.question_id, e.forecaster)):
        row: dict[str, Any] = {
            "question_id": e.question_id,
            "question": e.label,
            "experiment": e.experiment,
            "kind": e.kind,
            "title": e.title,
            "forecaster": e.forecaster,
            "prediction_id": e.prediction_id,
            "made_at": e.made_at,
            "late": e.late,
            "forecast": e.forecast,
            "family": e.distribution.get("family"),
            "outcome": e.outcome,
            "k": e.k,
            "n": e.n,
            "resolved_at": e.resolved_at,
        }
        for score in CSV_SCORES:
            row[str(score.entry)] = e.scores.get(str(score.entry))
        rows.append(row)
    return rows


def _cell(value: Any, raw: bool) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if isinstance(value, int | float):
        return value
    if hasattr(value, "tzinfo"):
        return iso_z(value)
    text = str(value)
    if not raw and _FORMULA.match(text) and not _NUMBER.match(text):
        return "'" + text
    return text


def scored_rows_csv(
    store: Store, *, include_late: bool = False, raw: bool = False
) -> Iterator[str]:
    """One CSV line per scored prediction (header first), for pandas or R."""
    board = collect(store, include_late=include_late)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="")

    def line(values: Sequence[Any]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(values)
        return buffer.getvalue()

    yield line(CSV_FIELDS)
    for row in scored_rows(board):
        yield line([_cell(row.get(name), raw) for name in CSV_FIELDS])
