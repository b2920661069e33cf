"""MLflow source: both store layouts, written by MLflow itself (tests/fixtures/mlflow/make_mlflow.py)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from fixtures.trackers import by_name, copy_fixture, load, snapshot

from predtrack.errors import RuleError, RuleSyntaxError
from predtrack.rules.base import RulePending, latest
from predtrack.rules.sources.mlflow import MlflowSource

T0 = 1_772_323_200  # 2026-03-01T00:00:00Z, the fixture script's first run start
STORES = ["mlruns", "mlflow.db"]


@pytest.fixture
def mlflow_dir(tmp_path: Path) -> Path:
    return copy_fixture("mlflow", tmp_path)


@pytest.mark.parametrize("store", STORES)
def test_runs_fields_values_and_latest(mlflow_dir: Path, store: str) -> None:
    chunks, _ = load(MlflowSource, mlflow_dir / store, {"cheese_rate", "loss", "params.maze_size"})
    runs = by_name(chunks)
    assert len(chunks) == 11
    r = runs["m25-s3"]
    assert r.run.fields["experiment"] == "cheese-maze"
    assert r.run.fields["params.maze_size"] == "25"
    assert r.text  # params are text, read as numbers by the selectors
    assert r.run.status == "finished"
    # cheese_rate rises to 0.33+0.15 at step 3, then dips: latest 0.44, maximum 0.48.
    assert r.records[0]["cheese_rate"] == pytest.approx(0.44)
    assert max(p.value for p in r.run.series["cheese_rate"]) == pytest.approx(0.48)
    assert [p.step for p in r.run.series["cheese_rate"]] == [0, 1, 2, 3, 4]
    # loss is logged twice at step 1: latest is the highest step, then the latest time.
    assert r.records[0]["loss"] == pytest.approx(0.4)
    assert runs["solo"].run.fields["experiment"] == "other"


@pytest.mark.parametrize("store", STORES)
def test_failed_run_and_its_rerun(mlflow_dir: Path, store: str) -> None:
    chunks, _ = load(MlflowSource, mlflow_dir / store, {"cheese_rate", "params.maze_size"})
    size35 = [c for c in chunks if c.run.fields.get("params.maze_size") == "35"]
    assert sorted((c.run.name, c.run.status) for c in size35) == [
        ("m35-s1", "failed"),
        ("m35-s1-retry", "finished"),
    ]
    failed = next(c for c in size35 if c.run.status == "failed")
    assert failed.run.reason == "MLflow run m35-s1 has status FAILED"
    assert by_name(chunks)["m45-s1"].run.status == "failed"


@pytest.mark.parametrize("store", STORES)
def test_times_come_from_metric_timestamps_not_mtimes(mlflow_dir: Path, store: str) -> None:
    # copy_fixture made every mtime "now"; the records still say when the data existed.
    chunks, _ = load(MlflowSource, mlflow_dir / store, {"cheese_rate"})
    r = by_name(chunks)["m25-s1"]
    assert r.times == [T0 + 5 * 60]  # the latest point (step 4) was logged at start + 5 min
    assert r.run.series["cheese_rate"][0].time == T0 + 60
    # Without metrics the run's start time is used (milliseconds in the store, seconds here).
    chunks, _ = load(MlflowSource, mlflow_dir / store, {"params.seed"})
    assert by_name(chunks)["m25-s1"].times == [T0]


def test_file_store_evidence_is_meta_params_and_metric_files_read(mlflow_dir: Path) -> None:
    _, evidence = load(MlflowSource, mlflow_dir / "mlruns", {"cheese_rate", "params.maze_size"})
    names = sorted({Path(e.path).name for e in evidence})
    assert names == ["cheese_rate", "maze_size", "meta.yaml", "mlflow.runName"]
    assert not any(Path(e.path).name == "loss" for e in evidence)  # not read, not evidence
    assert all(len(e.sha256) == 64 and e.size > 0 for e in evidence)


def test_db_evidence_is_the_database_file(mlflow_dir: Path) -> None:
    _, evidence = load(MlflowSource, mlflow_dir / "mlflow.db", {"cheese_rate"})
    assert [Path(e.path).name for e in evidence] == ["mlflow.db"]
    assert evidence[0].size == (mlflow_dir / "mlflow.db").stat().st_size


@pytest.mark.parametrize("store", STORES)
def test_reading_writes_nothing_into_the_store(mlflow_dir: Path, store: str) -> None:
    before = snapshot(mlflow_dir)
    load(MlflowSource, mlflow_dir / store, {"cheese_rate", "params.maze_size", "tags.team"})
    assert snapshot(mlflow_dir) == before  # no .trash/, no -journal, nothing touched


def test_db_is_opened_read_only(mlflow_dir: Path) -> None:
    db = mlflow_dir / "mlflow.db"
    db.chmod(0o444)
    try:
        chunks, _ = load(MlflowSource, db, {"cheese_rate"})
    finally:
        db.chmod(0o644)
    assert len(chunks) == 11


def test_missing_store_is_pending(tmp_path: Path) -> None:
    with pytest.raises(RulePending, match="does not exist yet"):
        load(MlflowSource, tmp_path / "mlruns", {"cheese_rate"})


def test_corrupt_metric_file_names_the_file(mlflow_dir: Path) -> None:
    metric = next((mlflow_dir / "mlruns").rglob("metrics/cheese_rate"))
    metric.write_text("1772323260000 0.31 0\nnot a metric line\n")
    with pytest.raises(RuleError, match=r"metrics/cheese_rate line 2 is not an MLflow metric"):
        load(MlflowSource, mlflow_dir / "mlruns", {"cheese_rate"})


def test_corrupt_database_names_the_file(mlflow_dir: Path) -> None:
    db = mlflow_dir / "mlflow.db"
    db.write_bytes(db.read_bytes()[:100] + b"\x00" * 5000)
    with pytest.raises((RuleError, RuleSyntaxError), match=r"mlflow\.db"):
        load(MlflowSource, db, {"cheese_rate"})


def test_layout_checks(mlflow_dir: Path, tmp_path: Path) -> None:
    MlflowSource.check_layout(mlflow_dir / "mlruns", frozenset({"cheese_rate"}))
    MlflowSource.check_layout(mlflow_dir / "mlflow.db", frozenset({"params.maze_size"}))
    MlflowSource.check_layout(tmp_path / "not-yet", frozenset({"cheese_rate"}))  # may come later
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "results.json").write_text("{}")
    with pytest.raises(RuleSyntaxError, match="not an MLflow file store"):
        MlflowSource.check_layout(tmp_path / "plain", frozenset({"cheese_rate"}))
    with pytest.raises(RuleSyntaxError, match="not a SQLite database"):
        MlflowSource.check_layout(tmp_path / "plain" / "results.json", frozenset({"x"}))
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    with pytest.raises(RuleSyntaxError, match="has no MLflow tables"):
        MlflowSource.check_layout(other, frozenset({"x"}))
    with pytest.raises(RuleSyntaxError, match=r"no field 'metrics\.cheese_rate'"):
        MlflowSource.check_layout(mlflow_dir / "mlruns", frozenset({"metrics.cheese_rate"}))
    with pytest.raises(RuleSyntaxError, match="names no param or tag"):
        MlflowSource.check_layout(mlflow_dir / "mlruns", frozenset({"params."}))


def test_latest_prefers_highest_step_then_latest_time() -> None:
    from predtrack.rules.base import Point

    pts = [Point(2, 10.0, 1.0), Point(5, 3.0, 2.0), Point(5, 4.0, 3.0), Point(4, 99.0, 4.0)]
    assert latest(pts).value == 3.0
