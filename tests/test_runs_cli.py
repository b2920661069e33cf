"""Many runs end to end through the CLI, on a real Hydra multirun: re-runs, --final, evidence.

On SQLite and PostgreSQL: resolve a glob rule, change one run's file and see `verify` name
it, re-run the rule (`--rerun --correct`) and see the old evidence reported as superseded;
re-link a re-run file with `--supersede`; declare a sweep complete with `--final`; read
the evidence in `show` and in the report.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import Run
from fixtures.multirun import job, make_sweep

GLOB = "multirun/*/*/*/metrics.json"


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_sweep(tmp_path_factory.mktemp("sweep"))


@pytest.fixture
def study(sweep: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the sweep next to the test's database; rules are registered from inside it."""
    shutil.copytree(sweep, tmp_path / "study")
    monkeypatch.chdir(tmp_path / "study")
    return tmp_path / "study"


def predict(run: Run, key: str, rule: str, *extra: str, kind: str = "fraction") -> None:
    forecast = "60%" if kind == "binary" else "0.2 to 0.8"
    run("predict", f"Question {key}", forecast, "--kind", kind, "-e", "sparse", "--key", key,
        "--rule", rule, *extra)  # fmt: skip


def resolved(run: Run, *args: str) -> dict[str, dict[str, Any]]:
    out = json.loads(run("resolve", "--json", *args).output)
    return {q["label"].split("/", 1)[1]: q for q in out["questions"]}


def show(run: Run, key: str) -> dict[str, Any]:
    return dict(json.loads(run("show", f"sparse/{key}", "--json").output))


def rerun_seed(study: Path, m: int, seed: int) -> Path:
    """The job re-run after a crash: its metrics file rewritten, now a success."""
    path = job(study, m, seed) / "metrics.json"
    path.write_text(json.dumps({"success": True, "rel_error": 0.0243}))
    return path


def test_rerun_supersedes_and_verify_reports_the_old_evidence(
    store_db: str, run: Run, study: Path
) -> None:
    predict(run, "rate24", f"{GLOB}#mean(/success, runs=4)[m=24]")
    assert resolved(run)["rate24"]["value"] == 0.75
    first = show(run, "rate24")["resolution"]
    assert len(first["evidence"]) == 24  # 12 metrics files and 12 overrides, each hashed
    changed = rerun_seed(study, 24, 3)
    rel = changed.relative_to(study).as_posix()  # stored relative to the study, or absolute
    (stored,) = [e["path"] for e in first["evidence"] if e["path"].endswith(rel)]
    out = run("verify", code=1).output
    assert f"{stored} changed since it was recorded" in out and "it resolved sparse/rate24" in out
    out = run(
        "resolve", "rate24", "--rerun", "--correct", "seed 3 re-run after the node crash"
    ).output
    assert "Question rate24 resolved: 1" in out and "Corrected resolution #" in out
    view = show(run, "rate24")
    assert view["resolution"]["value"] == 1.0
    assert view["resolution"]["reason"] == "correction: seed 3 re-run after the node crash"
    (old,) = view["resolution"]["history"]  # the first resolution stays in the history
    assert old["value"] == 0.75 and old["evidence"] == first["evidence"]
    new = {e["path"]: e["sha256"] for e in view["resolution"]["evidence"]}
    assert [
        p for p, sha in new.items() if sha != {e["path"]: e["sha256"] for e in old["evidence"]}[p]
    ] == [stored]
    assert run("verify").exit_code == 0
    report = json.loads(run("verify", "--json").output)
    assert report["ok"] and not report["problems"]
    (superseded,) = report["superseded"]
    assert superseded.startswith(f"{stored} changed since it was recorded")
    assert "superseded by a re-run or a re-link" in superseded
    text = run("show", "sparse/rate24").output
    assert "corrected" in text and "value 0.75" in text


def test_a_rerun_needs_a_reason_and_a_rule_that_can_read(
    store_db: str, run: Run, study: Path
) -> None:
    predict(run, "rate24", f"{GLOB}#mean(/success, runs=4)[m=24]")
    run("resolve")
    assert "give --correct REASON" in run("resolve", "rate24", "--rerun", code=2).output
    (job(study, 24, 1) / "metrics.json").unlink()
    out = run("resolve", "rate24", "--rerun", "--correct", "again", code=2).output
    assert "cannot re-run the rule of rate24" in out and "3 of 4 records so far" in out
    assert show(run, "rate24")["resolution"]["value"] == 0.75  # nothing written


def test_link_supersede_after_a_rerun(store_db: str, run: Run, study: Path) -> None:
    path = job(study, 24, 3) / "metrics.json"
    run("experiment", "add", "sparse")
    run("link", str(path), "-e", "sparse")
    predict(run, "rate24", f"{GLOB}#mean(/success, runs=4)[m=24]")  # late: linking locked it
    run("resolve")
    rerun_seed(study, 24, 3)
    out = run("link", str(path), "-e", "sparse", code=2).output
    assert "was linked before with other content" in out and "--supersede" in out
    assert "supersedes #1" in run("link", str(path), "-e", "sparse", "--supersede").output
    # The resolution still uses the old bytes: verify names it until the rule is re-run.
    assert "re-run them with `predtrack resolve KEY --rerun" in run("verify", code=1).output
    run("resolve", "rate24", "--rerun", "--correct", "seed 3 re-run")
    report = json.loads(run("verify", "--json").output)
    assert report["ok"], report["problems"]
    assert report["superseded"] and all("superseded" in s for s in report["superseded"])


def test_final_annuls_a_crashed_job_only_when_asked(store_db: str, run: Run, study: Path) -> None:
    crashed = job(study, 32, 2)
    (crashed / "metrics.json").unlink()  # the job died before writing it; its folder stays
    folder = crashed.relative_to(study).as_posix()
    predict(run, "void", f"{GLOB}#mean(/success, runs=4)[m=32]", "--if-run-fails", "annul")
    predict(run, "wait", f"{GLOB}#mean(/success, runs=4)[m=32]")
    predict(run, "flip", f"{GLOB}#crossing(x=m, y=mean(/success, runs=4), level=0.5)",
            "--if-run-fails", "annul", kind="quantity")  # fmt: skip
    got = resolved(run)
    for key in ("void", "wait", "flip"):
        assert got[key]["status"] == "pending"
        assert f"missing {folder} (seed=2)" in got[key]["reason"], got[key]
    assert (
        "--final declares one experiment's runs complete"
        in run("resolve", "--final", code=2).output
    )
    got = resolved(run, "--final", "-e", "sparse")
    assert got["void"]["status"] == "annulled" and got["flip"]["status"] == "annulled"
    assert "declared complete, so this counts as a failed run" in got["void"]["reason"]
    assert folder in got["void"]["reason"]
    assert got["wait"]["status"] == "pending"
    assert (
        folder in got["wait"]["reason"] and "(the question stays pending)" in got["wait"]["reason"]
    )
    view = show(run, "void")
    assert view["status"] == "annulled" and folder in view["resolution"]["reason"]
    assert len(view["resolution"]["evidence"]) == 23  # what showed the run missing, hashed
    assert run("verify").exit_code == 0


def test_final_names_a_job_folder_that_is_gone(store_db: str, run: Run, study: Path) -> None:
    shutil.rmtree(job(study, 32, 2))  # not even its folder: named by the seed seen elsewhere
    predict(run, "void", f"{GLOB}#mean(/success, runs=4)[m=32]", "--if-run-fails", "annul")
    predict(run, "wait", f"{GLOB}#mean(/success, runs=4)[m=32]")
    got = resolved(run, "--final", "-e", "sparse")
    assert got["void"]["status"] == "annulled" and "missing seed=2" in got["void"]["reason"]
    assert got["wait"]["status"] == "pending" and "missing seed=2" in got["wait"]["reason"]


def test_show_and_the_report_list_the_evidence_folded(
    store_db: str, run: Run, study: Path, tmp_path: Path
) -> None:
    predict(run, "rate24", f"{GLOB}#mean(/success, runs=4)[m=24]")
    predict(run, "one", "multirun/*/*/*/metrics.json#/success[m=16, seed=0]", kind="binary")
    run("resolve")
    text = run("show", "sparse/rate24").output
    assert "evidence    24 files" in text and "(manifest sha256 " in text
    listed = [line for line in text.splitlines() if "…  " in line and line.endswith(" bytes")]
    assert len(listed) == 5  # the first five files
    assert "and 19 more (show --json lists all)" in text
    evidence = show(run, "rate24")["resolution"]["evidence"]
    first = evidence[0]
    assert f"{first['path']}  sha256 {first['sha256'][:12]}…  {first['size']} bytes" in text
    run("report", "-o", str(tmp_path / "report.html"))
    html = (tmp_path / "report.html").read_text()
    assert "24 files read" in html and "<details><summary>and 19 more</summary>" in html
    assert f"<code>{evidence[-1]['path']}</code>" in html  # folded, not left out
    assert f'title="sha256 {first["sha256"]}"' in html
