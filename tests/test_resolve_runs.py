"""Trackers and eval logs end to end through the CLI, on SQLite and PostgreSQL.

Each scheme's story is the researcher's: questions registered before the data exists,
the tool's files copied in afterwards (`cp -r`, so every mtime is later than the
predictions), `resolve`, then `show`, `verify` and the report. The fixtures are written by
the tools themselves: committed (MLflow, W&B, inspect_ai, lm-eval; see
tests/fixtures/*/make_*.py) or made here (TensorBoard by tensorboardX, Sacred by sacred).
"""

from __future__ import annotations

import contextlib
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
from fixtures.trackers import FIXTURES, snapshot, write_run

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
    run: Run, tmp_path: Path, exp: str, stage: Callable[[Path], None], questions: list[Q]
) -> dict[str, dict[str, Any]]:
    """Register, copy the data in, resolve: checked outcomes, lateness and a clean store."""
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
    return got


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


def corrupt_fails(run: Run, exp: str, rule: str, damage: Callable[[], Path]) -> None:
    """A damaged file fails the question that reads it, naming the file (exit 1)."""
    register(run, exp, [Q("after-damage", rule, ("failed", ""))])
    name = damage().name
    got = outcomes(run, "-e", exp, code=1)["after-damage"]
    assert got["status"] == "failed" and name in got["reason"], got


# ---------------------------------------------------------------- MLflow

MLFLOW_25_3 = "params.maze_size=25, params.seed=3"


def mlflow_questions(store: str) -> list[Q]:
    s = f"mlflow:data/{store}"
    return [
        Q(
            "latest",
            f"{s}#cheese_rate[experiment=cheese-maze, {MLFLOW_25_3}]",
            ("resolved", 0.44),
            kind="fraction",
        ),
        Q("max", f"{s}#cheese_rate@max[{MLFLOW_25_3}]", ("resolved", 0.48)),
        Q("step", f"{s}#cheese_rate@step=2[{MLFLOW_25_3}]", ("resolved", 0.45)),
        Q("argmin", f"{s}#loss@argmin(cheese_rate)[{MLFLOW_25_3}]", ("resolved", 0.9)),
        Q(
            "mean5",
            f"{s}#mean(cheese_rate@max, runs=5)[experiment=cheese-maze, params.maze_size=25]",
            ("resolved", 0.48),
        ),
        Q(
            "tags",
            f"{s}#count(cheese_rate)[tags.team=maze, params.maze_size=25]",
            ("resolved", 5.0),
        ),
        Q(
            "short",
            f"{s}#mean(cheese_rate, runs=3)[params.maze_size=15]",
            ("pending", "2 of 3 records so far"),
        ),
        Q(
            "failed",
            f"{s}#cheese_rate[params.maze_size=45]",
            ("pending", "MLflow run m45-s1 has status FAILED"),
        ),
        Q(
            "annul",
            f"{s}#cheese_rate[params.maze_size=45]",
            ("annulled", "MLflow run m45-s1 has status FAILED"),
            annul=True,
        ),
        Q("rerun", f"{s}#cheese_rate[params.maze_size=35]", ("resolved", 0.22)),
        Q("above", f"{s}#cheese_rate@max[{MLFLOW_25_3}] > 0.45", ("resolved", True), kind="binary"),
    ]


@pytest.mark.parametrize("store", ["mlruns", "mlflow.db"])
def test_mlflow(store_db: str, run: Run, tmp_path: Path, store: str) -> None:
    def stage(staging: Path) -> None:
        shutil.copytree(FIXTURES / "mlflow", staging, dirs_exist_ok=True)

    got = story(run, tmp_path, "maze", stage, mlflow_questions(store))
    if store == "mlflow.db":  # the file store reads only the params a rule names
        assert got["short"]["reason"].endswith(
            "missing params.seed=3, params.seed=4, params.seed=5"
        )
    every = [p for p in (tmp_path / "data" / store).rglob("*") if p.is_file()] or [store]
    linked(run, "maze", f"mlflow:data/{store}", len(every))  # the fixture holds nothing else

    def damage() -> Path:
        if store == "mlflow.db":
            db = tmp_path / "data" / "mlflow.db"
            db.write_bytes(db.read_bytes()[:100] + b"\0" * 5000)
            return db
        metric = next((tmp_path / "data" / "mlruns").rglob("metrics/cheese_rate"))
        metric.write_text("1772323260000 0.31 0\nnot a metric line\n")
        return metric

    corrupt_fails(
        run, "maze", f"mlflow:data/{store}#mean(cheese_rate)[params.maze_size=25]", damage
    )


def test_mlflow_registration_refusals(store_db: str, run: Run, tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "mlflow", tmp_path / "data")
    (tmp_path / "data" / "plain").mkdir()
    (tmp_path / "data" / "plain" / "results.json").write_text("{}")
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


def test_tensorboard(store_db: str, run: Run, tmp_path: Path) -> None:
    def stage(staging: Path) -> None:
        write_run(staging / "tb" / "a", {"val_acc": [0.5, 0.9, 0.7], "test_acc": [0.4, 0.8, 0.6]})
        write_run(staging / "tb" / "b", {"val_acc": [0.6, 0.65, 0.7]})

    s = "tensorboard:data/tb"
    questions = [
        Q("latest", f"{s}#val_acc[run=a]", ("resolved", 0.7), kind="fraction"),
        Q("max", f"{s}#val_acc@max[run=a]", ("resolved", 0.9)),
        Q("step", f"{s}#val_acc@step=1[run=b]", ("resolved", 0.65)),
        Q("argmax", f"{s}#test_acc@argmax(val_acc)[run=a]", ("resolved", 0.8)),
        Q("mean2", f"{s}#mean(val_acc@max, runs=2)", ("resolved", 0.8)),
        Q("short", f"{s}#mean(val_acc@max, runs=3)", ("pending", "2 of 3 runs so far")),
        Q("above", f"{s}#val_acc@max[run=a] > 0.85", ("resolved", True), kind="binary"),
    ]
    story(run, tmp_path, "probe", stage, questions)
    linked(run, "probe", s, 2)

    def damage() -> Path:
        f = next((tmp_path / "data" / "tb" / "b").glob("*tfevents*"))
        data = bytearray(f.read_bytes())
        data[len(data) // 2] ^= 0xFF
        f.write_bytes(bytes(data))
        return f

    corrupt_fails(run, "probe", f"{s}#val_acc@max[run=b]", damage)
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "metrics.json").write_text("{}")
    refused(run, "tensorboard:plain#val_acc@max", "not a TensorBoard log folder")
    refused(run, "tensorboard:plain/metrics.json#val_acc", "not a TensorBoard event file")


# ---------------------------------------------------------------- W&B

W = "config.lr=0.001, config.seed=1"


def test_wandb(store_db: str, run: Run, tmp_path: Path) -> None:
    def stage(staging: Path) -> None:
        shutil.copytree(FIXTURES / "wandb" / "wandb", staging / "wandb")

    s = "wandb:data/wandb"
    questions = [
        Q("summary", f"{s}#val_acc[{W}]", ("resolved", 0.79), kind="fraction"),
        Q("max", f"{s}#val_acc@max[{W}]", ("resolved", 0.81)),
        Q("step", f"{s}#val_acc@step=2[{W}]", ("resolved", 0.65)),
        Q("argmax", f"{s}#test_acc@argmax(val_acc)[{W}]", ("resolved", 0.76)),
        Q("mean2", f"{s}#mean(val_acc@max, runs=2)[config.lr=0.001]", ("resolved", 0.805)),
        Q("failed", f"{s}#loss[config.lr=0.1, config.seed=1]", ("pending", "exited with code 1")),
        Q(
            "annul",
            f"{s}#loss[config.lr=0.1, config.seed=1]",
            ("annulled", "exited with code 1"),
            annul=True,
        ),
        Q("rerun", f"{s}#loss[config.lr=0.1, config.seed=2]", ("resolved", 0.2667)),
        Q("short", f"{s}#mean(loss, runs=3)[config.seed=1]", ("pending", "2 of 3 records so far")),
    ]
    story(run, tmp_path, "probe", stage, questions)
    linked(run, "probe", s, 6)

    def damage() -> Path:
        f = next((tmp_path / "data" / "wandb").rglob("run-*.wandb"))
        data = bytearray(f.read_bytes())
        data[200] ^= 0xFF
        f.write_bytes(bytes(data))
        return f

    corrupt_fails(run, "probe", f"{s}#mean(loss)", damage)
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "x.json").write_text("{}")
    refused(run, "wandb:plain#loss", "not a W&B folder")


# ---------------------------------------------------------------- inspect_ai

ACC = "scores.match.accuracy"


def test_inspect(store_db: str, run: Run, tmp_path: Path) -> None:
    def stage(staging: Path) -> None:
        shutil.copytree(FIXTURES / "inspect" / "logs", staging / "logs")

    s = "inspect:data/logs"
    questions = [
        Q(
            "ckpt6",
            f"{s}#{ACC}[task=arithmetic, model=mockllm/ckpt-6]",
            ("resolved", 0.5),
            kind="fraction",
        ),
        Q(
            "rerun",
            f"{s}#{ACC}[task=theory_of_mind, model=mockllm/ckpt-7]",
            ("resolved", 0.75),
            kind="fraction",
        ),
        Q(
            "invalid",
            f"{s}#{ACC}[task=arithmetic, model=mockllm/ckpt-7]",
            ("pending", "is invalidated (invalidated: true)"),
            kind="fraction",
        ),
        Q(
            "annul",
            f"{s}#{ACC}[task=arithmetic, model=mockllm/ckpt-7]",
            ("annulled", "is invalidated (invalidated: true)"),
            kind="fraction",
            annul=True,
        ),
        Q(
            "mean2",
            f"{s}#mean({ACC}, runs=2)[task=theory_of_mind]",
            ("resolved", 0.5),
            kind="fraction",
        ),
        Q(
            "above",
            f"{s}#{ACC}[task=theory_of_mind, model=mockllm/ckpt-7] > 0.5",
            ("resolved", True),
            kind="binary",
        ),
        Q(
            "short",
            f"{s}#mean({ACC}, runs=3)[model=mockllm/ckpt-6]",
            ("pending", "2 of 3 records so far"),
            kind="fraction",
        ),
    ]
    story(run, tmp_path, "evals", stage, questions)
    linked(run, "evals", s, 5)

    def damage() -> Path:
        f = next((tmp_path / "data" / "logs").glob("*arithmetic*.eval"))
        f.write_bytes(f.read_bytes()[:-200])
        return f

    corrupt_fails(run, "evals", f"{s}#mean({ACC})", damage)
    refused(run, f"{s}#accuracy[task=x]", "no field 'accuracy'", kind="fraction")
    refused(run, f"{s}#scores.match[task=x]", "no field 'scores.match'", kind="fraction")


# ---------------------------------------------------------------- lm-evaluation-harness

SALLY, ARITH = '"results.sally_mc.acc,none"', '"results.arith_mc.acc,none"'


def test_lmeval(store_db: str, run: Run, tmp_path: Path) -> None:
    def stage(staging: Path) -> None:
        shutil.copytree(FIXTURES / "lmeval" / "results", staging / "results")

    s = "lmeval:data/results"
    questions = [
        Q(
            "last",
            f"{s}#last({SALLY})[model=EleutherAI/pythia-160m]",
            ("resolved", 2 / 3),
            kind="fraction",
        ),
        Q(
            "first",
            f"{s}#first({SALLY})[model=EleutherAI/pythia-160m]",
            ("resolved", 0.5),
            kind="fraction",
        ),
        Q(
            "rerun",
            f"{s}#{ARITH}[model=EleutherAI/pythia-410m]",
            ("resolved", 0.125),
            kind="fraction",
        ),
        Q(
            "limit",
            f"{s}#{ARITH}[model=EleutherAI/pythia-1b]",
            ("pending", "run with --limit"),
            kind="fraction",
        ),
        Q(
            "annul",
            f"{s}#{ARITH}[model=EleutherAI/pythia-1b]",
            ("annulled", "arith_mc (3 of 8 samples)"),
            kind="fraction",
            annul=True,
        ),
        Q(
            "mean3",
            f"{s}#mean({SALLY}, runs=3)",
            ("resolved", (0.5 + 2 / 3 + 0.5) / 3),
            kind="fraction",
        ),
        Q(
            "short",
            f"{s}#mean({SALLY}, runs=4)",
            ("pending", "missing model=EleutherAI/pythia-1b"),
            kind="fraction",
        ),
        Q(
            "above",
            f"{s}#last({SALLY})[model=EleutherAI/pythia-160m] > 0.6",
            ("resolved", True),
            kind="binary",
        ),
    ]
    story(run, tmp_path, "evals", stage, questions)
    linked(run, "evals", s, 5)

    def damage() -> Path:
        f = next((tmp_path / "data" / "results").rglob("results_*.json"))
        f.write_text("{ not json")
        return f

    corrupt_fails(run, "evals", f"{s}#count({SALLY})", damage)
    refused(run, f"{s}#results.mmlu[model=x]", "no field 'results.mmlu'", kind="fraction")
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "notes.txt").write_text("x")
    refused(run, "lmeval:plain#model", "holds no lm-eval results files", kind="fraction")


# ---------------------------------------------------------------- Sacred


def observe(root: Path) -> None:
    """Runs of a tiny Sacred experiment: seeds 1 and 2 complete, 7 fails, 9 fails then completes."""
    from sacred import Experiment
    from sacred.observers import FileStorageObserver

    ex = Experiment("maze", save_git_info=False)
    ex.observers.append(FileStorageObserver(str(root)))

    @ex.config
    def cfg() -> None:
        seed = 1  # noqa: F841
        crash = False  # noqa: F841
        model = {"width": 64}  # noqa: F841

    @ex.main
    def main(_run, seed: int, crash: bool) -> float:  # type: ignore[no-untyped-def]
        for step in range(4):
            _run.log_scalar("val_acc", [0.5, 0.8, 0.7, 0.6][step] + seed / 100, step)
            _run.log_scalar("loss", [1.0, 0.5, 0.4, 0.3][step], step)
        if crash:
            raise RuntimeError("node lost")
        return 2.0 + seed

    for seed, crash in ((1, False), (2, False), (7, True), (9, True), (9, False)):
        with contextlib.suppress(RuntimeError):  # the failed runs are what the test wants
            ex.run(config_updates={"seed": seed, "crash": crash}, options={"--loglevel": "ERROR"})


def test_sacred(store_db: str, run: Run, tmp_path: Path) -> None:
    s = "sacred:data/runs"
    questions = [
        Q("result", f"{s}#result[config.seed=1]", ("resolved", 3.0)),
        Q("max", f"{s}#val_acc@max[config.seed=1]", ("resolved", 0.81)),
        Q("step", f"{s}#val_acc@step=2[config.seed=1]", ("resolved", 0.71)),
        Q("argmax", f"{s}#loss@argmax(val_acc)[config.seed=2]", ("resolved", 0.5)),
        Q("mean3", f"{s}#mean(result, runs=3)[config.model.width=64]", ("resolved", 6.0)),
        Q("failed", f"{s}#result[config.seed=7]", ("pending", "Sacred run 3 has status FAILED")),
        Q(
            "annul",
            f"{s}#result[config.seed=7]",
            ("annulled", "Sacred run 3 has status FAILED"),
            annul=True,
        ),
        Q("rerun", f"{s}#result[config.seed=9]", ("resolved", 11.0)),
        Q("short", f"{s}#mean(result, runs=4)", ("pending", "3 of 4 records so far")),
    ]
    story(run, tmp_path, "s", lambda staging: observe(staging / "runs"), questions)
    linked(run, "s", s, 15)

    def damage() -> Path:
        f = tmp_path / "data" / "runs" / "2" / "run.json"
        f.write_text("{ not json")
        return f

    corrupt_fails(run, "s", f"{s}#mean(result)", damage)
    refused(run, "sacred:data/runs/1/run.json#result", "not a Sacred FileStorageObserver folder")
