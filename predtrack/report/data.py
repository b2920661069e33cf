"""What the report reads from the store itself (the scores come from `predtrack.score`).

The only module of the report that queries the store: a few plain functions, store and
options in, plain dataclasses out.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from predtrack.store.engine import Store


@dataclass
class ResolutionRow:
    """One resolution (or annulment) of a question, as stored."""

    status: str
    outcome: Any
    k: int | None
    n: int | None
    source: str
    artifact_path: str | None
    sha256: str | None
    detail: str | None
    reason: str | None
    resolved_at: datetime
    resolved_by: str
    evidence: list[dict[str, Any]] = field(default_factory=list)  # {path, sha256, size}: cards only


@dataclass
class PredictionRow:
    """A prediction the score board does not count (late, or on an unresolved question)."""

    id: int
    forecaster: str
    made_at: datetime
    forecast: str
    distribution: dict[str, Any]
    late: bool
    late_reason: str | None


@dataclass
class QuestionInfo:
    """One question as a card or a list entry shows it."""

    id: int
    key: str | None
    label: str
    experiment: str
    title: str
    kind: str
    unit: str | None
    bounds: tuple[float, float] | None
    categories: list[str] | None
    tags: list[str]
    note: str | None
    rule: str | None
    rule_file: str | None
    created_at: datetime
    created_by: str
    status: str
    resolution: ResolutionRow | None = None
    history: list[ResolutionRow] = field(default_factory=list)  # corrected, oldest first
    unscored: list[PredictionRow] = field(default_factory=list)


@dataclass(frozen=True)
class Resolved:
    """What the summaries need of every resolved question, shown in full or not."""

    experiment: str
    kind: str
    unit: str | None
    rule: str | None
    rule_dir: str | None  # the folder its rule's file names are relative to, on this machine


@dataclass
class QuestionSet:
    """The questions the report shows in full, and what it only counts."""

    shown: list[QuestionInfo]  # resolved, with a card
    omitted: list[tuple[str, str]]  # (experiment, kind) of each resolved question without one
    annulled: list[QuestionInfo]
    annulled_total: int
    pending: list[QuestionInfo]
    pending_total: int
    experiments: list[dict[str, Any]]
    resolved: dict[int, Resolved] = field(default_factory=dict)


def prediction_count(store: Store) -> int:
    """How many predictions the store holds: what verification's cost grows with (one bulk
    import is a single ledger entry, so the ledger's length says little)."""
    from predtrack.store import queries

    with store.read() as session:
        return queries.count_predictions(session=session)


def _resolution(row: Any) -> ResolutionRow:
    return ResolutionRow(
        status=row.status,
        outcome=row.outcome,
        k=row.k,
        n=row.n,
        source=row.source,
        artifact_path=row.artifact_path,
        sha256=row.sha256,
        detail=row.detail,
        reason=row.reason,
        resolved_at=row.resolved_at,
        resolved_by=row.resolved_by,
    )


def _prediction(row: Any) -> PredictionRow:
    return PredictionRow(
        row.id,
        row.forecaster,
        row.made_at,
        row.forecast,
        row.distribution,
        bool(row.late),
        row.late_reason,
    )


def load_questions(
    store: Store, experiment: str | None, limit: int | None, read: Any = None
) -> QuestionSet:
    """Read what the cards and lists need: predictions only for the questions listed.

    `read`: the (questions, resolution states) the score board already read (`Board.read`),
    so a large store's questions are not read and decoded twice."""
    from predtrack.paths import from_stored, study_root
    from predtrack.questions import rule_file
    from predtrack.store import queries

    root = study_root(store.path)
    with store.read() as session:
        if read is not None:
            scope, every_state = read
            states = {q: s for q, s in every_state.items() if q in scope}
        else:
            scope = {
                q.id: (q, name)
                for q, name in queries.questions(session=session, experiment=experiment)
            }
            states = queries.resolution_states(session=session, question_ids=list(scope))
        history = {
            qid: [*map(_resolution, s.history), _resolution(s.current)] for qid, s in states.items()
        }
        resolved = [q for q in scope if q in history and history[q][-1].status == "resolved"]
        annulled = [q for q in scope if q in history and history[q][-1].status == "annulled"]
        pending = [q for q in scope if q not in history]
        shown = resolved if limit is None else resolved[:limit]
        ids = sorted({i for q in shown for i in states[q].current.evidence or []})
        files = {a.id: a for a in queries.artifacts(session=session, ids=ids)} if ids else {}
        for q in shown:
            history[q][-1].evidence = [
                {"path": a.path, "sha256": a.sha256, "size": a.size}
                for a in (files.get(i) for i in states[q].current.evidence or [])
                if a is not None
            ]
        listed_annulled = annulled if limit is None else annulled[:limit]
        listed_pending = pending if limit is None else pending[:limit]
        # Predictions the board does not score: late ones on the cards, all on open questions.
        unscored: dict[int, list[PredictionRow]] = defaultdict(list)
        card_ids = set(shown)
        for row in queries.late_predictions(session=session):
            if row.question_id in card_ids:
                unscored[row.question_id].append(_prediction(row))
        listed = [*listed_annulled, *listed_pending]
        for qid, rows in queries.predictions(session=session, question_ids=listed).items():
            unscored[qid].extend(_prediction(row) for row in rows)
        names_in_scope = {name for _, name in scope.values()}
        experiments = [
            {
                "name": e.name,
                "description": e.description,
                "locked_at": e.locked_at,
                "lock_reason": e.lock_reason,
            }
            for e in sorted(queries.experiments(session=session).values(), key=lambda e: e.name)
            if e.name in names_in_scope or e.name == experiment
        ]

    def info(qid: int, status: str) -> QuestionInfo:
        question, name = scope[qid]
        states_of = history.get(qid, [])
        return QuestionInfo(
            id=qid,
            key=question.key,
            label=question.label(name),
            experiment=name,
            title=question.title,
            kind=question.kind,
            unit=question.unit,
            bounds=question.support,
            categories=question.categories,
            tags=list(question.tags or []),
            note=question.note,
            rule=question.rule,
            rule_file=rule_file(question, root),
            created_at=question.created_at,
            created_by=question.created_by,
            status=status,
            resolution=states_of[-1] if states_of else None,
            history=states_of[:-1],
            unscored=sorted(unscored.get(qid, []), key=lambda p: (p.made_at, p.id)),
        )

    folders: dict[tuple[str | None, str | None], str] = {}  # a bulk file's questions share one

    def brief(qid: int) -> Resolved:
        question, name = scope[qid]
        where = (question.rule_dir, question.rule_hint)
        if where not in folders:
            folders[where] = str(from_stored(question.rule_dir or ".", root, question.rule_hint))
        return Resolved(name, question.kind, question.unit, question.rule, folders[where])

    shown_set = set(shown)
    return QuestionSet(
        shown=[info(q, "resolved") for q in shown],
        omitted=[(scope[q][1], scope[q][0].kind) for q in resolved if q not in shown_set],
        annulled=[info(q, "annulled") for q in listed_annulled],
        annulled_total=len(annulled),
        pending=[info(q, "pending") for q in listed_pending],
        pending_total=len(pending),
        experiments=experiments,
        resolved={q: brief(q) for q in resolved},
    )
