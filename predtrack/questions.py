"""Reading questions with their predictions and resolutions, blind by default."""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from predtrack.errors import InputError
from predtrack.predict import find_question
from predtrack.store.engine import Store
from predtrack.store.models import Experiment, Prediction, Question, Resolution

STATUSES = ("pending", "resolved", "annulled")


@dataclass
class ResolutionState:
    """A question's current resolution and the ones it corrected, oldest first."""

    current: Resolution
    history: list[Resolution]


def resolution_states(
    session: Session, question_ids: Sequence[int] | None = None
) -> dict[int, ResolutionState]:
    """The current resolution of each question: the newest row (corrections supersede)."""
    query = select(Resolution).order_by(col(Resolution.question_id), col(Resolution.id))
    if question_ids is not None:
        query = query.where(col(Resolution.question_id).in_(list(question_ids)))
    grouped: dict[int, list[Resolution]] = defaultdict(list)
    for row in session.exec(query):
        grouped[row.question_id].append(row)
    return {qid: ResolutionState(rows[-1], rows[:-1]) for qid, rows in grouped.items()}


def status_of(state: ResolutionState | None) -> str:
    """`pending`, `resolved` or `annulled`."""
    return "pending" if state is None else state.current.status


def rule_file(question: Question) -> str | None:
    """The absolute, normalised path of the file a question's rule reads (`..` resolved)."""
    if not question.rule:
        return None
    file_part = question.rule.split("#", 1)[0].strip()
    if "://" in file_part:
        return file_part
    return os.path.normpath(os.path.join(question.rule_dir or "", file_part))


def _resolution_dict(row: Resolution) -> dict[str, Any]:
    return {
        "id": row.id,
        "status": row.status,
        "value": row.outcome,
        "k": row.k,
        "n": row.n,
        "source": row.source,
        "rule": row.rule,
        "artifact": row.artifact_path,
        "sha256": row.sha256,
        "detail": row.detail,
        "reason": row.reason,
        "resolved_at": row.resolved_at,
        "resolved_by": row.resolved_by,
    }


def _prediction_dict(row: Prediction) -> dict[str, Any]:
    return {
        "id": row.id,
        "forecaster": row.forecaster,
        "made_at": row.made_at,
        "forecast": row.forecast,
        "distribution": row.distribution,
        "late": row.late,
        "late_reason": row.late_reason,
        "note": row.note,
    }


def question_view(
    question: Question,
    experiment: str,
    predictions: Sequence[Prediction],
    state: ResolutionState | None,
    *,
    viewer: str,
    reveal: bool,
) -> dict[str, Any]:
    """One question as in `show --json` (DESIGN §8)."""
    status = status_of(state)
    # Blind by default: while a question is open, a forecaster sees others' forecasts only
    # after making their own (a courtesy against anchoring, not access control).
    blind = (
        not reveal and status == "pending" and not any(p.forecaster == viewer for p in predictions)
    )
    shown = [] if blind else list(predictions)
    resolution = None
    if state is not None:
        resolution = _resolution_dict(state.current)
        resolution["history"] = [_resolution_dict(r) for r in state.history]
    return {
        "id": question.id,
        "key": question.key,
        "experiment": experiment,
        "title": question.title,
        "kind": question.kind,
        "unit": question.unit,
        "bounds": [question.lower, question.upper] if question.lower is not None else None,
        "categories": question.categories,
        "ordered": question.ordered,
        "tags": question.tags,
        "note": question.note,
        "rule": question.rule,
        "rule_file": rule_file(question),
        "created_at": question.created_at,
        "created_by": question.created_by,
        "status": status,
        "outcome": state.current.outcome if state and status == "resolved" else None,
        "resolution": resolution,
        "predictions": [_prediction_dict(p) for p in shown],
        "hidden_predictions": len(predictions) - len(shown),
    }


def list_questions(
    store: Store,
    *,
    viewer: str,
    reveal: bool = False,
    experiment: str | None = None,
    status: str | None = None,
    kind: str | None = None,
    tag: str | None = None,
) -> list[dict[str, Any]]:
    """Every question matching the filters, as `show --json` views, in id order."""
    if status is not None and status not in STATUSES:
        raise InputError(f"unknown status {status!r} (expected one of: {', '.join(STATUSES)})")
    with store.read() as session:
        query = select(Question, Experiment.name).join(Experiment).order_by(col(Question.id))
        if experiment is not None:
            query = query.where(Experiment.name == experiment)
        if kind is not None:
            query = query.where(Question.kind == kind)
        rows = [(q, name) for q, name in session.exec(query) if tag is None or tag in q.tags]
        if experiment is not None and not rows:
            exists = session.exec(
                select(Experiment.id).where(Experiment.name == experiment)
            ).first()
            if exists is None:
                raise InputError(f"no experiment named {experiment!r}")
        predictions: dict[int, list[Prediction]] = defaultdict(list)
        for prediction in session.exec(select(Prediction).order_by(col(Prediction.id))):
            predictions[prediction.question_id].append(prediction)
        states = resolution_states(session)
    views = [
        question_view(q, name, predictions[q.id], states.get(q.id), viewer=viewer, reveal=reveal)
        for q, name in rows
    ]
    if status is not None:
        views = [v for v in views if v["status"] == status]
    return views


def show_question(
    store: Store, ref: str, *, viewer: str, reveal: bool = False, experiment: str | None = None
) -> dict[str, Any]:
    """One question by id, key or `experiment/key`."""
    with store.read() as session:
        question = find_question(session, ref, experiment)
        exp = session.get(Experiment, question.experiment_id)
        predictions = session.exec(
            select(Prediction)
            .where(Prediction.question_id == question.id)
            .order_by(col(Prediction.id))
        ).all()
        state = resolution_states(session, [question.id]).get(question.id)
    return question_view(
        question, exp.name if exp else "?", predictions, state, viewer=viewer, reveal=reveal
    )
