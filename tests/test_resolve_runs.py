"""Trackers and eval logs end to end through the CLI, on SQLite and PostgreSQL.

Each scheme's story is the researcher's: questions registered before the data exists,
the tool's files copied in afterwards (`cp -r`, so every mtime is later than the
predictions), `resolve`, then `show`, `verify` and the report. The fixtures are written by
the tools themselves: committed (MLflow, W&B, inspect_ai, lm-eval; see
tests/fixtures/*/make_*.py) or made here (TensorBoard by tensorboardX, Sacred by sacred).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import Run, head_of
from fixtures.trackers import FIXTURES, sacred_runs, snapshot, write_run

from predtrack.rules import sha256_file


@dataclass(frozen=True)
class Q:
    """A question to register: its key, rule, kind and what `resolve` must give."""

    key: str
    rule: str
    want: tuple[str, Any]  # ("resolved", value) or (status, text the reason holds)
    kind: str = "quantity"
    annul: bool = False

    @property
    def forecast(self) -> str:
        return {"binary": "60%", "fraction": "beta(3,3)"}.get(self.kind, "0 to 1")


def F(key: str, rule: str, want: tuple[str, Any], annul: bool = False) -> Q:
    """A fraction question."""
    return Q(key, rule, want, "fraction", annul)


def if_failed(rule: str, reason: str, kind: str = "quantity") -> list[Q]:
    """The same rule twice: pending when its run failed, and annulled under --if-run-fails."""
    return [
        Q("failed", rule, ("pending", reason), kind),
        Q("annul", rule, ("annulled", reason), kind, annul=True),
    ]


def picks(
    s: str,
    where: str,
    value: str,
    other: str,
    got: tuple[float, float, float, float],
    *,
    step: int = 2,
    how: str = "argmax",
) -> list[Q]:
    """A metric's history read four ways: latest, @max, @step=N, and OTHER where it is best."""
    latest, best, at_step, at_best = got
    return [
        F("latest", f"{s}#{value}[{where}]", ("resolved", latest)),
        Q("max", f"{s}#{value}@max[{where}]", ("resolved", best)),
        Q("step", f"{s}#{value}@step={step}[{where}]", ("resolved", at_step)),
        Q(how, f"{s}#{other}@{how}({value})[{where}]", ("resolved", at_best)),
    ]  # fmt: skip


def register(run: Run, exp: str, questions: list[Q]) -> None:
    for q in questions:
        extra = ["--if-run-fails", "annul"] if q.annul else []
        run(
            "predict",
            f"Question {q.key}",
            q.forecast,
            "--kind",
            q.kind,
            "-e",
            exp,
            "--key",
            q.key,
            "--rule",
            q.rule,
            *extra,
        )


def outcomes(run: Run, *args: str, code: int | None = None) -> dict[str, dict[str, Any]]:
    """`resolve --json`, by question key."""
    result = run("resolve", "--json", *args, code=code)
    return {q["label"].split("/", 1)[1]: q for q in json.loads(result.output)["questions"]}


def show(run: Run, exp: str, key: str) -> dict[str, Any]:
    return dict(json.loads(run("show", f"{exp}/{key}", "--json").output))


def copy_in(staging: Path, data: Path) -> None:
    """The data arrives as a checkout or a copy brings it: every mtime is now."""
    subprocess.run(["cp", "-r", str(staging), str(data)], check=True)


def check(got: dict[str, dict[str, Any]], questions: list[Q]) -> None:
    for q in questions:
        o, (status, want) = got[q.key], q.want
        assert o["status"] == status, (q.key, o)
        if status == "resolved":
            if isinstance(want, float):
                assert o["value"] == pytest.approx(want), (q.key, o)
            else:
                assert o["value"] == want, (q.key, o)
        else:
            assert want in (o["reason"] or ""), (q.key, o)


def story(
    run: Run,
    tmp_path: Path,
    exp: str,
    stage: Callable[[Path], None],
    questions: list[Q],
    *,
    link: tuple[str, int],
    damage: tuple[str, Callable[[Path], Path]],
) -> dict[str, dict[str, Any]]:
    """Register, copy the data in, resolve: checked outcomes, lateness and a clean store;
    then `link` (location, files it records) and a damaged file (a rule, the damage)."""
    staging, data = tmp_path / "staging", tmp_path / "data"
    staging.mkdir()
    stage(staging)
    register(run, exp, questions)
    made = max(
        datetime.fromisoformat(p["made_at"]).timestamp()
        for q in questions
        for p in show(run, exp, q.key)["predictions"]
    )
    time.sleep(0.02)
    copy_in(staging, data)
    assert min(p.stat().st_mtime for p in data.rglob("*") if p.is_file()) > made
    before = snapshot(data)
    got = outcomes(run)
    assert snapshot(data) == before  # resolving wrote nothing into the tracker's folder
    check(got, questions)
    for q in questions:
        if got[q.key]["status"] not in ("resolved", "annulled"):
            continue
        view = show(run, exp, q.key)
        evidence = view["resolution"]["evidence"]
        assert evidence, q.key  # annulments keep the files that showed the run failed
        for e in evidence:
            assert sha256_file(tmp_path / e["path"]) == (e["sha256"], e["size"])
        if got[q.key]["status"] == "resolved":
            # The records' own times say the data existed before the prediction; the
            # copy's mtimes (after it) would have hidden that.
            (p,) = view["predictions"]
            assert p["late"], q.key
            assert "the earliest time recorded in it" in p["late_reason"], p["late_reason"]
    assert run("verify").exit_code == 0
    linked(run, exp, *link)
    corrupt_fails(run, exp, damage[0], lambda: damage[1](data))
    return got


def copied(fixture: str, name: str) -> Callable[[Path], None]:
    """Staging: a committed fixture folder, copied under `name`."""

    def stage(staging: Path) -> None:
        src = FIXTURES / fixture / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, staging / name)

    return stage


def garbled(path: Path) -> Path:
    path.write_text("{ not json")
    return path


def refused(run: Run, rule: str, message: str, kind: str = "quantity") -> None:
    """Registration refuses the rule: exit 2, the reason named, nothing written."""
    head = head_of(run)
    out = run(
        "predict",
        "Refused",
        "50%" if kind == "binary" else "0.2 to 0.8",
        "--kind",
        kind,
        "-e",
        "refusals",
        "--rule",
        rule,
        code=2,
    ).output
    assert message in out, out
    assert head_of(run) == head


def linked(run: Run, exp: str, location: str, files: int) -> None:
    """`link SCHEME:PATH` records every file the source reads, each hashed."""
    result = json.loads(run("link", location, "-e", exp, "--json").output)
    got = result["artifacts"] + [{"path": p} for p in result["already"]]
    assert len(got) == files, got
    for a in result["artifacts"]:
        assert a["sha256"] and (a["sha256"], a["size"]) == sha256_file(Path(a["path"]))


def flipped(path: Path, at: int | None = None) -> Path:
    """The file with one byte inverted (the middle one unless `at`): damage a CRC catches."""
    data = bytearray(path.read_bytes())
    data[len(data) // 2 if at is None else at] ^= 0xFF
    path.write_bytes(bytes(data))
    return path


def plain(tmp_path: Path, name: str) -> Path:
    """A folder `plain/` holding one ordinary file: no tracker's layout."""
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / name).write_text("{}")
    return tmp_path / "plain"


def corrupt_fails(run: Run, exp: str, rule: str, damage: Callable[[], Path]) -> None:
    """A damaged file fails the question that reads it, naming the file (exit 1)."""
    register(run, exp, [Q("after-damage", rule, ("failed", ""))])
    name = damage().name
    got = outcomes(run, "-e", exp, code=1)["after-damage"]
    assert got["status"] == "failed" and name in got["reason"], got


# ---------------------------------------------------------------- MLflow

MLFLOW_25_3 = "experiment=cheese-maze, params.maze_size=25, params.seed=3"


def mlflow_questions(s: str) -> list[Q]:
    return [
        *picks(s, MLFLOW_25_3, "cheese_rate", "loss", (0.44, 0.48, 0.45, 0.9), how="argmin"),
        Q("mean5", f"{s}#mean(cheese_rate@max, runs=5)[experiment=cheese-maze, params.maze_size=25]",
          ("resolved", 0.48)),
        Q("tags", f"{s}#count(cheese_rate)[tags.team=maze, params.maze_size=25]", ("resolved", 5.0)),
        Q("short", f"{s}#mean(cheese_rate, runs=3)[params.maze_size=15]",
          ("pending", "2 of 3 records so far")),
        *if_failed(f"{s}#cheese_rate[params.maze_size=45]", "MLflow run m45-s1 has status FAILED"),
        Q("rerun", f"{s}#cheese_rate[params.maze_size=35]", ("resolved", 0.22)),
        Q("above", f"{s}#cheese_rate@max[{MLFLOW_25_3}] > 0.45", ("resolved", True), kind="binary"),
    ]  # fmt: skip


def broken_mlflow(data: Path) -> Path:
    """A metric file with a line MLflow never writes, or a database cut short."""
    db = data / "mlflow.db"
    if db.exists():
        db.write_bytes(db.read_bytes()[:100] + b"\0" * 5000)
        return db
    metric = next((data / "mlruns").rglob("metrics/cheese_rate"))
    metric.write_text("1772323260000 0.31 0\nnot a metric line\n")
    return metric


@pytest.mark.parametrize("store", ["mlruns", "mlflow.db"])
def test_mlflow(store_db: str, run: Run, tmp_path: Path, store: str) -> None:
    s = f"mlflow:data/{store}"
    files = len([p for p in (FIXTURES / "mlflow" / store).rglob("*") if p.is_file()] or [store])
    got = story(run, tmp_path, "maze", copied("mlflow", store), mlflow_questions(s),
                link=(s, files), damage=(f"{s}#mean(cheese_rate)[params.maze_size=25]", broken_mlflow))  # fmt: skip
    if store == "mlflow.db":  # the file store reads only the params a rule names
        assert got["short"]["reason"].endswith(
            "missing params.seed=3, params.seed=4, params.seed=5"
        )


def test_mlflow_registration_refusals(store_db: str, run: Run, tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "mlflow", tmp_path / "data")
    plain(tmp_path / "data", "results.json")
    refused(run, "mlflw:data/mlruns#cheese_rate", "unknown file type")
    refused(run, "mlflow:data/plain#cheese_rate", "not an MLflow file store")
    refused(run, "mlflow:data/plain/results.json#cheese_rate", "not a SQLite database")
    refused(
        run,
        "mlflow:data/mlruns#metrics.cheese_rate[params.seed=1]",
        "no field 'metrics.cheese_rate'",
    )
    refused(run, "mlflow:data/m*/x#cheese_rate", "cannot hold wildcards")
    run("link", "mlflow:data/plain", "-e", "refusals", code=2)
    assert "cheese_rate" not in run("list").output


# ---------------------------------------------------------------- TensorBoard


def tensorboard_runs(staging: Path) -> None:
    write_run(staging / "tb" / "a", {"val_acc": [0.5, 0.9, 0.7], "test_acc": [0.4, 0.8, 0.6]})
    write_run(staging / "tb" / "b", {"val_acc": [0.6, 0.65, 0.7]})


def test_tensorboard(store_db: str, run: Run, tmp_path: Path) -> None:
    s = "tensorboard:data/tb"
    questions = [
        *picks(s, "run=a", "val_acc", "test_acc", (0.7, 0.9, 0.9, 0.8), step=1),
        Q("mean2", f"{s}#mean(val_acc@max, runs=2)", ("resolved", 0.8)),
        Q("short", f"{s}#mean(val_acc@max, runs=3)", ("pending", "2 of 3 runs so far")),
        Q("above", f"{s}#val_acc@max[run=a] > 0.85", ("resolved", True), kind="binary"),
    ]
    damage = (
        f"{s}#val_acc@max[run=b]",
        lambda d: flipped(next((d / "tb" / "b").glob("*tfevents*"))),
    )
    story(run, tmp_path, "probe", tensorboard_runs, questions, link=(s, 2), damage=damage)
    plain(tmp_path, "metrics.json")
    refused(run, "tensorboard:plain#val_acc@max", "not a TensorBoard log folder")
    refused(run, "tensorboard:plain/metrics.json#val_acc", "not a TensorBoard event file")


# ---------------------------------------------------------------- W&B

W = "config.lr=0.001, config.seed=1"


def test_wandb(store_db: str, run: Run, tmp_path: Path) -> None:
    s = "wandb:data/wandb"
    questions = [
        *picks(s, W, "val_acc", "test_acc", (0.79, 0.81, 0.65, 0.76)),
        Q("mean2", f"{s}#mean(val_acc@max, runs=2)[config.lr=0.001]", ("resolved", 0.805)),
        *if_failed(f"{s}#loss[config.lr=0.1, config.seed=1]", "exited with code 1"),
        Q("rerun", f"{s}#loss[config.lr=0.1, config.seed=2]", ("resolved", 0.2667)),
        Q("short", f"{s}#mean(loss, runs=3)[config.seed=1]", ("pending", "2 of 3 records so far")),
    ]
    damage = (f"{s}#mean(loss)", lambda d: flipped(next((d / "wandb").rglob("run-*.wandb")), 200))
    story(run, tmp_path, "probe", copied("wandb", "wandb"), questions, link=(s, 6), damage=damage)
    plain(tmp_path, "x.json")
    refused(run, "wandb:plain#loss", "not a W&B folder")


# ---------------------------------------------------------------- inspect_ai

ACC = "scores.match.accuracy"
TOM7 = "task=theory_of_mind, model=mockllm/ckpt-7"


def cut_eval(data: Path) -> Path:
    f = next((data / "logs").glob("*arithmetic*.eval"))
    f.write_bytes(f.read_bytes()[:-200])
    return f


def test_inspect(store_db: str, run: Run, tmp_path: Path) -> None:
    s = "inspect:data/logs"
    questions = [
        F("ckpt6", f"{s}#{ACC}[task=arithmetic, model=mockllm/ckpt-6]", ("resolved", 0.5)),
        F("rerun", f"{s}#{ACC}[{TOM7}]", ("resolved", 0.75)),
        *if_failed(f"{s}#{ACC}[task=arithmetic, model=mockllm/ckpt-7]",
                   "is invalidated (invalidated: true)", kind="fraction"),
        F("mean2", f"{s}#mean({ACC}, runs=2)[task=theory_of_mind]", ("resolved", 0.5)),
        Q("above", f"{s}#{ACC}[{TOM7}] > 0.5", ("resolved", True), kind="binary"),
        F("short", f"{s}#mean({ACC}, runs=3)[model=mockllm/ckpt-6]", ("pending", "2 of 3 records")),
    ]  # fmt: skip
    story(run, tmp_path, "evals", copied("inspect", "logs"), questions, link=(s, 5),
          damage=(f"{s}#mean({ACC})", cut_eval))  # fmt: skip
    refused(run, f"{s}#accuracy[task=x]", "no field 'accuracy'", kind="fraction")
    refused(run, f"{s}#scores.match[task=x]", "no field 'scores.match'", kind="fraction")


# ---------------------------------------------------------------- lm-evaluation-harness

SALLY, ARITH = '"results.sally_mc.acc,none"', '"results.arith_mc.acc,none"'
P160 = "model=EleutherAI/pythia-160m"


def test_lmeval(store_db: str, run: Run, tmp_path: Path) -> None:
    s = "lmeval:data/results"
    questions = [
        F("last", f"{s}#last({SALLY})[{P160}]", ("resolved", 2 / 3)),
        F("first", f"{s}#first({SALLY})[{P160}]", ("resolved", 0.5)),
        F("rerun", f"{s}#{ARITH}[model=EleutherAI/pythia-410m]", ("resolved", 0.125)),
        *if_failed(f"{s}#{ARITH}[model=EleutherAI/pythia-1b]", "run with --limit", kind="fraction"),
        F("mean3", f"{s}#mean({SALLY}, runs=3)", ("resolved", (0.5 + 2 / 3 + 0.5) / 3)),
        F("short", f"{s}#mean({SALLY}, runs=4)", ("pending", "missing model=EleutherAI/pythia-1b")),
        Q("above", f"{s}#last({SALLY})[{P160}] > 0.6", ("resolved", True), kind="binary"),
    ]
    damage = (
        f"{s}#count({SALLY})",
        lambda d: garbled(next((d / "results").rglob("results_*.json"))),
    )
    story(
        run, tmp_path, "evals", copied("lmeval", "results"), questions, link=(s, 5), damage=damage
    )
    refused(run, f"{s}#results.mmlu[model=x]", "no field 'results.mmlu'", kind="fraction")
    plain(tmp_path, "notes.txt")
    refused(run, "lmeval:plain#model", "holds no lm-eval results files", kind="fraction")


# ---------------------------------------------------------------- Sacred


def observe(staging: Path) -> None:
    """Sacred runs: seeds 1 and 2 complete, 7 fails, 9 fails and is then run again to the end."""
    sacred_runs(staging / "runs", [(1, False), (2, False), (7, True), (9, True), (9, False)])


def test_sacred(store_db: str, run: Run, tmp_path: Path) -> None:
    s = "sacred:data/runs"
    questions = [
        Q("result", f"{s}#result[config.seed=1]", ("resolved", 3.0)),
        *picks(s, "config.seed=1", "val_acc", "loss", (0.61, 0.81, 0.71, 0.5)),
        Q("mean3", f"{s}#mean(result, runs=3)[config.model.width=64]", ("resolved", 6.0)),
        *if_failed(f"{s}#result[config.seed=7]", "Sacred run 3 has status FAILED"),
        Q("rerun", f"{s}#result[config.seed=9]", ("resolved", 11.0)),
        Q("short", f"{s}#mean(result, runs=4)", ("pending", "3 of 4 records so far")),
    ]
    damage = (f"{s}#mean(result)", lambda d: garbled(d / "runs" / "2" / "run.json"))
    story(run, tmp_path, "s", observe, questions, link=(s, 15), damage=damage)
    refused(run, "sacred:data/runs/1/run.json#result", "not a Sacred FileStorageObserver folder")


# ---------------------------------------------------------------- what `link` records


@pytest.mark.parametrize(
    ("fixture", "location", "rule"),
    [
        (
            "mlflow",
            "mlflow:mlflow/mlruns",
            "mean(cheese_rate@max)[params.maze_size=25, tags.team=maze]",
        ),
        ("mlflow", "mlflow:mlflow/mlflow.db", "mean(cheese_rate@max)[params.maze_size=25]"),
        ("wandb", "wandb:wandb/wandb", "mean(val_acc@max)[config.lr=0.001]"),
        ("inspect", "inspect:inspect/logs", f"mean({ACC})[task=theory_of_mind]"),
        ("lmeval", "lmeval:lmeval/results", f"count({SALLY})"),
    ],
)
def test_files_of_holds_every_file_a_rule_reads(
    tmp_path: Path, fixture: str, location: str, rule: str
) -> None:
    from predtrack.errors import InputError
    from predtrack.rules import evaluate_rule, files_of, parse_rule, scheme_of

    shutil.copytree(FIXTURES / fixture, tmp_path / fixture)
    linked = files_of(location, tmp_path)
    assert len({e.path for e in linked}) == len(linked)
    for e in linked:
        assert (e.sha256, e.size) == sha256_file(e.path)
    ev = evaluate_rule(parse_rule(f"{location}#{rule}"), tmp_path, "quantity")
    assert {e.path for e in ev.evidence} <= {e.path for e in linked}
    assert scheme_of(location) == location.partition(":")[0]
    assert scheme_of("results.json") is None and scheme_of("https://x") is None
    with pytest.raises(InputError, match="does not exist"):
        files_of(f"{scheme_of(location)}:{fixture}/nope", tmp_path)
    with pytest.raises(InputError, match=r"cannot link tensorboard:.*not a TensorBoard"):
        files_of(f"tensorboard:{location.partition(':')[2]}", tmp_path)
