"""The ledger head to publish, and `verify`: chain, rows, guards, evidence files, proofs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from predtrack.paths import from_stored, study_root
from predtrack.store import queries, triggers
from predtrack.store.engine import Session, Store
from predtrack.store.ledger import format_head, head_entry
from predtrack.store.replay import (
    Problem,
    Replay,
    compare_tables,
    parse_against,
    replay_chain,
)
from predtrack.store.triggers import GENESIS

# Extra checks run inside verify's read transaction (signatures, anchors, sealed forecasts):
# each gets the session, the replay and the result, and adds its problems and its section.
Check = Callable[[Session, Replay, "Verification"], None]
CHECKS: list[Check] = []


def register_check(check: Check) -> Check:
    """Add a check to every `verify` (a decorator)."""
    CHECKS.append(check)
    return check


def head(store: Store, *, full: bool = False) -> str:
    """`SEQ:HEX16` of the newest ledger entry (`0:000…` for an empty ledger)."""
    with store.read() as session:
        seq, digest = head_entry(session)
    return format_head(seq, digest, full=full)


@dataclass
class Verification:
    """The result of `verify`."""

    entries: int
    head: str | None
    head_full: str | None
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    superseded: list[str] = field(default_factory=list)
    against: str | None = None
    sections: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)  # for the checks: tsa_ca, git

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "head": self.head,
            "problems": [p.as_dict() for p in self.problems],
            "warnings": self.warnings,
            "superseded": self.superseded,
            **self.sections,
        }

    def text(self) -> str:
        from predtrack.render import verification_text

        return verification_text(self)

    def _repr_html_(self) -> str:
        from predtrack.notebook import verification_html

        return verification_html(self)


def verify(
    store: Store,
    *,
    against: str | None = None,
    artifacts: bool = True,
    tsa_ca: str | Path | None = None,
    git: str | Path | None = None,
) -> Verification:
    """Recompute the chain, compare every row with the ledger, check the guards, the files and
    the proofs (timestamp tokens against the CA file `tsa_ca`, git anchors in the repository `git`)."""
    target = parse_against(against) if against else None
    with store.read() as session:
        return examine(
            session,
            target=target,
            against=against,
            root=study_root(store.path) if artifacts else None,
            artifacts=artifacts,
            options={"tsa_ca": tsa_ca, "git": git},
        )


def examine(
    session: Session,
    *,
    target: tuple[int, str] | None = None,
    against: str | None = None,
    root: Path | None = None,
    artifacts: bool = False,
    options: dict[str, Any] | None = None,
) -> Verification:
    """Every check of `verify` in an open transaction (verify's read, or import's write)."""
    import predtrack.proofs.checks  # noqa: F401  (registers the signature, anchor and sealed checks)
    from predtrack.memory import without_gc
    from predtrack.store.checks import Bad, Checker

    problems: list[Problem] = []
    checker = Checker()

    def check(seq: int, body: dict[str, Any], _state: Replay) -> None:
        try:
            checker.entry(body)
        except Bad as bad:
            problems.append(Problem(seq, bad.table, bad.field, bad.message))

    # No cyclic GC while the chain is replayed: it makes no cycles, and each collection would
    # walk the rows checked so far (a million on a large store).
    with without_gc(True):
        state = replay_chain(session, problems, check)
        compare_tables(session, state, problems)
    problems += [Problem(None, "ledger", None, message) for message in triggers.problems(session)]
    seq, digest = state.head
    result = Verification(
        entries=state.entries,
        head=format_head(seq, digest) if state.entries else None,
        head_full=format_head(seq, digest, full=True) if state.entries else None,
        problems=problems,
        against=against,
        options=options or {"tsa_ca": None, "git": None},
    )
    if target is not None:
        _check_against(target, against or "", state, problems)
    if artifacts:
        _check_files(session, root, state, result)
    for extra in CHECKS:
        extra(session, state, result)
    return result


def _check_against(
    target: tuple[int, str], against: str, state: Replay, problems: list[Problem]
) -> None:
    seq, digest = target
    if seq == 0:
        if not GENESIS.startswith(digest):
            problems.append(
                Problem(0, "ledger", "hash", f"the empty head is 0:{GENESIS[:16]}, not {against}")
            )
        return
    found = state.hashes.get(seq)
    if found is None:
        problems.append(
            Problem(
                seq, "ledger", "seq", f"the ledger has no entry {seq} (published digest {against})"
            )
        )
    elif not found.startswith(digest):
        problems.append(
            Problem(
                seq,
                "ledger",
                "hash",
                f"entry {seq} is {found[:16]}, not the published {digest[:16]}: history was rewritten",
            )
        )


def _check_files(session: Session, root: Path | None, state: Replay, result: Verification) -> None:
    """Re-hash every recorded file; a changed one is a problem unless it was superseded."""
    import hashlib

    all_artifacts = queries.artifacts(session=session)
    changed = []
    for artifact in all_artifacts:
        if artifact.is_uri:
            continue
        path = from_stored(artifact.path, root, artifact.path_hint)
        try:
            if not path.is_file():
                raise FileNotFoundError
            # sha256 of the bytes, as the rules recorded it (without importing the rules:
            # `verify` on a small store must start fast)
            with path.open("rb") as handle:
                digest = hashlib.file_digest(handle, "sha256").hexdigest()
        except OSError:
            result.warnings.append(f"artifact {artifact.path} is missing (cannot re-hash it)")
            continue
        if digest != artifact.sha256:
            changed.append((artifact, digest))
    if not changed:
        return  # the usual case: no need to read who used which file
    replaced = {a.supersedes for a in all_artifacts if a.supersedes is not None}
    users = queries.artifact_users(session=session)
    states = queries.resolution_states(session=session)
    current = {s.current.id for s in states.values()}
    labels = {q.id: q.label(name) for q, name in queries.questions(session=session)}
    for artifact, digest in changed:
        using = users.get(artifact.id, [])
        live = sorted({labels.get(q, f"#{q}") for q, r in using if r.id in current})
        if not live and (artifact.id in replaced or using):
            result.superseded.append(
                f"{artifact.path} changed since it was recorded (sha256 {(artifact.sha256 or '')[:16]}…); "
                "its evidence was superseded by a re-run or a re-link"
            )
            continue
        resolved = f"; it resolved {', '.join(live)}" if live else ""
        if live and artifact.id in replaced:
            resolved += " (re-run them with `predtrack resolve KEY --rerun --correct REASON`)"
        result.problems.append(
            Problem(
                state.inserted_at.get(("artifacts", artifact.id)),
                "artifacts",
                "sha256",
                f"{artifact.path} changed since it was recorded: sha256 was "
                f"{(artifact.sha256 or '')[:16]}…, now {digest[:16]}…{resolved}",
            )
        )
