"""Plain baseline of `predtrack resolve`: every pending rule `FILE#/key` or `FILE#/a/k/of/a/n`.

Usage: python plain/resolve.py DB BY

Reads each result file once (hashed, parsed), writes one artifact per file, one resolution per
question with its evidence, locks the experiment, marks late every prediction made after its
file was last modified, and chains it all into ledger entries, in one transaction.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ledger import append_entries, begin, connect, dumps, insert, now


def pointer(doc: Any, path: str) -> Any:
    for part in path.strip("/").split("/"):
        doc = doc[part]
    return doc


def main() -> None:
    db, by = sys.argv[1:3]
    root = Path(db).resolve().parent if "://" not in db else Path.cwd()
    conn, mark = connect(db)
    pending = conn.execute(
        "SELECT id, experiment_id, key, kind, rule, rule_dir FROM questions WHERE rule IS NOT NULL "
        "AND id NOT IN (SELECT question_id FROM resolutions) ORDER BY id"
    ).fetchall()
    files: dict[str, dict[str, Any]] = {}
    found = []
    for qid, eid, key, _kind, rule, rule_dir in pending:
        name, _, selector = rule.partition("#")
        stored = os.path.normpath(os.path.join(rule_dir or ".", name))
        if stored not in files:
            path = root / stored
            try:
                data = path.read_bytes()
            except FileNotFoundError:
                files[stored] = {}
                continue
            mtime = datetime.fromtimestamp(path.stat().st_mtime, UTC)
            files[stored] = {
                "doc": json.loads(data), "sha256": hashlib.sha256(data).hexdigest(),
                "size": len(data), "mtime": mtime, "eid": eid, "hint": str(path),
            }  # fmt: skip
        info = files[stored]
        if not info:
            continue
        if "/of/" in selector:
            k_path, n_path = selector.split("/of/")
            k, n = int(pointer(info["doc"], k_path)), int(pointer(info["doc"], n_path))
            value: Any = k / n
            detail = f"{k_path} = {k} of {n_path} = {n}"
        else:
            value, k, n = pointer(info["doc"], selector), None, None
            detail = f"{selector} = {json.dumps(value)}"
        found.append((qid, eid, key, rule, stored, value, k, n, detail))
    if not found:
        return
    begin(conn)
    at = now()
    aid = (conn.execute("SELECT MAX(id) FROM artifacts").fetchone()[0] or 0) + 1
    rid = (conn.execute("SELECT MAX(id) FROM resolutions").fetchone()[0] or 0) + 1
    artifacts = []
    for stored, info in files.items():
        if info:
            info["id"] = aid
            artifacts.append({
                "id": aid, "experiment_id": info["eid"], "location": stored, "path": stored,
                "is_uri": False, "sha256": info["sha256"], "size": info["size"],
                "mtime": info["mtime"].strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "linked_at": at,
                "linked_by": by, "path_hint": info["hint"], "supersedes": None,
            })  # fmt: skip
            manifest = [{"path": stored, "sha256": info["sha256"], "size": info["size"]}]
            info["digest"] = hashlib.sha256(dumps(manifest).encode()).hexdigest()
            aid += 1
    resolutions, data_time = [], {}
    for qid, _eid, _key, rule, stored, value, k, n, detail in found:
        info = files[stored]
        data_time[qid] = info["mtime"]
        resolutions.append({
            "id": rid, "question_id": qid, "status": "resolved", "outcome": value, "k": k,
            "n": n, "source": "rule", "rule": rule, "artifact_id": info["id"],
            "artifact_path": stored, "sha256": info["sha256"], "detail": detail, "reason": None,
            "resolved_at": at, "resolved_by": by, "supersedes": None, "evidence": [info["id"]],
            "evidence_digest": info["digest"],
            "data_time": info["mtime"].strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "data_time_source": "mtime",
        })  # fmt: skip
        rid += 1
    late = []
    for pid, qid, made_at in conn.execute(
        "SELECT id, question_id, made_at FROM predictions WHERE late = "
        + ("0" if mark == "?" else "false")
    ):
        when = data_time.get(qid)
        if when is not None and datetime.fromisoformat(made_at) > when:
            reason = f"made after the result file was last modified ({when.isoformat()})"
            late.append({"id": pid, "late": True, "late_reason": reason})
    insert(conn, mark, "artifacts", artifacts, set())
    insert(conn, mark, "resolutions", resolutions, {"outcome", "evidence"})
    sql = f"UPDATE predictions SET late = {mark}, late_reason = {mark} WHERE id = {mark}"
    params = [(True, r["late_reason"], r["id"]) for r in late]
    if mark == "?":
        conn.executemany(sql, params)
    else:
        with conn.cursor() as cursor:
            cursor.executemany(sql, params)
    locks = []
    for (eid,) in conn.execute(
        f"SELECT id FROM experiments WHERE locked_at IS NULL AND id IN "
        f"({', '.join(mark for _ in {f[1] for f in found})})",
        sorted({f[1] for f in found}),
    ).fetchall():
        lock = {"id": eid, "locked_at": at, "lock_reason": "resolved by the plain baseline"}
        conn.execute(
            f"UPDATE experiments SET locked_at = {mark}, lock_reason = {mark} WHERE id = {mark}",
            (at, lock["lock_reason"], eid),
        )
        locks.append(lock)
    head = append_entries(
        conn,
        mark,
        "resolve",
        at,
        by,
        [("artifacts", artifacts), ("resolutions", resolutions)],
        [("experiments", locks), ("predictions", late)],
    )
    conn.execute("COMMIT")
    print(f"resolved {len(resolutions)}, {len(late)} predictions late\nLedger head {head}")


if __name__ == "__main__":
    main()
