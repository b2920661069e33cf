"""Real SSH keys, ssh-agents and git repositories for the proof tests, made with the real tools."""

from __future__ import annotations

import os
import re
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

KEY_TYPES = {
    "ed25519": ["-t", "ed25519"],
    "rsa": ["-t", "rsa", "-b", "2048"],
    "ecdsa": ["-t", "ecdsa", "-b", "256"],
    "ecdsa384": ["-t", "ecdsa", "-b", "384"],
    "ecdsa521": ["-t", "ecdsa", "-b", "521"],
}


def make_key(directory: Path, name: str, kind: str = "ed25519", passphrase: str = "") -> Path:
    """A new key pair `directory/name` (private) and `name.pub`, made by ssh-keygen."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    subprocess.run(
        ["ssh-keygen", "-q", *KEY_TYPES[kind], "-N", passphrase, "-C", f"{name}@test", "-f", path],
        check=True,
        timeout=60,
    )
    return path


def fingerprint(public: Path) -> str:
    """`SHA256:...` as `ssh-keygen -lf` prints it."""
    out = subprocess.run(
        ["ssh-keygen", "-lf", public], capture_output=True, text=True, check=True, timeout=30
    ).stdout
    return out.split()[1]


@contextmanager
def ssh_agent(*keys: Path) -> Iterator[str]:
    """A fresh ssh-agent holding `keys`; yields its SSH_AUTH_SOCK and kills it afterwards."""
    out = subprocess.run(
        ["ssh-agent", "-s"], capture_output=True, text=True, check=True, timeout=30
    ).stdout
    sock = re.search(r"SSH_AUTH_SOCK=([^;]+);", out)
    pid = re.search(r"SSH_AGENT_PID=(\d+);", out)
    assert sock and pid, out
    try:
        env = {**os.environ, "SSH_AUTH_SOCK": sock.group(1)}
        for key in keys:
            subprocess.run(["ssh-add", "-q", key], env=env, check=True, timeout=30)
        yield sock.group(1)
    finally:
        os.kill(int(pid.group(1)), signal.SIGTERM)


def git_repo(path: Path) -> Path:
    """An empty git repository with a committer identity and one first commit."""
    path.mkdir(parents=True, exist_ok=True)
    for args in (
        ["init", "-q", "-b", "main"],
        ["config", "user.name", "Paper Author"],
        ["config", "user.email", "author@example.org"],
    ):
        git(path, *args)
    (path / "paper.tex").write_text("\\section{Results}\n")
    git(path, "add", "paper.tex")
    git(path, "commit", "-q", "-m", "first draft")
    return path


def git(repo: Path, *args: str) -> str:
    """Run git in `repo`; its stdout."""
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True, timeout=60
    ).stdout
