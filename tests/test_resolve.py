"""`link` and `resolve`: outcomes read from artifacts by pre-registered rules, with evidence."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import Run, head_of, sql, write

RESULTS = {"maze": {"25": {"successes": 37, "episodes": 50}}, "behaviour": "top-right-first"}
SWEEP = "maze_size,cheese_rate\n5,0.9\n10,0.8\n15,0.45\n20,0.3\n25,0.2\n"


def register(run: Run) -> None:
    run(
        "predict",
        "Cheese fraction, size 25",
        "beta(3,7)",
        "--kind",
        "fraction",
        "-e",
        "cheese-maze",
        "--key",
        "frac25",
        "--rule",
        "results.json#/maze/25/successes/of/maze/25/episodes",
    )
    run(
        "predict",
        "Flip size",
        "10 to 20",
        "--kind",
        "quantity",
        "-e",
        "cheese-maze",
        "--key",
        "flip",
        "--rule",
        "sweep.csv#crossing(x=maze_size, y=cheese_rate, level=0.5)",
    )
    run(
        "predict",
        "Goes to cheese at size 25 more than half the time",
        "35%",
        "-e",
        "cheese-maze",
        "--key",
        "half25",
        "--rule",
        "sweep.csv#cheese_rate[maze_size=25] > 0.5",
    )
    run(
        "predict",
        "Which behaviour at size 25",
        "shortest-path:0.5, top-right-first:0.3, mixed:0.2",
        "-e",
        "cheese-maze",
        "--key",
        "behaviour",
        "--rule",
        "results.json#/behaviour",
    )


def write_results(folder: Path) -> None:
    write(folder / "results.json", json.dumps(RESULTS))
    write(folder / "sweep.csv", SWEEP)


def views(run: Run) -> dict[str, dict]:
    return {v["key"]: v for v in json.loads(run("list", "--json", "--reveal").output)}


def test_the_issue_tour(store_db: str, run: Run, tmp_path: Path) -> None:
    register(run)
    waiting = json.loads(run("resolve", "--json").output)
    assert [q["status"] for q in waiting["questions"]] == ["pending"] * 4
    assert "does not exist yet" in waiting["questions"][0]["reason"]
    assert waiting["head"] is None

    write_results(tmp_path)
    out = run("link", "results.json", "sweep.csv", "-e", "cheese-maze").output
    assert "Linked results.json (sha256" in out and "Locked cheese-maze" in out
    assert "URI, no hash" in run("link", "mlflow://runs/3f2a9c", "-e", "cheese-maze").output
    experiments = json.loads(run("experiment", "list", "--json").output)
    assert experiments[0]["locked_at"] and experiments[0]["artifacts"] == 3

    before = head_of(run)
    dry = run("resolve", "--dry-run").output
    assert "would resolve" in dry and "Dry run: nothing was written." in dry
    assert head_of(run) == before

    report = json.loads(run("resolve", "--json").output)
    outcomes = {q["label"].split("/")[1]: q for q in report["questions"]}
    assert {k: q["status"] for k, q in outcomes.items()} == dict.fromkeys(outcomes, "resolved")
    assert outcomes["frac25"]["value"] == 0.74 and (
        outcomes["frac25"]["k"],
        outcomes["frac25"]["n"],
    ) == (37, 50)
    assert outcomes["flip"]["value"] == pytest.approx(10 + 5 * (0.8 - 0.5) / (0.8 - 0.45))
    assert outcomes["half25"]["value"] is False
    assert outcomes["behaviour"]["value"] == "top-right-first"

    state = views(run)
    frac = state["frac25"]
    assert frac["status"] == "resolved" and frac["outcome"] == 0.74
    resolution = frac["resolution"]
    assert resolution["source"] == "rule" and resolution["resolved_by"] == "alice"
    assert resolution["artifact"] == str(tmp_path / "results.json")
    assert len(resolution["sha256"]) == 64 and resolution["resolved_at"]

    # Resolving again changes nothing and says so.
    head = head_of(run)
    again = run("resolve").output
    assert "Nothing to resolve" in again and "4 already resolved" in again
    assert head_of(run) == head
    assert run("verify").output.startswith("OK")


def test_manual_outcomes_annulment_and_corrections(store_db: str, run: Run) -> None:
    register(run)
    run("resolve", "flip", "--value", "16.5")
    run("resolve", "half25", "--yes")
    run("resolve", "behaviour", "--category", "top-right-first")
    run("resolve", "frac25", "--successes", "37", "--trials", "50")
    state = views(run)
    assert state["flip"]["outcome"] == 16.5 and state["half25"]["outcome"] is True
    assert state["frac25"]["resolution"]["k"] == 37 and state["frac25"]["outcome"] == 0.74

    assert "--correct" in run("resolve", "flip", "--value", "17", code=2).output
    run("resolve", "flip", "--annul", "sweep crashed at size 19", "--correct", "the sweep crashed")
    assert views(run)["flip"]["status"] == "annulled"
    run("resolve", "flip", "--value", "16.0", "--correct", "re-ran with the fixed seed")
    flip = views(run)["flip"]
    assert flip["status"] == "resolved" and flip["outcome"] == 16.0
    history = flip["resolution"]["history"]
    assert [h["status"] for h in history] == ["resolved", "annulled"]
    assert history[0]["value"] == 16.5
    assert "re-ran with the fixed seed" in flip["resolution"]["reason"]
    assert "corrected" in run("show", "flip").output
    assert run("verify").output.startswith("OK")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["flip", "--yes"], "use --value"),
        (["half25", "--value", "1"], "use --yes or --no"),
        (["behaviour", "--category", "teleport"], "unknown category 'teleport'"),
        (["frac25", "--successes", "60", "--trials", "50"], "0 <= successes <= trials"),
        (["frac25", "--value", "1.5"], "outside [0, 1]"),
        (["flip", "--value", "16", "--yes"], "exactly one outcome"),
        (["flip", "--annul", " "], "needs a reason"),
        (["flip", "--value", "3", "--correct", "x"], "not resolved yet"),
        (["nope", "--value", "3"], "no question"),
        (["--value", "3"], "need the QUESTION"),
    ],
)
def test_bad_manual_outcomes(store_db: str, run: Run, args: list[str], message: str) -> None:
    register(run)
    before = head_of(run)
    assert message in run("resolve", *args, code=2).output
    assert head_of(run) == before


def test_bounds_are_enforced_for_quantities(store_db: str, run: Run, tmp_path: Path) -> None:
    run(
        "predict",
        "Flip",
        "10 to 20",
        "--kind",
        "quantity",
        "--key",
        "flip",
        "--bounds",
        "3",
        "25",
        "--rule",
        "r.json#/flip",
    )
    assert "outside the question's bounds" in run("resolve", "flip", "--value", "30", code=2).output
    write(tmp_path / "r.json", '{"flip": 31}')
    out = run("resolve", code=1).output
    assert "failed" in out and "outside the question's bounds [3, 25]" in out


def test_a_failing_rule_does_not_stop_the_others(store_db: str, run: Run, tmp_path: Path) -> None:
    register(run)
    write(tmp_path / "results.json", json.dumps({"maze": {}, "behaviour": "teleport"}))
    write(tmp_path / "sweep.csv", SWEEP)
    result = run("resolve", "--json", code=1)
    outcomes = {q["label"].split("/")[1]: q for q in json.loads(result.output)["questions"]}
    assert outcomes["flip"]["status"] == "resolved" and outcomes["half25"]["status"] == "resolved"
    assert outcomes["frac25"]["status"] == "failed" and "25" in outcomes["frac25"]["reason"]
    assert outcomes["behaviour"]["status"] == "failed"
    assert "unknown category 'teleport'" in outcomes["behaviour"]["reason"]
    assert views(run)["frac25"]["status"] == "pending"
    text = run("resolve", code=1).output
    assert "failed    cheese-maze/frac25" in text and "2 failed" in text


def test_rules_resolve_relative_to_where_they_were_registered(
    store_db: str, run: Run, tmp_path: Path
) -> None:
    study = tmp_path / "study"
    study.mkdir()
    os.chdir(study)
    run(
        "predict",
        "Accuracy above 0.9",
        "0.6",
        "--key",
        "acc",
        "--rule",
        "../runs/metrics.jsonl#/accuracy > 0.9",
    )
    os.chdir(tmp_path)
    assert views(run)["acc"]["rule_file"] == str(tmp_path / "runs" / "metrics.jsonl")
    (tmp_path / "runs").mkdir()
    write(tmp_path / "runs" / "metrics.jsonl", '{"accuracy": 0.5}\n{"accuracy": 0.93}\n')
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    os.chdir(elsewhere)
    # The file lies outside the folder the rule was registered from: the resolver decides.
    skipped = json.loads(run("resolve", "--json").output)["questions"][0]
    assert skipped["status"] == "skipped" and "--allow-outside" in skipped["reason"]
    run("resolve", "--allow-outside")
    assert views(run)["acc"]["outcome"] is True


def test_prediction_made_after_the_artifact_existed_is_late(
    store_db: str, run: Run, tmp_path: Path
) -> None:
    run("predict", "Early", "0.4", "--key", "q", "--rule", "r.json#/done")
    write(tmp_path / "r.json", '{"done": true}')  # written after alice's prediction
    run("predict", "--question", "q", "0.99", "--by", "bob")  # the file already existed
    out = run("resolve").output
    assert "1 prediction(s) marked late" in out
    predictions = views(run)["q"]["predictions"]
    assert [p["late"] for p in predictions] == [False, True]
    assert "made after r.json was last modified" in predictions[1]["late_reason"]
    assert run("verify").output.startswith("OK")


def test_linking_locks_the_experiment(store_db: str, run: Run, tmp_path: Path) -> None:
    register(run)
    write_results(tmp_path)
    run("link", "results.json", "-e", "cheese-maze")
    assert "Already linked" in run("link", "results.json", "-e", "cheese-maze").output
    run("predict", "--question", "flip", "14 to 16", "--by", "bob")
    bob = next(p for p in views(run)["flip"]["predictions"] if p["forecaster"] == "bob")
    assert bob["late"] and "locked" in bob["late_reason"]
    assert "no such file" in run("link", "nothing.csv", "-e", "cheese-maze", code=2).output
    assert "no experiment" in run("link", "results.json", "-e", "nope", code=2).output


def test_verify_names_an_artifact_edited_after_resolution(
    store_db: str, run: Run, tmp_path: Path
) -> None:
    register(run)
    write_results(tmp_path)
    run("resolve")
    with (tmp_path / "sweep.csv").open("a") as handle:
        handle.write("30,0.1\n")
    result = run("verify", code=1)
    assert "artifacts.sha256" in result.output and "sweep.csv changed" in result.output
    assert "cheese-maze/flip" in result.output
    report = json.loads(run("verify", "--json", code=1).output)
    assert [p["table"] for p in report["problems"]] == ["artifacts"]
    (tmp_path / "sweep.csv").unlink()
    missing = run("verify")
    assert "missing" in missing.output  # a warning, not a failure


@pytest.mark.parametrize(
    ("table", "field", "statement"),
    [
        ("artifacts", "sha256", "UPDATE artifacts SET sha256 = '" + "0" * 64 + "' WHERE id = 1"),
        ("artifacts", "path", "UPDATE artifacts SET path = '/elsewhere' WHERE id = 1"),
        ("resolutions", "outcome", "UPDATE resolutions SET outcome = '0.9' WHERE question_id = 1"),
        (
            "resolutions",
            "resolved_by",
            "UPDATE resolutions SET resolved_by = 'mallory' WHERE id = 1",
        ),
    ],
)
def test_tampering_with_evidence_is_named(
    store_db: str, run: Run, tmp_path: Path, table: str, field: str, statement: str
) -> None:
    register(run)
    write_results(tmp_path)
    run("link", "results.json", "-e", "cheese-maze")
    run("resolve")
    sql(store_db, statement)
    report = json.loads(run("verify", "--json", code=1).output)
    assert any(
        p["table"] == table and p["field"] == field and p["seq"] for p in report["problems"]
    ), report


@pytest.mark.parametrize("table", ["artifacts", "resolutions"])
def test_deleted_evidence_is_named(store_db: str, run: Run, tmp_path: Path, table: str) -> None:
    run("predict", "Q", "0.5", "--key", "q", "--rule", "r.json#/x", "-e", "e")
    write(tmp_path / "r.json", '{"x": true}')
    write(tmp_path / "other.json", "{}")
    run("link", "other.json", "-e", "e")
    run("resolve")
    last = sql(store_db, f"SELECT max(id) FROM {table}")[0][0]
    if table == "artifacts":  # the artifact nothing references: no foreign key trips
        last = sql(store_db, "SELECT id FROM artifacts WHERE path LIKE '%other.json'")[0][0]
    sql(store_db, f"DELETE FROM {table} WHERE id = {last}")
    report = json.loads(run("verify", "--json", code=1).output)
    assert any(
        p["table"] == table and f"id={last} is missing" in p["message"] for p in report["problems"]
    )
