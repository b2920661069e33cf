"""Who is acting: the forecaster name from --by, PREDTRACK_USER, git, or the OS user."""

from __future__ import annotations

import getpass
import os
import re
import subprocess

from predtrack.errors import InputError

# Names the scoring views use for virtual forecasters.
RESERVED = frozenset({"team", "climatology", "naive"})
_NAME_RE = re.compile(r"^[^\s/\\][^\n\r\t]{0,199}$")


def check_name(name: str, what: str = "forecaster") -> str:
    """A usable forecaster name: non-empty, one line, at most 200 characters, not reserved."""
    clean = name.strip()
    if not _NAME_RE.match(clean):
        raise InputError(f"{what} name {name!r} must be one line of 1 to 200 characters")
    if clean.lower() in RESERVED:
        raise InputError(f"{what} name {clean!r} is reserved for a virtual forecaster")
    return clean


def _git_user() -> str | None:
    try:
        done = subprocess.run(
            ["git", "config", "user.name"], capture_output=True, text=True, timeout=2, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    name = done.stdout.strip()
    return name or None


def current_user(by: str | None = None) -> str:
    """The forecaster: --by, else PREDTRACK_USER, else `git config user.name`, else the OS user."""
    for candidate in (by, os.environ.get("PREDTRACK_USER")):
        if candidate and candidate.strip():
            return check_name(candidate)
    name = _git_user()
    if name is None:
        try:
            name = getpass.getuser()
        except (OSError, KeyError):
            name = "unknown"
    return check_name(name)
