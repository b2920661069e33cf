"""The plain baselines' whole store layer: a DB-API connection and hash-chained ledger entries.

The simplest code that writes what `predtrack verify` accepts: rows inserted with the driver's
executemany, and entries `sha256(prev || canonical JSON payload)` of at most 5,000 rows each.
Standard library (`sqlite3`, `hashlib`, `json`) and, for PostgreSQL, `psycopg`.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

ROWS_PER_ENTRY = 5000


def connect(db: str) -> tuple[Any, str]:
    """(connection, placeholder) for a file path or a postgresql+psycopg:// URL."""
    if "://" in db:
        import psycopg

        conn = psycopg.connect("postgresql://" + db.split("://", 1)[1], autocommit=True)
        return conn, "%s"
    return sqlite3.connect(db, isolation_level=None), "?"


def begin(conn: Any) -> None:
    """A write transaction holding the lock every predtrack writer takes."""
    if isinstance(conn, sqlite3.Connection):
        conn.execute("BEGIN IMMEDIATE")
    else:
        conn.execute("BEGIN")
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (0x70726564,))


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def insert(
    conn: Any, mark: str, table: str, rows: list[dict[str, Any]], json_cols: set[str]
) -> None:
    """INSERT rows (all with the same keys): JSON columns as canonical text."""
    if not rows:
        return
    names = list(rows[0])
    sql = (
        f"INSERT INTO {table} ({', '.join(chr(34) + n + chr(34) for n in names)}) "
        f"VALUES ({', '.join(mark for _ in names)})"
    )
    params = [
        tuple(dumps(r[n]) if n in json_cols and r[n] is not None else r[n] for n in names)
        for r in rows
    ]
    if isinstance(conn, sqlite3.Connection):
        conn.executemany(sql, params)
    else:
        with conn.cursor() as cursor:
            cursor.executemany(sql, params)


def append_entries(
    conn: Any,
    mark: str,
    kind: str,
    at: str,
    by: str,
    inserts: list[tuple[str, list[dict[str, Any]]]],
    updates: Sequence[tuple[str, list[dict[str, Any]]]] = (),
) -> str:
    """Ledger entries for these rows (tables in order), 5,000 rows at most each; the head."""
    head = conn.execute("SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1").fetchone()
    seq, prev = head if head else (0, "0" * 64)
    chunks: list[dict[str, dict[str, list[dict[str, Any]]]]] = [{}]
    size = 0
    for section, groups in (("insert", inserts), ("update", updates)):
        for table, rows in groups:
            for row in rows:
                if size == ROWS_PER_ENTRY:
                    chunks.append({})
                    size = 0
                chunks[-1].setdefault(section, {}).setdefault(table, []).append(row)
                size += 1
    sql = f'INSERT INTO ledger (seq, prev, kind, payload, hash, "at") VALUES ({", ".join([mark] * 6)})'
    for body in chunks:
        payload = dumps({"kind": kind, "at": at, "by": by, **body})
        digest = hashlib.sha256((prev + payload).encode()).hexdigest()
        seq += 1
        conn.execute(sql, (seq, prev, kind, payload, digest, at))
        prev = digest
    return f"{seq}:{prev[:16]}"
