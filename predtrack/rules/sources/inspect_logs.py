"""inspect_ai eval logs as records: `.eval` zips (Zstandard members too) and `.json` logs.

A `.eval` log is a zip whose `header.json` holds everything a rule reads (status, task,
model, created, results, invalidated); only that member is decompressed, never the
samples. inspect_ai 0.3 writes the members with Zstandard (zip method 93), which
`zipfile` reads from Python 3.14 on; before that, the `inspect` extra brings
`backports.zstd`, whose `zipfile` is the 3.14 one.
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any

from predtrack.errors import RuleError

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


def read_log(path: Path, rel: str) -> dict[str, Any]:
    """One log: its fields, failure reason (status other than success, or invalidated) and time."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise RuleError(f"cannot read {rel}: {e.strerror or e}") from None
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
    if status != "success":
        err = (header.get("error") or {}).get("message")
        failed: str | None = f"inspect log {rel} has status {status}" + (f" ({err})" if err else "")
    elif header.get("invalidated") is True:
        failed = f"inspect log {rel} is invalidated (invalidated: true)"
    else:
        failed = None
    return {
        "label": rel,
        "run": rel,
        "fields": fields,
        "series": {},
        "start": _epoch(spec.get("created")),
        "failed": failed,
        "files": [path],
        "sha256": hashlib.sha256(data).hexdigest(),
        "size": len(data),
    }


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
