"""Export the ledger as JSON lines and rebuild a store from it, checking every line first."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, insert, select, update
from sqlmodel import Session, col

from predtrack.errors import InputError, StoreError
from predtrack.store.engine import Store
from predtrack.store.ledger import GENESIS, chain_hash, format_head, head_entry, table_of
from predtrack.store.models import DOMAIN_TABLES, LedgerEntry
from predtrack.store.types import JSONText, UTCDateTime, parse_iso_z

FIELDS = ("seq", "prev", "kind", "hash", "payload")


def export_lines(store: Store) -> Iterator[str]:
    """One JSON object per ledger entry, oldest first; `payload` is the exact hashed text."""
    with store.read() as session:
        rows = session.execute(
            select(
                LedgerEntry.seq,
                LedgerEntry.prev,
                LedgerEntry.kind,
                LedgerEntry.hash,
                LedgerEntry.payload,
            ).order_by(col(LedgerEntry.seq))  # type: ignore[call-overload]
        )
        for seq, prev, kind, digest, payload in rows:
            yield json.dumps(
                {"seq": seq, "prev": prev, "kind": kind, "hash": digest, "payload": payload},
                ensure_ascii=False,
                separators=(",", ":"),
            )


@dataclass
class Imported:
    entries: int
    head: str


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
        if entry["seq"] != len(entries) + 1:
            raise InputError(
                f"{where}: seq {entry['seq']!r}, expected {len(entries) + 1} (entries missing or reordered)"
            )
        if entry["prev"] != prev:
            raise InputError(
                f"{where}: prev does not match the hash of the line before (seq {entry['seq']})"
            )
        if (
            not isinstance(entry["payload"], str)
            or chain_hash(prev, entry["payload"]) != entry["hash"]
        ):
            raise InputError(
                f"{where}: hash does not match sha256(prev ‖ payload): the export was altered (seq {entry['seq']})"
            )
        try:
            body = json.loads(entry["payload"])
        except ValueError as error:
            raise InputError(f"{where}: payload is not valid JSON") from error
        if not isinstance(body, dict) or body.get("kind") != entry["kind"]:
            raise InputError(f"{where}: kind {entry['kind']!r} differs from the payload's")
        entry["body"] = body
        entries.append(entry)
        prev = entry["hash"]
    if not entries:
        raise InputError("the export is empty: nothing to import")
    return entries


def _python_form(table: Table, row: dict[str, Any], where: str) -> dict[str, Any]:
    """A ledger-form row back in the form the column types take (aware datetimes)."""
    values: dict[str, Any] = {}
    for column in table.columns:
        if column.name not in row:
            raise InputError(f"{where}: row of {table.name} lacks {column.name}")
        value = row[column.name]
        if value is not None and isinstance(column.type, UTCDateTime):
            value = parse_iso_z(value)
        elif isinstance(column.type, JSONText):
            pass  # stays a JSON value; the column type writes its canonical text
        values[column.name] = value
    unknown = set(row) - {c.name for c in table.columns}
    if unknown:
        raise InputError(f"{where}: unknown column {sorted(unknown)[0]!r} in {table.name}")
    return values


def import_ledger(store: Store, entries: list[dict[str, Any]]) -> Imported:
    """Replay checked export entries into an empty store: same rows, ledger and head digest."""
    tables = {name: table_of(model) for name, model in DOMAIN_TABLES.items()}

    def work(session: Session) -> Imported:
        if head_entry(session)[0] != 0:
            raise StoreError(
                f"{store.label} already has ledger entries: import only into an empty store"
            )
        for number, entry in enumerate(entries, start=1):
            where = f"entry {number} (seq {entry['seq']})"
            body = entry["body"]
            inserts = body.get("insert", {})
            for name in [*tables, *(n for n in inserts if n not in tables)]:
                if name not in inserts:
                    continue
                if name not in tables:
                    raise InputError(f"{where}: unknown table {name!r}")
                rows = [_python_form(tables[name], row, where) for row in inserts[name]]
                if rows:
                    session.execute(insert(tables[name]), rows)
            for name, changes in body.get("update", {}).items():
                if name not in tables:
                    raise InputError(f"{where}: unknown table {name!r}")
                table = tables[name]
                for change in changes:
                    values = _python_form(table, {**_blank(table), **change}, where)
                    fields = {k: values[k] for k in change if k != "id"}
                    session.execute(
                        update(table).where(table.c.id == change["id"]).values(**fields)
                    )
            session.add(
                LedgerEntry(
                    seq=entry["seq"],
                    prev=entry["prev"],
                    kind=entry["kind"],
                    payload=entry["payload"],
                    hash=entry["hash"],
                )
            )
            if number % 500 == 0:
                session.flush()
        session.flush()
        last = entries[-1]
        return Imported(len(entries), format_head(last["seq"], last["hash"]))

    return store.write(work)


def _blank(table: Table) -> dict[str, Any]:
    return {c.name: None for c in table.columns}
