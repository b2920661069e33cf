"""Git anchors: commit a ledger head's digest into a repository, and find those commits again."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from predtrack.errors import InputError
from predtrack.proofs import check_digest, run_tool

# A git date is whatever the committer's clock said: only a push somewhere trusted dates it.
DATE_CAVEAT = (
    "a git commit date is set by the committer's clock; it proves nothing unless "
    "the commit was pushed somewhere trusted (e.g. a public forge) at that time"
)
COMMIT_TIMEOUT = 120.0  # signing may wait for gpg's pinentry or an ssh-agent confirmation
READ_TIMEOUT = 60.0


@dataclass(frozen=True)
class GitAnchor:
    """A commit that anchors ledger head `seq` with its full SHA-256 `digest`."""

    seq: int
    digest: str
    commit: str
    date: datetime
    signed: bool
    store: str | None = None


_SUBJECT = re.compile(r"predtrack head (\d+):([0-9a-f]{16})")
_DIGEST = re.compile(r"^predtrack-head-sha256: ([0-9a-f]{64})$", re.M)
_STORE = re.compile(r"^predtrack-store: (\S+)$", re.M)


def anchor_message(seq: int, digest: str, store_id: str | None = None) -> str:
    """The commit message of an anchor: `predtrack head SEQ:HEX16`, then the full digest."""
    check_digest(digest, "head digest")
    lines = [f"predtrack head {seq}:{digest[:16]}", "", f"predtrack-head-sha256: {digest}"]
    if store_id:
        lines.append(f"predtrack-store: {store_id}")
    return "\n".join(lines) + "\n"


def _git(repo: str, *args: str, input: bytes | None = None, timeout: float = READ_TIMEOUT) -> bytes:
    code, out, err = run_tool(
        ["git", "-C", repo, *args],
        input=input,
        what=f"git {args[0]} in {repo}",
        timeout=timeout,
        package="git",
    )
    if code != 0:
        raise InputError(f"git {args[0]} failed in {repo}: {err or f'exit {code}'}")
    return out


def _repository(repo: str | os.PathLike[str]) -> str:
    path = os.fspath(repo)
    if not os.path.isdir(path):
        raise InputError(f"git repository {path} does not exist")
    code, _, _ = run_tool(
        ["git", "-C", path, "rev-parse", "--git-dir"],
        what="git rev-parse",
        timeout=READ_TIMEOUT,
        package="git",
    )
    if code != 0:
        raise InputError(f"{path} is not a git repository")
    return path


def anchor_git(
    repo: str | os.PathLike[str], seq: int, digest: str, *, store_id: str | None = None
) -> GitAnchor:
    """Commit an empty anchor commit on the checked-out branch (signed if the repo's config signs).

    Whatever is staged in the repository stays staged and out of the anchor commit.
    """
    path = _repository(repo)
    message = anchor_message(seq, digest, store_id)
    code, _, _ = run_tool(
        ["git", "-C", path, "symbolic-ref", "-q", "HEAD"],
        what="git symbolic-ref",
        timeout=READ_TIMEOUT,
        package="git",
    )
    if code != 0:
        raise InputError(f"{path} has a detached HEAD: check out a branch to anchor on")
    # --only with no paths commits none of the staged changes; hooks do not apply to an empty commit.
    _git(
        path, "commit", "--allow-empty", "--only", "--no-verify", "--quiet", "-F", "-",
        input=message.encode("utf-8"), timeout=COMMIT_TIMEOUT,
    )  # fmt: skip
    commit = _git(path, "rev-parse", "HEAD").decode("ascii").strip()
    return _read_anchors(path, [commit])[0]


def find_anchors(repo: str | os.PathLike[str], *, store_id: str | None = None) -> list[GitAnchor]:
    """Every anchor commit reachable from any ref, by seq then date; only `store_id`'s if given.

    Commits whose subject looks like an anchor but whose body lacks a full digest that
    matches it are not anchors and are left out.
    """
    path = _repository(repo)
    listed = _git(path, "rev-list", "--all", "--grep=^predtrack head [0-9]")
    commits = listed.decode("ascii").split()
    anchors = _read_anchors(path, commits) if commits else []
    if store_id is not None:
        anchors = [anchor for anchor in anchors if anchor.store == store_id]
    return sorted(anchors, key=lambda anchor: (anchor.seq, anchor.date, anchor.commit))


def _read_anchors(path: str, commits: list[str]) -> list[GitAnchor]:
    """Parse raw commit objects (`git cat-file --batch`) into anchors."""
    raw = _git(path, "cat-file", "--batch", input="".join(f"{c}\n" for c in commits).encode())
    anchors, at = [], 0
    while at < len(raw):
        header_end = raw.index(b"\n", at)
        commit, _, size = raw[at:header_end].decode("ascii").split()
        body = raw[header_end + 1 : header_end + 1 + int(size)]
        at = header_end + 1 + int(size) + 1
        anchor = _parse_commit(commit, body.decode("utf-8", "replace"))
        if anchor is not None:
            anchors.append(anchor)
    return anchors


def _parse_commit(commit: str, text: str) -> GitAnchor | None:
    headers, _, message = text.partition("\n\n")
    subject = _SUBJECT.fullmatch(message.split("\n", 1)[0].strip())
    digest = _DIGEST.search(message)
    if subject is None or digest is None or not digest.group(1).startswith(subject.group(2)):
        return None
    committer = next(line for line in headers.split("\n") if line.startswith("committer "))
    epoch, offset = committer.rsplit(" ", 2)[1:]
    sign = -1 if offset.startswith("-") else 1
    zone = timezone(sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[3:5])))
    store = _STORE.search(message)
    return GitAnchor(
        seq=int(subject.group(1)),
        digest=digest.group(1),
        commit=commit,
        date=datetime.fromtimestamp(int(epoch), zone).astimezone(UTC),
        signed=any(line.startswith(("gpgsig ", "gpgsig-sha256 ")) for line in headers.split("\n")),
        store=store.group(1) if store else None,
    )
