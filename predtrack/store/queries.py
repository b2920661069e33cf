"""Every read of the store: one home for the SQL the services need, on both backends.

Each query takes the caller's `session` (the caller owns the transaction) and returns plain
row objects from `store/tables.py` or tuples; no service writes SELECTs of its own.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from predtrack.errors import InputError, NotFoundError
from predtrack.store.engine import Session
from predtrack.store.tables import (
    DOMAIN,
    Anchor,
    Artifact,
    Commitment,
    Experiment,
    Key,
    Prediction,
    Question,
    Resolution,
    Row,
    codec,
    select_all,
)
from predtrack.store.types import parse_iso_z

INT32_MAX = 2**31 - 1  # ids are 32-bit integers on PostgreSQL


def _load(
    session: Session, row: type[Row], where: str = "", params: Sequence[Any] = ()
) -> list[Any]:
    table = DOMAIN[row.TABLE]
    spec = codec(table)
    sql = f"SELECT {select_all(table)} FROM {table.name} {where}"
    return [spec.row(stored) for stored in session.iterate(sql, params)]


def _chunks(ids: Sequence[int], size: int = 900) -> Iterator[list[int]]:
    # Bounded IN lists (SQLite allows at most 32,766 parameters per statement).
    for start in range(0, len(ids), size):
        yield list(ids[start : start + size])


def _in(ids: Sequence[int]) -> str:
    return "(" + ", ".join("?" for _ in ids) + ")"


# --- experiments ---


def experiment_named(name: str, *, session: Session) -> Experiment | None:
    """The experiment with this name, or None."""
    found = _load(session, Experiment, "WHERE name = ?", (name,))
    return found[0] if found else None


def get_experiment(name: str, *, session: Session) -> Experiment:
    """The experiment with this name, or a NotFoundError."""
    found = experiment_named(name, session=session)
    if found is None:
        raise NotFoundError(f"no experiment named {name!r}")
    return found


def experiments(*, session: Session, ids: Iterable[int] | None = None) -> dict[int, Experiment]:
    """Experiments by id (all of them, or those with these ids)."""
    rows = _load(session, Experiment, "ORDER BY id")
    wanted = None if ids is None else set(ids)
    return {e.id: e for e in rows if wanted is None or e.id in wanted}


def experiment_counts(*, session: Session) -> dict[int, dict[str, int]]:
    """Questions, predictions and artifacts per experiment id."""
    counts: dict[int, dict[str, int]] = defaultdict(
        lambda: {"questions": 0, "predictions": 0, "artifacts": 0}
    )
    for exp_id, n in session.rows(
        "SELECT experiment_id, COUNT(*) FROM questions GROUP BY experiment_id"
    ):
        counts[exp_id]["questions"] = n
    for exp_id, n in session.rows(
        "SELECT q.experiment_id, COUNT(*) FROM predictions p JOIN questions q "
        "ON p.question_id = q.id GROUP BY q.experiment_id"
    ):
        counts[exp_id]["predictions"] = n
    for exp_id, n in session.rows(
        "SELECT experiment_id, COUNT(*) FROM artifacts GROUP BY experiment_id"
    ):
        counts[exp_id]["artifacts"] = n
    return counts


# --- questions ---


def question_by_id(question_id: int, *, session: Session) -> Question | None:
    """One question by id, or None."""
    if not 0 < question_id <= INT32_MAX:
        return None
    found = _load(session, Question, "WHERE id = ?", (question_id,))
    return found[0] if found else None


def find_question(ref: str, *, session: Session, experiment: str | None = None) -> Question:
    """A question by id, `experiment/key`, or key (unique, or within `experiment`)."""
    ref = str(ref).strip()
    if ref.isdigit():
        found = question_by_id(int(ref), session=session) if len(ref) <= 10 else None
        if found is None:
            raise NotFoundError(f"no question with id {ref[:24]}")
        return found
    exp_name, sep, key = ref.rpartition("/")
    if not sep:
        exp_name, key = (experiment or ""), ref
    join = (
        f"SELECT {select_all(DOMAIN['questions'], 'q')}, e.name FROM questions q "
        "JOIN experiments e ON q.experiment_id = e.id WHERE q.key = ?"
    )
    spec = codec("questions")
    matches = session.rows(
        join + (" AND e.name = ?" if exp_name else ""), (key, exp_name) if exp_name else (key,)
    )
    if not matches and experiment and not sep:
        matches = session.rows(join, (key,))
    if not matches:
        where = f" in experiment {exp_name!r}" if exp_name else ""
        raise NotFoundError(f"no question with key {key!r}{where}")
    if len(matches) > 1:
        names = ", ".join(sorted(f"{m[-1]}/{key}" for m in matches))
        raise InputError(f"key {key!r} is used in several experiments; write one of: {names}")
    return spec.row(matches[0][:-1])


def questions(
    *,
    session: Session,
    experiment: str | None = None,
    kind: str | None = None,
    ids: Sequence[int] | None = None,
) -> list[tuple[Question, str]]:
    """Questions with their experiment's name, in id order, optionally filtered."""
    table = DOMAIN["questions"]
    spec = codec(table)
    sql = (
        f"SELECT {select_all(table, 'q')}, e.name FROM questions q "
        "JOIN experiments e ON q.experiment_id = e.id"
    )
    clauses, params = [], []
    if experiment is not None:
        clauses.append("e.name = ?")
        params.append(experiment)
    if kind is not None:
        clauses.append("q.kind = ?")
        params.append(kind)
    if ids is not None:
        out: list[tuple[Question, str]] = []
        for chunk in _chunks(list(ids)):
            where = " WHERE " + " AND ".join([*clauses, f"q.id IN {_in(chunk)}"])
            out.extend(
                (spec.row(r[:-1]), r[-1]) for r in session.iterate(sql + where, [*params, *chunk])
            )
        return sorted(out, key=lambda pair: pair[0].id)
    if clauses:
        sql += " WHERE " + " AND ".join(clauses)
    return [(spec.row(r[:-1]), r[-1]) for r in session.iterate(sql + " ORDER BY q.id", params)]


def question_keys(experiment_id: int, *, session: Session) -> set[str | None]:
    """The keys already used in an experiment."""
    return {
        r[0]
        for r in session.rows("SELECT key FROM questions WHERE experiment_id = ?", (experiment_id,))
    }


# --- predictions ---


def predictions(
    *, session: Session, question_ids: Sequence[int] | None = None
) -> dict[int, list[Prediction]]:
    """Predictions per question, in recording order (all, or of these questions)."""
    out: dict[int, list[Prediction]] = defaultdict(list)
    if question_ids is None:
        for p in _load(session, Prediction, "ORDER BY id"):
            out[p.question_id].append(p)
        return out
    for chunk in _chunks(list(question_ids)):
        for p in _load(
            session, Prediction, f"WHERE question_id IN {_in(chunk)} ORDER BY id", chunk
        ):
            out[p.question_id].append(p)
    return out


def prediction_rows(*, session: Session, by_question: bool = False) -> Iterator[tuple[Any, ...]]:
    """(id, question_id, forecaster, made_at text, late, forecast, distribution text, signature)
    of every prediction in recording order (`by_question`: grouped by question, each question's
    in recording order): the light form scoring reads a million of."""
    return session.iterate(
        "SELECT id, question_id, forecaster, made_at, late, forecast, distribution, signature "
        "FROM predictions ORDER BY " + ("question_id, id" if by_question else "id")
    )


def signed_prediction_ids(*, session: Session) -> list[tuple[int, int]]:
    """(id, question_id) of every prediction that carries a signature."""
    return [
        (int(i), int(q))
        for i, q in session.rows(
            "SELECT id, question_id FROM predictions WHERE signature IS NOT NULL ORDER BY id"
        )
    ]


def signed_predictions(*, session: Session) -> list[Prediction]:
    """Every prediction that carries a signature or a key, in recording order."""
    return _load(
        session, Prediction, "WHERE signature IS NOT NULL OR key_id IS NOT NULL ORDER BY id"
    )


def revealed_predictions(*, session: Session) -> list[Prediction]:
    """Every prediction revealed from a sealed commitment, in recording order."""
    return _load(session, Prediction, "WHERE commitment_id IS NOT NULL ORDER BY id")


def count_unsigned(*, session: Session) -> int:
    """How many predictions carry neither a signature nor a key."""
    sql = "SELECT COUNT(*) FROM predictions WHERE signature IS NULL AND key_id IS NULL"
    return int(session.scalar(sql) or 0)


def late_predictions(*, session: Session) -> list[Prediction]:
    """Every prediction marked late, in recording order."""
    return _load(session, Prediction, "WHERE late = ? ORDER BY id", (True,))


def count_predictions(
    *, session: Session, late: bool | None = None, question_ids: Sequence[int] | None = None
) -> int:
    """How many predictions (optionally only late ones, or on these questions)."""
    where = "" if late is None else " WHERE late = ?"
    params: list[Any] = [] if late is None else [late]
    if question_ids is None:
        return int(session.scalar("SELECT COUNT(*) FROM predictions" + where, params) or 0)
    total = 0
    for chunk in _chunks(list(question_ids)):
        clause = (where + " AND " if where else " WHERE ") + f"question_id IN {_in(chunk)}"
        total += int(
            session.scalar("SELECT COUNT(*) FROM predictions" + clause, [*params, *chunk]) or 0
        )
    return total


def to_mark_late(
    question_ids: Sequence[int], *, session: Session
) -> dict[int, list[tuple[int, datetime]]]:
    """(id, made_at) of the predictions not yet late on these questions, in recording order:
    the candidates for lateness at resolution."""
    out: dict[int, list[tuple[int, datetime]]] = defaultdict(list)
    times: dict[str, datetime] = {}  # a bulk write's predictions share one time: parsed once
    sql = "SELECT id, question_id, made_at FROM predictions WHERE late = ?"
    if len(question_ids) > 5000:  # most of the store: one scan beats many IN lists
        wanted = set(question_ids)
        rows: Iterable[tuple[Any, ...]] = (
            r for r in session.iterate(sql + " ORDER BY id", (False,)) if r[1] in wanted
        )
    else:
        rows = (
            r
            for chunk in _chunks(list(question_ids))
            for r in session.iterate(
                f"{sql} AND question_id IN {_in(chunk)} ORDER BY id", [False, *chunk]
            )
        )
    for pid, qid, made_at in rows:
        at = times.get(made_at)
        if at is None:
            at = times[made_at] = parse_iso_z(made_at)
        out[qid].append((pid, at))
    return out


# --- resolutions ---


@dataclass
class ResolutionState:
    """A question's current resolution and the ones it corrected, oldest first."""

    current: Resolution
    history: list[Resolution] = field(default_factory=list)

    @property
    def status(self) -> str:
        return self.current.status


def resolution_states(
    *, session: Session, question_ids: Sequence[int] | None = None
) -> dict[int, ResolutionState]:
    """The current resolution of each question: the newest row (corrections supersede)."""
    grouped: dict[int, list[Resolution]] = defaultdict(list)
    if question_ids is None:
        rows = _load(session, Resolution, "ORDER BY question_id, id")
    else:
        rows = []
        for chunk in _chunks(list(question_ids)):
            rows.extend(
                _load(
                    session,
                    Resolution,
                    f"WHERE question_id IN {_in(chunk)} ORDER BY question_id, id",
                    chunk,
                )
            )
    for row in rows:
        grouped[row.question_id].append(row)
    return {qid: ResolutionState(rs[-1], rs[:-1]) for qid, rs in grouped.items()}


def status_of(state: ResolutionState | None) -> str:
    """`pending`, `resolved` or `annulled`."""
    return "pending" if state is None else state.current.status


# --- artifacts ---


def artifacts(
    *, session: Session, experiment_id: int | None = None, ids: Sequence[int] | None = None
) -> list[Artifact]:
    """Artifacts in id order (all, of one experiment, or with these ids)."""
    if ids is not None:
        out: list[Artifact] = []
        for chunk in _chunks(list(ids)):
            out.extend(_load(session, Artifact, f"WHERE id IN {_in(chunk)}", chunk))
        return sorted(out, key=lambda a: a.id)
    if experiment_id is None:
        return _load(session, Artifact, "ORDER BY id")
    return _load(session, Artifact, "WHERE experiment_id = ? ORDER BY id", (experiment_id,))


def artifact_users(*, session: Session) -> dict[int, list[tuple[int, Resolution]]]:
    """For each artifact id, the (question id, resolution) pairs whose evidence includes it."""
    users: dict[int, list[tuple[int, Resolution]]] = defaultdict(list)
    for row in _load(session, Resolution, "ORDER BY id"):
        ids = set(row.evidence or [])
        if row.artifact_id is not None:
            ids.add(row.artifact_id)
        for artifact_id in ids:
            users[artifact_id].append((row.question_id, row))
    return users


# --- keys and commitments ---


def keys(*, session: Session, forecaster: str | None = None) -> list[Key]:
    """Registered signing keys in id order (all, or one forecaster's)."""
    if forecaster is None:
        return _load(session, Key, "ORDER BY id")
    return _load(session, Key, "WHERE forecaster = ? ORDER BY id", (forecaster,))


def commitments(*, session: Session, forecaster: str | None = None) -> list[Commitment]:
    """Sealed-forecast commitments in id order (all, or one forecaster's)."""
    if forecaster is None:
        return _load(session, Commitment, "ORDER BY id")
    return _load(session, Commitment, "WHERE forecaster = ? ORDER BY id", (forecaster,))


def committed(
    *, session: Session, question_ids: Sequence[int] | None = None
) -> dict[int, set[str]]:
    """Per question id, the forecasters holding a sealed commitment on it (they have predicted)."""
    out: dict[int, set[str]] = defaultdict(set)
    sql = "SELECT question_id, forecaster FROM commitments"
    if question_ids is None:
        for question_id, forecaster in session.iterate(sql):
            out[question_id].add(forecaster)
        return out
    for chunk in _chunks(list(question_ids)):
        for question_id, forecaster in session.iterate(
            f"{sql} WHERE question_id IN {_in(chunk)}", chunk
        ):
            out[question_id].add(forecaster)
    return out


def predictions_by_id(ids: Sequence[int], *, session: Session) -> dict[int, Prediction]:
    """Predictions with these ids."""
    out: dict[int, Prediction] = {}
    for chunk in _chunks(list(ids)):
        out.update(
            (p.id, p) for p in _load(session, Prediction, f"WHERE id IN {_in(chunk)}", chunk)
        )
    return out


def anchors(*, session: Session) -> list[Anchor]:
    """Timestamp tokens and git anchors of the ledger head, in id order."""
    return _load(session, Anchor, "ORDER BY id")


# --- the ledger ---


def ledger_rows(*, session: Session) -> Iterator[tuple[int, str, str, str, str]]:
    """(seq, prev, kind, hash, payload) of every entry, oldest first."""
    return session.iterate("SELECT seq, prev, kind, hash, payload FROM ledger ORDER BY seq")


def entry_hash(seq: int, *, session: Session) -> str | None:
    """The hash of ledger entry `seq`, or None."""
    value = session.scalar("SELECT hash FROM ledger WHERE seq = ?", (seq,))
    return None if value is None else str(value)


def entry_times(seqs: Iterable[int], *, session: Session) -> dict[int, str]:
    """The `at` text of these ledger entries."""
    out: dict[int, str] = {}
    for chunk in _chunks(sorted(set(seqs))):
        out.update(session.rows(f'SELECT seq, "at" FROM ledger WHERE seq IN {_in(chunk)}', chunk))
    return out


def entries_of_kind(kind: str, *, session: Session) -> Iterator[tuple[int, str]]:
    """(seq, payload) of every entry of one kind, oldest first."""
    return session.iterate("SELECT seq, payload FROM ledger WHERE kind = ? ORDER BY seq", (kind,))
