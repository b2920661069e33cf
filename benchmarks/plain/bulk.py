"""Plain baseline of `predtrack predict --file`: the simplest code writing the same store.

Usage: python plain/bulk.py DB FILE BY

Reads the bulk file (json, else tomllib), turns each forecast into its distribution with
`predtrack.forecast.parse_forecast` (the only predtrack code used: what a forecast means is
predtrack's definition), and writes the experiment, the questions, the predictions and their
ledger entries in one transaction. No validation beyond what the parser does.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ledger import append_entries, begin, connect, insert, now

from predtrack.forecast import parse_forecast


def main() -> None:
    db, file, by = sys.argv[1:4]
    path = Path(file)
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        document = json.loads(text)
    else:
        import tomllib

        document = tomllib.loads(text)
    folder = str(path.resolve().parent)
    root = os.path.dirname(os.path.abspath(db)) if "://" not in db else None
    rule_dir = "." if root == folder else folder
    conn, mark = connect(db)
    begin(conn)
    at = now()
    qid = (conn.execute("SELECT MAX(id) FROM questions").fetchone()[0] or 0) + 1
    pid = (conn.execute("SELECT MAX(id) FROM predictions").fetchone()[0] or 0) + 1
    found = conn.execute(
        f"SELECT id FROM experiments WHERE name = {mark}", (document["experiment"],)
    ).fetchone()
    experiments = []
    if found:
        eid = found[0]
    else:
        eid = (conn.execute("SELECT MAX(id) FROM experiments").fetchone()[0] or 0) + 1
        experiments.append({
            "id": eid, "name": document["experiment"], "description": None, "created_at": at,
            "created_by": by, "locked_at": None, "lock_reason": None,
        })  # fmt: skip
    questions, predictions = [], []
    for q in document.get("questions", document.get("question", [])):
        questions.append({
            "id": qid, "experiment_id": eid, "key": q["key"], "title": q["title"],
            "kind": q["kind"], "unit": q.get("unit"), "lower": None, "upper": None,
            "categories": q.get("categories"), "ordered": False, "rule": q["rule"],
            "rule_dir": rule_dir, "tags": q.get("tags", []), "note": None, "created_at": at,
            "created_by": by, "rule_hint": folder if root else None, "if_run_fails": None,
        })  # fmt: skip
        for forecaster, forecast in q["forecasts"].items():
            parsed = parse_forecast(forecast, kind=q["kind"], categories=q.get("categories"))
            predictions.append({
                "id": pid, "question_id": qid, "forecaster": forecaster, "made_at": at,
                "forecast": parsed.text, "distribution": parsed.distribution, "note": None,
                "late": False, "late_reason": None, "signature": None, "key_id": None,
                "commitment_id": None,
            })  # fmt: skip
            pid += 1
        qid += 1
    insert(conn, mark, "experiments", experiments, set())
    insert(conn, mark, "questions", questions, {"categories", "tags"})
    insert(conn, mark, "predictions", predictions, {"distribution"})
    head = append_entries(
        conn,
        mark,
        "register",
        at,
        by,
        [("experiments", experiments), ("questions", questions), ("predictions", predictions)],
    )
    conn.execute("COMMIT")
    print(f"Recorded {len(predictions)} predictions\nLedger head {head}")


if __name__ == "__main__":
    main()
