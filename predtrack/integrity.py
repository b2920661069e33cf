"""The ledger head to publish, and verification of the whole store."""

from __future__ import annotations

from predtrack.store.engine import Store
from predtrack.store.ledger import Verification, format_head, head_entry, verify_chain


def head(store: Store, *, full: bool = False) -> str:
    """`SEQ:HEX16` of the newest ledger entry (`0:000…` for an empty ledger)."""
    with store.read() as session:
        seq, digest = head_entry(session)
    return format_head(seq, digest, full=full)


def verify(store: Store, *, against: str | None = None) -> Verification:
    """Recompute the chain and compare every row with the ledger (DESIGN §6)."""
    with store.read() as session:
        return verify_chain(session, against=against)
