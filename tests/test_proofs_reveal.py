"""Sealed forecasts end to end: only a commitment in the store, the opening in a private file,
reveal dated by the commitment, mismatches refused, never-revealed ones listed; on both backends."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from conftest import Run, head_of, sql, write
from proofs_tools import everything_stored, flip_question, make_key, tamper_row

from predtrack.proofs.sealed import OPENINGS_ENV
from predtrack.proofs.sshsig import KEY_ENV


@pytest.fixture(autouse=True)
def _openings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "openings"
    monkeypatch.setenv(OPENINGS_ENV, str(folder))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    monkeypatch.delenv(KEY_ENV, raising=False)
    return folder


def seal(run: Run, forecast: str = "12 to 18", *extra: str) -> dict:
    made = json.loads(
        run("predict", "-q", "flip", forecast, "--sealed", "--by", "bob", "--json", *extra).output
    )
    assert made["predictions"] == []
    return made


def test_only_a_commitment_reaches_the_store(store_db: str, run: Run, tmp_path: Path) -> None:
    flip_question(run)
    result = run(
        "predict", "-q", "flip", "12.5 to 17.5", "--sealed", "--by", "bob", "--note", "hunch"
    )
    path = Path(result.output.split("Openings file: ", 1)[1].split(" (mode 0600)")[0])
    assert path.parent.parent == tmp_path / "openings" and path.name == "bob.jsonl"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "12.5 to 17.5" in path.read_text()
    # Neither a direct SQL read of every table and ledger entry, nor another forecaster, sees it.
    stored = everything_stored(store_db)
    opening = json.loads(path.read_text().splitlines()[1])
    sigma = json.loads(opening["payload"])["distribution"]["sigma"]
    for secret in ("12.5 to 17.5", "hunch", repr(sigma), opening["salt"]):
        assert secret not in stored, secret
    (digest,) = sql(store_db, "SELECT digest FROM commitments")[0]
    assert digest in stored and len(digest) == 64
    for viewer in ("carol", "alice"):
        view = json.loads(run("show", "flip", "--by", viewer, "--reveal", "--json").output)
        assert [p["forecaster"] for p in view["predictions"]] == ["alice"]
    assert sql(store_db, "SELECT COUNT(*) FROM predictions")[0][0] == 1
    report = json.loads(run("verify", "--json").output)
    assert (report["sealed"]["committed"], report["sealed"]["revealed"]) == (1, 0)
    assert [u["forecaster"] for u in report["sealed"]["unrevealed"]] == ["bob"]


def test_reveal_publishes_the_forecast_dated_by_its_commitment(store_db: str, run: Run) -> None:
    flip_question(run)
    made = seal(run)
    committed_at = made["sealed"][0]["committed_at"]
    run("lock", "cheese-maze")
    revealed = json.loads(run("reveal", "-e", "cheese-maze", "--by", "bob", "--json").output)
    (prediction,) = revealed["revealed"]
    assert prediction["forecast"] == "12 to 18" and prediction["made_at"] == committed_at
    assert prediction["late"] is False  # committed before the lock, revealed after it
    view = json.loads(run("show", "flip", "--json").output)
    bob = [p for p in view["predictions"] if p["forecaster"] == "bob"]
    assert [(p["made_at"], p["late"], p["sealed"]) for p in bob] == [(committed_at, False, True)]
    report = json.loads(run("verify", "--json").output)
    assert report["ok"], report["problems"]
    assert (report["sealed"]["revealed"], report["sealed"]["unrevealed"]) == (1, [])
    # Revealing twice publishes nothing more.
    again = json.loads(run("reveal", "--by", "bob", "--json").output)
    assert again["revealed"] == [] and again["already_revealed"] == 1 and again["head"] is None
    run("resolve", "flip", "--value", "16")
    document = json.loads(run("score", "--json", "--by", "forecaster").output)
    assert {g["group"] for g in document["groups"]} >= {"alice", "bob"}
    assert document["sealed"] == []


def test_a_commitment_made_after_the_lock_is_late(store_db: str, run: Run) -> None:
    flip_question(run)
    run("lock", "cheese-maze")
    made = seal(run)
    assert made["sealed"][0]["late"].startswith("made after cheese-maze was locked")
    (prediction,) = json.loads(run("reveal", "--by", "bob", "--json").output)["revealed"]
    assert prediction["late"] and prediction["late_reason"].startswith(
        "committed after cheese-maze was locked"
    )


def test_a_wrong_opening_is_refused_and_nothing_written(store_db: str, run: Run) -> None:
    flip_question(run)
    made = seal(run)
    path = Path(made["openings_file"])
    original = path.read_text()
    path.write_text(original.replace("12 to 18", "14 to 16"))  # the forecast, edited afterwards
    before = head_of(run)
    result = run("reveal", "--by", "bob", code=1)
    assert f"opening does not match commitment {made['sealed'][0]['digest'][:16]}" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert head_of(run) == before
    assert sql(store_db, "SELECT revealed_at FROM commitments") == [(None,)]
    assert sql(store_db, "SELECT COUNT(*) FROM predictions")[0][0] == 1
    path.write_text(original)
    run("reveal", "--by", "bob")


def test_openings_of_another_store_are_refused(store_db: str, run: Run, tmp_path: Path) -> None:
    flip_question(run)
    seal(run)
    other = tmp_path / "other.db"
    run("init", "--db", str(other))
    run("predict", "Other", "30%", "--key", "x", "--db", str(other))
    mine = next((tmp_path / "openings").glob("*/bob.jsonl"))
    result = run("reveal", "--by", "bob", "--openings", str(mine), "--db", str(other), code=2)
    assert "is for store" in result.output and "not this store" in result.output
    missing = run("reveal", "--by", "bob", "--db", str(other), code=2)
    assert "no openings file at" in missing.output
    garbage = write(tmp_path / "garbage.jsonl", "hello\n")
    assert (
        "is not a predtrack openings file"
        in run("reveal", "--openings", str(garbage), code=2).output
    )


def test_unrevealed_commitments_are_listed_after_resolution(store_db: str, run: Run) -> None:
    flip_question(run)
    seal(run)
    run("predict", "-q", "flip", "13 to 19", "--sealed", "--by", "carol")
    run("reveal", "--by", "carol")
    run("resolve", "flip", "--value", "16")
    document = json.loads(run("score", "--json").output)
    assert [(s["forecaster"], s["question"]) for s in document["sealed"]] == [
        ("bob", "cheese-maze/flip")
    ]
    assert "Still sealed at resolution: bob on cheese-maze/flip" in run("score").output
    report = json.loads(run("verify", "--json").output)
    assert report["sealed"]["committed"] == 2 and report["sealed"]["revealed"] == 1
    assert [(u["forecaster"], u["status"]) for u in report["sealed"]["unrevealed"]] == [
        ("bob", "resolved")
    ]
    assert "resolved while still sealed: bob on cheese-maze/flip" in run("verify").output
    run("report", "-o", "sealed.html")
    html = Path("sealed.html").read_text(encoding="utf-8")
    assert "sealed forecast never revealed on resolved questions" in html
    assert "<b>bob</b> on <code>cheese-maze/flip</code>" in html


def test_a_new_commitment_is_an_update_and_the_latest_is_scored(store_db: str, run: Run) -> None:
    flip_question(run)
    seal(run, "12 to 18")
    second = seal(run, "14 to 16")
    assert second["sealed"][0]["updates"] == 1
    report = json.loads(run("verify", "--json").output)
    assert report["sealed"]["updates"] == 1
    assert [u["live"] for u in report["sealed"]["unrevealed"]] == [False, True]
    revealed = json.loads(run("reveal", "--by", "bob", "--json").output)["revealed"]
    assert [p["forecast"] for p in revealed] == ["12 to 18", "14 to 16"]
    run("resolve", "flip", "--value", "15")
    rows = json.loads(run("score", "--json", "--by", "forecaster").output)["groups"]
    bob = next(g for g in rows if g["group"] == "bob")
    assert bob["n"] == 1


def test_a_forged_reveal_fails_verify(store_db: str, run: Run) -> None:
    flip_question(run)
    seal(run)
    run("reveal", "--by", "bob")
    # The administrator changes the revealed forecast consistently in row and ledger.
    dist = {"family": "normal", "mu": 15.0, "sigma": 0.5}
    tamper_row(store_db, "predictions", 2, forecast="14.2 to 15.8", distribution=dist)
    report = json.loads(run("verify", "--json", code=1).output)
    (problem,) = report["problems"]
    assert (problem["table"], problem["field"]) == ("predictions", "commitment_id")
    assert problem["message"].startswith(
        "prediction #2 on cheese-maze/flip by bob: it does not open commitment #1"
    )


def test_sealing_others_forecasts_or_signing_at_commit_is_refused(
    store_db: str, run: Run, tmp_path: Path
) -> None:
    flip_question(run)
    bulk = write(
        tmp_path / "more.toml",
        '[[question]]\nexperiment = "cheese-maze"\nkey = "tl25"\ntitle = "T"\n'
        'forecasts = { bob = "30%", carol = "40%" }\n',
    )
    before = head_of(run)
    result = run("predict", "--file", str(bulk), "--sealed", "--by", "bob", code=2)
    assert "seals only your own forecasts (bob)" in result.output and "carol" in result.output
    result = run("predict", "-q", "flip", "12 to 18", "--sealed", "--sign", "--by", "bob", code=2)
    assert "`predtrack reveal --sign`" in result.output
    assert head_of(run) == before


def test_reveal_sign_and_the_api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import predtrack

    bob_key = make_key(tmp_path / "keys", "bob")
    with predtrack.open(tmp_path / "api.db", user="alice") as study:
        study.predict(
            "Flip size", "10 to 20", kind="quantity", experiment="cheese-maze", key="flip"
        )
        study.key_add("bob", bob_key.with_suffix(".pub"))
        made = study.predict(question="flip", forecast="12 to 18", sealed=True, by="bob")
        assert made.predictions == [] and Path(made.openings).exists()
        assert (
            study.question("flip", by="carol", reveal=True)["predictions"][0]["forecaster"]
            == "alice"
        )
        monkeypatch.setenv(KEY_ENV, str(bob_key))
        revealed = study.reveal(by="bob", sign=True)
        assert [p["signed"] for p in revealed.predictions] == [True]
        result = study.verify()
        assert result.ok, result.problems
        assert result.sections["signatures"]["signed"] == {"bob": 1}
        assert result.sections["sealed"]["revealed"] == 1
        assert [k["forecaster"] for k in study.key_list()] == ["bob"]
