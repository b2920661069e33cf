"""Plain baseline of `predtrack verify`: recompute the chain, compare every row with the ledger.

Usage: python plain/verify.py DB

Streams the ledger in order, checks `hash = sha256(prev || payload)` and the links, replays
the inserts and updates into the rows the ledger describes, then reads every table and
compares each stored row (JSON columns as canonical text, booleans as 0/1) with them. Prints
`OK` and the head, or the first differences. No semantic checks and no file re-hashing.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ledger import connect, dumps

TABLES = ("experiments", "questions", "keys", "commitments", "predictions", "artifacts",
          "resolutions", "anchors")  # fmt: skip
JSON_COLUMNS = {("questions", "categories"), ("questions", "tags"), ("predictions", "distribution"),
                ("resolutions", "outcome"), ("resolutions", "evidence")}  # fmt: skip


def main() -> None:
    conn, _ = connect(sys.argv[1])
    problems: list[str] = []
    expected: dict[str, dict[int, dict[str, Any]]] = {t: {} for t in TABLES}
    prev, seq = "0" * 64, 0
    for number, link, payload, digest in conn.execute(
        "SELECT seq, prev, payload, hash FROM ledger ORDER BY seq"
    ):
        if number != seq + 1 or link != prev:
            problems.append(f"entry {number}: out of order or unlinked")
        if hashlib.sha256((link + payload).encode()).hexdigest() != digest:
            problems.append(f"entry {number}: hash mismatch")
        prev, seq = digest, number
        body = json.loads(payload)
        for table, rows in body.get("insert", {}).items():
            for row in rows:
                expected[table][row["id"]] = row
        for table, changes in body.get("update", {}).items():
            for change in changes:
                expected[table][change["id"]].update(change)
    for table in TABLES:
        wanted = expected[table]
        cursor = conn.execute(f"SELECT * FROM {table}")
        names = [d[0] for d in cursor.description]
        seen = 0
        for stored in cursor:
            row = dict(zip(names, stored, strict=True))
            want = wanted.get(row["id"])
            seen += 1
            if want is None:
                problems.append(f"{table} id={row['id']}: no ledger entry")
                continue
            for name, value in row.items():
                ledger_value = want.get(name)
                if (table, name) in JSON_COLUMNS and ledger_value is not None:
                    ledger_value = dumps(ledger_value)
                if value != ledger_value:
                    problems.append(f"{table} id={row['id']}.{name}: {value!r} != {ledger_value!r}")
        if seen != len(wanted):
            problems.append(f"{table}: {len(wanted) - seen} rows missing")
    if problems:
        print("\n".join(problems[:20]))
        raise SystemExit(1)
    print(f"OK: {seq} ledger entries, head {seq}:{prev[:16]}")


if __name__ == "__main__":
    main()
