"""Sealed forecasts in a store: commit them (`predict --sealed`), reveal them, and check both.

Only `sha256(salt ‖ payload)` enters the store; the opening goes to the forecaster's openings
file first. A reveal publishes openings as predictions dated by their commitment (so a
commitment made before the lock is not late, whenever it is revealed), writes each salt into
its ledger entry so that anyone can re-check the match later, and refuses, writing nothing,
any opening that does not match its commitment.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from predtrack.errors import InputError, ProofError
from predtrack.output import Result
from predtrack.proofs import sealed
from predtrack.store import queries
from predtrack.store.engine import Session, Store
from predtrack.store.ledger import Entry, Problem, Replay, format_head, next_id, record
from predtrack.store.queries import ResolutionState
from predtrack.store.tables import Commitment, Experiment, Question
from predtrack.store.types import iso_z
from predtrack.validate import check_name
from predtrack.vocabulary import FAMILIES


def store_identity(session: Session) -> str:
    """The store's id for openings files: derived from its first ledger entry."""
    first = queries.entry_hash(1, session=session)
    if first is None:
        raise InputError("the store is empty: register a question before sealing a forecast on it")
    return sealed.store_id(first)


def payload_of(label: str, kind: str, values: Mapping[str, Any], time: datetime | str) -> str:
    """The payload a commitment binds, from a prediction's column values."""
    return sealed.sealed_payload(
        question=label, forecaster=values["forecaster"], kind=kind, forecast=values["forecast"],
        distribution=values["distribution"], note=values.get("note"), time=time,
    )  # fmt: skip


def check_sealable(by: str, forecasters: Iterable[str], *, sign: bool) -> None:
    """`predict --sealed` seals only the caller's own forecasts, and signs them only at reveal."""
    if sign:
        raise InputError(
            "a sealed forecast is signed when it is revealed: `predtrack reveal --sign`"
        )
    others = sorted(set(forecasters) - {by})
    if others:
        raise InputError(
            f"--sealed seals only your own forecasts ({by}); this also holds forecasts by "
            f"{', '.join(others)}, who must seal their own"
        )


@dataclass
class ToSeal:
    """A forecast to commit: its prediction values (forecaster, forecast, distribution), question, label."""

    values: dict[str, Any]
    question: Question
    label: str
    late_reason: str | None = None


def commit(
    session: Session, by: str, items: Sequence[ToSeal]
) -> tuple[Entry, list[dict[str, Any]], Path]:
    """Write the openings to `by`'s openings file, then the commitments to the store (one entry)."""
    sid = store_identity(session)
    path = sealed.openings_path(sid, by)
    live = {
        (c.question_id, c.forecaster): c.id
        for c in queries.commitments(session=session, forecaster=by)
    }
    first_id = next_id(session, "commitments")
    rows, openings, made = [], [], []
    for offset, item in enumerate(items):
        v = item.values
        payload = payload_of(item.label, item.question.kind, v, session.now)
        opening = sealed.seal(payload)
        row = Commitment(
            id=first_id + offset,
            question_id=item.question.id,
            forecaster=v["forecaster"],
            digest=opening.commitment,
            committed_at=session.now,
        )
        replaced = live.get((row.question_id, row.forecaster))
        live[(row.question_id, row.forecaster)] = row.id
        rows.append(row)
        openings.append(opening)
        made.append({
            "commitment": row.id, "question": item.label, "forecaster": row.forecaster,
            "digest": row.digest, "committed_at": row.committed_at, "updates": replaced,
            "late": item.late_reason, "opening": opening.as_dict(),
        })  # fmt: skip
    # The openings reach the disk before the commitments reach the store: an opening without
    # its commitment is harmless, a commitment without its opening could never be revealed.
    sealed.append_openings(path, sid, by, openings)
    updates = sum(1 for m in made if m["updates"] is not None)
    entry = record(
        session, "seal", by=by, inserts=rows, info={"commitments": len(rows), "updates": updates}
    )
    return entry, made, path


def sealed_text(made: Sequence[Mapping[str, Any]], openings: str) -> list[str]:
    """What `predict --sealed` prints: the commitments, where the openings are, and the openings once."""
    import json

    lines = []
    for m in made[:20]:
        update = f", replacing commitment #{m['updates']}" if m["updates"] else ""
        late = f"  [LATE: {m['late']}]" if m["late"] else ""
        lines.append(
            f"Sealed forecast on {m['question']} by {m['forecaster']}: commitment "
            f"#{m['commitment']} {m['digest'][:16]}…{update}{late}"
        )
    if len(made) > 20:
        lines.append(f"... and {len(made) - 20} more sealed forecasts")
    lines.append(
        f"Only the commitment is in the store. Openings file: {openings} (mode 0600). Back it up: "
        "without it the forecast can never be revealed; `predtrack reveal` publishes it."
    )
    lines += [
        f"Opening: {json.dumps(m['opening'], sort_keys=True, ensure_ascii=False)}"
        for m in made[:20]
    ]
    return lines


def late_reason(
    committed_at: datetime, experiment: Experiment, label: str, state: ResolutionState | None
) -> str | None:
    """Why a forecast committed at `committed_at` is late (judged by the commitment, not the reveal)."""
    if experiment.locked_at is not None and committed_at >= experiment.locked_at:
        return f"committed after {experiment.name} was locked at {iso_z(experiment.locked_at)}"
    if state is None:
        return None
    first = (state.history or [state.current])[0]
    if committed_at >= first.resolved_at:
        return f"committed after {label} was resolved"
    data_time = state.current.data_time
    if data_time is not None and committed_at > data_time:
        return f"committed after the data existed ({iso_z(data_time)})"
    return None


def _check_distribution(
    fields: Mapping[str, Any], question: Question, short: str
) -> dict[str, Any]:
    """The opening's distribution, if it is one a forecast on `question` can have."""
    dist = fields.get("distribution")
    if not isinstance(dist, dict) or question.kind not in FAMILIES.get(str(dist.get("family")), ()):
        raise ProofError(f"opening of {short}… holds no {question.kind} distribution")
    if question.kind == "categorical" and dist.get("categories") != question.categories:
        raise ProofError(f"opening of {short}… has other categories than the question")
    if not isinstance(fields.get("forecast"), str):
        raise ProofError(f"opening of {short}… holds no forecast text")
    if not isinstance(fields.get("note"), str | None):
        raise ProofError(f"opening of {short}… holds a note that is not text")
    return dist


@dataclass
class Revealed(Result):
    """What `reveal` published."""

    openings: str
    predictions: list[dict[str, Any]] = field(default_factory=list)
    already: int = 0
    uncommitted: int = 0
    elsewhere: int = 0
    head: str | None = None
    warnings: list[str] = field(default_factory=list)

    JSON: ClassVar[dict[str, str]] = {
        "openings": "openings_file",
        "predictions": "revealed",
        "already": "already_revealed",
        "uncommitted": "without_commitment",
        "elsewhere": "other_experiments",
    }

    def text(self) -> str:
        lines = []
        for p in self.predictions[:20]:
            late = f"  [LATE: {p['late_reason']}]" if p["late"] else ""
            lines.append(
                f"Revealed prediction #{p['id']} on {p['question']} by {p['forecaster']}: "
                f"{p['forecast']} (committed {iso_z(p['made_at'])}){late}"
            )
        if len(self.predictions) > 20:
            lines.append(f"... and {len(self.predictions) - 20} more")
        if not self.predictions:
            lines.append(f"Nothing to reveal in {self.openings}.")
        if self.already:
            lines.append(f"{self.already} opening(s) were revealed before.")
        if self.uncommitted:
            lines.append(
                f"{self.uncommitted} opening(s) have no commitment in this store (a sealed predict that did not complete)."
            )
        if self.head:
            lines.append(f"Ledger head {self.head}")
        return "\n".join(lines)


def reveal(
    store: Store,
    *,
    by: str,
    experiment: str | None = None,
    openings: str | Path | None = None,
    sign: bool = False,
) -> Revealed:
    """Publish the openings of `by`'s openings file (or `openings`) as predictions dated by their commitments."""
    by = check_name(by)
    with store.read() as session:
        sid = store_identity(session)
        if experiment is not None:
            queries.get_experiment(experiment, session=session)
    path = Path(openings) if openings is not None else sealed.openings_path(sid, by)
    if not path.exists():
        raise InputError(f"no openings file at {path} (give the file with --openings FILE)")
    found = sealed.read_openings(path, sid, None if openings is not None else by)

    def work(session: Session) -> Revealed:
        result = Revealed(str(path))
        by_digest = {c.digest: c for c in queries.commitments(session=session)}
        chosen: list[tuple[Commitment, sealed.Opening]] = []
        seen: set[str] = set()
        for opening in found:
            commitment = by_digest.get(opening.commitment)
            if opening.commitment in seen:
                continue
            seen.add(opening.commitment)
            if commitment is None:
                result.uncommitted += 1
            elif commitment.revealed_at is not None:
                result.already += 1
            else:
                chosen.append((commitment, opening))
        if not chosen:
            return result
        question_ids = sorted({c.question_id for c, _ in chosen})
        scope = {
            q.id: (q, name) for q, name in queries.questions(session=session, ids=question_ids)
        }
        names = {name for _, name in scope.values()}
        experiments = {
            e.name: e for e in queries.experiments(session=session).values() if e.name in names
        }
        states = queries.resolution_states(session=session, question_ids=question_ids)
        rows: list[dict[str, Any]] = []
        to_sign = []
        first_id = next_id(session, "predictions")
        salts = []
        for commitment, opening in chosen:
            question, name = scope[commitment.question_id]
            if experiment is not None and name != experiment:
                result.elsewhere += 1
                continue
            label = question.label(name)
            expect = {"question": label, "forecaster": commitment.forecaster, "kind": question.kind,
                      "time": iso_z(commitment.committed_at)}  # fmt: skip
            fields = sealed.check_opening(commitment.digest, opening, expect)
            dist = _check_distribution(fields, question, commitment.digest[:16])
            reason = late_reason(
                commitment.committed_at, experiments[name], label, states.get(question.id)
            )
            values = {
                "id": first_id + len(rows), "question_id": question.id, "forecaster": commitment.forecaster,
                "made_at": commitment.committed_at, "forecast": fields["forecast"], "distribution": dist,
                "note": fields.get("note"), "late": reason is not None, "late_reason": reason,
                "commitment_id": commitment.id,
            }  # fmt: skip
            rows.append(values)
            commitment.revealed_at = session.now
            salts.append({"commitment": commitment.id, "salt": opening.salt})
            if sign:
                from predtrack.proofs.signing import ToSign

                to_sign.append(ToSign(values, question, label))
            result.predictions.append({
                "id": values["id"], "question": label, "forecaster": commitment.forecaster,
                "forecast": values["forecast"], "distribution": dist, "made_at": commitment.committed_at,
                "late": values["late"], "late_reason": reason, "commitment": commitment.id,
            })  # fmt: skip
        if not rows:
            return result
        if to_sign:
            from predtrack.proofs.signing import sign_rows

            unsigned = sign_rows(session, by, to_sign)[1]
            result.warnings += [unsigned] if unsigned else []
        for item, values in zip(result.predictions, rows, strict=True):
            item["signed"] = values.get("signature") is not None
        revealed = [c for c, _ in chosen if c.revealed_at is not None]
        entry = record(
            session, "reveal", by=by, inserts=[("predictions", r) for r in rows],
            updates=[(c, ("revealed_at",)) for c in revealed],
            info={"openings": salts},
        )  # fmt: skip
        result.head = format_head(entry.seq, entry.hash)
        return result

    return store.write(work)


# --- checks and listings ---


def unrevealed(
    session: Session, question_ids: Iterable[int] | None = None, *, resolved_only: bool = False
) -> list[dict[str, Any]]:
    """Commitments not yet revealed (on these questions), oldest first, with their question's status."""
    wanted = None if question_ids is None else set(question_ids)
    every = [
        c for c in queries.commitments(session=session) if wanted is None or c.question_id in wanted
    ]
    rows = [c for c in every if c.revealed_at is None]
    if not rows:
        return []
    scope = {
        q.id: (q, name)
        for q, name in queries.questions(session=session, ids=sorted({c.question_id for c in rows}))
    }
    states = queries.resolution_states(session=session, question_ids=list(scope))
    latest = {(c.question_id, c.forecaster): c.id for c in every}
    out = []
    for c in rows:
        question, name = scope[c.question_id]
        status = queries.status_of(states.get(c.question_id))
        if resolved_only and status != "resolved":
            continue
        out.append({
            "forecaster": c.forecaster, "question": question.label(name), "committed_at": c.committed_at,
            "status": status, "commitment": c.id, "live": latest[(c.question_id, c.forecaster)] == c.id,
        })  # fmt: skip
    return out


def _reveal_salts(session: Session, problems: list[Problem]) -> dict[int, str]:
    """Each revealed commitment's salt, from the reveal entries of the ledger."""
    import json

    salts: dict[int, str] = {}
    for seq, payload in queries.entries_of_kind("reveal", session=session):
        try:
            items = json.loads(payload).get("info", {}).get("openings", [])
            salts.update((int(i["commitment"]), str(i["salt"])) for i in items)
        except (ValueError, TypeError, KeyError, AttributeError):
            problems.append(
                Problem(seq, "ledger", "payload", "reveal entry without readable salts")
            )
    return salts


def check_sealed(session: Session, replay: Replay, result: Any) -> None:
    """`verify`: every revealed prediction opens its commitment; list the commitments still sealed."""
    commitments = {c.id: c for c in queries.commitments(session=session)}
    problems: list[Problem] = []
    revealed = queries.revealed_predictions(session=session) if commitments else []
    salts = _reveal_salts(session, problems) if revealed else {}
    labels = (
        {q.id: (q, q.label(name)) for q, name in queries.questions(session=session)}
        if revealed
        else {}
    )
    opened: Counter[int] = Counter()
    for p in revealed:
        seq = replay.inserted_at.get(("predictions", p.id))
        question, label = labels.get(p.question_id, (None, f"question #{p.question_id}"))
        commitment = commitments.get(p.commitment_id or 0)
        reason = None
        if commitment is None:
            reason = f"its commitment #{p.commitment_id} is missing"
        elif (
            question is None
            or commitment.question_id != p.question_id
            or commitment.forecaster != p.forecaster
        ):
            reason = f"it is not the forecast committed in #{commitment.id} (another question or forecaster)"
        elif p.made_at != commitment.committed_at:
            reason = f"its time {iso_z(p.made_at)} is not its commitment's ({iso_z(commitment.committed_at)})"
        elif commitment.id not in salts:
            reason = f"no reveal entry holds the salt of commitment #{commitment.id}"
        else:
            values = {
                "forecaster": p.forecaster,
                "forecast": p.forecast,
                "distribution": p.distribution,
                "note": p.note,
            }
            payload = payload_of(label, question.kind, values, p.made_at)
            try:
                sealed.check_opening(
                    commitment.digest,
                    sealed.Opening(commitment.digest, salts[commitment.id], payload),
                )
            except ProofError as error:
                reason = f"it does not open commitment #{commitment.id}: {error}"
        if commitment is not None:
            opened[commitment.id] += 1
        if reason:
            message = f"prediction #{p.id} on {label} by {p.forecaster}: {reason}"
            problems.append(Problem(seq, "predictions", "commitment_id", message))
    for c in commitments.values():
        seq = replay.updated_at.get(
            ("commitments", c.id, "revealed_at"), replay.inserted_at.get(("commitments", c.id))
        )
        if (c.revealed_at is not None) != bool(opened[c.id]) or opened[c.id] > 1:
            state = "revealed" if c.revealed_at is not None else "not revealed"
            message = f"commitment #{c.id} by {c.forecaster} is marked {state} but has {opened[c.id]} revealed prediction(s)"
            problems.append(Problem(seq, "commitments", "revealed_at", message))
    result.problems.extend(problems)
    still = unrevealed(session) if commitments else []
    resolved = [u for u in still if u["status"] == "resolved"]
    done = sum(1 for c in commitments.values() if c.revealed_at is not None)
    updates = len(commitments) - len({(c.question_id, c.forecaster) for c in commitments.values()})
    summary = f"{len(commitments)} commitment(s), {done} revealed, {len(still)} still sealed"
    if updates:
        summary += f" ({updates} update(s) of an earlier commitment)"
    if resolved:
        listed = "; ".join(f"{u['forecaster']} on {u['question']}" for u in resolved[:10])
        summary += f"; resolved while still sealed: {listed}" + (" …" if len(resolved) > 10 else "")
    result.sections["sealed"] = {
        "committed": len(commitments),
        "revealed": done,
        "updates": updates,
        "unrevealed": still,
        "summary": summary if commitments else "",
    }
