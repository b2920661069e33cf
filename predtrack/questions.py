"""Question views (`list`, `show`): questions with predictions and resolutions, blind by default."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

from predtrack.errors import InputError
from predtrack.paths import from_stored, study_root
from predtrack.store import queries
from predtrack.store.engine import Session, Store
from predtrack.store.queries import ResolutionState, status_of
from predtrack.store.tables import Artifact, Prediction, Question, Resolution
from predtrack.vocabulary import STATUSES


def rule_file(question: Question, root: Path | None) -> str | None:
    """The file a question's rule reads, as a path on this machine (`..` resolved)."""
    if not question.rule:
        return None
    file_part = question.rule.split("#", 1)[0].strip()
    scheme, sep, rest = file_part.partition(":")
    if sep and "/" not in scheme and len(scheme) > 1:  # a tracker scheme, or a URI
        file_part = rest
    if "://" in question.rule:
        return file_part
    folder = from_stored(question.rule_dir or ".", root, question.rule_hint)
    return str(Path(folder, file_part).absolute().resolve(strict=False))


def _evidence(row: Resolution, artifacts: dict[int, Artifact]) -> list[dict[str, Any]]:
    return [
        {"path": a.path, "sha256": a.sha256, "size": a.size}
        for a in (artifacts.get(i) for i in row.evidence or [])
        if a is not None
    ]


def _resolution_dict(
    row: Resolution, artifacts: dict[int, Artifact], root: Path | None
) -> dict[str, Any]:
    artifact = row.artifact_path
    if artifact and "://" not in artifact:
        artifact = str(from_stored(artifact, root))  # where the file is on this machine
    return {
        "id": row.id,
        "status": row.status,
        "value": row.outcome,
        "k": row.k,
        "n": row.n,
        "source": row.source,
        "rule": row.rule,
        "artifact": artifact,
        "sha256": row.sha256,
        "detail": row.detail,
        "reason": row.reason,
        "resolved_at": row.resolved_at,
        "resolved_by": row.resolved_by,
        "evidence": _evidence(row, artifacts),
        "evidence_digest": row.evidence_digest,
        "data_time": row.data_time,
        "data_time_source": row.data_time_source,
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
        "signed": row.signature is not None,
        "sealed": row.commitment_id is not None,
    }


def question_view(
    question: Question,
    experiment: str,
    predictions: Sequence[Prediction],
    state: ResolutionState | None,
    *,
    viewer: str,
    reveal: bool,
    root: Path | None = None,
    artifacts: dict[int, Artifact] | None = None,
    committed: Collection[str] = (),
) -> dict[str, Any]:
    """One question as in `show --json`."""
    status = status_of(state)
    # Blind by default: while a question is open, a forecaster sees others' forecasts only
    # after making their own (a courtesy against anchoring, not access control).
    # A sealed forecast counts as having predicted.
    blind = (
        not reveal
        and status == "pending"
        and viewer not in committed
        and not any(p.forecaster == viewer for p in predictions)
    )
    shown = [] if blind else list(predictions)
    resolution = None
    if state is not None:
        resolution = _resolution_dict(state.current, artifacts or {}, root)
        resolution["history"] = [_resolution_dict(r, artifacts or {}, root) for r in state.history]
    return {
        "id": question.id,
        "key": question.key,
        "experiment": experiment,
        "title": question.title,
        "kind": question.kind,
        "unit": question.unit,
        "bounds": list(question.bounds) if question.bounds else None,
        "categories": question.categories,
        "ordered": question.ordered,
        "tags": question.tags,
        "note": question.note,
        "rule": question.rule,
        "rule_file": rule_file(question, root),
        "if_run_fails": question.if_run_fails,
        "created_at": question.created_at,
        "created_by": question.created_by,
        "status": status,
        "outcome": state.current.outcome if state and status == "resolved" else None,
        "resolution": resolution,
        "predictions": [_prediction_dict(p) for p in shown],
        "hidden_predictions": len(predictions) - len(shown),
    }


def _evidence_artifacts(
    session: Session, states: dict[int, ResolutionState]
) -> dict[int, Artifact]:
    ids = {i for s in states.values() for r in (s.current, *s.history) for i in r.evidence or []}
    return {a.id: a for a in queries.artifacts(session=session, ids=sorted(ids))} if ids else {}


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
        if experiment is not None:
            queries.get_experiment(experiment, session=session)
        rows = [
            (q, name)
            for q, name in queries.questions(session=session, experiment=experiment, kind=kind)
            if tag is None or tag in q.tags
        ]
        predictions = queries.predictions(session=session)
        committed = queries.committed(session=session)
        states = queries.resolution_states(session=session)
        artifacts = _evidence_artifacts(session, states)
    root = study_root(store.path)
    views = [
        question_view(
            q,
            name,
            predictions.get(q.id, []),
            states.get(q.id),
            viewer=viewer,
            reveal=reveal,
            root=root,
            artifacts=artifacts,
            committed=committed.get(q.id, ()),
        )
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
        question = queries.find_question(ref, session=session, experiment=experiment)
        exp = queries.experiments(session=session, ids=[question.experiment_id])
        predictions = queries.predictions(session=session, question_ids=[question.id])
        committed = queries.committed(session=session, question_ids=[question.id])
        states = queries.resolution_states(session=session, question_ids=[question.id])
        artifacts = _evidence_artifacts(session, states)
    name = exp[question.experiment_id].name if question.experiment_id in exp else "?"
    return question_view(
        question,
        name,
        predictions.get(question.id, []),
        states.get(question.id),
        viewer=viewer,
        reveal=reveal,
        root=study_root(store.path),
        artifacts=artifacts,
        committed=committed.get(question.id, ()),
    )
