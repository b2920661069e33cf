"""lm-evaluation-harness results as records: one `results_DATE.json` file each, ordered by that date.

The harness writes `OUTPUT/<model_name_sanitized>/results_<YYYY-MM-DDTHH-MM-SS.ffffff>.json`;
a record's names are `model` (the full `model_name`, e.g. `EleutherAI/pythia-160m`),
`date`, `results.TASK.METRIC` (metric keys carry their filter: `"acc,none"`) and
`n-samples.TASK.original|effective`. A run with `--limit` shows only as effective <
original: such a result is a failed run for the tasks a rule reads from it.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from predtrack.errors import RuleError

FIELDS = ("model", "date", "run")
PREFIXES = ("results.", "n-samples.")
_NAME = re.compile(r"results_(\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d(?:\.\d+)?)\.json\Z")


def result_files(root: Path) -> list[tuple[datetime, Path]]:
    """(date in the file name, path) of every results file under `root`, oldest first."""
    found = [root] if root.is_file() else [p for p in root.rglob("results_*.json") if p.is_file()]
    out = []
    for p in found:
        m = _NAME.match(p.name)
        if m:
            when = datetime.strptime(m.group(1).split(".")[0], "%Y-%m-%dT%H-%M-%S")
            frac = m.group(1).partition(".")[2]
            when = when.replace(microsecond=int((frac + "000000")[:6]) if frac else 0)
            out.append((when, p))
    return sorted(out, key=lambda t: (t[0], t[1].as_posix()))


def read_result(
    path: Path, rel: str, when: datetime, tasks: Iterable[str] = ()
) -> dict[str, Any]:
    """One results file; `tasks`: those a rule reads, checked for `--limit` (effective < original)."""
    try:
        data = path.read_bytes()
        doc = json.loads(data)
    except OSError as e:
        raise RuleError(f"cannot read {rel}: {e.strerror or e}") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise RuleError(f"{rel} is not valid JSON: {e}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("results"), dict):
        raise RuleError(f"{rel} is not an lm-eval results file: no `results` section")
    fields: dict[str, Any] = {
        "model": doc.get("model_name") or (doc.get("config") or {}).get("model"),
        "date": when.isoformat(),
        "run": rel,
    }
    for task, metrics in doc["results"].items():
        if isinstance(metrics, dict):
            for metric, value in metrics.items():
                fields[f"results.{task}.{metric}"] = value
    counts = doc.get("n-samples") or {}
    for task, n in counts.items():
        if isinstance(n, dict):
            for k in ("original", "effective"):
                if k in n:
                    fields[f"n-samples.{task}.{k}"] = n[k]
    limited = []
    for task in tasks:
        n = counts.get(task)
        if isinstance(n, dict) and isinstance(n.get("effective"), int | float):
            if n["effective"] < n.get("original", n["effective"]):
                limited.append(f"{task} ({n['effective']} of {n['original']} samples)")
    failed = (
        f"lm-eval result {rel} was run with --limit: n-samples effective < original for "
        + ", ".join(limited)
        if limited
        else None
    )
    # The evaluation's own start time (epoch seconds); else the file name's date (local, taken as UTC).
    stamp = doc.get("date")
    start = float(stamp) if isinstance(stamp, int | float) else when.replace(tzinfo=UTC).timestamp()
    return {
        "label": rel,
        "run": rel,
        "fields": fields,
        "series": {},
        "start": start,
        "failed": failed,
        "files": [path],
        "sha256": hashlib.sha256(data).hexdigest(),
        "size": len(data),
    }


def task_of(name: str) -> str | None:
    """The task a `results.TASK.METRIC` or `n-samples.TASK.X` name reads (metric keys hold no dot)."""
    for prefix in PREFIXES:
        if name.startswith(prefix):
            task, dot, _ = name[len(prefix) :].rpartition(".")
            return task if dot else None
    return None
