"""Sacred runs as records: a FileStorageObserver folder's `<id>/{run.json, config.json, metrics.json}`.

Names: `status`, `result`, `experiment` (the experiment's name), `run` (the run id, its
folder), `config.NAME` (nested keys dotted) and metric names (`metrics.json` series:
steps, timestamps, values). Sacred writes its times as naive UTC ISO strings, read as UTC.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from predtrack.errors import RuleError, RuleSyntaxError
from predtrack.rules.base import (
    Chunk,
    Run,
    Status,
    StoreSource,
    latest_values,
    parse_time,
    points,
)
from predtrack.rules.sources.wandb import flatten

FIELDS = ("status", "result", "experiment", "run")
PREFIX = "config."


def run_folders(root: Path) -> list[Path]:
    """The run folders (holding `run.json`) of an observer folder, numeric ids in order."""
    if (root / "run.json").is_file():
        return [root]
    found = [p for p in root.iterdir() if p.is_dir() and (p / "run.json").is_file()]
    return sorted(
        found, key=lambda p: (not p.name.isdigit(), int(p.name) if p.name.isdigit() else 0, p.name)
    )


def read_run(folder: Path, with_metrics: bool, read: Callable[[Path], bytes]) -> dict[str, Any]:
    """One run; its metric series only when `with_metrics` (metrics.json is then evidence too)."""
    run = _load(folder / "run.json", read, required=True)
    config = _load(folder / "config.json", read, required=False) or {}
    status = str(run.get("status"))
    fields: dict[str, Any] = {
        "status": status,
        "result": run.get("result"),
        "experiment": (run.get("experiment") or {}).get("name"),
        "run": folder.name,
    }
    fields.update(flatten(config, PREFIX) if isinstance(config, dict) else {})
    series: dict[str, list[tuple[int, float | None, float]]] = {}
    if with_metrics:
        for name, m in (_load(folder / "metrics.json", read, required=False) or {}).items():
            if not isinstance(m, dict):
                continue
            steps, stamps, values = m.get("steps", []), m.get("timestamps", []), m.get("values", [])
            if not len(steps) == len(stamps) == len(values):
                raise RuleError(
                    f"{folder.name}/metrics.json: {name} has unequal steps/timestamps/values"
                )
            series[name] = [
                (int(s), parse_time(t), v)
                for s, t, v in zip(steps, stamps, values, strict=True)
                if isinstance(v, int | float) and not isinstance(v, bool)
            ]
    state: Status = "finished"
    if status in ("RUNNING", "QUEUED"):
        state = "running"
    elif status != "COMPLETED":
        state = "failed"
    return {
        "fields": fields,
        "series": series,
        "start": parse_time(run.get("start_time")),
        "status": state,
        "reason": "" if state == "finished" else f"Sacred run {folder.name} has status {status}",
    }


def _load(path: Path, read: Callable[[Path], bytes], required: bool) -> Any:
    if not path.is_file():
        if required:
            raise RuleError(f"Sacred run folder {path.parent.name} has no {path.name}")
        return None
    data = read(path)
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError) as e:
        raise RuleError(f"{path.parent.name}/{path.name} is not valid JSON: {e}") from None


class SacredSource(
    StoreSource,
    name="sacred",
    store="Sacred observer folder",
    holds="no Sacred runs (<id>/run.json)",
):
    """A Sacred FileStorageObserver folder: each run folder is a record."""

    axes = ("config.",)
    uses_names = True  # reads metrics.json only when the rule names a metric

    def units(self, path: Path) -> Sequence[Path]:
        return run_folders(path) if path.is_dir() else []

    def record(self, unit: Path) -> Chunk:
        metrics = any(n not in FIELDS and not n.startswith(PREFIX) for n in self.target.names)
        r = read_run(unit, metrics, self.reader.read_bytes)
        series = points(r["series"])
        values, when = latest_values(series, r["start"])
        record = {k: v for k, v in r["fields"].items() if not k.startswith(PREFIX)}
        record.update(values)
        run = Run(
            name=unit.name,
            where=f"run {unit.name} in {self.target.shown}",
            fields=r["fields"],
            status=r["status"],
            reason=r["reason"],
            series=series,
            order=(r["start"] or 0.0, unit.name),
        )
        return Chunk.one(run, record, time=when)

    @classmethod
    def files(cls, path: Path) -> list[Path]:
        folders = run_folders(path) if path.is_dir() else []
        names = ("run.json", "config.json", "metrics.json")
        return [folder / n for folder in folders for n in names if (folder / n).is_file()]

    @classmethod
    def check_layout(cls, path: Path, names: frozenset[str]) -> None:
        if path.is_file() or (path.is_dir() and any(path.iterdir()) and not run_folders(path)):
            raise RuleSyntaxError(
                f"{path.name} is not a Sacred FileStorageObserver folder: no <id>/run.json in it"
            )
