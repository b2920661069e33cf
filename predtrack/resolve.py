"""Resolving questions: every pending rule against today's files, or one question by hand.

Files are read before the write lock is taken; all resolutions of one run go into one
transaction, each with its evidence (every file its rule read, hashed), the time its data
existed, and the predictions that turn out to be late.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from predtrack.errors import InputError, PredtrackError
from predtrack.experiments import LOCK_FIELDS, lock_row
from predtrack.manual import ManualOutcome, manual_value
from predtrack.output import Progress, Result
from predtrack.paths import from_stored, study_root, to_stored
from predtrack.store import queries
from predtrack.store.engine import Session, Store
from predtrack.store.ledger import Change, Entry, format_head, next_id, record
from predtrack.store.tables import Artifact, Experiment, Question, Resolution
from predtrack.store.types import canonical_json, iso_z
from predtrack.validate import check_name, check_note

__all__ = ["ManualOutcome", "Outcome", "ResolveRun", "resolve_manual", "resolve_pending"]


@dataclass
class Outcome(Result):
    """What happened to one question in a `resolve` run."""

    question_id: int
    label: str
    title: str
    status: str  # resolved | pending | failed | annulled | skipped
    value: Any = None
    k: int | None = None
    n: int | None = None
    detail: str | None = None
    reason: str | None = None
    artifact: str | None = None
    sha256: str | None = None
    evidence: int = 0
    late_marked: int = 0


@dataclass
class ResolveRun(Result):
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

    JSON: ClassVar[dict[str, str]] = {"already": "already_resolved", "outcomes": "questions"}

    def text(self) -> str:
        from predtrack.render import resolve_run

        return resolve_run(self)


@dataclass
class _Found:
    """A rule's result before it is written: an evaluation, or an annulment with evidence."""

    question: Question
    experiment: Experiment
    evaluation: Any = None
    annul: str | None = None
    evidence: tuple[Any, ...] = ()


def _evidence_of(evaluation: Any) -> tuple[tuple[str, str, int, datetime], ...]:
    """(path, sha256, size, mtime) of every file an evaluation read."""
    return tuple((e.path, e.sha256, e.size, e.mtime) for e in evaluation.evidence)


def _evaluate(
    question: Question,
    root: Path | None,
    cache: Any,
    *,
    final: bool,
    allow_outside: bool,
    folders: dict[Any, Path] | None = None,
) -> Any:
    from predtrack.rules import evaluate_rule, parse_rule

    where = (question.rule_dir, question.rule_hint)
    folder = None if folders is None else folders.get(where)
    if folder is None:
        folder = (
            from_stored(question.rule_dir or ".", root, question.rule_hint)
            if question.rule_dir
            else Path(os.getcwd())
        )
        if folders is not None:
            folders[where] = folder
    return evaluate_rule(
        parse_rule(question.rule or ""),
        folder,
        question.kind,
        categories=question.categories,
        bounds=question.bounds,
        cache=cache,
        final=final,
        allow_outside=allow_outside,
    )


def resolve_pending(
    store: Store,
    *,
    by: str,
    experiment: str | None = None,
    dry_run: bool = False,
    final: bool = False,
    allow_outside: bool = False,
    progress: Progress | None = None,
) -> ResolveRun:
    """Evaluate every pending question's rule; record all resolutions in one transaction."""
    from predtrack.memory import without_gc

    # No cyclic GC while thousands of outcomes and rows are made: each collection would walk
    # them all (what little the run leaves in cycles is collected when it ends).
    with without_gc(True):
        return _resolve_pending(
            store, by=by, experiment=experiment, dry_run=dry_run, final=final,
            allow_outside=allow_outside, progress=progress,
        )  # fmt: skip


def _resolve_pending(
    store: Store,
    *,
    by: str,
    experiment: str | None,
    dry_run: bool,
    final: bool,
    allow_outside: bool,
    progress: Progress | None,
) -> ResolveRun:
    from predtrack.rules import OutsideFolder, RulePending, RunFailed

    by = check_name(by)
    if final and experiment is None:
        raise InputError("--final declares one experiment's runs complete: give -e NAME")
    run = ResolveRun(dry_run=dry_run)
    with store.read() as session:
        if experiment is not None:
            queries.get_experiment(experiment, session=session)
        rows = queries.questions(session=session, experiment=experiment)
        states = queries.resolution_states(session=session, question_ids=[q.id for q, _ in rows])
        exps = queries.experiments(session=session)
    root = study_root(store.path)
    pending = []
    for question, _ in rows:
        if queries.status_of(states.get(question.id)) != "pending":
            run.already += 1
        elif not question.rule:
            run.without_rule += 1
        else:
            pending.append(question)
    found: dict[int, _Found] = {}
    cache: dict[Any, Any] = {}
    folders: dict[Any, Path] = {}  # the questions of one bulk file share their rule folder
    stored_paths: dict[str, str] = {}  # and many share their result file
    for done, question in enumerate(pending):
        if progress is not None and done % 100 == 0:
            progress(done, len(pending))
        exp = exps[question.experiment_id]
        outcome = Outcome(question.id, question.label(exp.name), question.title, "pending")
        try:
            ev = _evaluate(
                question, root, cache, final=final, allow_outside=allow_outside, folders=folders
            )
        except RulePending as waiting:
            outcome.reason = waiting.reason
        except OutsideFolder as outside:
            outcome.status = "skipped"
            outcome.reason = str(outside)  # it says to resolve with --allow-outside
        except RunFailed as failed:
            if question.if_run_fails == "annul":
                outcome.status, outcome.reason = "annulled", f"run failed: {failed.reason}"
                found[question.id] = _Found(
                    question, exp, annul=outcome.reason, evidence=_evidence_of(failed)
                )
            else:
                outcome.reason = f"run failed: {failed.reason} (the question stays pending)"
        except PredtrackError as error:
            outcome.status, outcome.reason = "failed", str(error)
        else:
            found[question.id] = _Found(question, exp, evaluation=ev, evidence=_evidence_of(ev))
            outcome.status = "resolved"
            outcome.value, outcome.k, outcome.n = ev.value, ev.k, ev.n
            outcome.detail, outcome.sha256 = ev.detail, ev.sha256
            if ev.artifact not in stored_paths:
                stored_paths[ev.artifact] = (
                    to_stored(ev.artifact, root) if "://" not in ev.artifact else ev.artifact
                )
            outcome.artifact = stored_paths[ev.artifact]
        outcome.evidence = len(found[question.id].evidence) if question.id in found else 0
        run.outcomes.append(outcome)
    if dry_run or not found:
        return run

    def work(session: Session) -> None:
        entry = _write(session, run, found, root, by)
        run.head = format_head(entry.seq, entry.hash) if entry is not None else None

    store.write(work)
    return run


class _Artifacts:
    """Artifact rows for evidence files: the linked row with these exact bytes, or a new one."""

    def __init__(self, session: Session, root: Path | None, by: str) -> None:
        self.session, self.root, self.by = session, root, by
        self.known: dict[tuple[int, str, str | None], Artifact] = {}
        self.loaded: set[int] = set()
        self.new: list[Artifact] = []
        self.next = next_id(session, "artifacts")
        self.stored: dict[str, str] = {}  # path -> as stored: a store's files serve many rules
        self.digests: dict[tuple[int, ...], str] = {}

    def rows(
        self, exp: Experiment, evidence: Sequence[tuple[str, str, int, datetime]]
    ) -> list[Artifact]:
        """The artifact rows of these evidence files (new ones created as needed)."""
        if exp.id not in self.loaded:
            for a in queries.artifacts(session=self.session, experiment_id=exp.id):
                self.known[(exp.id, a.path, a.sha256)] = a
            self.loaded.add(exp.id)
        out = []
        for path, sha, size, mtime in evidence:
            stored = self.stored.get(path)
            if stored is None:
                stored = self.stored[path] = to_stored(path, self.root)
            key = (exp.id, stored, sha)
            if key not in self.known:
                row = Artifact(
                    id=self.next,
                    experiment_id=exp.id,
                    location=stored,
                    path=stored,
                    path_hint=path if stored != path else None,
                    sha256=sha,
                    size=size,
                    mtime=mtime,
                    linked_at=self.session.now,
                    linked_by=self.by,
                )
                self.next += 1
                self.known[key] = row
                self.new.append(row)
            out.append(self.known[key])
        return out

    def digest(self, rows: Sequence[Artifact]) -> str:
        """`evidence_digest` of these rows (computed once per set of files)."""
        key = tuple(a.id for a in rows)
        if key not in self.digests:
            self.digests[key] = evidence_digest(rows)
        return self.digests[key]


def evidence_digest(rows: Sequence[Artifact]) -> str:
    """sha256 of the canonical manifest [{path, sha256, size}] of a resolution's files."""
    import hashlib

    manifest = sorted(
        ({"path": a.path, "sha256": a.sha256, "size": a.size} for a in rows),
        key=lambda m: str(m["path"]),
    )
    return hashlib.sha256(canonical_json(manifest).encode("utf-8")).hexdigest()


def _write(
    session: Session, run: ResolveRun, found: dict[int, _Found], root: Path | None, by: str
) -> Entry | None:
    """Record the run's resolutions, artifacts, locks and late marks in one transaction."""
    already = queries.resolution_states(session=session, question_ids=list(found))
    artifacts = _Artifacts(session, root, by)
    inserts: list[Any] = []
    updates: list[Any] = []
    locked: set[int] = set()
    next_resolution = next_id(session, "resolutions")
    candidates = queries.to_mark_late(list(found), session=session)
    for outcome in run.outcomes:
        item = found.get(outcome.question_id)
        if item is None:
            continue
        if outcome.question_id in already:  # resolved by someone else meanwhile
            outcome.status, outcome.reason = "pending", "resolved concurrently by another run"
            continue
        question, exp, ev = item.question, item.experiment, item.evaluation
        rows = artifacts.rows(exp, item.evidence)
        ids = [r.id for r in rows]
        resolution = Resolution(
            id=next_resolution,
            question_id=question.id,
            status="annulled" if item.annul else "resolved",
            source="rule",
            rule=question.rule,
            reason=item.annul,
            resolved_at=session.now,
            resolved_by=by,
            evidence=ids,
            evidence_digest=artifacts.digest(rows) if rows else None,
        )
        if ev is not None:
            resolution.outcome, resolution.k, resolution.n = ev.value, ev.k, ev.n
            resolution.artifact_id = ids[0] if len(ids) == 1 else None
            resolution.artifact_path = outcome.artifact
            resolution.sha256 = ev.sha256
            resolution.detail = ev.detail
            resolution.data_time = ev.data_time
            resolution.data_time_source = ev.data_time_source
        next_resolution += 1
        inserts.append(resolution)
        if exp.id not in locked and lock_row(
            exp, at=session.now, reason=f"resolved {outcome.label}"
        ):
            updates.append((exp, LOCK_FIELDS))
        locked.add(exp.id)
        if ev is not None:
            late = _mark_late(candidates.get(question.id, []), ev)
            outcome.late_marked = len(late)
            updates.extend(late)
    if not inserts:
        return None
    return record(
        session,
        "resolve",
        by=by,
        inserts=[*artifacts.new, *inserts],
        updates=updates,
        info={
            "resolved": sum(r.status == "resolved" for r in inserts),
            "annulled": sum(r.status == "annulled" for r in inserts),
        },
    )


def _mark_late(candidates: Sequence[tuple[int, datetime]], ev: Any) -> list[Change]:
    """Predictions made after the data already existed are not pre-registered."""
    late = [pid for pid, made_at in candidates if made_at > ev.data_time]
    if not late:
        return []
    if ev.data_time_source == "records":
        reason = (
            f"made after the data existed ({iso_z(ev.data_time)}, the earliest time recorded in it)"
        )
    else:
        name = (
            Path(ev.artifact).name if len(ev.evidence) == 1 else f"{len(ev.evidence)} result files"
        )
        reason = f"made after {name} was last modified ({iso_z(ev.data_time)})"
    return [Change("predictions", pid, {"late": True, "late_reason": reason}) for pid in late]


PENDING_OPTIONS = ("experiment", "dry_run", "final", "allow_outside")


def resolve(
    store: Store,
    question: str | None = None,
    *,
    by: str,
    progress: Progress | None = None,
    **options: Any,
) -> ResolveRun | ManualResolution:
    """`resolve`: every pending rule (no question; `experiment`, `dry_run`, `final`,
    `allow_outside`), or one question by hand (`value`, `yes`, `category`, `successes`,
    `trials`, `annul`, `correct`, `rerun` — as `ManualOutcome`)."""
    pending = {k: options.pop(k) for k in PENDING_OPTIONS if k in options}
    given = ManualOutcome(**options)
    if question is None:
        if given.has_value() or given.annul or given.correct or given.rerun:
            raise InputError("manual outcomes need the QUESTION they resolve")
        return resolve_pending(store, by=by, progress=progress, **pending)
    if pending.get("dry_run") or pending.get("final"):
        raise InputError("--dry-run and --final apply to resolving all pending rules (no QUESTION)")
    return resolve_manual(
        store, question, given, by=by, experiment=pending.get("experiment"),
        allow_outside=bool(pending.get("allow_outside")),
    )  # fmt: skip


# --- one question by hand ---


@dataclass
class ManualResolution:
    """What `resolve QUESTION --value/--yes/--annul/--correct/--rerun` recorded."""

    question: str
    resolution: Resolution
    superseded: Resolution | None
    head: str

    def as_dict(self) -> dict[str, Any]:
        r = self.resolution
        return {
            "question": self.question,
            "id": r.id,
            "status": r.status,
            "outcome": r.outcome,
            "k": r.k,
            "n": r.n,
            "reason": r.reason,
            "source": r.source,
            "supersedes": r.supersedes,
            "head": self.head,
        }

    def text(self) -> str:
        from predtrack.render import outcome_text

        r = self.resolution
        shown = {
            "status": r.status,
            "resolution": {"value": r.outcome, "k": r.k, "n": r.n, "reason": r.reason},
        }
        verb = "annulled" if r.status == "annulled" else "resolved"
        lines = [
            f"Question {self.question} {verb}: {outcome_text(shown).removeprefix('annulled: ')}"
        ]
        if r.detail:
            lines.append(f"  {r.detail}")
        if self.superseded is not None:
            old = self.superseded
            lines.append(
                f"Corrected resolution #{old.id} ({old.status} {old.outcome!r}); it stays in the history."
            )
        lines.append(f"Ledger head {self.head}")
        return "\n".join(lines)


def resolve_manual(
    store: Store,
    ref: str,
    given: ManualOutcome,
    *,
    by: str,
    experiment: str | None = None,
    allow_outside: bool = False,
) -> ManualResolution:
    """Resolve, annul or correct one question by hand, or re-run its rule (`given.rerun`)."""
    by = check_name(by)
    for text, what in ((given.annul, "--annul"), (given.correct, "--correct")):
        if text is not None:
            check_note(text, what)
            if not text.strip():
                raise InputError(f"{what} needs a reason")
    if given.rerun and given.correct is None:
        raise InputError("--rerun replaces a resolution: give --correct REASON too")
    evaluation = None
    root = study_root(store.path)
    if given.rerun:
        with store.read() as session:
            question = queries.find_question(ref, session=session, experiment=experiment)
        if not question.rule:
            raise InputError(f"question {ref} has no rule to re-run")
        from predtrack.rules import RulePending

        try:
            evaluation = _evaluate(question, root, None, final=False, allow_outside=allow_outside)
        except RulePending as waiting:
            raise InputError(f"cannot re-run the rule of {ref}: {waiting.reason}") from None

    def work(session: Session) -> ManualResolution:
        question = queries.find_question(ref, session=session, experiment=experiment)
        exp = queries.experiments(session=session, ids=[question.experiment_id])[
            question.experiment_id
        ]
        label = question.label(exp.name)
        state = queries.resolution_states(session=session, question_ids=[question.id]).get(
            question.id
        )
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
        row = Resolution(
            id=next_id(session, "resolutions"),
            question_id=question.id,
            status="resolved",
            source="manual",
            resolved_at=session.now,
            resolved_by=by,
            supersedes=state.current.id if state else None,
        )
        inserts: list[Any] = []
        if evaluation is not None:
            tracked = _Artifacts(session, root, by)
            files = tracked.rows(exp, _evidence_of(evaluation))
            ids = [a.id for a in files]
            inserts.extend(tracked.new)
            row.source, row.rule = "rule", question.rule
            row.outcome, row.k, row.n, row.detail = (
                evaluation.value,
                evaluation.k,
                evaluation.n,
                evaluation.detail,
            )
            row.evidence = ids
            row.evidence_digest = evidence_digest(files)
            row.sha256, row.data_time, row.data_time_source = (
                evaluation.sha256,
                evaluation.data_time,
                evaluation.data_time_source,
            )
            row.artifact_id = ids[0] if len(ids) == 1 else None
            row.artifact_path = (
                to_stored(evaluation.artifact, root)
                if "://" not in evaluation.artifact
                else evaluation.artifact
            )
        elif given.annul is not None:
            if given.has_value():
                raise InputError("--annul takes no outcome")
            row.status = "annulled"
        else:
            row.outcome, row.k, row.n = manual_value(question, given)
        row.reason = given.annul
        if given.correct is not None:
            row.reason = f"correction: {given.correct}" + (
                f"; annulled: {given.annul}" if given.annul else ""
            )
        updates: list[tuple[Any, Sequence[str]]] = []
        if lock_row(exp, at=session.now, reason=f"question {label} resolved"):
            updates.append((exp, LOCK_FIELDS))
        kind = "correct" if state else ("annul" if row.status == "annulled" else "resolve")
        entry = record(session, kind, by=by, inserts=[*inserts, row], updates=updates)
        return ManualResolution(
            ref, row, state.current if state else None, format_head(entry.seq, entry.hash)
        )

    return store.write(work)
