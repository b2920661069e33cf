"""What the report reads from the store itself (the scores come from `predtrack.score`).

The only module of the report that queries the store: a few plain functions, store and
options in, plain dataclasses out.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
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
    rule_dir: str | None


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
    from sqlalchemy import func, select

    from predtrack.store.ledger import table_of
    from predtrack.store.models import Prediction

    with store.read() as session:
        return int(
            session.execute(select(func.count()).select_from(table_of(Prediction))).scalar() or 0
        )


def _chunks(ids: Sequence[int], size: int = 900) -> Iterable[list[int]]:
    for start in range(0, len(ids), size):
        yield list(ids[start : start + size])


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


def load_questions(store: Store, experiment: str | None, limit: int | None) -> QuestionSet:
    """Read what the cards and lists need: full rows only for the questions shown in full."""
    from sqlalchemy import select

    from predtrack.predict import question_label
    from predtrack.questions import rule_file
    from predtrack.score import scoring_bounds
    from predtrack.store.ledger import table_of
    from predtrack.store.models import Experiment, Prediction, Question, Resolution

    qt, rt, et, pt = (table_of(m) for m in (Question, Resolution, Experiment, Prediction))
    with store.read() as session:
        query = (
            select(qt.c.id, qt.c.kind, qt.c.unit, qt.c.rule, qt.c.rule_dir, et.c.name)
            .join(et, qt.c.experiment_id == et.c.id)
            .order_by(qt.c.id)
        )
        if experiment is not None:
            query = query.where(et.c.name == experiment)
        scope = {row.id: row for row in session.execute(query)}
        names_in_scope = {row.name for row in scope.values()}
        history: dict[int, list[ResolutionRow]] = defaultdict(list)
        for row in session.execute(select(rt).order_by(rt.c.question_id, rt.c.id)):
            if row.question_id in scope:
                history[row.question_id].append(_resolution(row))
        resolved = [q for q in scope if q in history and history[q][-1].status == "resolved"]
        annulled = [q for q in scope if q in history and history[q][-1].status == "annulled"]
        pending = [q for q in scope if q not in history]
        shown = resolved if limit is None else resolved[:limit]
        listed_annulled = annulled if limit is None else annulled[:limit]
        listed_pending = pending if limit is None else pending[:limit]
        rows: dict[int, Any] = {}
        for ids in _chunks([*shown, *listed_annulled, *listed_pending]):
            for row in session.execute(
                select(qt, et.c.name.label("experiment_name"))
                .join(et, qt.c.experiment_id == et.c.id)
                .where(qt.c.id.in_(ids))
            ):
                rows[row.id] = row
        # Predictions the board does not score: late ones on the cards, all on open questions.
        unscored: dict[int, list[PredictionRow]] = defaultdict(list)
        columns = (
            pt.c.id,
            pt.c.question_id,
            pt.c.forecaster,
            pt.c.made_at,
            pt.c.forecast,
            pt.c.distribution,
            pt.c.late,
            pt.c.late_reason,
        )
        card_ids = set(shown)
        found = list(
            session.execute(
                select(*columns).where(pt.c.late.is_(True)).order_by(pt.c.made_at, pt.c.id)
            )
        )
        found = [row for row in found if row.question_id in card_ids]
        for ids in _chunks([*listed_annulled, *listed_pending]):
            found.extend(
                session.execute(
                    select(*columns)
                    .where(pt.c.question_id.in_(ids))
                    .order_by(pt.c.made_at, pt.c.id)
                )
            )
        for row in found:
            unscored[row.question_id].append(
                PredictionRow(
                    row.id,
                    row.forecaster,
                    row.made_at,
                    row.forecast,
                    row.distribution,
                    bool(row.late),
                    row.late_reason,
                )
            )
        experiments = [
            {
                "name": e.name,
                "description": e.description,
                "locked_at": e.locked_at,
                "lock_reason": e.lock_reason,
            }
            for e in session.execute(select(et).order_by(et.c.name))
            if e.name in names_in_scope or e.name == experiment
        ]

    def info(qid: int, status: str) -> QuestionInfo:
        question = rows[qid]
        states = history.get(qid, [])
        return QuestionInfo(
            id=qid,
            key=question.key,
            label=question_label(question, question.experiment_name),
            experiment=question.experiment_name,
            title=question.title,
            kind=question.kind,
            unit=question.unit,
            bounds=scoring_bounds(question),
            categories=question.categories,
            tags=list(question.tags or []),
            note=question.note,
            rule=question.rule,
            rule_file=rule_file(question),
            created_at=question.created_at,
            created_by=question.created_by,
            status=status,
            resolution=states[-1] if states else None,
            history=states[:-1],
            unscored=unscored.get(qid, []),
        )

    shown_set = set(shown)
    return QuestionSet(
        shown=[info(q, "resolved") for q in shown],
        omitted=[(scope[q].name, scope[q].kind) for q in resolved if q not in shown_set],
        annulled=[info(q, "annulled") for q in listed_annulled],
        annulled_total=len(annulled),
        pending=[info(q, "pending") for q in listed_pending],
        pending_total=len(pending),
        experiments=experiments,
        resolved={
            q: Resolved(
                scope[q].name, scope[q].kind, scope[q].unit, scope[q].rule, scope[q].rule_dir
            )
            for q in resolved
        },
    )
