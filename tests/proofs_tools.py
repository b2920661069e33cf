"""Real SSH keys, ssh-agents and git repositories for the proof tests, made with the real tools;
and history rewritten as a database administrator could."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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


def rewrite_history(url: str, edit: Callable[[int, dict[str, Any]], None]) -> None:
    """Rewrite the ledger as an administrator could: `edit(seq, body)` changes entry bodies in
    place, every hash is recomputed, and the guard triggers are put back as they were."""
    from conftest import sql

    from predtrack.store import triggers
    from predtrack.store.ledger import chain_hash
    from predtrack.store.types import canonical_json

    postgres = url.startswith("postgresql")
    for name in ("ledger_no_update", "ledger_no_delete", "ledger_append_next"):
        sql(url, f"DROP TRIGGER IF EXISTS {name}" + (" ON ledger" if postgres else ""))
    prev = triggers.GENESIS
    for seq, payload in sql(url, "SELECT seq, payload FROM ledger ORDER BY seq"):
        body = json.loads(payload)
        edit(seq, body)
        text = canonical_json(body)
        digest = chain_hash(prev, text)
        sql(
            url,
            "UPDATE ledger SET payload = :p, prev = :prev, hash = :h WHERE seq = :s",
            p=text, prev=prev, h=digest, s=seq,
        )  # fmt: skip
        prev = digest
    for statement in triggers.pg_statements() if postgres else triggers.sqlite_statements():
        sql(url, statement)


def edit_rows(table: str, row_id: int, **changes: Any) -> Callable[[int, dict[str, Any]], None]:
    """An `edit` for rewrite_history: change columns of one inserted row in its ledger entry."""

    def edit(seq: int, body: dict[str, Any]) -> None:
        for row in body.get("insert", {}).get(table, []):
            if row["id"] == row_id:
                row.update(changes)

    return edit


def everything_stored(url: str) -> str:
    """Every value of every table and every ledger payload, as one text (what an administrator reads)."""
    from conftest import sql

    from predtrack.store.tables import DOMAIN

    parts = [str(row) for table in DOMAIN for row in sql(url, f"SELECT * FROM {table}")]
    parts += [str(row) for row in sql(url, "SELECT * FROM ledger")]
    return "\n".join(parts)


def tamper_row(url: str, table: str, row_id: int, **changes: Any) -> None:
    """Change a row as an administrator could: in its table and in its ledger entry, every hash
    recomputed and the guards put back, so that only the proofs can tell."""
    from conftest import sql

    from predtrack.store.types import canonical_json

    rewrite_history(url, edit_rows(table, row_id, **changes))
    stored = {k: canonical_json(v) if isinstance(v, dict) else v for k, v in changes.items()}
    assignments = ", ".join(f'"{name}" = :{name}' for name in stored)
    sql(url, f"UPDATE {table} SET {assignments} WHERE id = :row_id", row_id=row_id, **stored)


def flip_question(run: Callable[..., Any], *extra: str, **env: str) -> Any:
    """alice registers the quantity question cheese-maze/flip with her forecast 10 to 20."""
    args = ["Flip size", "10 to 20", "--kind", "quantity", "-e", "cheese-maze", "--key", "flip"]
    return run("predict", *args, *extra, **env)
