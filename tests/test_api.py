"""The Python API (`import predtrack`) without the command line, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import predtrack
from predtrack.errors import InputError, NotFoundError, PredtrackError, RuleError
from tests.conftest import write

PREREG = {
    "experiment": "cheese-maze",
    "forecaster": "alice",
    "question": [
        {
            "key": "flip",
            "title": "Maze size at which the behaviour flips",
            "kind": "quantity",
            "unit": "maze size",
            "bounds": [3, 25],
            "rule": "results/sweep.csv#crossing(x=maze_size, y=cheese_rate, level=0.5)",
            "forecasts": {"alice": "10 to 20", "bob": "quantiles(0.05:9, 0.5:13, 0.95:19)"},
        },
        {
            "key": "frac25",
            "title": "Cheese fraction at size 25",
            "kind": "fraction",
            "rule": "results/results.json#/m25/successes/of/m25/episodes",
            "forecasts": {"alice": "beta(3,7)", "bob": "beta(2,8)"},
        },
    ],
}
SWEEP = "maze_size,cheese_rate\n5,0.95\n10,0.8\n13,0.64\n15,0.38\n20,0.2\n25,0.1\n"
RESULTS = {"m25": {"successes": 5, "episodes": 50}}


def results(folder: Path) -> None:
    (folder / "results").mkdir(exist_ok=True)
    write(folder / "results" / "sweep.csv", SWEEP)
    write(folder / "results" / "results.json", json.dumps(RESULTS))


def test_the_whole_day_through_the_api(db_url: str, tmp_path: Path) -> None:
    with predtrack.open(db_url, user="alice") as study:
        recorded = study.predict(
            "Cheese rate at size 25",
            "30%",
            experiment="cheese-maze",
            key="tl25",
            rule="results/sweep.csv#cheese_rate[maze_size=25] > 0.5",
            rule_dir=tmp_path,
        )
        assert recorded.predictions[0].distribution == {"family": "bernoulli", "p": 0.3}
        assert recorded.as_dict()["predictions"][0]["question"] == "cheese-maze/tl25"
        bulk = study.register(PREREG, rule_dir=tmp_path)
        assert len(bulk.questions) == 2 and len(bulk.predictions) == 4
        study.predict(question="tl25", forecast="0.1", by="bob")
        published = study.head()
        results(tmp_path)
        linked = study.link([tmp_path / "results" / "sweep.csv"], experiment="cheese-maze")
        assert linked.locked and linked.artifacts[0]["sha256"]
        outcome = study.resolve()
        assert {o.label: o.status for o in outcome.outcomes} == {
            "cheese-maze/tl25": "resolved",
            "cheese-maze/flip": "resolved",
            "cheese-maze/frac25": "resolved",
        }
        assert study.question("flip")["outcome"] == pytest.approx(14.0769, abs=1e-3)
        rows = study.scores(by="forecaster")
        names = list(rows["group"]) if hasattr(rows, "columns") else [r["group"] for r in rows]
        assert names[:2] == ["alice", "bob"]
        scored = study.scored_predictions()
        assert len(scored) == 6
        comparison = study.compare("alice", "bob")
        assert {row["score"] for row in comparison} >= {"brier", "crps"}
        report = study.report(tmp_path / "report.html")
        assert report.verified and (tmp_path / "report.html").stat().st_size > 10_000
        check = study.verify(against=published)
        assert check.ok and check.as_dict()["ok"] is True
        assert study.head().startswith(f"{check.entries}:")


def test_errors_are_the_clis_error_classes(db_url: str, tmp_path: Path) -> None:
    with predtrack.open(db_url, user="alice") as study:
        with pytest.raises(InputError, match="outside"):
            study.predict("Q", "1.7")
        with pytest.raises(NotFoundError):
            study.question("nope")
        with pytest.raises(InputError, match="reserved"):
            study.predict("Q", "0.3", by="team")
        study.predict("Q", "0.3", key="q")
        with pytest.raises(InputError, match="already exists"):
            study.predict("Q again", "0.3", key="q")
        with pytest.raises(InputError, match="manual outcomes need"):
            study.resolve(yes=True)
        write(tmp_path / "bad.json", "{ not json")
        study.predict("R", "0.3", key="r", rule="bad.json#/x > 1", rule_dir=tmp_path)
        run = study.resolve()
        failed = [o for o in run.outcomes if o.status == "failed"]
        assert failed and "not valid JSON" in failed[0].reason
        assert issubclass(RuleError, PredtrackError)
        assert study.verify().ok


def test_notebook_displays_escape_user_text(tmp_path: Path) -> None:
    with predtrack.open(tmp_path / "p.db", user="alice") as study:
        study.predict("<script>alert(1)</script>", "0.3", key="x")
        html = study.question("x")._repr_html_()
        assert "<script>" not in html and "&lt;script&gt;" in html
        table = study.questions()
        assert "&lt;script&gt;" in table._repr_html_()
        assert "OK" in study.verify()._repr_html_()


def test_import_predtrack_stays_light() -> None:
    code = "import sys, predtrack; print(sorted(m for m in ('sqlalchemy', 'sqlmodel', 'numpy', 'scipy', 'click') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
