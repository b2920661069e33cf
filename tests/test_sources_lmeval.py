"""lmeval source: results written by lm-eval 0.4.13 (tests/fixtures/lmeval/make_lmeval.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fixtures.trackers import copy_fixture, load, snapshot

from predtrack.errors import RuleError, RuleSyntaxError
from predtrack.rules.base import RulePending
from predtrack.rules.sources.lmeval import LmevalSource

ACC = "results.arith_mc.acc,none"


@pytest.fixture
def results(tmp_path: Path) -> Path:
    return copy_fixture("lmeval", tmp_path) / "results"


def of(chunks: list, model: str) -> list:
    return [c for c in chunks if c.run.fields["model"] == model]


def test_per_model_subfolders_ordered_by_file_date(results: Path) -> None:
    chunks, evidence = load(LmevalSource, results, {ACC, "model"})
    assert len(chunks) == 5 and len(evidence) == 5
    dates = [c.run.fields["date"] for c in chunks]
    assert dates == sorted(dates)
    first, second = of(chunks, "EleutherAI/pythia-160m")
    assert first.run.name.startswith("EleutherAI__pythia-160m/results_")
    assert first.records[0][ACC] == 0.125
    assert second.records[0]["results.sally_mc.acc,none"] == pytest.approx(2 / 3)
    assert first.records[0]["n-samples.arith_mc.original"] == 8


def test_limit_is_a_failed_run_for_the_task_read(results: Path) -> None:
    chunks, _ = load(LmevalSource, results, {ACC})
    (c,) = of(chunks, "EleutherAI/pythia-1b")
    assert c.run.status == "failed"
    assert "--limit" in c.run.reason and "arith_mc (3 of 8 samples)" in c.run.reason
    limited, rerun = of(chunks, "EleutherAI/pythia-410m")
    assert (limited.run.status, rerun.run.status) == ("failed", "finished")
    # A rule that reads no task of the file is not affected by the limit.
    chunks, _ = load(LmevalSource, results, {"model"})
    assert {c.run.status for c in chunks} == {"finished"}


def test_times_from_inside_the_file(results: Path) -> None:
    chunks, _ = load(LmevalSource, results, {ACC})
    for c in chunks:
        doc = json.loads((results / c.run.name).read_text())
        assert c.times == [doc["date"]]
        assert c.times[0] < (results / c.run.name).stat().st_mtime


def test_corrupt_file_names_it(results: Path) -> None:
    f = next(results.rglob("results_*.json"))
    f.write_text('{"results": ')
    with pytest.raises(RuleError, match=rf"{f.name} is not valid JSON"):
        load(LmevalSource, results, {ACC})


def test_reading_writes_nothing(results: Path) -> None:
    before = snapshot(results)
    load(LmevalSource, results, {ACC})
    assert snapshot(results) == before


def test_missing_layout_and_fields(tmp_path: Path, results: Path) -> None:
    with pytest.raises(RulePending, match="does not exist yet"):
        load(LmevalSource, tmp_path / "nope", {ACC})
    LmevalSource.check_layout(results, frozenset({ACC, "model", "n-samples.arith_mc.effective"}))
    for bad in ("acc,none", "results.arith_mc", "n-samples.arith_mc.limit"):
        with pytest.raises(RuleSyntaxError, match=f"no field '{bad}'"):
            LmevalSource.check_layout(results, frozenset({bad}))
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "metrics.json").write_text("{}")
    with pytest.raises(RuleSyntaxError, match="holds no lm-eval results files"):
        LmevalSource.check_layout(tmp_path / "plain", frozenset({ACC}))
