"""The append-only hash chain, the one write path that feeds it, and its verification."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, Integer, Table, Text, func, insert, select, text, type_coerce
from sqlmodel import Session, SQLModel, col

from predtrack.errors import InputError
from predtrack.store.models import DOMAIN_TABLES, LedgerEntry
from predtrack.store.types import JSONText, UTCDateTime, canonical_json, iso_z

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
        select(col(LedgerEntry.seq), col(LedgerEntry.hash))
        .order_by(col(LedgerEntry.seq).desc())
        .limit(1)
    ).first()
    if row is None:
        return 0, GENESIS
    return int(row[0]), str(row[1])


def format_head(seq: int, digest: str, *, full: bool = False) -> str:
    """`SEQ:HEX16` (or the full 64 hex digits)."""
    return f"{seq}:{digest if full else digest[:16]}"


Row = tuple[type[SQLModel], dict[str, Any]]


def record(
    session: Session,
    kind: str,
    *,
    at: datetime,
    by: str,
    inserts: Iterable[SQLModel | Row] = (),
    updates: Iterable[tuple[SQLModel, Iterable[str]]] = (),
    info: Mapping[str, Any] | None = None,
) -> LedgerEntry:
    """Write domain rows and the one ledger entry that describes them, in the caller's transaction.

    Inserts are ORM objects or `(Model, values)` pairs; both go in with one executemany per
    table (bulk files insert 100,000 rows), parents before children.
    """
    groups: dict[str, list[dict[str, Any]]] = {}
    for item in inserts:
        if isinstance(item, tuple):
            model, values = item
        else:
            model = type(item)
            values = {c.name: getattr(item, c.name) for c in table_of(model).columns}
        groups.setdefault(table_of(model).name, []).append(values)
    tables = {table_of(model).name: table_of(model) for model in DOMAIN_TABLES.values()}
    inserted: dict[str, list[dict[str, Any]]] = {}
    for name in DOMAIN_TABLES:
        if name in groups:
            table = tables[name]
            rows = [{c.name: values.get(c.name) for c in table.columns} for values in groups[name]]
            session.execute(insert(table), rows)
            inserted[name] = [row_payload(table, row) for row in rows]
    unknown = set(groups) - set(DOMAIN_TABLES)
    if unknown:
        raise ValueError(f"record() cannot insert into {sorted(unknown)}")
    updated: dict[str, list[dict[str, Any]]] = {}
    for obj, fields in updates:
        session.add(obj)
        full = object_payload(obj)
        change = {"id": full["id"], **{name: full[name] for name in fields}}
        updated.setdefault(table_of(type(obj)).name, []).append(change)
    session.flush()
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
            col(LedgerEntry.seq),
            col(LedgerEntry.prev),
            col(LedgerEntry.kind),
            col(LedgerEntry.payload),
            col(LedgerEntry.hash),
        ).order_by(col(LedgerEntry.seq))
    ).all()
    expected: dict[str, dict[int, dict[str, Any]]] = {name: {} for name in DOMAIN_TABLES}
    inserted_at: dict[tuple[str, int], int] = {}
    updated_at: dict[tuple[str, int, str], int] = {}
    prev_hash, prev_seq = GENESIS, 0
    for seq, prev, kind, payload, digest in rows:
        if seq != prev_seq + 1:
            message = f"expected seq {prev_seq + 1}, found {seq}: entries missing or reordered"
            problems.append(Problem(seq, "ledger", "seq", message))
        if prev != prev_hash:
            message = "prev does not match the hash of the entry before it"
            problems.append(Problem(seq, "ledger", "prev", message))
        if chain_hash(prev, payload) != digest:
            message = "hash does not match sha256(prev ‖ payload)"
            problems.append(Problem(seq, "ledger", "hash", message))
        prev_hash, prev_seq = digest, seq
        try:
            body = json.loads(payload)
        except ValueError:
            problems.append(Problem(seq, "ledger", "payload", "payload is not valid JSON"))
            continue
        if body.get("kind") != kind:
            message = f"kind {kind!r} differs from the payload's {body.get('kind')!r}"
            problems.append(Problem(seq, "ledger", "kind", message))
        _replay(seq, body, expected, inserted_at, updated_at, problems)

    for table_name, model in DOMAIN_TABLES.items():
        _compare_table(
            session,
            table_of(model),
            expected.get(table_name, {}),
            inserted_at,
            updated_at,
            problems,
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
        inserted_by=inserted_at,
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


def _replay(
    seq: int,
    body: dict[str, Any],
    expected: dict[str, dict[int, dict[str, Any]]],
    inserted_at: dict[tuple[str, int], int],
    updated_at: dict[tuple[str, int, str], int],
    problems: list[Problem],
) -> None:
    """Apply one ledger entry's inserts and updates to the expected state of every table."""
    for table_name, new_rows in body.get("insert", {}).items():
        bucket = expected.setdefault(table_name, {})
        for row in new_rows:
            if row["id"] in bucket:
                problems.append(Problem(seq, table_name, "id", f"id={row['id']} inserted twice"))
            bucket[row["id"]] = dict(row)
            inserted_at[(table_name, row["id"])] = seq
    for table_name, changes in body.get("update", {}).items():
        bucket = expected.setdefault(table_name, {})
        for change in changes:
            target_row = bucket.get(change["id"])
            if target_row is None:
                message = f"update of id={change['id']}, which no entry inserted"
                problems.append(Problem(seq, table_name, "id", message))
                continue
            target_row.update(change)
            for name in change:
                updated_at[(table_name, change["id"], name)] = seq


def _storage_form(column: Any) -> Callable[[Any], Any]:
    """How a ledger value looks as stored in this column (times are stored as given)."""
    if isinstance(column.type, JSONText):
        return lambda v: None if v is None else canonical_json(v)
    return lambda v: v


def _compare_table(
    session: Session,
    table: Table,
    wanted: dict[int, dict[str, Any]],
    inserted_at: dict[tuple[str, int], int],
    updated_at: dict[tuple[str, int, str], int],
    problems: list[Problem],
) -> None:
    """Compare every stored row, in its raw stored form, with what the ledger says."""
    columns = list(table.columns)
    # Raw text for times and JSON: no parsing of 100,000 rows, and byte-exact comparison.
    selected = [
        type_coerce(c, Text) if isinstance(c.type, UTCDateTime | JSONText) else c for c in columns
    ]
    forms = [_storage_form(c) for c in columns]
    names = [c.name for c in columns]
    seen: set[int] = set()
    for stored in session.execute(select(*selected)):
        row_id = stored[0]
        seen.add(row_id)
        want = wanted.get(row_id)
        if want is None:
            problems.append(Problem(None, table.name, None, f"id={row_id} has no ledger entry"))
            continue
        for name, form, value in zip(names, forms, stored, strict=True):
            expected_value = form(want.get(name))
            # Compare types too: 1 and True, or "1" and 1, are different stored values.
            if value != expected_value or type(value) is not type(expected_value):
                if (
                    isinstance(value, bool | int)
                    and isinstance(expected_value, bool)
                    and bool(value) == expected_value
                ):
                    continue  # a driver handing back 0/1 for a boolean column
                if (
                    isinstance(value, int | float)
                    and not isinstance(value, bool)
                    and isinstance(expected_value, float)
                    and float(value) == expected_value
                ):
                    continue  # REAL columns may hand back an integral float as int
                seq = updated_at.get(
                    (table.name, row_id, name), inserted_at.get((table.name, row_id))
                )
                message = (
                    f"id={row_id}: stored {_short(value)}, ledger says {_short(want.get(name))}"
                )
                problems.append(Problem(seq, table.name, name, message))
    for row_id in sorted(set(wanted) - seen):
        seq = inserted_at.get((table.name, row_id))
        problems.append(Problem(seq, table.name, None, f"id={row_id} is missing"))


def _trigger_exists(session: Session, name: str) -> bool:
    bind = session.get_bind()
    if bind.dialect.name == "sqlite":
        sql = "SELECT 1 FROM sqlite_master WHERE type='trigger' AND name=:name"
    else:
        sql = "SELECT 1 FROM pg_trigger WHERE tgname=:name AND NOT tgisinternal"
    return session.execute(text(sql), {"name": name}).first() is not None
