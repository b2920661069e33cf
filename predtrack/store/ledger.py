"""The append-only hash chain, the one write path that feeds it, and its verification."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, Integer, Table, func, select, text
from sqlmodel import Session, SQLModel

from predtrack.errors import InputError
from predtrack.store.models import DOMAIN_TABLES, LedgerEntry
from predtrack.store.types import UTCDateTime, canonical_json, iso_z

GENESIS = "0" * 64
TRIGGERS = ("ledger_no_update", "ledger_no_delete")


def chain_hash(prev: str, payload: str) -> str:
    """`sha256(prev ‖ payload)` over the hex of the previous hash and the payload's UTF-8 bytes."""
    return hashlib.sha256((prev + payload).encode("utf-8")).hexdigest()


def table_of(model: type[SQLModel]) -> Table:
    """The SQLAlchemy table behind a SQLModel class."""
    table = model.__table__  # type: ignore[attr-defined]
    assert isinstance(table, Table)
    return table


def row_payload(table: Table, values: Mapping[str, Any]) -> dict[str, Any]:
    """A row in its ledger form: times as `...Z` text, floats as floats, JSON columns as JSON."""
    out: dict[str, Any] = {}
    for column in table.columns:
        value = values.get(column.name)
        if value is not None:
            if isinstance(column.type, UTCDateTime):
                value = iso_z(value)
            elif isinstance(column.type, Boolean):
                value = bool(value)
            elif isinstance(column.type, Float):
                value = float(value)
            elif isinstance(column.type, Integer):
                value = int(value)
        out[column.name] = value
    return out


def object_payload(obj: SQLModel) -> dict[str, Any]:
    """The ledger form of an ORM object."""
    table = table_of(type(obj))
    return row_payload(table, {c.name: getattr(obj, c.name) for c in table.columns})


def next_id(session: Session, model: type[SQLModel]) -> int:
    """The next free id; safe because writers hold the ledger lock."""
    table = table_of(model)
    current = session.execute(select(func.max(table.c.id))).scalar()
    return int(current or 0) + 1


def head_entry(session: Session) -> tuple[int, str]:
    """(seq, hash) of the newest ledger entry, or (0, GENESIS) for an empty ledger."""
    row = session.execute(
        select(LedgerEntry.seq, LedgerEntry.hash).order_by(LedgerEntry.seq.desc()).limit(1)  # type: ignore[attr-defined]
    ).first()
    if row is None:
        return 0, GENESIS
    return int(row[0]), str(row[1])


def format_head(seq: int, digest: str, *, full: bool = False) -> str:
    """`SEQ:HEX16` (or the full 64 hex digits)."""
    return f"{seq}:{digest if full else digest[:16]}"


def record(
    session: Session,
    kind: str,
    *,
    at: datetime,
    by: str,
    inserts: Iterable[SQLModel] = (),
    updates: Iterable[tuple[SQLModel, Iterable[str]]] = (),
    info: Mapping[str, Any] | None = None,
) -> LedgerEntry:
    """Write domain rows and the one ledger entry that describes them, in the caller's transaction."""
    inserted: dict[str, list[dict[str, Any]]] = {}
    groups: dict[str, list[SQLModel]] = {}
    for obj in inserts:
        groups.setdefault(table_of(type(obj)).name, []).append(obj)
    # Without relationship() the unit of work does not order tables by foreign key:
    # flush parents before children.
    for name in [*DOMAIN_TABLES, *(g for g in groups if g not in DOMAIN_TABLES)]:
        if name in groups:
            session.add_all(groups[name])
            session.flush()
            inserted[name] = [object_payload(obj) for obj in groups[name]]
    updated: dict[str, list[dict[str, Any]]] = {}
    for obj, fields in updates:
        session.add(obj)
        full = object_payload(obj)
        change = {"id": full["id"], **{name: full[name] for name in fields}}
        updated.setdefault(table_of(type(obj)).name, []).append(change)
    body: dict[str, Any] = {"kind": kind, "at": iso_z(at), "by": by}
    if inserted:
        body["insert"] = inserted
    if updated:
        body["update"] = updated
    if info:
        body["info"] = dict(info)
    return append(session, kind, canonical_json(body))


def append(session: Session, kind: str, payload: str) -> LedgerEntry:
    """Chain one canonical payload onto the head of the ledger."""
    seq, prev = head_entry(session)
    entry = LedgerEntry(
        seq=seq + 1, prev=prev, kind=kind, payload=payload, hash=chain_hash(prev, payload)
    )
    session.add(entry)
    session.flush()
    return entry


@dataclass
class Problem:
    """One discrepancy found by verify."""

    seq: int | None
    table: str
    field: str | None
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "table": self.table, "field": self.field, "message": self.message}


@dataclass
class Verification:
    """The result of `verify`."""

    entries: int
    head: str | None
    head_full: str | None
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    inserted_by: dict[tuple[str, int], int] = field(default_factory=dict, repr=False)

    @property
    def ok(self) -> bool:
        return not self.problems


def parse_against(value: str) -> tuple[int, str]:
    """Parse a published digest `SEQ:HEX` (at least 8 hex digits)."""
    seq_text, sep, digest = value.strip().partition(":")
    digest = digest.lower()
    if (
        not sep
        or not seq_text.isdigit()
        or len(digest) < 8
        or any(c not in "0123456789abcdef" for c in digest)
    ):
        raise InputError(f"--against {value!r}: expected SEQ:HEX as printed by `predtrack head`")
    return int(seq_text), digest


def _short(value: Any) -> str:
    text_value = json.dumps(value, ensure_ascii=False, default=str)
    return text_value if len(text_value) <= 60 else text_value[:57] + "..."


def verify_chain(session: Session, *, against: str | None = None) -> Verification:
    """Recompute the chain, replay it, and compare every domain row with its ledger payload."""
    target = parse_against(against) if against else None
    problems: list[Problem] = []
    rows = session.execute(
        select(
            LedgerEntry.seq,
            LedgerEntry.prev,
            LedgerEntry.kind,
            LedgerEntry.payload,
            LedgerEntry.hash,
        ).order_by(LedgerEntry.seq)  # type: ignore[call-overload]  # type: ignore[arg-type]
    ).all()
    expected: dict[str, dict[int, dict[str, Any]]] = {name: {} for name in DOMAIN_TABLES}
    origin: dict[tuple[str, int, str], int] = {}
    prev_hash, prev_seq = GENESIS, 0
    for seq, prev, kind, payload, digest in rows:
        if seq != prev_seq + 1:
            problems.append(
                Problem(
                    seq,
                    "ledger",
                    "seq",
                    f"expected seq {prev_seq + 1}, found {seq}: entries missing or reordered",
                )
            )
        if prev != prev_hash:
            problems.append(
                Problem(
                    seq, "ledger", "prev", "prev does not match the hash of the entry before it"
                )
            )
        if chain_hash(prev, payload) != digest:
            problems.append(
                Problem(seq, "ledger", "hash", "hash does not match sha256(prev ‖ payload)")
            )
        prev_hash, prev_seq = digest, seq
        try:
            body = json.loads(payload)
        except ValueError:
            problems.append(Problem(seq, "ledger", "payload", "payload is not valid JSON"))
            continue
        if body.get("kind") != kind:
            problems.append(
                Problem(
                    seq,
                    "ledger",
                    "kind",
                    f"kind {kind!r} differs from the payload's {body.get('kind')!r}",
                )
            )
        for table_name, new_rows in body.get("insert", {}).items():
            bucket = expected.setdefault(table_name, {})
            for row in new_rows:
                if row["id"] in bucket:
                    problems.append(
                        Problem(seq, table_name, "id", f"id={row['id']} inserted twice")
                    )
                bucket[row["id"]] = dict(row)
                for name in row:
                    origin[(table_name, row["id"], name)] = seq
        for table_name, changes in body.get("update", {}).items():
            bucket = expected.setdefault(table_name, {})
            for change in changes:
                target_row = bucket.get(change["id"])
                if target_row is None:
                    problems.append(
                        Problem(
                            seq,
                            table_name,
                            "id",
                            f"update of id={change['id']}, which no entry inserted",
                        )
                    )
                    continue
                target_row.update(change)
                for name in change:
                    origin[(table_name, change["id"], name)] = seq

    for table_name, model in DOMAIN_TABLES.items():
        table = table_of(model)
        wanted = expected.get(table_name, {})
        seen: set[int] = set()
        for stored in session.execute(select(table)).mappings():
            actual = row_payload(table, stored)
            row_id = actual["id"]
            seen.add(row_id)
            want = wanted.get(row_id)
            if want is None:
                problems.append(Problem(None, table_name, None, f"id={row_id} has no ledger entry"))
                continue
            for name, value in actual.items():
                # Compare types too: 1 and True, or "1" and 1, are different stored values.
                if want.get(name) != value or type(want.get(name)) is not type(value):
                    problems.append(
                        Problem(
                            origin.get((table_name, row_id, name)),
                            table_name,
                            name,
                            f"id={row_id}: stored {_short(value)}, ledger says {_short(want.get(name))}",
                        )
                    )
        for row_id in sorted(set(wanted) - seen):
            problems.append(
                Problem(
                    origin.get((table_name, row_id, "id")),
                    table_name,
                    None,
                    f"id={row_id} is missing",
                )
            )

    for name in TRIGGERS:
        if not _trigger_exists(session, name):
            problems.append(Problem(None, "ledger", None, f"append-only trigger {name} is missing"))

    head = format_head(prev_seq, prev_hash) if rows else None
    result = Verification(
        entries=len(rows),
        head=head,
        head_full=format_head(prev_seq, prev_hash, full=True) if rows else None,
        problems=problems,
        inserted_by={(t, i): seq for (t, i, name), seq in origin.items() if name == "id"},
    )
    if target is not None:
        seq, digest = target
        found = next((r for r in rows if r[0] == seq), None)
        if found is None:
            problems.append(
                Problem(
                    seq,
                    "ledger",
                    "seq",
                    f"the ledger has no entry {seq} (published digest {against})",
                )
            )
        elif not str(found[4]).startswith(digest):
            problems.append(
                Problem(
                    seq,
                    "ledger",
                    "hash",
                    f"entry {seq} is {found[4][:16]}, not the published {digest[:16]}: history was rewritten",
                )
            )
    return result


def _trigger_exists(session: Session, name: str) -> bool:
    bind = session.get_bind()
    if bind.dialect.name == "sqlite":
        sql = "SELECT 1 FROM sqlite_master WHERE type='trigger' AND name=:name"
    else:
        sql = "SELECT 1 FROM pg_trigger WHERE tgname=:name AND NOT tgisinternal"
    return session.execute(text(sql), {"name": name}).first() is not None
