"""Anchors of the ledger head end to end: RFC 3161 tokens from a local `openssl ts` authority and
commits in a real git repository, checked offline by `verify`, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import Run, head_of, sql
from proofs_tools import flip_question, git, git_repo, tamper_row
from tsa_server import (
    TimestampAuthority,
    authority_responder,
    closed_port_url,
    serve,
    silent_server,
)

from predtrack.proofs.tsa import read_token


@pytest.fixture(autouse=True)
def _no_user_git_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The developer's ~/.gitconfig (signing, hooks) must not change these tests."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")


@pytest.fixture(scope="module")
def authority(tmp_path_factory: pytest.TempPathFactory) -> TimestampAuthority:
    return TimestampAuthority(tmp_path_factory.mktemp("tsa"))


@pytest.fixture(scope="module")
def tsa_url(authority: TimestampAuthority) -> Iterator[str]:
    with serve(authority_responder(authority)) as url:
        yield url


def populate(run: Run) -> None:
    run("predict", "Reaches cheese at 25", "30%", "-e", "cheese-maze", "--key", "tl25")
    run("predict", "-q", "tl25", "40%", "--by", "bob")
    flip_question(run)


def verify_json(run: Run, code: int, *args: str) -> dict:
    return json.loads(run("verify", "--json", *args, code=code).output)


def test_a_token_over_head_n_proves_entries_up_to_n(
    store_db: str, run: Run, authority: TimestampAuthority, tsa_url: str
) -> None:
    populate(run)
    anchored = head_of(run)
    before = datetime.now(UTC).replace(microsecond=0)
    made = json.loads(run("anchor", "--tsa", tsa_url, "--json").output)
    assert made["head"] == anchored and made["seq"] == 3
    (token,) = sql(store_db, "SELECT token FROM anchors")[0]
    info = read_token(base64.b64decode(token))
    assert before - timedelta(seconds=1) <= info.time <= datetime.now(UTC) + timedelta(seconds=1)
    run("predict", "-q", "flip", "12 to 18", "--by", "bob")  # after the token: not covered
    report = verify_json(run, 0, "--tsa-ca", str(authority.ca_pem))
    subject = info.authority
    assert subject.startswith("CN=predtrack test TSA")
    assert [{k: a[k] for k in ("kind", "seq", "authority", "ok")} for a in report["anchors"]] == [
        {"kind": "tsa", "seq": 3, "authority": subject, "ok": True}
    ]
    # openssl's accuracy is one second: the token proves "before its time + 1 s".
    bound = (info.time + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    claim = f"entries 1–3 existed before {bound} (RFC 3161, TSA: {subject})"
    assert report["anchored"]["summary"] == claim
    assert f"anchored: {claim}" in run("verify", "--tsa-ca", str(authority.ca_pem)).output

    # A second token over a later head: both claims stand, neither implies the other.
    time.sleep(1.1)
    run("anchor", "--tsa", tsa_url)
    report = verify_json(run, 0, "--tsa-ca", str(authority.ca_pem))
    assert [a["seq"] for a in report["anchors"]] == [3, 5]
    assert [c["entries"] for c in report["anchored"]["claims"]] == [[1, 5], [1, 3]]


def test_without_a_ca_tokens_are_listed_but_not_trusted(
    store_db: str, run: Run, tsa_url: str, tmp_path: Path
) -> None:
    populate(run)
    run("anchor", "--tsa", tsa_url)
    report = verify_json(run, 0)
    assert report["anchors"][0]["ok"] is None
    assert report["anchored"]["claims"] == []
    unchecked = "1 timestamp token(s) not checked against a CA: give --tsa-ca FILE"
    assert report["warnings"] == [unchecked]
    assert f"Warning: {unchecked}" in run("verify").stderr
    stranger = TimestampAuthority(tmp_path / "stranger", tsa_name="stranger TSA")
    report = verify_json(run, 1, "--tsa-ca", str(stranger.ca_pem))
    assert report["anchors"][0]["ok"] is False
    (problem,) = report["problems"]
    assert problem["table"] == "anchors"
    assert problem["message"].startswith(
        "anchor #1 (tsa) over entry 3: timestamp token does not verify"
    )


def test_a_history_rewritten_after_the_token_fails_verify(
    store_db: str, run: Run, authority: TimestampAuthority, tsa_url: str
) -> None:
    populate(run)
    run("anchor", "--tsa", tsa_url)
    run("predict", "-q", "flip", "12 to 18", "--by", "bob")
    verify_json(run, 0, "--tsa-ca", str(authority.ca_pem))
    # The administrator changes bob's first forecast, in its row and in the ledger, recomputes
    # every hash and puts the guards back: chain, rows and guards are all consistent again.
    dist = {"family": "bernoulli", "p": 0.45}
    tamper_row(store_db, "predictions", 2, forecast="45%", distribution=dist)
    report = verify_json(run, 1, "--tsa-ca", str(authority.ca_pem))
    assert [(p["table"], p["field"]) for p in report["problems"]] == [("anchors", "head_hash")]
    assert "history was rewritten after it was anchored" in report["problems"][0]["message"]
    assert report["anchors"][0]["ok"] is False and report["anchored"]["claims"] == []
    # Without the CA too: the anchored digest is no longer in the chain.
    assert not verify_json(run, 1)["ok"]


def test_bad_tsa_answers_are_one_line_errors_and_nothing_is_written(
    store_db: str, run: Run
) -> None:
    populate(run)
    before = head_of(run)
    with serve(lambda _type, _body: (200, b"<html>hello</html>")) as garbage:
        result = run("anchor", "--tsa", garbage, code=2)
    assert "that are not an RFC 3161 reply" in result.output
    result = run("anchor", "--tsa", closed_port_url(), code=2)
    assert "is unreachable" in result.output
    with silent_server() as silent:
        started = time.monotonic()
        result = run("anchor", "--tsa", silent, "--timeout", "1", code=2)
        assert time.monotonic() - started < 6
    assert "did not answer within 1 s" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert "give --tsa URL, --git REPO" in run("anchor", code=2).output
    assert head_of(run) == before
    assert sql(store_db, "SELECT COUNT(*) FROM anchors")[0][0] == 0


def test_an_empty_ledger_has_no_head_to_anchor(store_db: str, run: Run, tsa_url: str) -> None:
    assert "there is no head to anchor yet" in run("anchor", "--tsa", tsa_url, code=2).output


def test_git_anchor_is_found_and_checked(store_db: str, run: Run, tmp_path: Path) -> None:
    populate(run)
    repo = git_repo(tmp_path / "paper")
    made = json.loads(run("anchor", "--git", str(repo), "--json").output)
    commit = git(repo, "rev-parse", "HEAD").strip()
    assert made["anchors"][0]["commit"] == commit
    assert git(repo, "log", "-1", "--format=%s").strip() == f"predtrack head {made['head']}"
    report = verify_json(run, 0, "--git", str(repo))
    (item,) = report["anchors"]
    assert (item["kind"], item["seq"], item["ok"], item["commit"]) == ("git", 3, True, commit)
    summary = report["anchored"]["summary"]
    assert summary.startswith(f"entries 1–3 were committed in git commit {commit} dated ")
    assert "a git date proves nothing unless the commit was pushed somewhere trusted" in summary
    assert "pushed somewhere trusted" in report["anchored"]["caveat"]
    # Without --git the recorded commit is listed, not checked.
    assert verify_json(run, 0)["anchors"][0]["ok"] is None
    # A repository without this store's anchors proves nothing, and says so.
    other = git_repo(tmp_path / "other")
    report = verify_json(run, 1, "--git", str(other))
    assert any(p["message"] == f"{other} holds no anchor of this store" for p in report["problems"])


def test_git_anchor_catches_a_rewritten_history(store_db: str, run: Run, tmp_path: Path) -> None:
    populate(run)
    repo = git_repo(tmp_path / "paper")
    run("anchor", "--git", str(repo))
    tamper_row(store_db, "predictions", 2, forecaster="carol")
    report = verify_json(run, 1, "--git", str(repo))
    messages = [p["message"] for p in report["problems"]]
    assert any(
        re.match(r"git commit [0-9a-f]{12} in .* anchors entry 3 as [0-9a-f]{16}…, but the ledger's "
                 r"entry 3 is [0-9a-f]{16}…: history was rewritten", m)
        for m in messages
    ), messages  # fmt: skip
    assert {p["table"] for p in report["problems"]} == {"anchors"}


def test_anchor_through_the_api(
    tmp_path: Path, authority: TimestampAuthority, tsa_url: str
) -> None:
    import predtrack

    with predtrack.open(tmp_path / "api.db", user="alice") as study:
        study.predict("Reaches cheese at 25", "30%", experiment="cheese-maze", key="tl25")
        made = study.anchor(tsa=tsa_url, git=git_repo(tmp_path / "paper"))
        assert [a["kind"] for a in made.anchors] == ["tsa", "git"]
        result = study.verify(tsa_ca=authority.ca_pem, git=tmp_path / "paper")
        assert result.ok
        assert [a["ok"] for a in result.sections["anchors"]] == [True, True]
        assert result.sections["anchored"]["summary"].startswith("entries 1–1 existed before ")
