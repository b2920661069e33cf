"""Each record selector on small files, with each failure reason it can give."""

from __future__ import annotations

import hashlib
import json
import os
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from test_rules import fails, run, write  # the helpers of the rules' first tests

from predtrack.errors import RuleError
from predtrack.rules import (
    OutsideFolder,
    RulePending,
    RunFailed,
    evaluate_rule,
    evidence_digest,
    register_source,
)
from predtrack.rules.base import Chunk, Evidence, Run, Source
from predtrack.rules.nodes import Pointer, Rule


def lines(*records: dict[str, object]) -> str:
    return "".join(json.dumps(r) + "\n" for r in records)


LOG = lines(
    {"step": 0, "loss": 0.9, "val_acc": 0.50, "test_acc": 0.48},
    {"step": 10, "loss": 0.5, "val_acc": 0.70, "test_acc": 0.66},
    {"eval": True, "note": "a line without the metrics"},
    {"step": 20, "loss": 0.2, "val_acc": 0.81, "test_acc": 0.79},
    {"step": 30, "loss": 0.3, "val_acc": 0.74, "test_acc": 0.80},
)
RUNS = "m,seed,rel_error,success\n" + "".join(
    f"{m},{s},{m / 1000 + s / 10000},{'True' if s < {16: 4, 24: 3, 32: 1}[m] else 'False'}\n"
    for m in (16, 24, 32)
    for s in range(4)
)


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    write(tmp_path, "train.jsonl", LOG)
    write(tmp_path, "runs.csv", RUNS)
    return tmp_path


# ---------------------------------------------------------------- filters


def test_filters_pick_one_line(logs: Path) -> None:
    ev = run(logs, "train.jsonl#/loss[step=20]")
    assert ev.value == 0.2 and ev.detail == "/loss = 0.2 at line 4"
    assert run(logs, "train.jsonl#/loss[step=20] < 0.25", "binary").value is True
    assert run(logs, "runs.csv#rel_error[m=24, seed=2]").value == pytest.approx(0.0242)
    assert run(logs, "runs.csv#rel_error[m!=16, m<30, seed>=3]").value == pytest.approx(0.0243)


def test_filter_failures(logs: Path) -> None:
    assert "no record matches step=25 in train.jsonl" in fails(logs, "train.jsonl#/loss[step=25]")
    assert "2 records match step>=20 in train.jsonl (lines 4, 5); exactly one must match" in fails(
        logs, "train.jsonl#/loss[step>=20]"
    )
    assert "no record of train.jsonl has a field stpe (filter stpe=20)" in fails(
        logs, "train.jsonl#/loss[stpe=20]"
    )
    assert "no column 'sed' in runs.csv" in fails(logs, "runs.csv#rel_error[sed=1]")


def test_booleans_are_the_same_everywhere(tmp_path: Path) -> None:
    write(tmp_path, "a.csv", "id,ok\n1,True\n2,false\n3,1\n4,0\n")
    write(
        tmp_path, "b.jsonl", lines({"id": 1, "ok": True}, {"id": 2, "ok": 0}, {"id": 3, "ok": "no"})
    )
    assert run(tmp_path, "a.csv#count(id)[ok=true]").value == 2
    assert run(tmp_path, "a.csv#count(id)[ok=False]").value == 2
    assert run(tmp_path, "b.jsonl#count(/id)[ok=1]").value == 1
    assert run(tmp_path, "a.csv#mean(ok)", "fraction").value == 0.5
    assert run(tmp_path, "a.csv#fraction(ok)", "fraction").value == 0.5
    assert run(tmp_path, "a.csv#crossing(x=id, y=ok, level=0.5)").value == 1.5
    assert run(tmp_path, "b.jsonl#/ok[id=1]", "binary").value is True
    assert 'value at /ok (line 3) is "no", not a yes/no' in fails(
        tmp_path, "b.jsonl#fraction(/ok)", "fraction"
    )


# ---------------------------------------------------------------- series picks


def test_series_picks(logs: Path) -> None:
    assert run(logs, "train.jsonl#/loss@min").value == 0.2
    assert run(logs, "train.jsonl#/loss@max").value == 0.9
    assert run(logs, "train.jsonl#/loss@first").value == 0.9
    assert run(logs, "train.jsonl#/loss@last").value == 0.3
    assert run(logs, "train.jsonl#/loss@step=10").value == 0.5
    ev = run(logs, "train.jsonl#/test_acc@argmax(/val_acc)")
    assert ev.value == 0.79 and ev.detail == "/test_acc@argmax(/val_acc) = 0.79 (line 4)"
    assert run(logs, "train.jsonl#/test_acc@argmin(/loss)").value == 0.79
    assert run(logs, "train.jsonl#/loss@min[step>0, step<20]").value == 0.5
    assert run(logs, "runs.csv#rel_error@max").value == pytest.approx(0.0323)


def test_series_pick_failures(tmp_path: Path) -> None:
    write(tmp_path, "t.jsonl", lines({"step": 1, "loss": 0.5}, {"step": 1, "loss": 0.4}))
    assert "2 records have step=1 in t.jsonl (lines 1, 2); @step needs one" in fails(
        tmp_path, "t.jsonl#/loss@step=1"
    )
    assert "no record with step=5 in t.jsonl" in fails(tmp_path, "t.jsonl#/loss@step=5")
    assert "no record has /acc" in fails(tmp_path, "t.jsonl#/acc@max")
    write(tmp_path, "n.jsonl", '{"loss": 0.5}\n{"loss": NaN}\n')
    assert "value at /loss (line 2) is NaN in n.jsonl" in fails(tmp_path, "n.jsonl#/loss@max")
    write(tmp_path, "s.jsonl", lines({"loss": 0.5}, {"loss": "high"}))
    assert 'value at /loss (line 2) is a string "high", not a number in s.jsonl' in fails(
        tmp_path, "s.jsonl#/loss@min"
    )


def test_first_and_last_follow_record_times(tmp_path: Path) -> None:
    # Written out of order; every record has a time, so time decides.
    write(
        tmp_path,
        "t.jsonl",
        lines(
            {"v": 1, "timestamp": "2024-05-02T10:00:00Z"},
            {"v": 2, "timestamp": "2024-05-01T10:00:00+00:00"},
            {"v": 3, "timestamp": "2024-05-03T09:00:00"},
        ),
    )
    assert run(tmp_path, "t.jsonl#/v@first").value == 2
    assert run(tmp_path, "t.jsonl#/v@last").value == 3
    assert run(tmp_path, "t.jsonl#first(/v)").value == 2
    ev = run(tmp_path, "t.jsonl#last(/v)")
    assert ev.value == 3
    assert ev.data_time == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert ev.data_time_source == "records"
    # One record without a time: line order decides.
    write(tmp_path, "u.jsonl", lines({"v": 1, "time": 1.8e9}, {"v": 2}, {"v": 3, "time": 1.7e9}))
    assert run(tmp_path, "u.jsonl#/v@last").value == 3
    assert run(tmp_path, "u.jsonl#first(/v)").value == 1


# ---------------------------------------------------------------- aggregates and fraction


@pytest.mark.parametrize(
    ("func", "expected"),
    [
        ("mean", 0.02415),
        ("median", 0.02415),
        ("min", 0.016),
        ("max", 0.0323),
        ("sum", 0.2898),
        ("count", 12),
        ("first", 0.016),
        ("last", 0.0323),
    ],
)
def test_aggregates(logs: Path, func: str, expected: float) -> None:
    assert run(logs, f"runs.csv#{func}(rel_error)").value == pytest.approx(expected)


def test_std_and_filters_on_aggregates(logs: Path) -> None:
    ev = run(logs, "runs.csv#std(rel_error)[m=24]")
    assert ev.value == pytest.approx(0.000129099, rel=1e-5)
    assert ev.detail.startswith("std of rel_error over 4 rows with m=24 = ")
    assert "std needs at least 2 values" in fails(logs, "runs.csv#std(rel_error)[m=24, seed=1]")
    assert run(logs, "train.jsonl#mean(/loss)").value == pytest.approx(0.475)  # eval line skipped
    assert "no row matches m=48 in runs.csv" in fails(logs, "runs.csv#mean(rel_error)[m=48]")
    write(logs, "bad.csv", "m,e\n1,0.5\n2,oops\n")
    assert 'value at e (line 3) is "oops", not a number in bad.csv' in fails(
        logs, "bad.csv#mean(e)"
    )


def test_runs_n_in_one_long_table(logs: Path) -> None:
    assert run(logs, "runs.csv#max(rel_error, runs=4)[m=32] < 0.05", "binary").value is True
    write(logs, "part.csv", RUNS.replace("32,3,0.0323,False\n", ""))
    with pytest.raises(RulePending) as info:
        run(logs, "part.csv#max(rel_error, runs=4)[m=32]")
    assert "3 of 4 rows so far with m=32 in part.csv: missing seed=3" in info.value.reason
    assert info.value.missing == ("seed=3",)
    assert "runs=3, but 4 rows match with m=32" in fails(
        logs, "runs.csv#max(rel_error, runs=3)[m=32]"
    )


def test_fraction(logs: Path) -> None:
    ev = run(logs, "runs.csv#fraction(success)[m=24]", "fraction")
    assert (ev.value, ev.k, ev.n) == (0.75, 3, 4)
    assert ev.detail == "3 of 4 rows have success with m=24"
    ev = run(logs, "runs.csv#fraction(rel_error < 0.01615, runs=4)[m=16]", "fraction")
    assert (ev.k, ev.n) == (2, 4)
    assert run(logs, "runs.csv#fraction(success)[m=32] > 0.5", "binary").value is False


# ---------------------------------------------------------------- crossings over groups


def test_grouped_crossing_in_a_long_table(logs: Path) -> None:
    ev = run(logs, "runs.csv#crossing(x=m, y=mean(success), level=0.5)")
    assert ev.value == pytest.approx(28.0)
    ev = run(logs, "runs.csv#crossing(x=m, y=fraction(success), level=0.5)")
    assert ev.value == pytest.approx(28.0)
    assert run(logs, "runs.csv#crossing(x=m, y=max(rel_error), level=0.02)").value == pytest.approx(
        16 + 8 * (0.02 - 0.0163) / (0.0243 - 0.0163)
    )
    assert "duplicate m=16 at lines 2 and 3 in runs.csv; crossing needs one row per x" in fails(
        logs, "runs.csv#crossing(x=m, y=success, level=0.5)"
    )
    assert "crossing needs at least 2 values of m, runs.csv has 1 that match" in fails(
        logs, "runs.csv#crossing(x=m, y=mean(success), level=0.5)[m=24]"
    )
    with pytest.raises(RulePending, match="3 of 5 rows so far at m=16"):
        run(logs, "runs.csv#crossing(x=m, y=mean(success, runs=5), level=0.5)[seed<3]")


def test_crossing_along_a_log(logs: Path) -> None:
    assert run(logs, "train.jsonl#crossing(x=step, y=/val_acc, level=0.75)").value == pytest.approx(
        10 + 10 * 0.05 / 0.11
    )


# ---------------------------------------------------------------- globs and run folders


def test_glob_of_plain_folders(tmp_path: Path) -> None:
    for name, acc in [("run10", 0.3), ("run2", 0.2), ("run1", 0.1)]:
        write(tmp_path, f"runs/{name}/result.json", json.dumps({"acc": acc}))
    ev = run(tmp_path, "runs/*/result.json#last(/acc)")
    assert ev.value == 0.3  # natural order: run1, run2, run10
    assert run(tmp_path, "runs/*/result.json#/acc[run=run2]").value == 0.2
    assert "3 records match run!=x in runs/*/result.json (in runs/run1/result.json" in fails(
        tmp_path, "runs/*/result.json#/acc[run!=x]"
    )
    with pytest.raises(RulePending, match=r"no file matches none/\*/r\.json yet"):
        run(tmp_path, "none/*/r.json#mean(/acc)")
    with pytest.raises(RunFailed, match="declared complete"):
        run(tmp_path, "none/*/r.json#mean(/acc)", final=True)
    with pytest.raises(
        RulePending, match=r"no record matches run=run3 in runs/\*/result\.json yet"
    ):
        run(tmp_path, "runs/*/result.json#/acc[run=run3]")


def test_run_fields_disagreeing_with_the_record_are_refused(tmp_path: Path) -> None:
    write(tmp_path, "sweep/a/.hydra/overrides.yaml", "- seed=1\n")
    write(tmp_path, "sweep/a/m.json", json.dumps({"seed": 2, "acc": 0.5}))
    assert "seed is 2 in sweep/a/m.json but 1 in its run's fields" in fails(
        tmp_path, "sweep/*/m.json#mean(/acc)[seed=1]"
    )


def test_unreadable_matches_fail_the_question_without_hanging(tmp_path: Path) -> None:
    write(tmp_path, "runs/a/m.json", '{"acc": 1}')
    os.mkfifo(tmp_path / "runs" / "b.json")
    assert "runs/b.json is not a regular file" in fails(tmp_path, "runs/**/*.json#mean(/acc)")
    os.unlink(tmp_path / "runs" / "b.json")
    write(tmp_path, "runs/c/m.json", bytes(range(256)) * 4)
    assert "runs/c/m.json is not valid UTF-8" in fails(tmp_path, "runs/*/m.json#mean(/acc)")


def test_missing_and_final(tmp_path: Path) -> None:
    with pytest.raises(RulePending, match=r"r\.json does not exist yet"):
        run(tmp_path, "r.json#/a")
    with pytest.raises(RunFailed) as info:
        run(tmp_path, "r.json#/a", final=True)
    assert "r.json does not exist yet" in info.value.reason


# ---------------------------------------------------------------- statuses from a source


class _Runs(Source):
    """A store with one finished and one failed run, for status handling."""

    name = "statuses"
    runs_are_records = True
    folder = True

    def chunks(self) -> Iterator[Chunk]:
        self.reader.hash_file(self.target.path / "store.txt")
        for name, status, value in [("a", "finished", 0.7), ("b", "failed", None)]:
            run = Run(name, f"run {name}", {"group": "g"}, status=status, reason="status FAILED")
            yield Chunk.one(run, {"score": value, "run": name}, text=True)


def test_failed_runs_left_out_or_reported(tmp_path: Path) -> None:
    register_source("statuses", _Runs, scheme="statuses")
    write(tmp_path, "store/store.txt", "x")
    assert run(tmp_path, "statuses:store#score[group=g]").value == 0.7
    assert run(tmp_path, "statuses:store#mean(score)").value == 0.7
    with pytest.raises(RunFailed) as info:
        run(tmp_path, "statuses:store#score[run=b]")
    assert "run b: status FAILED" in info.value.reason
    assert [Path(e.path).name for e in info.value.evidence] == ["store.txt"]
    with pytest.raises(RunFailed, match="1 of 2 records so far"):
        run(tmp_path, "statuses:store#mean(score, runs=2)")


# ---------------------------------------------------------------- hostile files


def test_duplicate_keys_are_refused(tmp_path: Path) -> None:
    write(tmp_path, "r.json", '{"a": false, "a": true}')
    assert "r.json holds the key 'a' twice in one object" in fails(tmp_path, "r.json#/a", "binary")
    write(tmp_path, "l.jsonl", '{"a": 1}\n{"b": 2, "a": 3, "a": 4}\n')
    assert "l.jsonl line 2 holds the key 'a' twice" in fails(tmp_path, "l.jsonl#max(/a)")
    assert "holds the key 'a' twice" in fails(tmp_path, "l.jsonl#/a")


def test_nul_in_a_file_name_fails_that_question_only(tmp_path: Path) -> None:
    rule = Rule("a\x00b.json", Pointer(("a",)))
    with pytest.raises(RuleError, match="holds a NUL byte"):
        evaluate_rule(rule, tmp_path, "quantity")


def test_a_one_line_table_is_read_in_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    with open(path, "w") as f:
        f.write("a,b\n")
        for _ in range(60):
            f.write("1," * 250_000)  # one 30 MB row
        f.write("\n")
    tracemalloc.start()
    try:
        message = fails(tmp_path, "wide.csv#b[a=1]")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "wide.csv line 2 is over 4 MiB" in message
    assert peak < 40_000_000


def test_messages_never_quote_a_file_reached_through_a_link(tmp_path: Path) -> None:
    secret = "root:$6$Zq9hashhashhash,x:19000:0:99999:7:::\n"
    write(tmp_path, "secrets/shadow", secret + "daemon:*:19000\n")
    study = tmp_path / "study"
    study.mkdir()
    (study / "x.csv").symlink_to(tmp_path / "secrets" / "shadow")
    with pytest.raises(OutsideFolder, match="lies outside the folder"):
        run(study, "x.csv#nope[a=1]")
    message = fails(study, "x.csv#nope[a=1]", allow_outside=True)
    assert "root" not in message and "hash" not in message and "2 columns" in message
    (study / "inside").mkdir()
    write(study, "inside/data.txt", '{"token": "s3cret", "user": "x"}\n')
    (study / "y.csv").symlink_to(study / "inside" / "data.txt")
    message = fails(study, "y.csv#nope")
    assert "s3cret" not in message and "token" not in message
    (study / "z.json").symlink_to(study / "inside" / "data.txt")
    assert "s3cret" not in fails(study, "z.json#/nope") and "token" not in fails(
        study, "z.json#/nope"
    )


def test_outside_the_folder(tmp_path: Path) -> None:
    write(tmp_path, "elsewhere/r.json", '{"a": 1}')
    study = tmp_path / "study"
    study.mkdir()
    for rule in (
        "../elsewhere/r.json#/a",
        f"{tmp_path}/elsewhere/r.json#/a",
        "../elsewhere/*.json#max(/a)",
    ):
        with pytest.raises(OutsideFolder):
            run(study, rule)
        assert run(study, rule, allow_outside=True).value == 1
    (study / "link").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(OutsideFolder):
        run(study, "link/*.json#max(/a)")


# ---------------------------------------------------------------- evidence and times


def test_evidence_digest_is_the_canonical_manifest(tmp_path: Path) -> None:
    when = datetime(2024, 1, 1, tzinfo=UTC)
    evidence = [Evidence("/b/é", "ff" * 32, 2, when), Evidence("/a", "00" * 32, 1, when)]
    manifest = (
        '[{"path":"/a","sha256":"' + "00" * 32 + '","size":1},'
        '{"path":"/b/é","sha256":"' + "ff" * 32 + '","size":2}]'
    )
    assert evidence_digest(evidence) == hashlib.sha256(manifest.encode()).hexdigest()


def test_data_time_from_records_else_mtime(tmp_path: Path) -> None:
    write(
        tmp_path, "a.jsonl", lines({"v": 1, "_timestamp": 1.7e9 + 5}, {"v": 2, "_timestamp": 1.7e9})
    )
    ev = run(tmp_path, "a.jsonl#max(/v)")
    assert ev.data_time == datetime.fromtimestamp(1.7e9, UTC) and ev.data_time_source == "records"
    # Elapsed seconds are not moments: the file's mtime is used.
    path = write(tmp_path, "b.jsonl", lines({"v": 1, "time": 12.5}))
    os.utime(path, (1.6e9, 1.6e9))
    ev = run(tmp_path, "b.jsonl#max(/v)")
    assert (ev.data_time, ev.data_time_source) == (datetime.fromtimestamp(1.6e9, UTC), "mtime")
    write(tmp_path, "c.csv", "time,v\n2023-03-01T00:00:00Z,1\n2023-02-01T00:00:00Z,2\n")
    assert run(tmp_path, "c.csv#v[v=1]").data_time == datetime(2023, 3, 1, tzinfo=UTC)
