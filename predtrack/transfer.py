"""Export the ledger as JSON lines and rebuild a store from it, checking every line first."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from predtrack.errors import InputError, StoreError
from predtrack.output import Result
from predtrack.paths import study_root
from predtrack.store import queries
from predtrack.store.engine import Session, Store
from predtrack.store.ledger import chain_hash, format_head, head_entry, insert_rows
from predtrack.store.tables import DOMAIN, codec
from predtrack.store.triggers import GENESIS
from predtrack.store.types import canonical_json

FIELDS = ("seq", "prev", "kind", "hash", "payload")


def export_lines(store: Store) -> Iterator[str]:
    """One JSON object per ledger entry, oldest first; `payload` is the exact hashed text."""
    with store.read() as session:
        for seq, prev, kind, digest, payload in queries.ledger_rows(session=session):
            yield json.dumps(
                {"seq": seq, "prev": prev, "kind": kind, "hash": digest, "payload": payload},
                ensure_ascii=False,
                separators=(",", ":"),
            )


@dataclass
class Imported(Result):
    """What `import` rebuilt."""

    entries: int
    head: str

    def text(self) -> str:
        return f"Imported {self.entries} ledger entries; head {self.head}"


def read_export_file(path: Path) -> list[dict[str, Any]]:
    """Read and check an export file (`-`: standard input)."""
    import sys

    if str(path) == "-":
        return read_export(sys.stdin)
    try:
        with path.open(encoding="utf-8") as handle:
            return read_export(handle)
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise InputError(f"{path} is not UTF-8 text") from None


def read_export(lines: Iterable[str]) -> list[dict[str, Any]]:
    """Parse and check an export: the chain must be intact; the first bad line is named."""
    entries: list[dict[str, Any]] = []
    prev = GENESIS
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"line {number}"
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as error:
            raise InputError(f"{where}: not valid JSON ({error.msg})") from error
        if not isinstance(entry, dict) or set(entry) != set(FIELDS):
            raise InputError(f"{where}: expected exactly the fields {', '.join(FIELDS)}")
        if type(entry["seq"]) is not int or entry["seq"] != len(entries) + 1:
            raise InputError(
                f"{where}: seq {_clip(entry['seq'])}, expected {len(entries) + 1} (entries missing or reordered)"
            )
        if entry["prev"] != prev:
            raise InputError(
                f"{where}: prev does not match the hash of the line before (seq {entry['seq']})"
            )
        if not isinstance(entry["payload"], str) or not isinstance(entry["kind"], str):
            raise InputError(f"{where}: kind and payload must be text (seq {entry['seq']})")
        try:
            entry["payload"].encode("utf-8")
        except UnicodeEncodeError:
            raise InputError(
                f"{where}: payload is not valid Unicode text (seq {entry['seq']})"
            ) from None
        if chain_hash(prev, entry["payload"]) != entry["hash"]:
            raise InputError(
                f"{where}: hash does not match sha256(prev ‖ payload): the export was altered (seq {entry['seq']})"
            )
        try:
            body = json.loads(entry["payload"])
        except ValueError as error:
            raise InputError(f"{where}: payload is not valid JSON") from error
        if not isinstance(body, dict) or body.get("kind") != entry["kind"]:
            raise InputError(f"{where}: kind {_clip(entry['kind'])} differs from the payload's")
        try:  # what the store would write again as its columns' JSON
            canonical_json(body).encode("utf-8")
        except ValueError as error:
            reason = "NaN or infinity" if "float" in str(error) else "text that is not Unicode"
            raise InputError(
                f"{where}: payload holds {reason}, which JSON cannot store (seq {entry['seq']})"
            ) from None
        entry["body"] = body
        entry["line"] = number
        entries.append(entry)
        prev = entry["hash"]
    if not entries:
        raise InputError("the export is empty: nothing to import")
    check_entries(entries)
    return entries


def _clip(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_entries(entries: list[dict[str, Any]]) -> None:
    """Every entry must be one predtrack could have written: refused naming its line."""
    from predtrack.store.checks import Bad, Checker

    checker = Checker()
    before = ""
    for entry in entries:
        try:
            checker.entry(entry["body"])
            at = entry["body"]["at"]
            if at < before:
                raise Bad("ledger", "at", f"time runs backwards: {at} after {before}")
            before = at
        except Bad as bad:
            where = f"{bad.table}.{bad.field}" if bad.field else bad.table
            raise InputError(
                f"line {entry['line']}: {where}: {bad.message} (seq {entry['seq']})"
            ) from None
        except (TypeError, KeyError, AttributeError, ValueError, OverflowError) as error:
            raise InputError(
                f"line {entry['line']}: malformed payload ({type(error).__name__}) (seq {entry['seq']})"
            ) from None


def _rows(table_name: str, rows: Any, where: str) -> list[dict[str, Any]]:
    """The rows of one table in an entry, with exactly that table's columns."""
    table = DOMAIN.get(table_name)
    if table is None:
        raise InputError(f"{where}: unknown table {table_name!r}")
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise InputError(f"{where}: rows of {table_name} must be a list of objects")
    names = set(table.names)
    for row in rows:
        unknown = set(row) - names
        if unknown:
            raise InputError(f"{where}: unknown column {sorted(unknown)[0]!r} in {table_name}")
    return rows


def import_ledger(store: Store, entries: list[dict[str, Any]]) -> Imported:
    """Replay checked export entries into an empty store: same rows, ledger and head digest."""

    def work(session: Session) -> Imported:
        if head_entry(session)[0] != 0:
            raise StoreError(
                f"{store.label} already has ledger entries: import only into an empty store"
            )
        for number, entry in enumerate(entries, start=1):
            where = f"entry {number} (seq {entry['seq']})"
            body = entry["body"]
            inserts = body.get("insert", {})
            updates = body.get("update", {})
            if not isinstance(inserts, dict) or not isinstance(updates, dict):
                raise InputError(f"{where}: insert and update must be objects")
            for name in inserts:
                _rows(name, inserts[name], where)
            for name, table in DOMAIN.items():  # parents before children
                if name in inserts:
                    insert_rows(session, table, inserts[name])
            for name, changes in updates.items():
                target = DOMAIN.get(name)
                for change in _rows(name, changes, where):
                    if target is None or not isinstance(change.get("id"), int):
                        raise InputError(f"{where}: an update of {name} needs an integer id")
                    fields = [k for k in change if k != "id"]
                    stored = dict(zip(target.names, codec(target).params(change), strict=True))
                    assignments = ", ".join(f'"{k}" = ?' for k in fields)
                    session.execute(
                        f"UPDATE {name} SET {assignments} WHERE id = ?",
                        [*(stored[k] for k in fields), change["id"]],
                    )
            at = body.get("at") if isinstance(body.get("at"), str) else None
            session.execute(
                'INSERT INTO ledger (seq, prev, kind, payload, hash, "at") VALUES (?, ?, ?, ?, ?, ?)',
                (entry["seq"], entry["prev"], entry["kind"], entry["payload"], entry["hash"], at),
            )
        _refuse_what_verify_would(session, entries, study_root(store.path))
        last = entries[-1]
        return Imported(len(entries), format_head(last["seq"], last["hash"]))

    return store.write(work)


def _refuse_what_verify_would(
    session: Session, entries: list[dict[str, Any]], root: Path | None
) -> None:
    """Run verify's checks on the rebuilt store before it commits (signatures, anchors, sealed
    forecasts, recorded files, every row against its entry): what it would reject is refused."""
    from predtrack.integrity import examine

    problems = examine(session, root=root, artifacts=True).problems
    if problems:
        first = problems[0]
        lines = {entry["seq"]: entry["line"] for entry in entries}
        where = f"{first.table}.{first.field}" if first.field else first.table
        line = lines.get(first.seq or len(entries), entries[-1]["line"])
        raise InputError(f"line {line}: {where}: {first.message} (seq {first.seq})")


def import_export(db: str | None, entries: list[dict[str, Any]]) -> Imported:
    """Import checked entries into the store `db` names, creating it if needed (a new SQLite
    file is built beside its place and linked in only once the import succeeded)."""
    from predtrack.store.schema import init_store, open_store

    imported: list[Imported] = []

    def fill(where: str) -> None:
        store = open_store(where)
        try:
            imported.append(import_ledger(store, entries))
            if store.is_sqlite:  # everything into the file itself before it is linked into place
                store.connection().execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            store.dispose()

    init_store(db, fill=fill)
    return imported[0]
