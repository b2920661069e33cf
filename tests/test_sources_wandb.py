"""W&B source: offline run folders written by wandb 0.31 (tests/fixtures/wandb/make_wandb.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures.trackers import copy_fixture, load, snapshot

from predtrack.errors import RuleError, RuleSyntaxError
from predtrack.rules.base import RulePending
from predtrack.rules.sources.wandb import WandbSource


@pytest.fixture
def wandb_dir(tmp_path: Path) -> Path:
    return copy_fixture("wandb", tmp_path) / "wandb"


def by_config(chunks: list) -> dict[tuple[float, int], list]:
    """Runs by (lr, seed), in start order (a crashed run, then its re-run)."""
    out: dict[tuple[float, int], list] = {}
    for c in chunks:
        out.setdefault((c.run.fields["config.lr"], c.run.fields["config.seed"]), []).append(c)
    return out


def test_config_summary_and_history(wandb_dir: Path) -> None:
    chunks, evidence = load(WandbSource, wandb_dir, {"val_acc", "config.lr"})
    assert len(chunks) == 6
    assert not list(wandb_dir.rglob("wandb-summary.json"))  # this W&B wrote none offline
    (c,) = by_config(chunks)[(0.001, 1)]
    assert c.run.fields["config.model.width"] == 64  # nested config, dotted
    assert c.records[0]["val_acc"] == pytest.approx(0.79)  # summary: the last logged value
    assert c.records[0]["best_val_acc"] == pytest.approx(0.899)  # set on run.summary
    series = c.run.series["val_acc"]
    assert [p.step for p in series] == [0, 1, 2, 3, 4, 5]
    best = max(series, key=lambda p: p.value)
    assert (best.step, best.value) == (4, pytest.approx(0.81))
    assert c.run.series["test_acc"][best.step].value == pytest.approx(0.76)  # @argmax(val_acc)
    assert c.run.status == "finished"
    assert sorted(Path(e.path).suffix for e in evidence) == [".wandb"] * 6


def test_nonzero_exit_is_a_failed_run(wandb_dir: Path) -> None:
    chunks, _ = load(WandbSource, wandb_dir, {"loss"})
    (c,) = by_config(chunks)[(0.1, 1)]
    assert c.run.status == "failed"
    assert c.run.reason == f"W&B run {c.run.name} exited with code 1"
    crashed, rerun = sorted(by_config(chunks)[(0.1, 2)], key=lambda c: c.run.sort_key())
    assert (crashed.run.status, rerun.run.status) == ("failed", "finished")


def test_times_from_the_log_not_mtimes(wandb_dir: Path) -> None:
    chunks, _ = load(WandbSource, wandb_dir, {"loss"})
    for c in chunks:
        stamps = [p.time for p in c.run.series["loss"]]
        mtime = next(c_ for c_ in wandb_dir.rglob(f"run-{c.run.name}.wandb")).stat().st_mtime
        assert c.times[0] == pytest.approx(stamps[-1])  # the summary's _timestamp
        assert stamps[0] < mtime  # the copy's mtime is now; the data is older


def test_corrupt_log_names_the_file(wandb_dir: Path) -> None:
    f = next(wandb_dir.rglob("run-*.wandb"))
    data = bytearray(f.read_bytes())
    data[200] ^= 0xFF
    f.write_bytes(bytes(data))
    with pytest.raises(RuleError, match=rf"{f.name}: (bad CRC|corrupt record) at byte \d+"):
        load(WandbSource, wandb_dir, {"loss"})


def test_not_a_wandb_log(wandb_dir: Path) -> None:
    f = next(wandb_dir.rglob("run-*.wandb"))
    f.write_bytes(b"hello")
    with pytest.raises(RuleError, match="is not a W&B run log"):
        load(WandbSource, wandb_dir, {"loss"})


def test_reading_writes_nothing(wandb_dir: Path) -> None:
    before = snapshot(wandb_dir)
    load(WandbSource, wandb_dir, {"loss", "config.lr"})
    assert snapshot(wandb_dir) == before


def test_missing_and_layout(tmp_path: Path) -> None:
    with pytest.raises(RulePending, match="does not exist yet"):
        load(WandbSource, tmp_path / "wandb", {"loss"})
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "x.json").write_text("{}")
    with pytest.raises(RuleSyntaxError, match="not a W&B folder"):
        WandbSource.check_layout(tmp_path / "plain", frozenset({"loss"}))
