"""Who is acting: the forecaster name from --by, PREDTRACK_USER, git, or the OS user."""

from __future__ import annotations

import getpass
import os
import subprocess

from predtrack.validate import check_name


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
