"""Sacred runs as records: a FileStorageObserver folder's `<id>/{run.json, config.json, metrics.json}`.

Names: `status`, `result`, `experiment` (the experiment's name), `run` (the run id, its
folder), `config.NAME` (nested keys dotted) and metric names (`metrics.json` series:
steps, timestamps, values). Sacred writes its times as naive UTC ISO strings.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from predtrack.errors import RuleError

FIELDS = ("status", "result", "experiment", "run")
PREFIX = "config."


def run_folders(root: Path) -> list[Path]:
    """The run folders (holding `run.json`) of an observer folder, numeric ids in order."""
    if (root / "run.json").is_file():
        return [root]
    found = [p for p in root.iterdir() if p.is_dir() and (p / "run.json").is_file()]
    return sorted(found, key=lambda p: (not p.name.isdigit(), int(p.name) if p.name.isdigit() else 0, p.name))


def read_run(folder: Path, with_metrics: bool) -> dict[str, Any]:
    """One run; its metric series only when `with_metrics` (metrics.json is then evidence too)."""
    files: list[tuple[Path, str, int]] = []
    run = _load(folder / "run.json", files, required=True)
    config = _load(folder / "config.json", files, required=False) or {}
    status = str(run.get("status"))
    fields: dict[str, Any] = {
        "status": status,
        "result": run.get("result"),
        "experiment": (run.get("experiment") or {}).get("name"),
        "run": folder.name,
    }
    fields.update(_flatten(config, PREFIX))
    series: dict[str, list[tuple[int, float, float]]] = {}
    if with_metrics:
        for name, m in (_load(folder / "metrics.json", files, required=False) or {}).items():
            if not isinstance(m, dict):
                continue
            steps, stamps, values = m.get("steps", []), m.get("timestamps", []), m.get("values", [])
            if not len(steps) == len(stamps) == len(values):
                raise RuleError(f"{folder.name}/metrics.json: {name} has unequal steps/timestamps/values")
            series[name] = [
                (int(s), _epoch(t) or float("nan"), v)
                for s, t, v in zip(steps, stamps, values, strict=True)
                if isinstance(v, int | float) and not isinstance(v, bool)
            ]
    return {
        "label": f"run {folder.name}",
        "run": folder.name,
        "fields": fields,
        "series": series,
        "start": _epoch(run.get("start_time")),
        "failed": None if status == "COMPLETED" else f"Sacred run {folder.name} has status {status}",
        "files": files,
    }


def _load(path: Path, files: list[tuple[Path, str, int]], required: bool) -> Any:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        if required:
            raise RuleError(f"Sacred run folder {path.parent.name} has no {path.name}") from None
        return None
    except OSError as e:
        raise RuleError(f"cannot read {path.parent.name}/{path.name}: {e.strerror or e}") from None
    files.append((path, hashlib.sha256(data).hexdigest(), len(data)))
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError) as e:
        raise RuleError(f"{path.parent.name}/{path.name} is not valid JSON: {e}") from None


def _epoch(text: Any) -> float | None:
    if not isinstance(text, str):
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


def _flatten(d: Any, prefix: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(d, dict):
        for k, v in d.items():
            if isinstance(v, dict):
                out.update(_flatten(v, f"{prefix}{k}."))
            else:
                out[f"{prefix}{k}"] = v
    return out
