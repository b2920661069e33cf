"""Unix manners and machine-readable output: a closed pipe is quiet, every command has --json,
tables fit the terminal, a missing database says it is missing."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from tests.conftest import Run, write
from tests.test_entrypoint import predtrack_exe


def test_a_closed_pipe_is_quiet(tmp_path: Path) -> None:
    env = {**os.environ, "PREDTRACK_DB": str(tmp_path / "p.db"), "PREDTRACK_USER": "alice"}
    exe = predtrack_exe()
    subprocess.run([exe, "init"], env=env, check=True, capture_output=True)
    for i in range(30):
        subprocess.run([exe, "predict", f"Q{i}", "0.3"], env=env, check=True, capture_output=True)
    for command in ("export", "list"):
        done = subprocess.run(
            f"{exe} {command} | head -1", shell=True, env=env, capture_output=True, text=True
        )
        assert len(done.stdout.splitlines()) == 1
        assert done.stderr == "", done.stderr


def test_json_on_init_link_lock_and_dry_runs(run: Run, tmp_path: Path) -> None:
    init = json.loads(run("init", "--json").output)
    assert init["created"] is True and init["revision"]
    run("predict", "Acc", "0.5", "-e", "e", "--key", "acc", "--rule", "r.json#/acc > 0.5")
    write(tmp_path / "r.json", '{"acc": 0.7}')
    dry = json.loads(run("resolve", "--dry-run", "--json").output)
    assert dry["dry_run"] is True and dry["questions"][0]["status"] == "resolved"
    linked = json.loads(run("link", "r.json", "-e", "e", "--json").output)
    assert linked["locked"] is True and linked["artifacts"][0]["sha256"]
    locked = json.loads(run("lock", "e", "--json").output)
    assert locked["changed"] is False and locked["experiment"] == "e"
    again = json.loads(run("init", "--json").output)
    assert again["created"] is False


def test_score_tables_fit_the_terminal(run: Run) -> None:
    example = str(Path(__file__).resolve().parents[1] / "predictions.db.example")
    args = ("score", "--db", example, "--by", "forecaster", "--baseline", "climatology")
    wide = run(*args, "--wide").output
    assert max(len(line) for line in wide.splitlines()[:4]) > 120
    for columns in (80, 120):
        narrow = run(*args, COLUMNS=str(columns)).output
        assert max(len(line) for line in narrow.splitlines()) <= columns, narrow
        assert "--wide" in narrow


def test_a_missing_database_says_it_is_missing(run: Run, tmp_path: Path) -> None:
    out = run("list", "--db", str(tmp_path / "predictions.db.example"), code=2).output
    assert "no database file at" in out and "predictions.db.example" in out


def test_each_command_closes_its_connection(store_db: str, run: Run) -> None:
    # A command run in-process (CliRunner, a notebook's `!`-less call) must not leave its
    # database connection for the garbage collector: psycopg warns, and a server counts it.
    import gc
    import warnings

    run("predict", "Closed?", "50%", "--key", "closed", "-e", "x", "--by", "ann")
    gc.collect()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        for args in (["list"], ["score", "--json"], ["verify"], ["head"]):
            run(*args)
        gc.collect()
    assert [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)] == []
