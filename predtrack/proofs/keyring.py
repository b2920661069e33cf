"""Forecasters' registered SSH keys: add, rotate, revoke and list them, and which key was valid when.

A key is valid from the entry that registered it until the entry that rotated or revoked it:
`valid_from <= t < revoked_at` in the store's clock. Each change is one ledger entry, so the
history of who could sign, and from when, is as tamper-evident as the forecasts themselves.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from predtrack.errors import InputError, NotFoundError
from predtrack.proofs.keys import PublicKey, parse_public_key, read_public_keys
from predtrack.store import queries
from predtrack.store.engine import Session, Store
from predtrack.store.ledger import format_head, next_id, record
from predtrack.store.tables import Key
from predtrack.validate import check_name


def public_key_of(row: Key) -> PublicKey:
    """A stored key row as a PublicKey."""
    return parse_public_key(row.public_key, where=f"registered key #{row.id}")


def valid_at(row: Key, when: datetime) -> bool:
    """Whether the key could sign at `when`: registered at or before it, not yet rotated or revoked."""
    return row.valid_from <= when and (row.revoked_at is None or when < row.revoked_at)


def status(row: Key, rows: Sequence[Key]) -> str:
    """`active`, `rotated` (a newer key took over) or `revoked`."""
    if row.revoked_at is None:
        return "active"
    rotated = any(
        k.forecaster == row.forecaster
        and k.supersedes is not None
        and k.valid_from == row.revoked_at
        for k in rows
    )
    return "rotated" if rotated else "revoked"


def active_keys(session: Session, forecaster: str) -> list[Key]:
    """A forecaster's keys that sign from now on, newest first."""
    return [
        k
        for k in reversed(queries.keys(session=session, forecaster=forecaster))
        if k.revoked_at is None
    ]


def read_key_argument(value: str | os.PathLike[str]) -> PublicKey:
    """PUBKEY of `key add`/`key rotate`: a `.pub` file holding one key, or the key line itself."""
    text = os.fspath(value)
    if text.strip().startswith(("ssh-", "ecdsa-")) and not os.path.exists(text):
        return parse_public_key(text, where="the public key")
    found = read_public_keys(text)
    if len(found) > 1:
        raise InputError(
            f"{text} holds {len(found)} keys: give one key, or register them all with --github-keys"
        )
    return found[0]


@dataclass
class KeyChange:
    """What `key add`, `key rotate` or `key revoke` wrote."""

    action: str
    forecaster: str
    added: list[Key] = field(default_factory=list)
    ended: list[Key] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    head: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "forecaster": self.forecaster,
            "added": [_key_dict(k) for k in self.added],
            "ended": [_key_dict(k) for k in self.ended],
            "already_registered": self.unchanged,
            "head": self.head,
        }

    def text(self) -> str:
        lines = [f"Registered {k.fingerprint} for {self.forecaster}" for k in self.added]
        verb = "Rotated out" if self.action == "rotate" else "Revoked"
        lines += [
            f"{verb} {k.fingerprint} of {self.forecaster}: it signs nothing from now on"
            for k in self.ended
        ]
        lines += [f"Already registered for {self.forecaster}: {fp}" for fp in self.unchanged]
        if self.head:
            lines.append(f"Ledger head {self.head}")
        else:
            lines.append("Nothing to change.")
        return "\n".join(lines)


def _key_dict(row: Key, rows: Sequence[Key] = ()) -> dict[str, Any]:
    key = public_key_of(row)
    out = {
        "id": row.id,
        "forecaster": row.forecaster,
        "fingerprint": row.fingerprint,
        "type": key.algorithm,
        "bits": key.bits,
        "valid_from": row.valid_from,
        "until": row.revoked_at,
        "added_by": row.added_by,
        "supersedes": row.supersedes,
    }
    if rows:
        out["status"] = status(row, rows)
    return out


def _new_row(
    session: Session,
    key: PublicKey,
    forecaster: str,
    by: str,
    offset: int,
    supersedes: int | None = None,
) -> Key:
    return Key(
        id=next_id(session, "keys") + offset,
        forecaster=forecaster,
        public_key=key.openssh,
        fingerprint=key.fingerprint,
        valid_from=session.now,
        added_at=session.now,
        added_by=by,
        supersedes=supersedes,
    )


def _refuse_reuse(key: PublicKey, rows: Sequence[Key], forecaster: str) -> bool:
    """True if `key` is already an active key of `forecaster`; InputError if it cannot be registered."""
    for row in rows:
        if row.public_key != key.openssh:
            continue
        if row.revoked_at is None and row.forecaster == forecaster:
            return True
        if row.revoked_at is None:
            raise InputError(
                f"key {key.fingerprint} is registered for {row.forecaster}: one key signs for one forecaster"
            )
        raise InputError(
            f"key {key.fingerprint} was {status(row, rows)} for {row.forecaster}; a key that "
            "stopped signing cannot be registered again (make a new one with ssh-keygen)"
        )
    return False


def add_keys(store: Store, forecaster: str, keys: Sequence[PublicKey], *, by: str) -> KeyChange:
    """Register keys for a forecaster (they sign from now on, beside any active key)."""
    forecaster, by = check_name(forecaster), check_name(by)
    if not keys:
        raise InputError("no public key given")

    def work(session: Session) -> KeyChange:
        rows = queries.keys(session=session)
        change = KeyChange("add", forecaster)
        for key in keys:
            if key.openssh in {k.public_key for k in change.added}:
                continue
            if _refuse_reuse(key, rows, forecaster):
                change.unchanged.append(key.fingerprint)
            else:
                change.added.append(_new_row(session, key, forecaster, by, len(change.added)))
        if change.added:
            entry = record(session, "key-add", by=by, inserts=change.added)
            change.head = format_head(entry.seq, entry.hash)
        return change

    return store.write(work)


def rotate_key(store: Store, forecaster: str, key: PublicKey, *, by: str) -> KeyChange:
    """Replace a forecaster's active keys by `key`: old signatures stay valid, the old keys sign nothing new."""
    forecaster, by = check_name(forecaster), check_name(by)

    def work(session: Session) -> KeyChange:
        rows = queries.keys(session=session)
        old = active_keys(session, forecaster)
        if not old:
            raise NotFoundError(
                f"{forecaster} has no active key to rotate: use `predtrack key add`"
            )
        if _refuse_reuse(key, rows, forecaster):
            raise InputError(f"key {key.fingerprint} is already {forecaster}'s active key")
        new = _new_row(session, key, forecaster, by, 0, supersedes=old[0].id)
        for row in old:
            row.revoked_at = session.now
        entry = record(
            session,
            "key-rotate",
            by=by,
            inserts=[new],
            updates=[(row, ("revoked_at",)) for row in old],
        )
        return KeyChange("rotate", forecaster, [new], old, head=format_head(entry.seq, entry.hash))

    return store.write(work)


def revoke_keys(
    store: Store, forecaster: str, *, by: str, fingerprint: str | None = None
) -> KeyChange:
    """Revoke a forecaster's active keys (or the one with `fingerprint`): they sign nothing from now on."""
    forecaster, by = check_name(forecaster), check_name(by)

    def work(session: Session) -> KeyChange:
        old = active_keys(session, forecaster)
        if fingerprint is not None:
            old = [k for k in old if k.fingerprint == fingerprint]
        if not old:
            which = f" with fingerprint {fingerprint}" if fingerprint else ""
            raise NotFoundError(f"{forecaster} has no active key{which} to revoke")
        for row in old:
            row.revoked_at = session.now
        entry = record(
            session, "key-revoke", by=by, updates=[(row, ("revoked_at",)) for row in old]
        )
        return KeyChange("revoke", forecaster, ended=old, head=format_head(entry.seq, entry.hash))

    return store.write(work)


@dataclass
class KeyList:
    """`key list`: every registered key with its validity."""

    rows: list[dict[str, Any]]

    def as_dict(self) -> list[dict[str, Any]]:
        return self.rows

    def text(self) -> str:
        from predtrack.output import local_time, table

        if not self.rows:
            return (
                "No keys registered. Add one with `predtrack key add NAME ~/.ssh/id_ed25519.pub`."
            )
        body = [
            [r["forecaster"], r["status"], r["fingerprint"], f"{r['type']} {r['bits']}",
             local_time(r["valid_from"]), local_time(r["until"])]
            for r in self.rows
        ]  # fmt: skip
        return table(["forecaster", "status", "fingerprint", "type", "valid from", "until"], body)


def list_keys(store: Store, *, forecaster: str | None = None) -> KeyList:
    """Every registered key (or one forecaster's), oldest first."""
    with store.read() as session:
        rows = queries.keys(session=session)
    chosen = [k for k in rows if forecaster is None or k.forecaster == forecaster]
    return KeyList([_key_dict(k, rows) for k in chosen])
