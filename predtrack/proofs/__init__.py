"""Proofs of who predicted what and when: SSH signatures, RFC 3161 tokens, git anchors, sealed forecasts.

Every submodule imports only the standard library at module level; the cryptographic
libraries (`sshsig`, `rfc3161_client`, `cryptography`) are imported by the functions that
verify, so signing or sealing a forecast stays as light as recording one.
"""

from __future__ import annotations

from predtrack.errors import InputError, ProofError

HEX = frozenset("0123456789abcdef")
__all__ = ["HEX", "ProofError", "check_digest", "run_tool"]


def check_digest(digest: str, what: str = "digest") -> str:
    """A SHA-256 digest as 64 lowercase hex digits, or InputError naming it."""
    if len(digest) != 64 or not set(digest) <= HEX:
        raise InputError(f"{what} {digest!r} is not 64 lowercase hex digits (a SHA-256 digest)")
    return digest


def run_tool(
    args: list[str], *, what: str, timeout: float, input: bytes | None = None, package: str
) -> tuple[int, bytes, str]:
    """Run an external tool: (exit code, stdout, its complaint in one line); InputError if missing or hung."""
    import subprocess

    try:
        done = subprocess.run(
            args,
            input=input,
            stdin=subprocess.DEVNULL if input is None else None,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError:
        raise InputError(f"{args[0]} not found: install it (Debian package {package})") from None
    except subprocess.TimeoutExpired:
        raise InputError(f"{what} did not finish within {timeout:g} s") from None
    return done.returncode, done.stdout, _summary(done.stderr.decode("utf-8", "replace"))


def _summary(stderr: str) -> str:
    """A tool's complaint in one line: its `error:`/`fatal:` lines, else its last line."""
    # A passphrase prompt echoed to stderr (no terminal to ask on) is noise before the reason.
    lines = [line.replace("Enter passphrase: ", "").strip() for line in stderr.splitlines()]
    lines = [line for line in lines if line]
    flagged = [line for line in lines if line.startswith(("error:", "fatal:"))]
    return "; ".join(flagged) if flagged else (lines[-1] if lines else "")
