"""The ledger head to publish, and verification of the whole store."""

from __future__ import annotations

from predtrack.store.engine import Store
from predtrack.store.ledger import Problem, Verification, format_head, head_entry, verify_chain


def head(store: Store, *, full: bool = False) -> str:
    """`SEQ:HEX16` of the newest ledger entry (`0:000…` for an empty ledger)."""
    with store.read() as session:
        seq, digest = head_entry(session)
    return format_head(seq, digest, full=full)


def verify(store: Store, *, against: str | None = None, artifacts: bool = True) -> Verification:
    """Recompute the chain, compare every row with the ledger, re-hash linked files (DESIGN §6)."""
    from predtrack.resolve import check_artifacts

    with store.read() as session:
        result = verify_chain(session, against=against)
        if artifacts:
            check = check_artifacts(session)
            for artifact, digest in check.changed:
                used = check.used_by.get(artifact.id)
                resolved = f"; it resolved {', '.join(sorted(set(used)))}" if used else ""
                result.problems.append(
                    Problem(
                        result.inserted_by.get(("artifacts", artifact.id)),
                        "artifacts",
                        "sha256",
                        f"{artifact.path} changed since it was recorded: sha256 was "
                        f"{(artifact.sha256 or '')[:16]}…, now {digest[:16]}…{resolved}",
                    )
                )
            for artifact in check.missing:
                result.warnings.append(f"artifact {artifact.path} is missing (cannot re-hash it)")
    return result
