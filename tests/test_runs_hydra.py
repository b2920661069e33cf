"""Rules over a real Hydra multirun: default timestamped job folders, overrides as run fields."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from fixtures.multirun import job, make_sweep

from predtrack.errors import RuleError
from predtrack.rules import (
    ReadCache,
    RulePending,
    RunFailed,
    evaluate_rule,
    parse_rule,
    sha256_file,
    sweep_points,
)

GLOB = "multirun/*/*/*/metrics.json"


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 3 x 4 multirun (m x seed) launched by Hydra itself, in its default folders."""
    return make_sweep(tmp_path_factory.mktemp("study"))


@pytest.fixture
def study(sweep: Path, tmp_path: Path) -> Path:
    """A copy of the sweep that a test may damage."""
    shutil.copytree(sweep, tmp_path / "study")
    return tmp_path / "study"


def test_default_hydra_folders_and_overrides(sweep: Path) -> None:
    folders = sorted(p.parent.relative_to(sweep) for p in sweep.glob(GLOB))
    assert len(folders) == 12
    assert all(len(f.parts) == 4 and f.parts[0] == "multirun" for f in folders)  # DATE/TIME/N


def test_mean_over_seeds_with_runs(sweep: Path) -> None:
    ev = evaluate_rule(parse_rule(f"{GLOB}#mean(/success, runs=4)[m=24]"), sweep, "fraction")
    assert ev.value == 0.75
    assert "over 4 records with m=24" in ev.detail
    # Every data file and every overrides file consulted is evidence, hashed as read.
    assert len(ev.evidence) == 24
    metrics = [e for e in ev.evidence if e.path.endswith("metrics.json")]
    assert {e.path for e in metrics} == {str(p.resolve()) for p in sweep.glob(GLOB)}
    for e in ev.evidence:
        assert (e.sha256, e.size) == sha256_file(e.path)
    assert ev.artifact == str((sweep / "multirun").resolve())
    assert ev.data_time_source == "mtime"


def test_fraction_and_recursive_glob(sweep: Path) -> None:
    ev = evaluate_rule(
        parse_rule("multirun/**/metrics.json#fraction(/success)[m=24]"), sweep, "fraction"
    )
    assert (ev.value, ev.k, ev.n) == (0.75, 3, 4)


def test_grouped_crossing(sweep: Path) -> None:
    rule = parse_rule(f"{GLOB}#crossing(x=m, y=mean(/success), level=0.5)")
    ev = evaluate_rule(rule, sweep, "quantity")
    # mean success: 1.0 at m=16, 0.75 at 24, 0.25 at 32: crosses 0.5 halfway from 24 to 32.
    assert ev.value == pytest.approx(28.0)
    assert "between m=24 (0.75) and 32 (0.25)" in ev.detail
    sweep_ = sweep_points(rule, sweep)
    assert sweep_ is not None and sweep_.x == "m" and sweep_.level == 0.5
    assert [(p.x, p.y, p.k, p.n) for p in sweep_.points] == [
        (16.0, 1.0, 4, 4),
        (24.0, 0.75, 3, 4),
        (32.0, 0.25, 1, 4),
    ]


def test_picks_per_run_then_aggregate(sweep: Path) -> None:
    # Best validation accuracy of each run's log (step 3), then the mean over the 4 seeds.
    rule = parse_rule("multirun/*/*/*/train.jsonl#mean(/val_acc@max, runs=4)[m=32]")
    ev = evaluate_rule(rule, sweep, "quantity")
    assert ev.value == pytest.approx(0.8 + (0 + 1 + 2 + 3) / 400)
    rule = parse_rule("multirun/*/*/*/train.jsonl#/test_acc@argmax(/val_acc)[m=16, seed=2]")
    assert evaluate_rule(rule, sweep, "quantity").value == pytest.approx(0.77)


def test_run_field_names_the_job_folder(sweep: Path) -> None:
    folder = job(sweep, 24, 1).relative_to(sweep / "multirun").as_posix()
    ev = evaluate_rule(parse_rule(f"{GLOB}#/rel_error[run={folder}]"), sweep, "quantity")
    assert ev.value == pytest.approx(0.0241)


def test_missing_seed_keeps_it_pending_and_names_the_seed(study: Path) -> None:
    (job(study, 32, 2) / "metrics.json").unlink()
    rule = parse_rule(f"{GLOB}#mean(/success, runs=4)[m=32]")
    with pytest.raises(RulePending) as info:
        evaluate_rule(rule, study, "fraction")
    assert not isinstance(info.value, RunFailed)
    assert "3 of 4 records so far with m=32" in info.value.reason
    assert "seed=2" in info.value.reason
    folder = job(study, 32, 2).relative_to(study).as_posix()
    assert f"{folder} (seed=2)" in info.value.missing
    # The grouped crossing waits for the same seed, naming the group.
    crossing = parse_rule(f"{GLOB}#crossing(x=m, y=mean(/success, runs=4), level=0.5)")
    with pytest.raises(RulePending) as info:
        evaluate_rule(crossing, study, "quantity")
    assert "at m=32" in info.value.reason and "seed=2" in info.value.reason
    # Declared complete, the job without its file is a failed run, with the evidence read.
    with pytest.raises(RunFailed) as failed:
        evaluate_rule(rule, study, "fraction", final=True)
    assert "declared complete" in failed.value.reason and "seed=2" in failed.value.reason
    assert len(failed.value.evidence) >= 11
    # Without runs=N the mean is over the seeds that exist.
    ev = evaluate_rule(parse_rule(f"{GLOB}#mean(/success)[m=32]"), study, "fraction")
    assert ev.value == pytest.approx(1 / 3)


def test_more_runs_than_runs_n_is_an_error(sweep: Path) -> None:
    with pytest.raises(RuleError, match=r"runs=3, but 4 records match with m=24"):
        evaluate_rule(parse_rule(f"{GLOB}#mean(/success, runs=3)[m=24]"), sweep, "fraction")


def test_changing_one_run_changes_its_evidence(study: Path) -> None:
    rule = parse_rule(f"{GLOB}#mean(/success, runs=4)[m=24]")
    before = evaluate_rule(rule, study, "fraction")
    path = job(study, 24, 3) / "metrics.json"
    path.write_text(json.dumps({"success": True, "rel_error": 0.0243}))
    after = evaluate_rule(rule, study, "fraction")
    assert after.value == 1.0
    old = {e.path: e.sha256 for e in before.evidence}
    new = {e.path: e.sha256 for e in after.evidence}
    assert old.keys() == new.keys()
    assert [p for p in old if old[p] != new[p]] == [str(path.resolve())]
    assert before.sha256 != after.sha256  # the digest over the manifest changes with it


def test_cache_reads_a_glob_once(sweep: Path) -> None:
    cache = ReadCache()
    rules = [f"{GLOB}#mean(/success, runs=4)[m={m}]" for m in (16, 24, 32)]
    values = [evaluate_rule(parse_rule(r), sweep, "fraction", cache=cache).value for r in rules]
    assert values == [1.0, 0.75, 0.25]
    again = evaluate_rule(parse_rule(rules[1]), sweep, "fraction", cache=cache)
    uncached = evaluate_rule(parse_rule(rules[1]), sweep, "fraction")
    assert again.evidence == uncached.evidence and again.sha256 == uncached.sha256
