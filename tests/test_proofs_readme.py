"""The README's section on proofs works as written: its shell blocks run, in order, with the real
`predtrack`, ssh-keygen, openssl (a local RFC 3161 authority standing in for FreeTSA) and git."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

from proofs_tools import git, git_repo, make_key
from tsa_server import TimestampAuthority, authority_responder, serve

from tests.conftest import readme_section

README = "Who and when: signatures, timestamps, sealed forecasts"
PUBLIC_TSA = "https://freetsa.org/tsr"


def shell_blocks(text: str) -> list[str]:
    return re.findall(r"```sh\n(.*?)```", text, re.S)


def test_the_proofs_section_runs_as_written(tmp_path: Path) -> None:
    home, study = tmp_path / "home", tmp_path / "study"
    make_key(home / ".ssh", "id_ed25519")
    make_key(home / ".ssh", "id_ed25519_2027")
    bob = make_key(tmp_path / "bob", "id_ed25519")
    study.mkdir()
    # What the reader already has: bob's published keys, a bulk file, a paper repository with
    # a remote to push to, and the TSA's CA certificate.
    shutil.copy(bob.with_suffix(".pub"), study / "bob.keys")
    (study / "prereg.toml").write_text(
        '[[question]]\nexperiment = "cheese-maze"\nkey = "tl25"\n'
        'title = "Reaches the cheese at size 25"\nforecasts = { alice = "30%", bob = "40%" }\n'
    )
    paper = git_repo(tmp_path / "paper")
    subprocess.run(["git", "init", "-q", "--bare", tmp_path / "remote.git"], check=True)
    git(paper, "remote", "add", "origin", str(tmp_path / "remote.git"))
    git(paper, "push", "-q", "-u", "origin", "main")
    authority = TimestampAuthority(tmp_path / "tsa")
    shutil.copy(authority.ca_pem, study / "cacert.pem")
    env = {
        "HOME": str(home),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "PREDTRACK_USER": "alice",
        "GIT_CONFIG_GLOBAL": str(tmp_path / "gitconfig"),
        "GIT_CONFIG_NOSYSTEM": "1",
        "LANG": "C.UTF-8",
    }
    blocks = shell_blocks(readme_section(README))
    assert len(blocks) == 7
    with serve(authority_responder(authority)) as url:
        script = "set -euo pipefail\npredtrack init\n" + "".join(blocks).replace(PUBLIC_TSA, url)
        script += "predtrack verify --tsa-ca cacert.pem --git ../paper\n"
        done = subprocess.run(
            ["bash", "-c", script], cwd=study, env=env, capture_output=True, text=True, timeout=300
        )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "Recorded prediction #1 on cheese-maze/flip by alice: 10 to 20" in out
    assert "not signed: 1 by bob (alice signs only alice's own forecasts)" in done.stderr
    assert re.search(r"anchored: entries 1–\d+ existed before \S+Z \(RFC 3161, TSA: CN=", out)
    assert "a git date proves nothing unless the commit was pushed somewhere trusted" in out
    assert "Revealed prediction" in out and "by bob: 12 to 18" in out
    assert out.rstrip().splitlines()[-1].startswith("OK: ")
    # The openings file is where the section says, private to its owner.
    (openings,) = (home / ".local" / "share" / "predtrack" / "openings").glob("*/bob.jsonl")
    assert stat.S_IMODE(openings.stat().st_mode) == 0o600
    assert f"Openings file: {openings} (mode 0600)" in out
    assert git(paper, "status", "-sb").startswith("## main...origin/main\n")
