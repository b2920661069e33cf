"""Experiments: create, list, lock."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from predtrack.errors import InputError, NotFoundError
from predtrack.predict import check_slug
from predtrack.store.engine import Store
from predtrack.store.ledger import next_id, record
from predtrack.store.models import Artifact, Experiment, Prediction, Question


def get_experiment(session: Session, name: str) -> Experiment:
    """The experiment with this name, or a NotFoundError."""
    found = session.exec(select(Experiment).where(Experiment.name == name)).first()
    if found is None:
        raise NotFoundError(f"no experiment named {name!r}")
    return found


def add_experiment(store: Store, name: str, *, description: str | None, by: str) -> Experiment:
    """Create an experiment (also done implicitly by the first `predict -e NAME`)."""
    check_slug(name, "experiment name")

    def work(session: Session) -> Experiment:
        if session.exec(select(Experiment.id).where(Experiment.name == name)).first() is not None:
            raise InputError(f"experiment {name!r} already exists")
        now = datetime.now(UTC)
        row = Experiment(
            id=next_id(session, Experiment),
            name=name,
            description=description,
            created_at=now,
            created_by=by,
        )
        record(session, "experiment", at=now, by=by, inserts=[row])
        return row

    return store.write(work)


def lock_row(experiment: Experiment, *, at: datetime, reason: str) -> bool:
    """Set the lock on an experiment row; False when it was already locked."""
    if experiment.locked_at is not None:
        return False
    experiment.locked_at = at
    experiment.lock_reason = reason
    return True


def lock_experiment(store: Store, name: str, *, by: str) -> tuple[Experiment, bool]:
    """Lock an experiment: predictions made from now on are recorded as late."""

    def work(session: Session) -> tuple[Experiment, bool]:
        experiment = get_experiment(session, name)
        now = datetime.now(UTC)
        if not lock_row(experiment, at=now, reason=f"`predtrack lock` by {by}"):
            return experiment, False
        record(
            session,
            "lock",
            at=now,
            by=by,
            updates=[(experiment, ["locked_at", "lock_reason"])],
        )
        return experiment, True

    return store.write(work)


def list_experiments(store: Store) -> list[dict[str, Any]]:
    """Every experiment with its counts of questions, predictions and artifacts."""
    with store.read() as session:
        questions = dict(
            session.execute(
                select(Question.experiment_id, func.count()).group_by(col(Question.experiment_id))
            ).all()
        )
        predictions = dict(
            session.execute(
                select(Question.experiment_id, func.count())
                .select_from(Prediction)
                .join(Question)
                .group_by(col(Question.experiment_id))
            ).all()
        )
        artifacts = dict(
            session.execute(
                select(Artifact.experiment_id, func.count()).group_by(col(Artifact.experiment_id))
            ).all()
        )
        return [
            {
                "name": e.name,
                "description": e.description,
                "created_at": e.created_at,
                "created_by": e.created_by,
                "locked_at": e.locked_at,
                "lock_reason": e.lock_reason,
                "questions": questions.get(e.id, 0),
                "predictions": predictions.get(e.id, 0),
                "artifacts": artifacts.get(e.id, 0),
            }
            for e in session.exec(select(Experiment).order_by(col(Experiment.id)))
        ]
