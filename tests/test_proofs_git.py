"""Git anchors in a real repository: committed without touching the index, found again on any branch."""

from __future__ import annotations

import hashlib
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from proofs_tools import git, git_repo, make_key

from predtrack.errors import InputError
from predtrack.proofs.git import anchor_git, anchor_message, find_anchors

HEAD = hashlib.sha256(b"head 7").hexdigest()
LATER = hashlib.sha256(b"head 9").hexdigest()
STORE = "5f3c" * 16


@pytest.fixture(autouse=True)
def _no_user_git_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The developer's ~/.gitconfig (signing, hooks) must not change these tests."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")


def test_anchor_is_committed_alone_and_found(tmp_path: Path) -> None:
    repo = git_repo(tmp_path / "paper")
    (repo / "draft.tex").write_text("unfinished\n")
    git(repo, "add", "draft.tex")
    before = datetime.now(UTC).replace(microsecond=0)
    anchor = anchor_git(repo, 7, HEAD, store_id=STORE)
    assert (anchor.seq, anchor.digest, anchor.store, anchor.signed) == (7, HEAD, STORE, False)
    assert anchor.commit == git(repo, "rev-parse", "HEAD").strip()
    assert before - timedelta(seconds=1) <= anchor.date <= datetime.now(UTC)
    assert git(repo, "log", "-1", "--format=%B") == anchor_message(7, HEAD, STORE) + "\n"
    assert git(repo, "log", "-1", "--format=%s") == f"predtrack head 7:{HEAD[:16]}\n"
    # The anchor adds nothing to the tree, and what was staged is still staged.
    assert git(repo, "rev-parse", "HEAD^{tree}") == git(repo, "rev-parse", "HEAD~1^{tree}")
    assert git(repo, "status", "--porcelain") == "A  draft.tex\n"
    assert find_anchors(repo) == [anchor]


def test_signed_anchor_is_reported_signed_and_git_verifies_it(tmp_path: Path) -> None:
    repo = git_repo(tmp_path / "paper")
    key = make_key(tmp_path / "keys", "author")
    public = key.with_suffix(".pub")
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(f"author@example.org {public.read_text()}")
    for name, value in (
        ("gpg.format", "ssh"),
        ("user.signingkey", str(public)),
        ("commit.gpgsign", "true"),
        ("gpg.ssh.allowedSignersFile", str(allowed)),
    ):
        git(repo, "config", name, value)
    anchor = anchor_git(repo, 7, HEAD)
    assert anchor.signed is True
    checked = subprocess.run(
        ["git", "-C", repo, "verify-commit", anchor.commit], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stderr
    assert "Good" in checked.stderr


def test_anchors_on_every_branch_sorted_by_seq_and_filtered_by_store(tmp_path: Path) -> None:
    repo = git_repo(tmp_path / "paper")
    late = anchor_git(repo, 9, LATER, store_id=STORE)
    git(repo, "switch", "-q", "-c", "side", "HEAD~1")
    early = anchor_git(repo, 7, HEAD)
    # Look-alikes that are not anchors: no full digest, or a digest that disagrees.
    git(repo, "commit", "-q", "--allow-empty", "-m", f"predtrack head 8:{HEAD[:16]}")
    wrong = anchor_message(8, LATER).replace(LATER[:16], HEAD[:16], 1)
    git(repo, "commit", "-q", "--allow-empty", "-m", wrong)
    git(repo, "switch", "-q", "main")
    assert find_anchors(repo) == [early, late]
    assert find_anchors(repo, store_id=STORE) == [late]


def test_empty_repository(tmp_path: Path) -> None:
    repo = tmp_path / "empty"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.name", "A")
    git(repo, "config", "user.email", "a@example.org")
    assert find_anchors(repo) == []
    anchor = anchor_git(repo, 1, HEAD)
    assert find_anchors(repo) == [anchor]


def test_bad_repositories_and_digests_are_input_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(InputError, match="does not exist"):
        find_anchors(tmp_path / "missing")
    (tmp_path / "plain").mkdir()
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    with pytest.raises(InputError, match="is not a git repository"):
        anchor_git(tmp_path / "plain", 1, HEAD)
    repo = git_repo(tmp_path / "paper")
    with pytest.raises(InputError, match="not 64 lowercase hex digits"):
        anchor_git(repo, 1, HEAD[:16])
    git(repo, "checkout", "-q", "--detach")
    with pytest.raises(InputError, match="detached HEAD"):
        anchor_git(repo, 1, HEAD)
    git(repo, "switch", "-q", "main")
    git(repo, "config", "commit.gpgsign", "true")
    git(repo, "config", "gpg.program", str(tmp_path / "no-such-gpg"))
    with pytest.raises(InputError, match="git commit failed in ") as caught:
        anchor_git(repo, 1, HEAD)
    assert "\n" not in str(caught.value)
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    with pytest.raises(InputError, match="git not found: install it"):
        find_anchors(repo)
