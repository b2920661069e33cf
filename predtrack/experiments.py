"""Experiments: create, list, lock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from predtrack.errors import InputError
from predtrack.output import Result
from predtrack.store import queries
from predtrack.store.engine import Session, Store
from predtrack.store.ledger import format_head, next_id, record
from predtrack.store.tables import Experiment
from predtrack.validate import check_name, check_note, check_slug


def add_experiment(store: Store, name: str, *, description: str | None, by: str) -> Experiment:
    """Create an experiment (also done implicitly by the first `predict -e NAME`)."""
    check_slug(name, "experiment name")
    description = check_note(description, "the description")
    by = check_name(by)

    def work(session: Session) -> Experiment:
        if queries.experiment_named(name, session=session) is not None:
            raise InputError(f"experiment {name!r} already exists")
        row = Experiment(
            id=next_id(session, "experiments"),
            name=name,
            description=description,
            created_at=session.now,
            created_by=by,
        )
        record(session, "experiment", by=by, inserts=[row])
        return row

    return store.write(work)


def lock_row(experiment: Experiment, *, at: datetime, reason: str) -> bool:
    """Set the lock on an experiment row; False when it was already locked."""
    if experiment.locked_at is not None:
        return False
    experiment.locked_at = at
    experiment.lock_reason = reason
    return True


LOCK_FIELDS = ("locked_at", "lock_reason")


@dataclass
class Locked(Result):
    """What `lock` did."""

    experiment: str
    locked_at: datetime | None
    reason: str | None
    changed: bool
    head: str | None

    def text(self) -> str:
        from predtrack.output import local_time

        when = local_time(self.locked_at)
        if self.changed:
            return f"Locked {self.experiment} at {when}: later predictions on it are marked late."
        return f"{self.experiment} was already locked at {when} ({self.reason})."


def lock_experiment(store: Store, name: str, *, by: str) -> Locked:
    """Lock an experiment: predictions made from now on are recorded as late."""
    by = check_name(by)

    def work(session: Session) -> Locked:
        experiment = queries.get_experiment(name, session=session)
        if not lock_row(experiment, at=session.now, reason=f"`predtrack lock` by {by}"):
            return Locked(name, experiment.locked_at, experiment.lock_reason, False, None)
        entry = record(session, "lock", by=by, updates=[(experiment, LOCK_FIELDS)])
        return Locked(
            name,
            experiment.locked_at,
            experiment.lock_reason,
            True,
            format_head(entry.seq, entry.hash),
        )

    return store.write(work)


def list_experiments(store: Store) -> list[dict[str, Any]]:
    """Every experiment with its counts of questions, predictions and artifacts."""
    with store.read() as session:
        counts = queries.experiment_counts(session=session)
        return [
            {
                "name": e.name,
                "description": e.description,
                "created_at": e.created_at,
                "created_by": e.created_by,
                "locked_at": e.locked_at,
                "lock_reason": e.lock_reason,
                **counts[e.id],
            }
            for e in queries.experiments(session=session).values()
        ]
