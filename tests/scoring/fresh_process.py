"""A helper for the tests that check what a scoring call leaves unimported."""

from __future__ import annotations

import subprocess
import sys


def loads(code: str, module: str) -> bool:
    """Whether `module` is imported once `code` has run in a fresh interpreter."""
    probe = f"{code}\nimport sys\nprint({module!r} in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return out.stdout.strip() == "True"
