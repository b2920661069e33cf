"""What `verify` recomputes: the hash chain replayed, and every stored row compared with it.

The comparison streams: the ledger is read in seq order and each table in id order, side by
side, so a million rows are compared without holding them (a bulk write inserts its ids in
order; rows out of order wait in a small buffer). A column that a later entry updates is
judged at the end, against its final value.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from predtrack.errors import InputError
from predtrack.store.engine import Session
from predtrack.store.tables import BOOL, DOMAIN, JSON, Table, fast_canonical_json
from predtrack.store.triggers import GENESIS
from predtrack.store.types import canonical_json


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

    def insert(self, table: str, row_id: int, seq: int) -> bool:
        """`add`, and whether the row is new (False: an earlier insert of it was recorded)."""
        runs = self._runs.get(table)
        if runs is not None and row_id > runs[1][-1]:  # past every id seen: surely new
            starts, ends, seqs = runs
            if row_id == ends[-1] + 1 and seqs[-1] == seq:
                ends[-1] = row_id
            else:
                starts.append(row_id)
                ends.append(row_id)
                seqs.append(seq)
            return True
        new = self.get((table, row_id)) is None
        self.add(table, row_id, seq)
        return new

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
    """What the chain says: its length and head, and where each row and field came from."""

    entries: int = 0
    head: tuple[int, str] = (0, GENESIS)
    inserted_at: SeqIndex = field(default_factory=SeqIndex)
    updated_at: dict[tuple[str, int, str], int] = field(default_factory=dict)
    hashes: dict[int, str] = field(default_factory=dict)
    matcher: Any = None  # the comparison under way (finished by compare_tables)


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


def _chain_hash(prev: str, payload: str) -> str:
    from predtrack.store.ledger import chain_hash

    return chain_hash(prev, payload)


def replay_chain(session: Session, problems: list[Problem], checker: Any = None) -> Replay:
    """Recompute the chain and replay every entry's inserts and updates, in seq order,
    comparing each inserted row with the stored one as it comes (`compare_tables` finishes).

    `checker` (optional) is called with (seq, body, replay) for each entry, to check what the
    entry says against the rules of the command that would have written it.
    """
    state = Replay()
    matcher = _Matcher(session, state, problems)
    prev_hash, prev_seq, prev_at = GENESIS, 0, ""
    for seq, prev, kind, payload, digest, at in _entries(session):
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
        if _chain_hash(prev, payload) != digest:
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
        matcher.entry(seq, body)
    state.head = (prev_seq, prev_hash)
    state.matcher = matcher
    return state


def _entries(session: Session) -> Iterator[tuple[Any, ...]]:
    """Every ledger entry in seq order, a few at a time: a bulk write's entries are a megabyte
    each, and a driver's batch of thousands would hold the whole ledger."""
    sql = (
        'SELECT seq, prev, kind, payload, hash, "at" FROM ledger WHERE seq > ? ORDER BY seq LIMIT 8'
    )
    last: Any = None
    while True:
        batch = session.rows(
            sql.replace("seq > ?", "1 = 1") if last is None else sql,
            () if last is None else (last,),
        )
        if not batch:
            return
        yield from batch
        last = batch[-1][0]


def _json_equal(stored: Any, expected: Any) -> bool:
    if stored is None or expected is None:
        return stored is None and expected is None
    try:
        return bool(stored == fast_canonical_json(expected))
    except (TypeError, ValueError, RecursionError):
        return False


def _fast_same(table: Table) -> Any:
    """A function (stored row, ledger row dict) -> True when every column surely matches; a
    False sends the row through `_same`, column by column."""
    lines = ["def same(s, w):", "    g = w.get"]
    tests = []
    for i, c in enumerate(table.columns):
        lines.append(f"    v{i} = g({c.name!r})")
        s, w = f"s[{i}]", f"v{i}"
        if c.kind == JSON:
            tests.append(f"_json_equal({s}, {w})")
        elif c.kind == BOOL:  # SQLite hands booleans back as 0/1
            tests.append(
                f"({s} is {w} or ({s}.__class__ is {w}.__class__ and {s} == {w}) "
                f"or ({s}.__class__ is int and {w}.__class__ is bool and {s} == {w}))"
            )
        else:
            tests.append(f"({s} is {w} or ({s}.__class__ is {w}.__class__ and {s} == {w}))")
    lines.append(f"    return {' and '.join(tests)}")
    namespace: dict[str, Any] = {"_json_equal": _json_equal}
    exec("\n".join(lines) + "\n", namespace)
    return namespace["same"]


class _Stored:
    """One table's stored rows in id order, read as the ledger asks for them."""

    def __init__(self, session: Session, table: Table) -> None:
        columns = ", ".join(f'"{n}"' for n in table.names)
        self.rows: Iterator[tuple[Any, ...]] = session.iterate(
            f"SELECT {columns} FROM {table.name} ORDER BY id"
        )
        self.ahead: dict[int, tuple[Any, ...]] = {}  # read past while looking for a lower id
        self.done = False

    def take(self, row_id: int) -> tuple[Any, ...] | None:
        """The stored row with this id (None when there is none)."""
        found = self.ahead.pop(row_id, None)
        if found is not None or self.done:
            return found
        for stored in self.rows:
            if stored[0] == row_id:
                return stored
            self.ahead[stored[0]] = stored
            if stored[0] > row_id:
                return None
        self.done = True
        return None

    def rest(self) -> Iterator[tuple[Any, ...]]:
        """Every stored row no ledger row asked for."""
        yield from self.ahead.values()
        if not self.done:
            yield from self.rows


class _Matcher:
    """The comparison of the ledger's rows with the stored ones, entry by entry."""

    def __init__(self, session: Session, state: Replay, problems: list[Problem]) -> None:
        self.session, self.state, self.problems = session, state, problems
        self.stored: dict[str, _Stored] = {}
        self.same = {name: _fast_same(table) for name, table in DOMAIN.items()}
        # (table, id) -> column -> value: the latest update of each updated column
        self.updated: dict[tuple[str, int], dict[str, Any]] = {}
        # stored values that differed from the inserted ones: (table, id, column, stored, wanted)
        self.differ: list[tuple[str, int, str, Any, Any]] = []

    def entry(self, seq: int, body: dict[str, Any]) -> None:
        """Compare one entry's inserts, and remember its updates."""
        problems = self.problems
        inserts = body.get("insert", {})
        updates = body.get("update", {})
        if not isinstance(inserts, dict) or not isinstance(updates, dict):
            problems.append(Problem(seq, "ledger", "payload", "insert/update must be JSON objects"))
            return
        seen = self.state.inserted_at
        for table_name, new_rows in inserts.items():
            table = DOMAIN.get(table_name)
            for row in new_rows if isinstance(new_rows, list) else [None]:
                row_id = row.get("id") if isinstance(row, dict) else None
                if not isinstance(row_id, int) or isinstance(row_id, bool):
                    message = f"inserted row without an integer id: {_short(row)}"
                    problems.append(Problem(seq, table_name, "id", message))
                    continue
                assert isinstance(row, dict)
                twice = not seen.insert(table_name, row_id, seq)
                if twice:
                    problems.append(Problem(seq, table_name, "id", f"id={row_id} inserted twice"))
                if table is not None:
                    self._compare(table, row_id, row, seq, again=twice)
        for table_name, changes in updates.items():
            for change in changes if isinstance(changes, list) else [None]:
                row_id = change.get("id") if isinstance(change, dict) else None
                if (
                    not isinstance(change, dict)
                    or not isinstance(row_id, int)
                    or (table_name, row_id) not in seen
                ):
                    message = f"update of id={row_id}, which no entry inserted"
                    problems.append(Problem(seq, table_name, "id", message))
                    continue
                self.updated.setdefault((table_name, row_id), {}).update(change)
                for name in change:
                    self.state.updated_at[(table_name, row_id, name)] = seq

    def _compare(
        self, table: Table, row_id: int, row: dict[str, Any], seq: int, *, again: bool
    ) -> None:
        if again:  # a second insert of the same id: compare it with the stored row once more
            found = self.session.first(
                f"SELECT {', '.join(chr(34) + n + chr(34) for n in table.names)} "
                f"FROM {table.name} WHERE id = ?",
                (row_id,),
            )
            stored = None if found is None else tuple(found)
        else:
            reader = self.stored.get(table.name)
            if reader is None:
                reader = self.stored[table.name] = _Stored(self.session, table)
            stored = reader.take(row_id)
        if stored is None:
            if not again:
                self.problems.append(Problem(seq, table.name, None, f"id={row_id} is missing"))
            return
        if self.same[table.name](stored, row):
            return
        for column, value in zip(table.columns, stored, strict=True):
            expected = row.get(column.name)
            if not _same(column.kind, value, expected):
                self.differ.append((table.name, row_id, column.name, value, expected))

    def finish(self) -> None:
        """Judge what only the end can: updated columns, and stored rows no entry inserted."""
        state, problems = self.state, self.problems
        for table_name, row_id, name, value, expected in self.differ:
            if name in self.updated.get((table_name, row_id), ()):
                continue  # judged below, against the column's final value
            problems.append(_mismatch(state, table_name, row_id, name, value, expected))
        for table in DOMAIN.values():
            changed = sorted(i for t, i in self.updated if t == table.name)
            kinds = {c.name: c.kind for c in table.columns}
            columns = ", ".join(f'"{n}"' for n in table.names)
            for start in range(0, len(changed), 900):
                chunk = changed[start : start + 900]
                marks = ", ".join("?" for _ in chunk)
                for stored in self.session.iterate(
                    f"SELECT {columns} FROM {table.name} WHERE id IN ({marks})", chunk
                ):
                    values = dict(zip(table.names, stored, strict=True))
                    for name, expected in self.updated[(table.name, stored[0])].items():
                        if name in kinds and not _same(kinds[name], values[name], expected):
                            problems.append(
                                _mismatch(
                                    state, table.name, stored[0], name, values[name], expected
                                )
                            )
            reader = self.stored.get(table.name)
            rest = reader.rest() if reader is not None else self._all(table)
            for stored in rest:
                problems.append(
                    Problem(None, table.name, None, f"id={stored[0]} has no ledger entry")
                )

    def _all(self, table: Table) -> Iterator[tuple[Any, ...]]:
        return self.session.iterate(f"SELECT id FROM {table.name} ORDER BY id")


def _mismatch(
    state: Replay, table: str, row_id: int, name: str, value: Any, expected: Any
) -> Problem:
    seq = state.updated_at.get((table, row_id, name), state.inserted_at.get((table, row_id)))
    message = f"id={row_id}: stored {_short(value)}, ledger says {_short(expected)}"
    return Problem(seq, table, name, message)


def compare_tables(session: Session, state: Replay, problems: list[Problem]) -> None:
    """Finish the comparison `replay_chain` streamed: every stored row, in its raw stored
    form, against what the ledger says."""
    if state.matcher is not None:
        state.matcher.finish()
        state.matcher = None


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
