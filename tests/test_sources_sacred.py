"""Sacred source: runs written in the test by sacred's FileStorageObserver."""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures.trackers import by_name, load, sacred_runs, snapshot

from predtrack.errors import RuleError, RuleSyntaxError
from predtrack.rules.base import RulePending, parse_time
from predtrack.rules.sources.sacred import SacredSource


def observe(root: Path) -> Path:
    """Three runs: seeds 1 and 2 complete, seed 9 fails."""
    return sacred_runs(root / "runs", [(1, False), (2, False), (9, True)])


def test_status_config_result_and_metrics(tmp_path: Path) -> None:
    runs = observe(tmp_path)
    chunks, evidence = load(SacredSource, runs, {"result", "config.seed", "val_acc"})
    got = by_name(chunks)
    assert sorted(got) == ["1", "2", "3"]
    assert got["1"].run.fields["config.seed"] == 1
    assert got["1"].run.fields["config.model.width"] == 64
    assert got["2"].records[0]["result"] == 4.0
    assert got["2"].records[0]["val_acc"] == pytest.approx(0.62)  # latest step
    series = got["2"].run.series["val_acc"]
    assert max(series, key=lambda p: p.value).step == 1
    assert got["3"].run.status == "failed"
    assert got["3"].run.reason == "Sacred run 3 has status FAILED"
    names = sorted(Path(e.path).name for e in evidence)
    assert names == sorted(["config.json", "metrics.json", "run.json"] * 3)


def test_time_is_start_time_without_metrics(tmp_path: Path) -> None:
    runs = observe(tmp_path)
    chunks, evidence = load(SacredSource, runs, {"result"})
    import json

    start = json.loads((runs / "1" / "run.json").read_text())["start_time"]
    assert by_name(chunks)["1"].times == [parse_time(start)]
    assert "metrics.json" not in {Path(e.path).name for e in evidence}  # not read


def test_corrupt_run_json_names_it(tmp_path: Path) -> None:
    runs = observe(tmp_path)
    (runs / "2" / "run.json").write_text("{")
    with pytest.raises(RuleError, match=r"2/run.json is not valid JSON"):
        load(SacredSource, runs, {"result"})


def test_reading_writes_nothing(tmp_path: Path) -> None:
    runs = observe(tmp_path)
    before = snapshot(runs)
    load(SacredSource, runs, {"result", "val_acc"})
    assert snapshot(runs) == before


def test_missing_and_layout(tmp_path: Path) -> None:
    with pytest.raises(RulePending, match="does not exist yet"):
        load(SacredSource, tmp_path / "runs", {"result"})
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "a.txt").write_text("x")
    with pytest.raises(RuleSyntaxError, match="not a Sacred FileStorageObserver folder"):
        SacredSource.check_layout(tmp_path / "plain", frozenset({"result"}))
