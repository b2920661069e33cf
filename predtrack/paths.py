"""Where a study's files are: paths stored relative to the study root, absolute only as a hint.

The study root is `PREDTRACK_ROOT` when set, else the folder of the SQLite database file, so a
study folder (database, rules' folders, result files) can be moved or cloned and still resolve
and verify. On PostgreSQL without `PREDTRACK_ROOT`, paths are stored absolute.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT_ENV = "PREDTRACK_ROOT"


def study_root(database: Path | None) -> Path | None:
    """The folder stored paths are relative to (None: store absolute paths)."""
    value = os.environ.get(ROOT_ENV)
    if value:
        return Path(value).expanduser().absolute()
    return database.parent if database is not None else None


def to_stored(path: str | os.PathLike[str], root: Path | None) -> str:
    """A path as stored: POSIX-relative to the root when it lies inside it, else absolute."""
    absolute = Path(os.path.normpath(Path(path).absolute()))
    if root is not None:
        try:
            relative = absolute.relative_to(Path(os.path.normpath(root)))
        except ValueError:
            return str(absolute)
        return relative.as_posix() or "."
    return str(absolute)


def from_stored(stored: str, root: Path | None, hint: str | None = None) -> Path:
    """The file a stored path names now: under the root, else the absolute hint if it exists."""
    path = Path(stored)
    if not path.is_absolute():
        path = (root or Path.cwd()) / path
    if hint and not path.exists() and Path(hint).exists():
        return Path(hint)
    return Path(os.path.normpath(path))
