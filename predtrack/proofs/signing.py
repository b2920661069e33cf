"""Signing predictions with the forecaster's registered SSH key, and checking those signatures.

The signed message is the canonical JSON of what the forecaster stated: the question (label,
title, kind), forecaster, forecast text, fitted distribution, note and time. Signing happens
inside the write transaction, after the store's clock has stamped it, so the signed time is
exactly the recorded `made_at` and the time of the ledger entry (a revealed sealed forecast
signs its commitment's time, and is signed when it is revealed).
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from predtrack.errors import InputError, ProofError
from predtrack.proofs import keyring
from predtrack.store import queries
from predtrack.store.engine import Session
from predtrack.store.ledger import Problem, Replay
from predtrack.store.tables import Commitment, Key, Prediction, Question
from predtrack.store.types import canonical_json, iso_z

MESSAGE_KIND = "predtrack-prediction-v1"


def prediction_message(
    question: Question,
    label: str,
    *,
    forecaster: str,
    forecast: str,
    distribution: Mapping[str, Any],
    note: str | None,
    time: datetime | str,
) -> bytes:
    """The exact bytes a forecaster signs for one prediction."""
    body = {
        "type": MESSAGE_KIND,
        "question": label,
        "title": question.title,
        "kind": question.kind,
        "forecaster": forecaster,
        "forecast": forecast,
        "distribution": dict(distribution),
        "note": note,
        "time": time if isinstance(time, str) else iso_z(time),
    }
    return canonical_json(body).encode("utf-8")


@dataclass
class ToSign:
    """A prediction about to be recorded (its column values) and the question it is on."""

    values: dict[str, Any]
    question: Question
    label: str

    def message(self) -> bytes:
        v = self.values
        return prediction_message(
            self.question, self.label, forecaster=v["forecaster"], forecast=v["forecast"],
            distribution=v["distribution"], note=v.get("note"), time=v["made_at"],
        )  # fmt: skip


def proof_of(
    values: dict[str, Any], question: Question, label: str, *, sealed: bool, late: str | None
) -> Any:
    """What `register` keeps of one forecast under --sign (a ToSign) or --sealed (a ToSeal)."""
    if sealed:
        from predtrack.proofs.seals import ToSeal

        return ToSeal(values, question, label, late)
    return ToSign(values, question, label)


def sign_rows(
    session: Session, signer: str, items: Sequence[ToSign]
) -> tuple[Key | None, str | None]:
    """Sign the signer's own `items` with one of their active keys (filling signature and
    key_id); the key, and a warning naming the forecasts left unsigned because they are others'."""
    mine = [item for item in items if item.values["forecaster"] == signer]
    others = Counter(
        item.values["forecaster"] for item in items if item.values["forecaster"] != signer
    )
    note = None
    if others:
        who = ", ".join(f"{n} by {name}" for name, n in sorted(others.items()))
        note = f"not signed: {who} ({signer} signs only {signer}'s own forecasts)"
    if not mine:
        return None, note
    keys = keyring.active_keys(session, signer)
    if not keys:
        raise InputError(
            f"{signer} has no registered key to sign with: "
            f"predtrack key add {signer} ~/.ssh/id_ed25519.pub"
        )
    signatures, key = _sign_with([item.message() for item in mine], keys, signer)
    for item, signature in zip(mine, signatures, strict=True):
        item.values["signature"] = signature
        item.values["key_id"] = key.id
    return key, note


def _sign_with(messages: list[bytes], keys: list[Key], signer: str) -> tuple[list[str], Key]:
    """Sign with $PREDTRACK_SSH_KEY (which must be an active key of the signer), else the agent."""
    from predtrack.proofs import sshsig

    if os.environ.get(sshsig.KEY_ENV):
        signatures = sshsig.sign_many(messages)
        used = sshsig.signature_info(signatures[0]).key
        for key in keys:
            if key.public_key == used.openssh:
                return signatures, key
        registered = ", ".join(k.fingerprint for k in keys)
        raise InputError(
            f"{sshsig.KEY_ENV} holds key {used.fingerprint}, which is not an active key of "
            f"{signer} ({registered})"
        )
    failure: InputError | None = None
    for key in keys:
        try:
            return sshsig.sign_many(messages, keyring.public_key_of(key)), key
        except InputError as error:
            failure = error
    assert failure is not None
    raise failure


# --- checking ---


def signed_time(prediction: Prediction, commitments: Mapping[int, Commitment]) -> datetime | None:
    """When the prediction was signed: its `made_at`, or for a revealed sealed one its reveal."""
    if prediction.commitment_id is None:
        return prediction.made_at
    commitment = commitments.get(prediction.commitment_id)
    return None if commitment is None else commitment.revealed_at


def signature_problem(
    prediction: Prediction,
    question: Question,
    label: str,
    keys: Mapping[int, Key],
    commitments: Mapping[int, Commitment],
    entry_at: str | None = None,
) -> str | None:
    """Why a prediction's signature does not hold, or None if it does."""
    if prediction.signature is None or prediction.key_id is None:
        return (
            "it names a signing key but has no signature"
            if prediction.signature is None
            else "it has a signature but names no key"
        )
    key = keys.get(prediction.key_id)
    if key is None:
        return f"it is signed with key #{prediction.key_id}, which is not registered"
    if key.forecaster != prediction.forecaster:
        return f"it is signed with {key.forecaster}'s key {key.fingerprint}, not a key of {prediction.forecaster}"
    when = signed_time(prediction, commitments)
    if when is None:
        return "it was revealed from a commitment that was never revealed"
    if entry_at is not None and iso_z(when) != entry_at:
        return f"its time {iso_z(when)} is not the time of its ledger entry ({entry_at})"
    if not keyring.valid_at(key, when):
        if when < key.valid_from:
            return f"it is signed with key {key.fingerprint} before that key was registered ({iso_z(key.valid_from)})"
        assert key.revoked_at is not None
        return f"it is signed with key {key.fingerprint} after that key stopped signing ({iso_z(key.revoked_at)})"
    from predtrack.proofs.sshsig import verify_signature

    message = prediction_message(
        question, label, forecaster=prediction.forecaster, forecast=prediction.forecast,
        distribution=prediction.distribution, note=prediction.note, time=prediction.made_at,
    )  # fmt: skip
    try:
        verify_signature(message, prediction.signature, keyring.public_key_of(key))
    except ProofError as error:
        return str(error)
    return None


def _labels(session: Session) -> dict[int, tuple[Question, str]]:
    return {q.id: (q, q.label(name)) for q, name in queries.questions(session=session)}


def verified_ids(session: Session, prediction_ids: Iterable[int]) -> set[int]:
    """The predictions among these whose signature holds (key, time window and signature)."""
    wanted = sorted(set(prediction_ids))
    if not wanted:
        return set()
    rows = queries.predictions_by_id(wanted, session=session)
    keys = {k.id: k for k in queries.keys(session=session)}
    commitments = {c.id: c for c in queries.commitments(session=session)}
    labels = _labels(session)
    good = set()
    for prediction in rows.values():
        question, label = labels[prediction.question_id]
        if signature_problem(prediction, question, label, keys, commitments) is None:
            good.add(prediction.id)
    return good


def check_signatures(session: Session, replay: Replay, result: Any) -> None:
    """`verify`: every signed prediction against the key registered for its forecaster at its time."""
    signed = queries.signed_predictions(session=session)
    unsigned = queries.count_unsigned(session=session)
    counts: Counter[str] = Counter()
    used: dict[str, set[str]] = defaultdict(set)
    problems: list[Problem] = []
    if signed:
        keys = {k.id: k for k in queries.keys(session=session)}
        commitments = {c.id: c for c in queries.commitments(session=session)}
        labels = _labels(session)
        seqs = {p.id: replay.inserted_at.get(("predictions", p.id)) for p in signed}
        times = queries.entry_times((s for s in seqs.values() if s is not None), session=session)
        for prediction in signed:
            seq = seqs[prediction.id]
            question, label = labels.get(
                prediction.question_id, (None, f"question #{prediction.question_id}")
            )
            if question is None:
                reason: str | None = "its question is missing"
            else:
                entry_at = times.get(seq) if seq is not None else None
                reason = signature_problem(prediction, question, label, keys, commitments, entry_at)
            if reason is None:
                counts[prediction.forecaster] += 1
                used[prediction.forecaster].add(keys[prediction.key_id or 0].fingerprint)
                continue
            message = f"prediction #{prediction.id} on {label} by {prediction.forecaster}: {reason}"
            problems.append(Problem(seq, "predictions", "signature", message))
    result.problems.extend(problems)
    total = sum(counts.values())
    if total or problems:
        who = ", ".join(f"{name} {n}" for name, n in sorted(counts.items()))
        summary = f"{total} of {total + len(problems) + unsigned} predictions signed" + (
            f" ({who})" if who else ""
        )
        summary += f"; {unsigned} unsigned" + (
            f"; {len(problems)} signature(s) FAILED" if problems else ""
        )
    else:
        summary = ""  # nothing signed: the counts are in --json, the text stays quiet
    result.sections["signatures"] = {
        "signed": dict(sorted(counts.items())),
        "unsigned": unsigned,
        "problems": [p.as_dict() for p in problems],
        "keys": {name: sorted(fps) for name, fps in sorted(used.items())},
        "summary": summary,
    }
