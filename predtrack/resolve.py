"""Linking result artifacts and resolving questions from them (or by hand), with evidence."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from predtrack.errors import InputError, PredtrackError, RuleError
from predtrack.experiments import get_experiment, lock_row
from predtrack.predict import Progress, find_question, question_label
from predtrack.questions import resolution_states, status_of
from predtrack.store.engine import Store
from predtrack.store.ledger import format_head, next_id, record
from predtrack.store.models import Artifact, Experiment, Prediction, Question, Resolution
from predtrack.store.types import iso_z


def _mtime(path: Path) -> datetime:
    return datetime.fromtimestamp(path.stat().st_mtime_ns / 1e9, tz=UTC)


# --- link ---


@dataclass
class Linked:
    """What `link` recorded."""

    experiment: str
    artifacts: list[dict[str, Any]]
    already: list[str]
    locked: bool
    head: str | None


def link(store: Store, locations: Sequence[str], *, experiment: str, by: str) -> Linked:
    """Record result files (path, sha256, size, mtime) or URIs; locks the experiment."""
    from predtrack.rules import sha256_file

    if not locations:
        raise InputError("give at least one file or URI to link")
    found: list[dict[str, Any]] = []
    for location in locations:
        if "://" in location:
            found.append({"location": location, "path": location, "is_uri": True})
            continue
        path = Path(location).expanduser().absolute()
        if not path.exists():
            raise InputError(f"cannot link {location}: no such file")
        if not path.is_file():
            raise InputError(f"cannot link {location}: not a regular file")
        try:
            path = path.resolve()
            digest, size = sha256_file(path)
            mtime = _mtime(path)
        except OSError as error:
            raise InputError(f"cannot read {location}: {error.strerror}") from error
        found.append(
            {
                "location": location,
                "path": str(path),
                "is_uri": False,
                "sha256": digest,
                "size": size,
                "mtime": mtime,
            }
        )

    def work(session: Session) -> Linked:
        now = datetime.now(UTC)
        exp = get_experiment(session, experiment)
        known = {
            (a.path, a.sha256)
            for a in session.exec(select(Artifact).where(Artifact.experiment_id == exp.id))
        }
        rows: list[Artifact] = []
        already: list[str] = []
        next_artifact = next_id(session, Artifact)
        for item in found:
            if (item["path"], item.get("sha256")) in known:
                already.append(item["location"])
                continue
            known.add((item["path"], item.get("sha256")))
            rows.append(
                Artifact(
                    id=next_artifact, experiment_id=exp.id, linked_at=now, linked_by=by, **item
                )
            )
            next_artifact += 1
        if not rows:
            return Linked(exp.name, [], already, False, None)
        first = rows[0].location
        locked = lock_row(exp, at=now, reason=f"first artifact linked: {first}")
        entry = record(
            session,
            "link",
            at=now,
            by=by,
            inserts=rows,
            updates=[(exp, ["locked_at", "lock_reason"])] if locked else [],
        )
        return Linked(
            exp.name,
            [
                {
                    "id": r.id,
                    "location": r.location,
                    "path": r.path,
                    "sha256": r.sha256,
                    "size": r.size,
                }
                for r in rows
            ],
            already,
            locked,
            format_head(entry.seq, entry.hash),
        )

    return store.write(work)


# --- automatic resolution from rules ---


@dataclass
class Outcome:
    """What happened to one question in a `resolve` run."""

    question_id: int
    label: str
    title: str
    status: str  # resolved | pending | failed
    value: Any = None
    k: int | None = None
    n: int | None = None
    detail: str | None = None
    reason: str | None = None
    artifact: str | None = None
    sha256: str | None = None
    late_marked: int = 0

    def as_dict(self) -> dict[str, Any]:
        return dict(vars(self))


@dataclass
class ResolveRun:
    """The result of `resolve` without a question: every pending rule evaluated."""

    outcomes: list[Outcome] = field(default_factory=list)
    already: int = 0
    without_rule: int = 0
    head: str | None = None
    dry_run: bool = False

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)


def _bounds(question: Question) -> tuple[float, float] | None:
    if question.lower is None or question.upper is None:
        return None
    return (question.lower, question.upper)


def resolve_pending(
    store: Store,
    *,
    by: str,
    experiment: str | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ResolveRun:
    """Evaluate every pending question's rule; record all resolutions in one transaction."""
    from predtrack.rules import Evaluation, ReadCache, RulePending, evaluate_rule, parse_rule

    run = ResolveRun(dry_run=dry_run)
    with store.read() as session:
        query = select(Question, Experiment.name).join(Experiment).order_by(col(Question.id))
        if experiment is not None:
            get_experiment(session, experiment)
            query = query.where(Experiment.name == experiment)
        questions = list(session.exec(query))
        states = resolution_states(session, [q.id for q, _ in questions])
    pending: list[tuple[Question, str]] = []
    for question, name in questions:
        if status_of(states.get(question.id)) != "pending":
            run.already += 1
        elif not question.rule:
            run.without_rule += 1
        else:
            pending.append((question, name))

    # Files are read before the write lock is taken: evaluation can be slow.
    evaluations: dict[int, Evaluation] = {}
    cache: ReadCache = {}
    for done, (question, name) in enumerate(pending):
        if progress is not None and done % 100 == 0:
            progress(done, len(pending))
        label = question_label(question, name)
        outcome = Outcome(question.id, label, question.title, "pending")
        try:
            rule = parse_rule(question.rule or "")
            ev = evaluate_rule(
                rule,
                question.rule_dir or os.getcwd(),
                question.kind,
                categories=question.categories,
                bounds=_bounds(question),
                cache=cache,
            )
        except RulePending as waiting:
            outcome.reason = waiting.reason
        except PredtrackError as error:
            outcome.status, outcome.reason = "failed", str(error)
        else:
            evaluations[question.id] = ev
            outcome.status = "resolved"
            outcome.value, outcome.k, outcome.n = ev.value, ev.k, ev.n
            outcome.detail, outcome.artifact, outcome.sha256 = ev.detail, ev.artifact, ev.sha256
        run.outcomes.append(outcome)
    if dry_run or not evaluations:
        return run

    def work(session: Session) -> None:
        now = datetime.now(UTC)
        states_now = resolution_states(session, list(evaluations))
        inserts: list[Any] = []
        updates: list[tuple[Any, list[str]]] = []
        next_resolution = next_id(session, Resolution)
        next_artifact = next_id(session, Artifact)
        artifacts: dict[tuple[int, str, str], Artifact] = {}
        locked: set[int] = set()
        for outcome in run.outcomes:
            ev = evaluations.get(outcome.question_id)
            if ev is None:
                continue
            if outcome.question_id in states_now:  # resolved by someone else meanwhile
                outcome.status, outcome.reason = "pending", "resolved concurrently by another run"
                continue
            question = session.get(Question, outcome.question_id)
            exp = session.get(Experiment, question.experiment_id) if question else None
            if question is None or exp is None:
                raise RuleError(f"question {outcome.label} disappeared during resolve")
            artifact = _artifact_for(session, artifacts, exp, ev, now, by, next_artifact)
            if artifact.id == next_artifact:
                inserts.append(artifact)
                next_artifact += 1
            if exp.id not in locked and lock_row(
                exp, at=now, reason=f"resolved from {ev.artifact}"
            ):
                updates.append((exp, ["locked_at", "lock_reason"]))
            locked.add(exp.id)
            inserts.append(
                Resolution(
                    id=next_resolution,
                    question_id=question.id,
                    status="resolved",
                    outcome=ev.value,
                    k=ev.k,
                    n=ev.n,
                    source="rule",
                    rule=question.rule,
                    artifact_id=artifact.id,
                    artifact_path=ev.artifact,
                    sha256=ev.sha256,
                    detail=ev.detail,
                    resolved_at=now,
                    resolved_by=by,
                )
            )
            next_resolution += 1
            late = _mark_late(session, question, ev.mtime, Path(ev.artifact).name)
            outcome.late_marked = len(late)
            updates.extend((p, ["late", "late_reason"]) for p in late)
        resolutions = [r for r in inserts if isinstance(r, Resolution)]
        if not resolutions:
            return
        entry = record(
            session,
            "resolve",
            at=now,
            by=by,
            inserts=inserts,
            updates=updates,
            info={"resolved": len(resolutions)},
        )
        run.head = format_head(entry.seq, entry.hash)

    store.write(work)
    return run


def _artifact_for(
    session: Session,
    cache: dict[tuple[int, str, str], Artifact],
    exp: Experiment,
    ev: Any,
    now: datetime,
    by: str,
    next_free: int,
) -> Artifact:
    """The linked artifact with these exact bytes, or a new one linked by this resolution."""
    key = (exp.id, ev.artifact, ev.sha256)
    if key not in cache:
        existing = session.exec(
            select(Artifact).where(
                Artifact.experiment_id == exp.id,
                Artifact.path == ev.artifact,
                Artifact.sha256 == ev.sha256,
            )
        ).first()
        cache[key] = existing or Artifact(
            id=next_free,
            experiment_id=exp.id,
            location=ev.artifact,
            path=ev.artifact,
            is_uri=False,
            sha256=ev.sha256,
            size=ev.size,
            mtime=ev.mtime,
            linked_at=now,
            linked_by=by,
        )
    return cache[key]


def _mark_late(
    session: Session, question: Question, mtime: datetime, name: str
) -> list[Prediction]:
    """Predictions made after the artifact was last written are not pre-registered."""
    late = []
    for prediction in session.exec(
        select(Prediction).where(
            Prediction.question_id == question.id, col(Prediction.made_at) > mtime
        )
    ):
        if prediction.late:
            continue
        prediction.late = True
        prediction.late_reason = f"made after {name} was last modified ({iso_z(mtime)})"
        late.append(prediction)
    return late


# --- manual resolution ---


@dataclass
class ManualOutcome:
    """A manual resolution, annulment or correction as the user gave it."""

    value: float | None = None
    yes: bool | None = None
    category: str | None = None
    successes: int | None = None
    trials: int | None = None
    annul: str | None = None
    correct: str | None = None


def _manual_value(question: Question, given: ManualOutcome) -> tuple[Any, int | None, int | None]:
    """Check a manual outcome against the question's kind; (value, k, n)."""
    kind = question.kind
    supplied = [
        name
        for name, value in (
            ("--value", given.value),
            ("--yes/--no", given.yes),
            ("--category", given.category),
            (
                "--successes/--trials",
                given.successes if given.successes is not None else given.trials,
            ),
        )
        if value is not None
    ]
    if len(supplied) != 1:
        raise InputError(
            "give exactly one outcome: --value X, --yes/--no, --category NAME, "
            "--successes K --trials N, or --annul REASON"
        )
    if kind == "binary":
        if given.yes is None:
            raise InputError(f"{supplied[0]} does not resolve a binary question: use --yes or --no")
        return given.yes, None, None
    if kind == "categorical":
        if given.category is None:
            raise InputError(
                f"{supplied[0]} does not resolve a categorical question: use --category NAME"
            )
        categories = question.categories or []
        if given.category not in categories:
            raise InputError(
                f"unknown category {given.category!r} (expected one of: {', '.join(categories)})"
            )
        return given.category, None, None
    if given.successes is not None or given.trials is not None:
        if kind != "fraction":
            raise InputError("--successes/--trials resolve fraction questions only")
        k, n = given.successes, given.trials
        if k is None or n is None:
            raise InputError("give both --successes K and --trials N")
        if n <= 0 or not 0 <= k <= n:
            raise InputError(
                f"--successes {k} --trials {n}: need 0 <= successes <= trials and trials > 0"
            )
        return k / n, k, n
    if given.value is None:
        raise InputError(f"{supplied[0]} does not resolve a {kind} question: use --value X")
    value = float(given.value)
    if not math.isfinite(value):
        raise InputError(f"--value {given.value} is not a finite number")
    if kind == "fraction" and not 0.0 <= value <= 1.0:
        raise InputError(f"--value {value:g} is outside [0, 1] for a fraction")
    bounds = _bounds(question)
    if bounds and not bounds[0] <= value <= bounds[1]:
        raise InputError(
            f"--value {value:g} is outside the question's bounds [{bounds[0]:g}, {bounds[1]:g}]"
        )
    return value, None, None


def resolve_manual(
    store: Store, ref: str, given: ManualOutcome, *, by: str, experiment: str | None = None
) -> tuple[Resolution, Resolution | None, str]:
    """Resolve, annul or correct one question by hand; (new, superseded, head)."""
    if given.annul is not None and not given.annul.strip():
        raise InputError("--annul needs a reason")
    if given.correct is not None and not given.correct.strip():
        raise InputError("--correct needs a reason")

    def work(session: Session) -> tuple[Resolution, Resolution | None, str]:
        now = datetime.now(UTC)
        question = find_question(session, ref, experiment)
        state = resolution_states(session, [question.id]).get(question.id)
        if state is not None and given.correct is None:
            current = state.current
            what = (
                "annulled" if current.status == "annulled" else f"resolved as {current.outcome!r}"
            )
            raise InputError(
                f"question {ref} is already {what}; to change it add --correct REASON "
                "(the earlier resolution is kept in the history)"
            )
        if state is None and given.correct is not None:
            raise InputError(
                f"question {ref} is not resolved yet: --correct is for changing a resolution"
            )
        if given.annul is not None:
            if any(
                v is not None
                for v in (given.value, given.yes, given.category, given.successes, given.trials)
            ):
                raise InputError("--annul takes no outcome")
            status, value, k, n = "annulled", None, None, None
        else:
            status = "resolved"
            value, k, n = _manual_value(question, given)
        reason = given.annul if given.annul is not None else None
        if given.correct is not None:
            reason = f"correction: {given.correct}" + (
                f"; annulled: {given.annul}" if given.annul else ""
            )
        row = Resolution(
            id=next_id(session, Resolution),
            question_id=question.id,
            status=status,
            outcome=value,
            k=k,
            n=n,
            source="manual",
            reason=reason,
            resolved_at=now,
            resolved_by=by,
            supersedes=state.current.id if state else None,
        )
        exp = session.get(Experiment, question.experiment_id)
        updates: list[tuple[Any, list[str]]] = []
        if exp is not None and lock_row(
            exp, at=now, reason=f"question {question_label(question, exp.name)} resolved"
        ):
            updates.append((exp, ["locked_at", "lock_reason"]))
        entry = record(
            session,
            "correct" if state else ("annul" if status == "annulled" else "resolve"),
            at=now,
            by=by,
            inserts=[row],
            updates=updates,
        )
        return row, state.current if state else None, format_head(entry.seq, entry.hash)

    return store.write(work)


# --- artifact checks for verify ---


@dataclass
class ArtifactCheck:
    changed: list[tuple[Artifact, str]] = field(default_factory=list)
    missing: list[Artifact] = field(default_factory=list)
    used_by: dict[int, list[str]] = field(default_factory=dict)


def check_artifacts(session: Session) -> ArtifactCheck:
    """Re-hash every linked file that still exists; note the changed and the missing."""
    from predtrack.rules import sha256_file

    check = ArtifactCheck()
    for resolution, question, experiment in session.exec(
        select(Resolution, Question, Experiment)
        .join(Question, col(Resolution.question_id) == col(Question.id))
        .join(Experiment, col(Question.experiment_id) == col(Experiment.id))
        .where(col(Resolution.artifact_id).is_not(None))
    ):
        check.used_by.setdefault(resolution.artifact_id or 0, []).append(
            question_label(question, experiment.name)
        )
    for artifact in session.exec(
        select(Artifact).where(col(Artifact.is_uri).is_(False)).order_by(col(Artifact.id))
    ):
        path = Path(artifact.path)
        if not path.is_file():
            check.missing.append(artifact)
            continue
        try:
            digest, _ = sha256_file(path)
        except OSError:
            check.missing.append(artifact)
            continue
        if digest != artifact.sha256:
            check.changed.append((artifact, digest))
    return check
