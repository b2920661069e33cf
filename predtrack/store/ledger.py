"""The append-only hash chain: the one write path that feeds it, and its replay by `verify`.

Every write is one transaction that inserts its domain rows and ledger entries whose canonical
JSON payloads hold every row inserted or changed, `hash = sha256(prev ‖ payload)`. A large write
spans several entries of bounded size inside its one transaction, so no payload grows with the
input.
"""

from __future__ import annotations

import hashlib
import json
import sys
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from predtrack.errors import InputError
from predtrack.store.engine import Session
from predtrack.store.tables import (
    BOOL,
    DOMAIN,
    JSON,
    Row,
    Table,
    codec,
    fast_canonical_json,
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


class SeqIndex:
    """Which entry inserted each row, `(table, id) -> seq`, kept as runs of consecutive ids
    (a bulk write inserts its ids in order): a million rows cost a few runs, not a million keys."""

    def __init__(self) -> None:
        self._runs: dict[str, tuple[list[int], list[int], list[int]]] = {}
        self._extra: dict[tuple[str, int], int] = {}  # ids out of order, or inserted twice

    def add(self, table: str, row_id: int, seq: int) -> None:
        starts, ends, seqs = self._runs.setdefault(table, ([], [], []))
        if starts and row_id == ends[-1] + 1 and seqs[-1] == seq:
            ends[-1] = row_id
        elif not starts or row_id > ends[-1]:
            starts.append(row_id)
            ends.append(row_id)
            seqs.append(seq)
        else:
            self._extra[(table, row_id)] = seq

    def get(self, key: tuple[str, int], default: int | None = None) -> int | None:
        found = self._extra.get(key)
        if found is not None:
            return found
        runs = self._runs.get(key[0])
        if runs is None:
            return default
        starts, ends, seqs = runs
        index = bisect_right(starts, key[1]) - 1
        return seqs[index] if index >= 0 and key[1] <= ends[index] else default

    def __contains__(self, key: tuple[str, int]) -> bool:
        return self.get(key) is not None


@dataclass
class Replay:
    """What the chain says the tables hold, and where each row and field came from.

    `rows` holds each row as a tuple in column order, in the form its stored value is compared
    with (JSON columns as canonical JSON text), so verify keeps no dict per row.
    """

    entries: int = 0
    head: tuple[int, str] = (0, GENESIS)
    rows: dict[str, dict[int, tuple[Any, ...]]] = field(default_factory=dict)
    inserted_at: SeqIndex = field(default_factory=SeqIndex)
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


class _Unencodable:
    """A JSON column's ledger value that has no canonical JSON: equal to no stored text."""

    def __init__(self, value: Any) -> None:
        self.value = value


def _json_form(value: Any) -> Any:
    if value is None:
        return None
    try:
        text = fast_canonical_json(value)
    except (TypeError, ValueError, RecursionError):
        return _Unencodable(value)
    return sys.intern(text) if len(text) <= 40 else text


def _form(kind: str, value: Any) -> Any:
    """A ledger value in the form compared with the stored one; short texts shared."""
    if kind == JSON:
        return _json_form(value)
    if value.__class__ is str and len(value) <= 40:
        return sys.intern(value)
    return value


def _shown(kind: str, want: Any) -> Any:
    """A compared form back as the ledger value, for messages."""
    if isinstance(want, _Unencodable):
        return want.value
    return json.loads(want) if kind == JSON and isinstance(want, str) else want


def _apply(seq: int, body: dict[str, Any], state: Replay, problems: list[Problem]) -> None:
    """Apply one entry's inserts and updates to the expected state of every table."""
    inserts = body.get("insert", {})
    updates = body.get("update", {})
    if not isinstance(inserts, dict) or not isinstance(updates, dict):
        problems.append(Problem(seq, "ledger", "payload", "insert/update must be JSON objects"))
        return
    for table_name, new_rows in inserts.items():
        bucket = state.rows.setdefault(table_name, {})
        table = DOMAIN.get(table_name)
        columns = [(c.name, c.kind) for c in table.columns] if table is not None else []
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
            get = row.get
            bucket[row_id] = tuple([_form(kind, get(name)) for name, kind in columns])
            state.inserted_at.add(table_name, row_id, seq)
    for table_name, changes in updates.items():
        bucket = state.rows.setdefault(table_name, {})
        table = DOMAIN.get(table_name)
        index = {c.name: (i, c.kind) for i, c in enumerate(table.columns)} if table else {}
        for change in changes if isinstance(changes, list) else [None]:
            row_id = change.get("id") if isinstance(change, dict) else None
            target = bucket.get(row_id) if isinstance(row_id, int) else None
            if target is None or not isinstance(change, dict) or not isinstance(row_id, int):
                message = f"update of id={row_id}, which no entry inserted"
                problems.append(Problem(seq, table_name, "id", message))
                continue
            values = list(target)
            for name, value in change.items():
                if name in index:
                    position, kind = index[name]
                    values[position] = _form(kind, value)
                state.updated_at[(table_name, row_id, name)] = seq
            bucket[row_id] = tuple(values)


def _fast_same(table: Table) -> Any:
    """A function (stored row, compared form) -> True when every column surely matches; a
    False sends the row through `_same`, column by column."""
    tests = []
    for i, c in enumerate(table.columns):
        s, w = f"s[{i}]", f"w[{i}]"
        if c.kind == JSON:
            tests.append(f"{s} == {w}")
        elif c.kind == BOOL:  # SQLite hands booleans back as 0/1
            tests.append(
                f"({s} is {w} or ({s}.__class__ is {w}.__class__ and {s} == {w}) "
                f"or ({s}.__class__ is int and {w}.__class__ is bool and {s} == {w}))"
            )
        else:
            tests.append(f"({s} is {w} or ({s}.__class__ is {w}.__class__ and {s} == {w}))")
    namespace: dict[str, Any] = {}
    exec(f"def same(s, w):\n    return {' and '.join(tests)}\n", namespace)
    return namespace["same"]


def compare_tables(session: Session, state: Replay, problems: list[Problem]) -> None:
    """Compare every stored row, in its raw stored form, with what the ledger says (streamed:
    the stored rows are read in batches and compared as they come)."""
    for table in DOMAIN.values():
        wanted = state.rows.get(table.name, {})
        kinds = [c.kind for c in table.columns]
        names = table.names
        same_row = _fast_same(table)
        seen: set[int] = set()
        columns = ", ".join(f'"{n}"' for n in names)
        for stored in session.iterate(f"SELECT {columns} FROM {table.name}"):
            row_id = stored[0]
            seen.add(row_id)
            want = wanted.get(row_id)
            if want is None:
                problems.append(Problem(None, table.name, None, f"id={row_id} has no ledger entry"))
                continue
            if same_row(stored, want):
                continue
            for name, kind, value, expected in zip(names, kinds, stored, want, strict=True):
                if not _same_form(kind, value, expected):
                    seq = state.updated_at.get(
                        (table.name, row_id, name), state.inserted_at.get((table.name, row_id))
                    )
                    message = (
                        f"id={row_id}: stored {_short(value)}, "
                        f"ledger says {_short(_shown(kind, expected))}"
                    )
                    problems.append(Problem(seq, table.name, name, message))
        for row_id in sorted(set(wanted) - seen):
            seq = state.inserted_at.get((table.name, row_id))
            problems.append(Problem(seq, table.name, None, f"id={row_id} is missing"))


def _same_form(kind: str, stored: Any, want: Any) -> bool:
    """`_same` against a compared form (JSON columns: canonical text already)."""
    if kind == JSON:
        if stored is None or want is None:
            return stored is None and want is None
        return isinstance(want, str) and bool(stored == want)
    return _same(kind, stored, want)


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
