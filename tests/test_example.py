"""The shipped example is rebuilt from its pre-registration by predtrack's own commands."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import Run

ROOT = Path(__file__).resolve().parents[1]


def test_rebuilding_the_example_resolves_and_verifies(tmp_path: Path, run: Run) -> None:
    db = tmp_path / "example.db"
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples/cheese_maze/build_example.py"),
            "--db",
            str(db),
            "--workdir",
            str(tmp_path / "work"),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr
    views = json.loads(run("list", "--json", "--reveal", "--db", str(db)).output)
    statuses = {v["key"]: v["status"] for v in views}
    assert len(views) == 29
    assert list(statuses.values()).count("resolved") == 27
    assert statuses["above31"] == "annulled" and statuses["gen41"] == "pending"
    kinds = {v["kind"] for v in views}
    assert kinds == {"binary", "fraction", "quantity", "categorical"}
    late = [p for v in views for p in v["predictions"] if p["late"]]
    assert sorted(p["forecaster"] for p in late) == ["erin", "erin"]
    forecasters = {p["forecaster"] for v in views for p in v["predictions"]}
    assert forecasters == {"alice", "bob", "carol", "dan", "erin"}
    assert json.loads(run("verify", "--json", "--db", str(db)).output)["ok"]
    raters = next(v for v in views if v["key"] == "raters")
    assert raters["outcome"] is True and len(raters["resolution"]["history"]) == 1


def test_the_committed_example_is_current(run: Run) -> None:
    example = ROOT / "predictions.db.example"
    views = json.loads(run("list", "--json", "--reveal", "--db", str(example)).output)
    assert len(views) == 29
    report = json.loads(run("verify", "--json", "--db", str(example)).output)
    assert report["ok"], report["problems"]


def test_the_example_verifies_cleanly_wherever_it_is_cloned(tmp_path: Path, run: Run) -> None:
    """Its paths are stored relative to the database's folder: a clone, or the study moved
    elsewhere, verifies with no warning about missing files."""
    import shutil

    clone = tmp_path / "clone"
    clone.mkdir()
    shutil.copyfile(ROOT / "predictions.db.example", clone / "predictions.db.example")
    shutil.copytree(ROOT / "examples", clone / "examples")
    for where in (clone, tmp_path / "moved" / "elsewhere"):
        if where != clone:
            where.parent.mkdir()
            shutil.move(str(clone), where)
        report = json.loads(
            run("verify", "--json", "--db", str(where / "predictions.db.example")).output
        )
        assert report["ok"] and report["warnings"] == [], report
        view = json.loads(
            run("show", "flip", "--json", "--db", str(where / "predictions.db.example")).output
        )
        assert view["rule_file"] == str(
            where / "examples" / "cheese_maze" / "results" / "sweep.csv"
        )
