"""The append-only hash chain and the one write path that feeds it.

Every write is one transaction that inserts its domain rows and ledger entries whose canonical
JSON payloads hold every row inserted or changed, `hash = sha256(prev ‖ payload)`. A large write
spans several entries of bounded size inside its one transaction, so no payload grows with the
input.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from predtrack.store.engine import Session
from predtrack.store.tables import (
    DOMAIN,
    Row,
    Table,
    codec,
    values_of,
)
from predtrack.store.triggers import GENESIS
from predtrack.store.types import canonical_json, iso_z

ROWS_PER_ENTRY = 5000  # rows in one ledger entry of a large write


def chain_hash(prev: str, payload: str) -> str:
    """`sha256(prev ‖ payload)` over the hex of the previous hash and the payload's UTF-8 bytes."""
    return hashlib.sha256((prev + payload).encode("utf-8")).hexdigest()


def next_id(session: Session, table: Table | type[Row] | str) -> int:
    """The next free id of a table; safe because writers hold the ledger lock."""
    name = (
        table if isinstance(table, str) else table.name if isinstance(table, Table) else table.TABLE
    )
    return int(session.scalar(f"SELECT MAX(id) FROM {name}") or 0) + 1


def head_entry(session: Session) -> tuple[int, str]:
    """(seq, hash) of the newest ledger entry, or (0, GENESIS) for an empty ledger."""
    row = session.first("SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1")
    return (0, GENESIS) if row is None else (int(row[0]), str(row[1]))


def format_head(seq: int, digest: str, *, full: bool = False) -> str:
    """`SEQ:HEX16` (or the full 64 hex digits)."""
    return f"{seq}:{digest if full else digest[:16]}"


@dataclass(frozen=True)
class Entry:
    """A ledger entry as appended."""

    seq: int
    prev: str
    kind: str
    payload: str
    hash: str

    @property
    def head(self) -> str:
        return format_head(self.seq, self.hash)


@dataclass(frozen=True)
class Batch:
    """Many rows of one table, each a tuple of every column's value in column order: how a
    bulk write passes a million rows without a dict per row."""

    table: str
    rows: Sequence[Sequence[Any]]


@dataclass(frozen=True)
class Change:
    """An update of some columns of one row, without the row object."""

    table: str
    id: int
    values: Mapping[str, Any]


# A row to insert: a row object, (table name, column values), or a Batch of tuples.
Insert = Row | tuple[str, Mapping[str, Any]] | Batch
Update = tuple[Row, Iterable[str]] | Change
SLICE = 5000  # parameter rows per executemany: bounded however large the write


def insert_rows(session: Session, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """INSERT rows (column values by name) with one executemany."""
    _insert_tuples(session, table, [tuple(r.get(n) for n in table.names) for r in rows])


def _insert_tuples(session: Session, table: Table, rows: Sequence[Sequence[Any]]) -> None:
    spec = codec(table)
    columns = ", ".join(f'"{n}"' for n in table.names)
    marks = ", ".join("?" for _ in table.names)
    sql = f"INSERT INTO {table.name} ({columns}) VALUES ({marks})"
    memo: dict[int, Any] = {}
    for start in range(0, len(rows), SLICE):
        session.executemany(sql, spec.params_many(rows[start : start + SLICE], memo))


def _grouped(inserts: Iterable[Insert]) -> dict[str, list[Sequence[Any]]]:
    """The rows to insert per table, as tuples in column order."""
    groups: dict[str, list[Sequence[Any]]] = {}
    for item in inserts:
        if isinstance(item, Batch):
            groups.setdefault(item.table, []).extend(item.rows)
            continue
        if isinstance(item, tuple):
            name, values = item
        else:
            name, values = item.TABLE, values_of(item)
        names = DOMAIN[name].names if name in DOMAIN else ()
        groups.setdefault(name, []).append(tuple(values.get(n) for n in names))
    unknown = set(groups) - set(DOMAIN)
    if unknown:
        raise ValueError(f"record() cannot insert into {sorted(unknown)}")
    return groups


def _apply_updates(session: Session, updates: Iterable[Update]) -> list[tuple[str, dict[str, Any]]]:
    """Run the UPDATEs (one executemany per table and set of columns); their ledger forms."""
    statements: dict[tuple[str, tuple[str, ...]], list[tuple[Any, ...]]] = {}
    changed: list[tuple[str, dict[str, Any]]] = []
    for item in updates:
        if isinstance(item, Change):
            name, row_id, values = item.table, item.id, item.values
            names = tuple(values)
        else:
            obj, columns = item
            name, row_id, names = obj.TABLE, obj.id, tuple(columns)  # type: ignore[attr-defined]
            values = {n: getattr(obj, n) for n in names}
        spec = codec(name)
        statements.setdefault((name, names), []).append(
            (*(spec.to_db[n](values[n]) for n in names), row_id)
        )
        changed.append(
            (
                name,
                {
                    "id": spec.to_ledger["id"](row_id),
                    **{n: spec.to_ledger[n](values[n]) for n in names},
                },
            )
        )
    for (name, names), params in statements.items():
        assignments = ", ".join(f'"{n}" = ?' for n in names)
        session.executemany(f"UPDATE {name} SET {assignments} WHERE id = ?", params)
    return changed


def record(
    session: Session,
    kind: str,
    *,
    by: str,
    inserts: Iterable[Insert] = (),
    updates: Iterable[Update] = (),
    info: Mapping[str, Any] | None = None,
) -> Entry:
    """Write domain rows and the ledger entries that describe them, in the caller's transaction.

    Parents go in before children; more than `ROWS_PER_ENTRY` inserted rows are spread over
    several entries, and the updates go with the last of them (more than `ROWS_PER_ENTRY`
    updates continue in entries of their own). Returns the last entry.
    """
    groups = _grouped(inserts)
    for name, table in DOMAIN.items():
        if groups.get(name):
            _insert_tuples(session, table, groups[name])
    changed = _apply_updates(session, updates)
    total = sum(len(rows) for rows in groups.values())
    insert_parts = max(1, -(-total // ROWS_PER_ENTRY))
    extra = max(0, len(changed) - ROWS_PER_ENTRY)
    parts = insert_parts + -(-extra // ROWS_PER_ENTRY)
    at = iso_z(session.now)

    def entry(index: int, chunk: dict[str, list[dict[str, Any]]], updated: list[Any]) -> Entry:
        body: dict[str, Any] = {"kind": kind, "at": at, "by": by}
        if session.clock not in ("local", "server"):
            body["clock"] = session.clock
        if chunk:
            body["insert"] = chunk
        if updated:
            grouped: dict[str, list[dict[str, Any]]] = {}
            for name, change in updated:
                grouped.setdefault(name, []).append(change)
            body["update"] = grouped
        details = dict(info or {})
        if parts > 1:
            details.update(part=index + 1, parts=parts)
        if details:
            body["info"] = details
        return append(session, kind, canonical_json(body), at)

    # Payloads are built one entry at a time, so a bulk write never holds them all.
    last: Entry | None = None
    index, size = 0, 0
    chunk: dict[str, list[dict[str, Any]]] = {}
    for name, table in DOMAIN.items():
        payload_of = codec(table).payload_of
        for values in groups.get(name, ()):
            if size == ROWS_PER_ENTRY:
                last = entry(index, chunk, [])
                index, size, chunk = index + 1, 0, {}
            chunk.setdefault(name, []).append(payload_of(values))
            size += 1
    last = entry(index, chunk, changed[:ROWS_PER_ENTRY])
    for start in range(ROWS_PER_ENTRY, len(changed), ROWS_PER_ENTRY):
        index += 1
        last = entry(index, {}, changed[start : start + ROWS_PER_ENTRY])
    assert last is not None and index + 1 == parts
    return last


def append(session: Session, kind: str, payload: str, at: str | None = None) -> Entry:
    """Chain one canonical payload onto the head of the ledger."""
    seq, prev = head_entry(session)
    entry = Entry(seq + 1, prev, kind, payload, chain_hash(prev, payload))
    session.execute(
        'INSERT INTO ledger (seq, prev, kind, payload, hash, "at") VALUES (?, ?, ?, ?, ?, ?)',
        (entry.seq, entry.prev, entry.kind, entry.payload, entry.hash, at),
    )
    return entry


# Verify's half (the chain replayed, every row compared) lives in predtrack.store.replay;
# these names stay importable from here.
from predtrack.store.replay import (  # noqa: E402
    Problem,
    Replay,
    compare_tables,
    parse_against,
    replay_chain,
)

__all__ = [
    "Batch", "Change", "Entry", "Problem", "Replay", "append", "chain_hash", "compare_tables",
    "format_head", "head_entry", "insert_rows", "next_id", "parse_against", "record",
    "replay_chain",
]  # fmt: skip
