"""inspect_ai eval logs as records: `.eval` zips (Zstandard members too) and `.json` logs.

A `.eval` log is a zip whose `header.json` holds everything a rule reads (status, task,
model, created, results, invalidated); only that member is decompressed, never the
samples. inspect_ai 0.3 writes the members with Zstandard (zip method 93), which
`zipfile` reads from Python 3.14 on; before that, the `inspect` extra brings
`backports.zstd`, whose `zipfile` is the 3.14 one.
"""

from __future__ import annotations

import io
import json
import sys
import zipfile
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from predtrack.errors import RuleError, RuleSyntaxError
from predtrack.rules.base import Chunk, Run, Status, StoreSource

EXTRA_HINT = (
    "this .eval log stores its members with Zstandard; reading it on Python < 3.14 needs "
    "the extra: pip install 'predtrack[inspect]'"
)
FIELDS = ("task", "model", "status", "created", "run")
PREFIX = "scores."
SUFFIXES = (".eval", ".json")


def log_files(root: Path) -> list[Path]:
    """The `.eval` and `.json` logs under `root` (or `root` itself), in path order."""
    if root.is_file():
        return [root]
    return sorted(p for p in root.rglob("*") if p.suffix in SUFFIXES and p.is_file())


def read_log(data: bytes, path: Path, rel: str) -> dict[str, Any]:
    """One log: its fields, status (success and not invalidated is finished) and time."""
    header = _eval_header(data, rel) if path.suffix == ".eval" else _json(data, rel)
    if not isinstance(header, dict) or not isinstance(header.get("eval"), dict):
        raise RuleError(f"{rel} is not an inspect_ai log: no `eval` section")
    spec = header["eval"]
    status = str(header.get("status", "started"))
    fields: dict[str, Any] = {
        "task": spec.get("task"),
        "model": spec.get("model"),
        "status": status,
        "created": spec.get("created"),
        "run": rel,
    }
    for score in (header.get("results") or {}).get("scores") or []:
        for metric, m in (score.get("metrics") or {}).items():
            fields[f"{PREFIX}{score.get('name')}.{metric}"] = (m or {}).get("value")
    state: Status = "finished"
    reason = ""
    if status in ("started", "running"):
        state, reason = "running", f"inspect log {rel} has status {status}"
    elif status != "success":
        err = (header.get("error") or {}).get("message")
        state = "failed"
        reason = f"inspect log {rel} has status {status}" + (f" ({_one_line(err)})" if err else "")
    elif header.get("invalidated") is True:
        state, reason = "failed", f"inspect log {rel} is invalidated (invalidated: true)"
    return {
        "fields": fields,
        "start": _epoch(spec.get("created")),
        "status": state,
        "reason": reason,
    }


def _one_line(text: Any, limit: int = 120) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _eval_header(data: bytes, rel: str) -> Any:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            names = set(z.namelist())
            member = "header.json" if "header.json" in names else "_journal/start.json"
            if member not in names:
                raise RuleError(f"{rel} is not an inspect_ai .eval log: no header.json")
            info = z.getinfo(member)
            if info.compress_type == 93 and sys.version_info < (3, 14):
                return _json(_read_zstd_member(data, member), rel)
            return _json(z.read(member), rel)
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as e:
        raise RuleError(f"{rel} is not a readable .eval zip: {e}") from None


def _read_zstd_member(data: bytes, member: str) -> bytes:
    try:
        from backports.zstd import zipfile as zstd_zipfile
    except ImportError:
        raise RuleError(EXTRA_HINT) from None
    with zstd_zipfile.ZipFile(io.BytesIO(data)) as z:
        return z.read(member)


def _json(data: bytes, rel: str) -> Any:
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError) as e:
        raise RuleError(f"{rel} is not valid JSON: {e}") from None


def _epoch(text: Any) -> float | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None


class InspectSource(
    StoreSource,
    name="inspect",
    store="inspect_ai log folder",
    holds="no inspect_ai logs (*.eval, *.json)",
):
    """A folder (or one file) of inspect_ai logs: each log is a record."""

    axes = ("task", "model")

    def units(self, path: Path) -> Sequence[Path]:
        return log_files(path)

    def record(self, unit: Path) -> Chunk:
        rel, where = self.place(unit)
        r = read_log(self.reader.read_bytes(unit), unit, rel)
        run = Run(
            name=rel,
            where=where,
            fields=r["fields"],
            status=r["status"],
            reason=r["reason"],
            order=(r["start"] or 0.0, rel),
        )
        return Chunk.one(run, dict(r["fields"]), time=r["start"])

    @classmethod
    def files(cls, path: Path) -> list[Path]:
        return log_files(path)

    @classmethod
    def check_layout(cls, path: Path, names: frozenset[str]) -> None:
        for n in names:
            if n not in FIELDS and not (n.startswith(PREFIX) and n.count(".") >= 2):
                raise RuleSyntaxError(
                    f"inspect: no field {n!r}; an eval log has task, model, status, created, "
                    "run and scores.SCORER.METRIC"
                )
        if path.is_file() and path.suffix not in SUFFIXES:
            raise RuleSyntaxError(f"{path.name} is not an inspect_ai log (.eval or .json)")
        if path.is_dir() and any(path.iterdir()) and not log_files(path):
            raise RuleSyntaxError(f"{path.name} holds no inspect_ai logs (*.eval, *.json)")
