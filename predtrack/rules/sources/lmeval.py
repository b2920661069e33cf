"""lm-evaluation-harness results as records: one `results_DATE.json` file each, ordered by that date.

The harness writes `OUTPUT/<model_name_sanitized>/results_<YYYY-MM-DDTHH-MM-SS.ffffff>.json`;
a record's names are `model` (the full `model_name`, e.g. `EleutherAI/pythia-160m`),
`date`, `results.TASK.METRIC` (metric keys carry their filter: `"acc,none"`) and
`n-samples.TASK.original|effective`. A run with `--limit` shows only as effective <
original: such a result is a failed run for the tasks a rule reads from it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from predtrack.errors import RuleError, RuleSyntaxError
from predtrack.rules.base import Chunk, Run, StoreSource

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


def read_result(data: bytes, rel: str, when: datetime, tasks: Iterable[str] = ()) -> dict[str, Any]:
    """One results file; `tasks`: those a rule reads, checked for `--limit` (effective < original)."""
    try:
        doc = json.loads(data)
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
        if not isinstance(n, dict):
            continue
        eff, orig = n.get("effective"), n.get("original")
        if isinstance(eff, int | float) and isinstance(orig, int | float) and eff < orig:
            limited.append(f"{task} ({eff} of {orig} samples)")
    failed = (
        f"lm-eval result {rel} was run with --limit: n-samples effective < original for "
        + ", ".join(limited)
        if limited
        else None
    )
    # The evaluation's own start time (epoch seconds); else the file name's date (local, taken as UTC).
    stamp = doc.get("date")
    start = float(stamp) if isinstance(stamp, int | float) else when.replace(tzinfo=UTC).timestamp()
    return {"fields": fields, "start": start, "failed": failed}


def task_of(name: str) -> str | None:
    """The task a `results.TASK.METRIC` or `n-samples.TASK.X` name reads (metric keys hold no dot)."""
    for prefix in PREFIXES:
        if name.startswith(prefix):
            task, dot, _ = name[len(prefix) :].rpartition(".")
            return task if dot else None
    return None


class LmevalSource(
    StoreSource,
    name="lmeval",
    store="lm-eval results folder",
    holds="no lm-eval results files (results_DATE.json)",
):
    """A folder of lm-eval results (per-model subfolders): each results file is a record."""

    axes = ("model",)
    uses_names = True  # checks --limit for the tasks the rule reads

    def units(self, path: Path) -> Sequence[tuple[datetime, Path]]:
        return result_files(path)

    def record(self, unit: tuple[datetime, Path]) -> Chunk:
        when, file = unit
        rel, where = self.place(file)
        tasks = sorted({t for n in self.target.names if (t := task_of(n)) is not None})
        r = read_result(self.reader.read_bytes(file), rel, when, tasks)
        run = Run(
            name=rel,
            where=where,
            fields=r["fields"],
            status="failed" if r["failed"] else "finished",
            reason=r["failed"] or "",
            order=(when, rel),
        )
        return Chunk.one(run, dict(r["fields"]), time=r["start"])

    @classmethod
    def files(cls, path: Path) -> list[Path]:
        return [f for _, f in result_files(path)]

    @classmethod
    def check_layout(cls, path: Path, names: frozenset[str]) -> None:
        for n in names:
            if n in FIELDS:
                continue
            if n.startswith("n-samples.") and n.rpartition(".")[2] in ("original", "effective"):
                continue
            if n.startswith("results.") and task_of(n):
                continue
            raise RuleSyntaxError(
                f"lmeval: no field {n!r}; a results file has model, date, run, "
                'results.TASK.METRIC (quoted when it holds a comma: "results.mmlu.acc,none") '
                "and n-samples.TASK.original|effective"
            )
        if path.is_file() and not _NAME.match(path.name):
            raise RuleSyntaxError(f"{path.name} is not an lm-eval results file (results_DATE.json)")
        if path.is_dir() and any(path.iterdir()) and not result_files(path):
            raise RuleSyntaxError(f"{path.name} holds no lm-eval results files (results_DATE.json)")
