"""inspect source: logs written by inspect_ai 0.3.285 (tests/fixtures/inspect/make_inspect.py)."""

from __future__ import annotations

import zipfile
from datetime import datetime
from pathlib import Path

import pytest
from fixtures.trackers import copy_fixture, load, snapshot

from predtrack.errors import RuleError, RuleSyntaxError
from predtrack.rules.base import RulePending
from predtrack.rules.sources.inspect_logs import InspectSource

ACC = "scores.match.accuracy"


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    return copy_fixture("inspect", tmp_path) / "logs"


def find(chunks: list, **fields: str) -> list:
    return [c for c in chunks if all(c.run.fields.get(k) == v for k, v in fields.items())]


def test_eval_members_are_zstandard(logs: Path) -> None:
    for f in logs.glob("*.eval"):
        with zipfile.ZipFile(f) as z:
            assert z.getinfo("header.json").compress_type == 93
            with pytest.raises(NotImplementedError):
                z.read("header.json")  # what Python 3.11's zipfile does with them


def test_fields_scores_and_both_formats(logs: Path) -> None:
    chunks, evidence = load(InspectSource, logs, {ACC, "task", "model"})
    assert len(chunks) == 5
    (c,) = find(chunks, task="theory_of_mind", model="mockllm/ckpt-6")
    assert c.run.name.endswith(".json")  # the .json log format
    assert c.records[0][ACC] == 0.25
    (c,) = find(chunks, task="arithmetic", model="mockllm/ckpt-6")
    assert c.records[0][ACC] == 0.5
    assert c.records[0]["scores.match.stderr"] == pytest.approx(0.288675, abs=1e-6)
    assert c.run.status == "finished"
    assert len(evidence) == 5


def test_error_then_rerun(logs: Path) -> None:
    chunks, _ = load(InspectSource, logs, {ACC})
    attempts = sorted(find(chunks, task="theory_of_mind", model="mockllm/ckpt-7"),
                      key=lambda c: c.times[0])  # fmt: skip
    assert [c.run.status for c in attempts] == ["failed", "finished"]
    assert attempts[0].run.reason.endswith("has status error (RuntimeError('GPU node lost'))")
    assert attempts[1].records[0][ACC] == 0.75


def test_invalidated_log_is_failed(logs: Path) -> None:
    chunks, _ = load(InspectSource, logs, {ACC})
    (c,) = find(chunks, task="arithmetic", model="mockllm/ckpt-7")
    assert c.run.fields["status"] == "success"
    assert c.run.status == "failed"
    assert c.run.reason.endswith("is invalidated (invalidated: true)")


def test_times_from_created_not_mtimes(logs: Path) -> None:
    chunks, _ = load(InspectSource, logs, {ACC})
    (c,) = find(chunks, task="arithmetic", model="mockllm/ckpt-6")
    assert c.times == [datetime.fromisoformat("2026-03-02T12:00:00+00:00").timestamp()]
    assert c.times[0] < (logs / c.run.name).stat().st_mtime


def test_corrupt_eval_names_the_file(logs: Path) -> None:
    f = next(logs.glob("*arithmetic*.eval"))
    f.write_bytes(f.read_bytes()[:-200])
    with pytest.raises(RuleError, match=rf"{f.name} is not a readable .eval zip"):
        load(InspectSource, logs, {ACC})


def test_reading_writes_nothing(logs: Path) -> None:
    before = snapshot(logs)
    load(InspectSource, logs, {ACC})
    assert snapshot(logs) == before


def test_missing_and_layout_and_fields(tmp_path: Path, logs: Path) -> None:
    with pytest.raises(RulePending, match="does not exist yet"):
        load(InspectSource, tmp_path / "nope", {ACC})
    InspectSource.check_layout(logs, frozenset({ACC, "task", "model", "created", "status"}))
    with pytest.raises(RuleSyntaxError, match="no field 'accuracy'"):
        InspectSource.check_layout(logs, frozenset({"accuracy"}))
    with pytest.raises(RuleSyntaxError, match=r"no field 'scores\.match'"):
        InspectSource.check_layout(logs, frozenset({"scores.match"}))
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "notes.txt").write_text("x")
    with pytest.raises(RuleSyntaxError, match="holds no inspect_ai logs"):
        InspectSource.check_layout(tmp_path / "plain", frozenset({ACC}))
