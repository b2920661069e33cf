"""The append-only hash chain: the one write path that feeds it, and its replay by `verify`.

Every write is one transaction that inserts its domain rows and ledger entries whose canonical
JSON payloads hold every row inserted or changed, `hash = sha256(prev ‖ payload)`. A large write
spans several entries of bounded size inside its one transaction, so no payload grows with the
input.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from predtrack.errors import InputError
from predtrack.store.engine import Session
from predtrack.store.tables import DOMAIN, JSON, Row, Table, codec, table_of, values_of
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


# A row to insert: a row object, or (table name, column values) for bulk inserts.
Insert = Row | tuple[str, Mapping[str, Any]]


def insert_rows(session: Session, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """INSERT rows (column values by name) with one executemany."""
    spec = codec(table)
    columns = ", ".join(f'"{n}"' for n in table.names)
    marks = ", ".join("?" for _ in table.names)
    session.executemany(
        f"INSERT INTO {table.name} ({columns}) VALUES ({marks})", [spec.params(r) for r in rows]
    )


def record(
    session: Session,
    kind: str,
    *,
    by: str,
    inserts: Iterable[Insert] = (),
    updates: Iterable[tuple[Row, Iterable[str]]] = (),
    info: Mapping[str, Any] | None = None,
) -> Entry:
    """Write domain rows and the ledger entries that describe them, in the caller's transaction.

    Parents go in before children; more than `ROWS_PER_ENTRY` inserted rows are spread over
    several entries. Returns the last entry.
    """
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for item in inserts:
        if isinstance(item, tuple):
            name, values = item
        else:
            name, values = item.TABLE, values_of(item)
        groups.setdefault(name, []).append(values)
    unknown = set(groups) - set(DOMAIN)
    if unknown:
        raise ValueError(f"record() cannot insert into {sorted(unknown)}")
    chunks: list[dict[str, list[dict[str, Any]]]] = [{}]
    size = 0
    for name, table in DOMAIN.items():
        rows = groups.get(name)
        if not rows:
            continue
        insert_rows(session, table, rows)
        spec = codec(table)
        for values in rows:
            if size >= ROWS_PER_ENTRY:
                chunks.append({})
                size = 0
            chunks[-1].setdefault(name, []).append(spec.payload(values))
            size += 1
    changed: dict[str, list[dict[str, Any]]] = {}
    for obj, names in updates:
        table = table_of(obj)
        names = list(names)
        values = values_of(obj)
        assignments = ", ".join(f'"{n}" = ?' for n in names)
        stored = codec(table).params(values)
        by_name = dict(zip(table.names, stored, strict=True))
        session.execute(
            f"UPDATE {table.name} SET {assignments} WHERE id = ?",
            [*(by_name[n] for n in names), values["id"]],
        )
        full = codec(table).payload(values)
        changed.setdefault(table.name, []).append({"id": full["id"], **{n: full[n] for n in names}})
    at = iso_z(session.now)
    entry: Entry | None = None
    for index, chunk in enumerate(chunks):
        body: dict[str, Any] = {"kind": kind, "at": at, "by": by}
        if session.clock not in ("local", "server"):
            body["clock"] = session.clock
        if chunk:
            body["insert"] = chunk
        last = index == len(chunks) - 1
        if last and changed:
            body["update"] = changed
        details = dict(info or {})
        if len(chunks) > 1:
            details.update(part=index + 1, parts=len(chunks))
        if details:
            body["info"] = details
        entry = append(session, kind, canonical_json(body), at)
    assert entry is not None
    return entry


def append(session: Session, kind: str, payload: str, at: str | None = None) -> Entry:
    """Chain one canonical payload onto the head of the ledger."""
    seq, prev = head_entry(session)
    entry = Entry(seq + 1, prev, kind, payload, chain_hash(prev, payload))
    session.execute(
        'INSERT INTO ledger (seq, prev, kind, payload, hash, "at") VALUES (?, ?, ?, ?, ?, ?)',
        (entry.seq, entry.prev, entry.kind, entry.payload, entry.hash, at),
    )
    return entry


# --- verification ---


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
class Replay:
    """What the chain says the tables hold, and where each row and field came from."""

    entries: int = 0
    head: tuple[int, str] = (0, GENESIS)
    rows: dict[str, dict[int, dict[str, Any]]] = field(default_factory=dict)
    inserted_at: dict[tuple[str, int], int] = field(default_factory=dict)
    updated_at: dict[tuple[str, int, str], int] = field(default_factory=dict)
    hashes: dict[int, str] = field(default_factory=dict)
    bodies_seen: int = 0


def parse_against(value: str) -> tuple[int, str]:
    """Parse a published digest `SEQ:HEX` (at least 8 hex digits; `0:000…` for an empty ledger)."""
    seq_text, sep, digest = value.strip().partition(":")
    digest = digest.lower()
    if (
        not sep
        or not seq_text.isdigit()
        or len(seq_text) > 18
        or len(digest) < 8
        or len(digest) > 64
        or any(c not in "0123456789abcdef" for c in digest)
    ):
        raise InputError(f"--against {value!r}: expected SEQ:HEX as printed by `predtrack head`")
    return int(seq_text), digest


def _short(value: Any) -> str:
    text_value = json.dumps(value, ensure_ascii=False, default=str)
    return text_value if len(text_value) <= 60 else text_value[:57] + "..."


def replay_chain(session: Session, problems: list[Problem], checker: Any = None) -> Replay:
    """Recompute the chain and replay every entry's inserts and updates, in seq order.

    `checker` (optional) is called with (seq, body, replay) for each entry, to check what the
    entry says against the rules of the command that would have written it.
    """
    state = Replay(rows={name: {} for name in DOMAIN})
    prev_hash, prev_seq, prev_at = GENESIS, 0, ""
    for seq, prev, kind, payload, digest, at in session.iterate(
        'SELECT seq, prev, kind, payload, hash, "at" FROM ledger ORDER BY seq'
    ):
        state.entries += 1
        if seq != prev_seq + 1:
            message = f"expected seq {prev_seq + 1}, found {seq}: entries missing or reordered"
            problems.append(Problem(seq, "ledger", "seq", message))
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
        state.hashes[seq] = digest
        try:
            body = json.loads(payload)
        except ValueError:
            problems.append(Problem(seq, "ledger", "payload", "payload is not valid JSON"))
            continue
        if not isinstance(body, dict):
            problems.append(Problem(seq, "ledger", "payload", "payload is not a JSON object"))
            continue
        if body.get("kind") != kind:
            message = f"kind {kind!r} differs from the payload's {body.get('kind')!r}"
            problems.append(Problem(seq, "ledger", "kind", message))
        entry_at = body.get("at")
        if at is not None and at != entry_at:
            problems.append(
                Problem(seq, "ledger", "at", f"at {at!r} differs from the payload's {entry_at!r}")
            )
        if isinstance(entry_at, str):
            if prev_at and entry_at < prev_at:
                problems.append(
                    Problem(
                        seq,
                        "ledger",
                        "at",
                        f"time runs backwards: {entry_at} after {prev_at} of the entry before",
                    )
                )
            prev_at = max(prev_at, entry_at)
        if checker is not None:
            checker(seq, body, state)
        _apply(seq, body, state, problems)
    state.head = (prev_seq, prev_hash)
    return state


def _apply(seq: int, body: dict[str, Any], state: Replay, problems: list[Problem]) -> None:
    """Apply one entry's inserts and updates to the expected state of every table."""
    inserts = body.get("insert", {})
    updates = body.get("update", {})
    if not isinstance(inserts, dict) or not isinstance(updates, dict):
        problems.append(Problem(seq, "ledger", "payload", "insert/update must be JSON objects"))
        return
    for table_name, new_rows in inserts.items():
        bucket = state.rows.setdefault(table_name, {})
        for row in new_rows if isinstance(new_rows, list) else [None]:
            row_id = row.get("id") if isinstance(row, dict) else None
            if not isinstance(row_id, int) or isinstance(row_id, bool):
                problems.append(
                    Problem(
                        seq, table_name, "id", f"inserted row without an integer id: {_short(row)}"
                    )
                )
                continue
            if row_id in bucket:
                problems.append(Problem(seq, table_name, "id", f"id={row_id} inserted twice"))
            assert isinstance(row, dict)
            bucket[row_id] = dict(row)
            state.inserted_at[(table_name, row_id)] = seq
    for table_name, changes in updates.items():
        bucket = state.rows.setdefault(table_name, {})
        for change in changes if isinstance(changes, list) else [None]:
            row_id = change.get("id") if isinstance(change, dict) else None
            target = bucket.get(row_id) if isinstance(row_id, int) else None
            if target is None or not isinstance(change, dict) or not isinstance(row_id, int):
                message = f"update of id={row_id}, which no entry inserted"
                problems.append(Problem(seq, table_name, "id", message))
                continue
            target.update(change)
            for name in change:
                state.updated_at[(table_name, row_id, name)] = seq


def compare_tables(session: Session, state: Replay, problems: list[Problem]) -> None:
    """Compare every stored row, in its raw stored form, with what the ledger says."""
    for table in DOMAIN.values():
        wanted = state.rows.get(table.name, {})
        kinds = [c.kind for c in table.columns]
        names = table.names
        seen: set[int] = set()
        columns = ", ".join(f'"{n}"' for n in names)
        for stored in session.iterate(f"SELECT {columns} FROM {table.name}"):
            row_id = stored[0]
            seen.add(row_id)
            want = wanted.get(row_id)
            if want is None:
                problems.append(Problem(None, table.name, None, f"id={row_id} has no ledger entry"))
                continue
            for name, kind, value in zip(names, kinds, stored, strict=True):
                expected = want.get(name)
                if not _same(kind, value, expected):
                    seq = state.updated_at.get(
                        (table.name, row_id, name), state.inserted_at.get((table.name, row_id))
                    )
                    message = f"id={row_id}: stored {_short(value)}, ledger says {_short(expected)}"
                    problems.append(Problem(seq, table.name, name, message))
        for row_id in sorted(set(wanted) - seen):
            seq = state.inserted_at.get((table.name, row_id))
            problems.append(Problem(seq, table.name, None, f"id={row_id} is missing"))


def _same(kind: str, stored: Any, expected: Any) -> bool:
    """A stored value equals its ledger value (types compared too: "1" is not 1)."""
    if stored is None or expected is None:
        return stored is None and expected is None
    if kind == JSON:
        try:
            return bool(stored == canonical_json(expected))
        except (TypeError, ValueError):
            return False
    if isinstance(expected, bool):
        # SQLite hands booleans back as 0/1.
        return (
            isinstance(stored, bool | int)
            and not isinstance(stored, float)
            and bool(stored) == expected
            and stored in (0, 1)
        )
    if isinstance(expected, float) and not isinstance(stored, bool):
        # A REAL column may hand back an integral float as an int.
        return isinstance(stored, int | float) and float(stored) == expected
    return type(stored) is type(expected) and bool(stored == expected)
